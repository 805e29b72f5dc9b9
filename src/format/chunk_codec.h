// Encoding of a chunk body: compression with zstd (raw when it does not shrink) and the
// XXH3-64 checksum of the uncompressed bytes that every read verifies.
//
// PERSISTED FORMAT: u8 codec (0 = raw, 1 = zstd), varint raw length, fixed64 XXH3-64 of
// the raw bytes, then the payload (raw bytes, or one zstd frame).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "rpfs/status.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace rpfs::format {

enum class Codec : uint8_t { kRaw = 0, kZstd = 1 };

// Per-thread compression state; not thread-safe, cheap to keep one per worker.
class ChunkEncoder {
 public:
  explicit ChunkEncoder(int level);
  ~ChunkEncoder();
  ChunkEncoder(const ChunkEncoder&) = delete;
  ChunkEncoder& operator=(const ChunkEncoder&) = delete;

  // Replaces *out with the encoded body of `raw`.
  void Encode(std::span<const std::byte> raw, std::string* out);

 private:
  int level_;
  ZSTD_CCtx_s* cctx_;
};

class ChunkDecoder {
 public:
  ChunkDecoder();
  ~ChunkDecoder();
  ChunkDecoder(const ChunkDecoder&) = delete;
  ChunkDecoder& operator=(const ChunkDecoder&) = delete;

  // Decodes `body` into `out` (which must hold the raw length, see RawLength) and checks
  // the checksum. Corruption when anything does not match: never returns wrong bytes.
  Status Decode(std::string_view body, std::span<std::byte> out);

 private:
  ZSTD_DCtx_s* dctx_;
};

// The raw (uncompressed) length recorded in an encoded body.
Result<uint64_t> RawLength(std::string_view body);

// The zstd library this process runs with ("1.5.4"), for `rpfs --version`.
std::string ZstdVersion();

}  // namespace rpfs::format
