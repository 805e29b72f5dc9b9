#include "guest/crc32c.h"

#include <array>

namespace rpfs::guest {
namespace {

// Reflected polynomial 0x1EDC6F41, one byte at a time: journals are small and replay runs
// once per mount, so a slicing or SSE4.2 version would not pay for itself.
constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = MakeTable();

}  // namespace

uint32_t Crc32c(uint32_t crc, std::span<const std::byte> bytes) {
  for (std::byte b : bytes) {
    crc = kTable[(crc ^ static_cast<uint32_t>(b)) & 0xFF] ^ (crc >> 8);
  }
  return crc;
}

uint32_t Crc32c(uint32_t crc, std::string_view bytes) {
  return Crc32c(crc, std::as_bytes(std::span(bytes.data(), bytes.size())));
}

}  // namespace rpfs::guest
