#include "util/utf8.h"

#include <cstddef>

namespace rpfs {

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto in = [](unsigned char c, unsigned char lo, unsigned char hi) { return c >= lo && c <= hi; };
  while (i < n) {
    unsigned char c = at(i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The lead byte fixes the length and the range of the first continuation byte.
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (in(c, 0xc2, 0xdf)) {
      len = 2;
    } else if (c == 0xe0) {
      len = 3, lo = 0xa0;
    } else if (c == 0xed) {
      len = 3, hi = 0x9f;
    } else if (in(c, 0xe1, 0xef)) {
      len = 3;
    } else if (c == 0xf0) {
      len = 4, lo = 0x90;
    } else if (c == 0xf4) {
      len = 4, hi = 0x8f;
    } else if (in(c, 0xf1, 0xf3)) {
      len = 4;
    } else {
      return false;  // 0x80..0xc1 (continuation or overlong lead), 0xf5..0xff
    }
    if (n - i < len || !in(at(i + 1), lo, hi)) return false;
    for (size_t k = 2; k < len; ++k) {
      if (!in(at(i + k), 0x80, 0xbf)) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace rpfs
