#include "format/chunk_codec.h"

#include <zstd.h>

#include <cstring>

#include "util/coding.h"
#include "util/hash.h"

namespace rpfs::format {
namespace {

struct Header {
  Codec codec;
  uint64_t raw_len;
  uint64_t checksum;
  std::string_view payload;
};

Result<Header> ParseHeader(std::string_view body) {
  Decoder d(body, "chunk body");
  Header h;
  RPFS_ASSIGN_OR_RETURN(uint8_t codec, d.GetU8());
  if (codec > static_cast<uint8_t>(Codec::kZstd)) {
    return Status::Corruption("chunk body has unknown codec " + std::to_string(codec));
  }
  h.codec = static_cast<Codec>(codec);
  RPFS_ASSIGN_OR_RETURN(h.raw_len, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(h.checksum, d.GetFixed64());
  RPFS_ASSIGN_OR_RETURN(h.payload, d.GetBytes(d.remaining()));
  return h;
}

}  // namespace

ChunkEncoder::ChunkEncoder(int level) : level_(level), cctx_(ZSTD_createCCtx()) {
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level_);
}
ChunkEncoder::~ChunkEncoder() { ZSTD_freeCCtx(cctx_); }

void ChunkEncoder::Encode(std::span<const std::byte> raw, std::string* out) {
  out->clear();
  Encoder e(out);
  size_t header_pos = out->size();
  e.PutU8(static_cast<uint8_t>(Codec::kZstd));
  e.PutVarint(raw.size());
  e.PutFixed64(Xxh3(raw));
  size_t header_len = out->size();
  size_t bound = ZSTD_compressBound(raw.size());
  out->resize(header_len + bound);
  size_t n = ZSTD_compress2(cctx_, out->data() + header_len, bound, raw.data(), raw.size());
  if (ZSTD_isError(n) || n >= raw.size()) {
    // Incompressible (or a compressor failure): store the bytes as they are.
    (*out)[header_pos] = static_cast<char>(Codec::kRaw);
    out->resize(header_len);
    out->append(AsChars(raw));
    return;
  }
  out->resize(header_len + n);
}

ChunkDecoder::ChunkDecoder() : dctx_(ZSTD_createDCtx()) {}
ChunkDecoder::~ChunkDecoder() { ZSTD_freeDCtx(dctx_); }

Status ChunkDecoder::Decode(std::string_view body, std::span<std::byte> out) {
  RPFS_ASSIGN_OR_RETURN(Header h, ParseHeader(body));
  if (h.raw_len != out.size()) {
    return Status::Corruption("chunk body holds " + std::to_string(h.raw_len) +
                              " bytes, expected " + std::to_string(out.size()));
  }
  if (h.codec == Codec::kRaw) {
    if (h.payload.size() != h.raw_len) return Status::Corruption("raw chunk body has a bad length");
    if (h.raw_len > 0) std::memcpy(out.data(), h.payload.data(), h.raw_len);
  } else {
    size_t n =
        ZSTD_decompressDCtx(dctx_, out.data(), out.size(), h.payload.data(), h.payload.size());
    if (ZSTD_isError(n)) {
      return Status::Corruption(std::string("chunk does not decompress: ") + ZSTD_getErrorName(n));
    }
    if (n != h.raw_len) return Status::Corruption("chunk decompresses to a wrong length");
  }
  if (Xxh3(out) != h.checksum) return Status::Corruption("chunk checksum mismatch");
  return Status::OK();
}

Result<uint64_t> RawLength(std::string_view body) {
  RPFS_ASSIGN_OR_RETURN(Header h, ParseHeader(body));
  return h.raw_len;
}

std::string ZstdVersion() { return ZSTD_versionString(); }

}  // namespace rpfs::format
