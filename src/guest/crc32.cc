// Both CRC-32 flavours guest structures use, one table maker: IEEE (GPT, LVM2) and
// Castagnoli (jbd2, ext4). One byte at a time: the structures are small and read once per
// open, so a slicing or SSE4.2 version would not pay for itself.
#include "guest/crc32.h"

#include <array>

#include "guest/crc32c.h"

namespace rpfs::guest {
namespace {

// The table of a reflected polynomial.
constexpr std::array<uint32_t, 256> MakeTable(uint32_t poly) {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? poly ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kIeee = MakeTable(0xEDB88320u);
constexpr std::array<uint32_t, 256> kCastagnoli = MakeTable(0x82F63B78u);

uint32_t Update(const std::array<uint32_t, 256>& table, uint32_t crc,
                std::span<const std::byte> bytes) {
  for (std::byte b : bytes) crc = table[(crc ^ static_cast<uint32_t>(b)) & 0xFF] ^ (crc >> 8);
  return crc;
}

std::span<const std::byte> Bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

}  // namespace

uint32_t Crc32Update(uint32_t crc, std::string_view data) {
  return Update(kIeee, crc, Bytes(data));
}

uint32_t Crc32c(uint32_t crc, std::span<const std::byte> bytes) {
  return Update(kCastagnoli, crc, bytes);
}

uint32_t Crc32c(uint32_t crc, std::string_view bytes) { return Crc32c(crc, Bytes(bytes)); }

}  // namespace rpfs::guest
