// Views between char strings and std::byte spans.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace rpfs {

inline std::span<const std::byte> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};  // NOLINT
}
inline std::span<std::byte> AsWritableBytes(std::string& s) {
  return {reinterpret_cast<std::byte*>(s.data()), s.size()};  // NOLINT
}
inline std::string_view AsChars(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};  // NOLINT
}

}  // namespace rpfs
