// Byte coding for persisted records: little-endian fixed-width integers, LEB128 varints,
// length-prefixed strings, and big-endian fixed64 for keys that must sort numerically.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "rpfs/status.h"

namespace rpfs {

// Appends encoded fields to a string.
class Encoder {
 public:
  explicit Encoder(std::string* out) : out_(out) {}
  void PutU8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void PutFixed32(uint32_t v);
  void PutFixed64(uint64_t v);
  void PutVarint(uint64_t v);
  void PutSignedVarint(int64_t v);  // zigzag
  void PutBytes(std::string_view bytes) { out_->append(bytes); }
  void PutString(std::string_view s) {  // varint length + bytes
    PutVarint(s.size());
    out_->append(s);
  }

 private:
  std::string* out_;
};

// Reads fields from a byte string. Every getter fails with Corruption naming `what`
// (the record being decoded) on truncated or malformed input; never reads out of bounds.
class Decoder {
 public:
  Decoder(std::string_view in, std::string_view what) : in_(in), what_(what) {}
  Result<uint8_t> GetU8();
  Result<uint32_t> GetFixed32();
  Result<uint64_t> GetFixed64();
  Result<uint64_t> GetVarint();
  Result<int64_t> GetSignedVarint();
  Result<std::string_view> GetBytes(size_t n);
  Result<std::string> GetString();
  size_t remaining() const { return in_.size(); }
  bool done() const { return in_.empty(); }
  // Corruption unless all input was consumed.
  Status ExpectEnd() const;
  Status Truncated() const;

 private:
  std::string_view in_;
  std::string_view what_;
};

// Big-endian, so that byte-wise key order equals numeric order.
void PutBigEndian64(std::string* out, uint64_t v);
uint64_t GetBigEndian64(std::string_view in);  // requires in.size() >= 8

}  // namespace rpfs
