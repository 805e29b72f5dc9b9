#include "util/coding.h"

namespace rpfs {

void Encoder::PutFixed32(uint32_t v) {
  for (int i = 0; i < 4; ++i) PutU8(static_cast<uint8_t>(v >> (8 * i)));
}

void Encoder::PutFixed64(uint64_t v) {
  for (int i = 0; i < 8; ++i) PutU8(static_cast<uint8_t>(v >> (8 * i)));
}

void Encoder::PutVarint(uint64_t v) {
  while (v >= 0x80) {
    PutU8(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  PutU8(static_cast<uint8_t>(v));
}

void Encoder::PutSignedVarint(int64_t v) {
  PutVarint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

Status Decoder::Truncated() const {
  return Status::Corruption(std::string(what_) + " is truncated or malformed");
}

Result<uint8_t> Decoder::GetU8() {
  if (in_.empty()) return Truncated();
  uint8_t v = static_cast<uint8_t>(in_[0]);
  in_.remove_prefix(1);
  return v;
}

Result<uint32_t> Decoder::GetFixed32() {
  if (in_.size() < 4) return Truncated();
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
  in_.remove_prefix(4);
  return v;
}

Result<uint64_t> Decoder::GetFixed64() {
  if (in_.size() < 8) return Truncated();
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
  in_.remove_prefix(8);
  return v;
}

Result<uint64_t> Decoder::GetVarint() {
  uint64_t v = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    if (in_.empty()) return Truncated();
    uint8_t byte = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    if (shift == 63 && byte > 1) return Truncated();  // would overflow 64 bits
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return v;
  }
  return Truncated();
}

Result<int64_t> Decoder::GetSignedVarint() {
  RPFS_ASSIGN_OR_RETURN(uint64_t u, GetVarint());
  return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

Result<std::string_view> Decoder::GetBytes(size_t n) {
  if (in_.size() < n) return Truncated();
  std::string_view v = in_.substr(0, n);
  in_.remove_prefix(n);
  return v;
}

Result<std::string> Decoder::GetString() {
  RPFS_ASSIGN_OR_RETURN(uint64_t n, GetVarint());
  if (n > in_.size()) return Truncated();
  RPFS_ASSIGN_OR_RETURN(std::string_view v, GetBytes(n));
  return std::string(v);
}

Status Decoder::ExpectEnd() const {
  if (!in_.empty()) {
    return Status::Corruption(std::string(what_) + " has " + std::to_string(in_.size()) +
                              " unexpected trailing bytes");
  }
  return Status::OK();
}

void PutBigEndian64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetBigEndian64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

}  // namespace rpfs
