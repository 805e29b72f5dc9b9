#include "util/hash.h"

#include <openssl/evp.h>
#include <xxhash.h>

#include <cstring>

namespace rpfs {

bool Digest::IsZero() const {
  for (uint8_t b : bytes)
    if (b != 0) return false;
  return true;
}

std::string Digest::Hex() const {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(kSize * 2);
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

Result<Digest> Digest::FromBytes(std::string_view raw) {
  if (raw.size() != kSize) {
    return Status::Corruption("digest has " + std::to_string(raw.size()) + " bytes, want 32");
  }
  Digest d;
  std::memcpy(d.bytes.data(), raw.data(), kSize);
  return d;
}

Result<Digest> Digest::FromHex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() != kSize * 2) return Status::InvalidArgument("digest must be 64 hex digits");
  Digest d;
  for (size_t i = 0; i < kSize; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("digest has a non-hex digit");
    d.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return d;
}

Digest Sha256(std::span<const std::byte> data) {
  Digest d;
  unsigned int len = 0;
  // EVP picks the SHA-NI implementation where the CPU has it (~5x sha256sum).
  EVP_Digest(data.data(), data.size(), d.bytes.data(), &len, EVP_sha256(), nullptr);
  return d;
}

Digest Sha256(std::string_view data) { return Sha256(AsBytes(data)); }

uint64_t Xxh3(std::span<const std::byte> data) { return XXH3_64bits(data.data(), data.size()); }

bool IsAllZero(std::span<const std::byte> data) {
  const std::byte* p = data.data();
  size_t n = data.size();
  // Word-at-a-time; the compiler vectorises this loop.
  while (n >= 64) {
    uint64_t acc = 0;
    for (int i = 0; i < 8; ++i) {
      uint64_t w;
      std::memcpy(&w, p + 8 * i, 8);
      acc |= w;
    }
    if (acc != 0) return false;
    p += 64;
    n -= 64;
  }
  for (size_t i = 0; i < n; ++i)
    if (p[i] != std::byte{0}) return false;
  return true;
}

}  // namespace rpfs
