// Deterministic bytes shared by the torture driver and its clone-writer child, so the
// child only has to say which write it made (index, offset, length), never the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace rpfs::torture {

inline uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Fills `out` with the byte stream of `seed`.
inline void FillPattern(uint64_t seed, std::span<std::byte> out) {
  uint64_t state = seed;
  for (size_t i = 0; i < out.size(); i += 8) {
    uint64_t v = SplitMix64(&state);
    for (size_t j = 0; j < 8 && i + j < out.size(); ++j) {
      out[i + j] = static_cast<std::byte>(v >> (8 * j));
    }
  }
}

}  // namespace rpfs::torture
