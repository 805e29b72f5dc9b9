// Small helpers shared by the volume parsers (partition tables, LVM, fs magics): reading a
// few bytes of a source, little-endian fields of a buffer already read, and the text forms
// blkid gives to UUIDs, GUIDs and labels. Fields read out of a buffer's bounds are 0: a
// parser that computes an offset from guest bytes can never read outside what it read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "guest/byte_source.h"
#include "rpfs/status.h"

namespace rpfs::guest {

// `length` bytes at `offset` of `src`; the source's InvalidArgument when they do not fit.
Result<std::string> ReadBytes(const ByteSource& src, uint64_t offset, size_t length);
// The same, but nullopt (not an error) when the range is not inside `src`: probes of small
// volumes look at offsets that may lie past their end.
Result<std::optional<std::string>> ReadIfInside(const ByteSource& src, uint64_t offset,
                                                size_t length);

uint16_t Le16(std::string_view b, size_t pos);
uint32_t Le32(std::string_view b, size_t pos);
uint64_t Le64(std::string_view b, size_t pos);
uint32_t Be32(std::string_view b, size_t pos);
// `n` bytes of `b` at `pos`, or "" when they do not fit.
std::string_view Field(std::string_view b, size_t pos, size_t n);

// 16 bytes in order as "01234567-89ab-cdef-0123-456789abcdef" (ext, xfs, btrfs, md).
std::string UuidText(std::string_view b16);
// A GUID as stored by GPT (first three fields little-endian), lowercase.
std::string GuidText(std::string_view b16);
// A UTF-16LE string up to its first NUL, as UTF-8 (unpaired surrogates become U+FFFD).
std::string Utf16LeToUtf8(std::string_view b);
// Bytes up to the first NUL with trailing spaces removed (FAT, ISO and XFS labels).
std::string TrimLabel(std::string_view b);

// a*b and a+b, nullopt on overflow (sizes computed from guest fields).
std::optional<uint64_t> MulU64(uint64_t a, uint64_t b);
std::optional<uint64_t> AddU64(uint64_t a, uint64_t b);

}  // namespace rpfs::guest
