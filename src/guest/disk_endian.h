// Reading fixed-width integers out of on-disk structures held in a std::string: jbd2 is
// big-endian, ext4 little-endian. Every caller has checked that the field lies inside the
// buffer (the sizes of the structures are fixed); the functions assert nothing more.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rpfs::guest {

inline uint64_t LoadBig(std::string_view s, size_t off, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(s[off + i]);
  return v;
}
inline uint64_t LoadLittle(std::string_view s, size_t off, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[off + i]);
  return v;
}
inline uint32_t Be32(std::string_view s, size_t off) {
  return static_cast<uint32_t>(LoadBig(s, off, 4));
}
inline uint16_t Be16(std::string_view s, size_t off) {
  return static_cast<uint16_t>(LoadBig(s, off, 2));
}
inline uint32_t Le32(std::string_view s, size_t off) {
  return static_cast<uint32_t>(LoadLittle(s, off, 4));
}
inline uint16_t Le16(std::string_view s, size_t off) {
  return static_cast<uint16_t>(LoadLittle(s, off, 2));
}
inline void StoreBe32(std::string& s, size_t off, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) s[off + i] = static_cast<char>(v & 0xFF);
}

}  // namespace rpfs::guest
