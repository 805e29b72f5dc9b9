#include "guest/disk_bytes.h"

#include <cstdio>
#include <span>

namespace rpfs::guest {

Result<std::string> ReadBytes(const ByteSource& src, uint64_t offset, size_t length) {
  std::string out(length, '\0');
  RPFS_RETURN_IF_ERROR(src.ReadAt(offset, std::as_writable_bytes(std::span(out))));
  return out;
}

Result<std::optional<std::string>> ReadIfInside(const ByteSource& src, uint64_t offset,
                                                size_t length) {
  if (offset > src.size() || length > src.size() - offset) return std::optional<std::string>();
  RPFS_ASSIGN_OR_RETURN(std::string bytes, ReadBytes(src, offset, length));
  return std::optional<std::string>(std::move(bytes));
}

std::string_view Field(std::string_view b, size_t pos, size_t n) {
  if (pos > b.size() || n > b.size() - pos) return {};
  return b.substr(pos, n);
}

namespace {
uint64_t LittleEndian(std::string_view b, size_t pos, size_t n) {
  std::string_view f = Field(b, pos, n);
  uint64_t v = 0;
  for (size_t i = f.size(); i-- > 0;) v = (v << 8) | static_cast<uint8_t>(f[i]);
  return v;
}
}  // namespace

uint16_t Le16(std::string_view b, size_t pos) {
  return static_cast<uint16_t>(LittleEndian(b, pos, 2));
}
uint32_t Le32(std::string_view b, size_t pos) {
  return static_cast<uint32_t>(LittleEndian(b, pos, 4));
}
uint64_t Le64(std::string_view b, size_t pos) { return LittleEndian(b, pos, 8); }

uint32_t Be32(std::string_view b, size_t pos) {
  std::string_view f = Field(b, pos, 4);
  uint32_t v = 0;
  for (char c : f) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

std::string UuidText(std::string_view b16) {
  if (b16.size() != 16) return "";
  std::string out;
  char hex[3];
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    std::snprintf(hex, sizeof hex, "%02x", static_cast<uint8_t>(b16[i]));
    out += hex;
  }
  return out;
}

std::string GuidText(std::string_view b16) {
  if (b16.size() != 16) return "";
  // Reorder the little-endian fields (4, 2, 2 bytes) into the byte order UuidText prints.
  std::string ordered(b16);
  const int order[8] = {3, 2, 1, 0, 5, 4, 7, 6};
  for (int i = 0; i < 8; ++i) ordered[static_cast<size_t>(i)] = b16[static_cast<size_t>(order[i])];
  return UuidText(ordered);
}

namespace {
void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}
}  // namespace

std::string Utf16LeToUtf8(std::string_view b) {
  std::string out;
  constexpr uint32_t kReplacement = 0xFFFD;
  for (size_t i = 0; i + 1 < b.size(); i += 2) {
    uint32_t unit = Le16(b, i);
    if (unit == 0) break;
    if (unit >= 0xD800 && unit < 0xDC00 && i + 3 < b.size()) {
      uint32_t low = Le16(b, i + 2);
      if (low >= 0xDC00 && low < 0xE000) {
        AppendUtf8(out, 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
        i += 2;
        continue;
      }
    }
    AppendUtf8(out, (unit >= 0xD800 && unit < 0xE000) ? kReplacement : unit);
  }
  return out;
}

std::string TrimLabel(std::string_view b) {
  size_t end = b.find('\0');
  if (end == std::string_view::npos) end = b.size();
  while (end > 0 && b[end - 1] == ' ') --end;
  return std::string(b.substr(0, end));
}

std::optional<uint64_t> MulU64(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<uint64_t> AddU64(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

}  // namespace rpfs::guest
