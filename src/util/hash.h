// Content identity (SHA-256 via OpenSSL) and the fast read-path checksum (XXH3-64).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "rpfs/status.h"
#include "util/bytes.h"

namespace rpfs {

// A SHA-256 digest. The all-zero digest is reserved to mean "nothing" (a hole, a null
// child): SHA-256 never produces it in practice.
struct Digest {
  static constexpr size_t kSize = 32;
  std::array<uint8_t, kSize> bytes{};

  bool IsZero() const;
  std::string Hex() const;
  std::string_view View() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};  // NOLINT
  }
  static Result<Digest> FromBytes(std::string_view raw);  // exactly 32 bytes
  static Result<Digest> FromHex(std::string_view hex);
  auto operator<=>(const Digest&) const = default;
};

struct DigestHash {
  size_t operator()(const Digest& d) const {
    size_t h;
    static_assert(sizeof(h) <= Digest::kSize);
    __builtin_memcpy(&h, d.bytes.data(), sizeof(h));  // already uniformly distributed
    return h;
  }
};

// SHA-256 of `data`. Thread-safe.
Digest Sha256(std::span<const std::byte> data);
Digest Sha256(std::string_view data);

// XXH3-64 of `data`: the checksum verified on every chunk read.
uint64_t Xxh3(std::span<const std::byte> data);

// True when every byte is zero (fast path for hole detection).
bool IsAllZero(std::span<const std::byte> data);

}  // namespace rpfs
