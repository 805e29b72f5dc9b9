#include "region/manifest.h"

#include <cstdio>
#include <random>

#include "format/records.h"
#include "rpfs/names.h"
#include "util/coding.h"

namespace rpfs::region {
namespace {

constexpr uint8_t kSummaryV1 = 1;
constexpr uint8_t kSummaryV2 = 2;  // v1 + the base's sid
constexpr uint8_t kManifestV1 = 1;
constexpr uint8_t kPartV1 = 1;
// Hostile or damaged objects must not make a decoder allocate without bound.
constexpr uint64_t kMaxStreams = 64;
constexpr uint64_t kMaxDisks = 64;

Status CheckVersion(Decoder& d, uint8_t want, std::string_view what) {
  RPFS_ASSIGN_OR_RETURN(uint8_t v, d.GetU8());
  if (v != want) {
    return Status::NotSupported(std::string(what) + " has version " + std::to_string(v) +
                                "; this rpfs reads version " + std::to_string(want) +
                                " (pushed by a newer rpfs?)");
  }
  return Status::OK();
}

void PutSummaryFields(Encoder& e, const Summary& s) {
  for (const std::string* f : {&s.sid, &s.name, &s.host, &s.vm, &s.rp, &s.description}) {
    e.PutString(*f);
  }
  e.PutSignedVarint(s.rp_created_us);
  e.PutSignedVarint(s.pushed_us);
  e.PutVarint(s.logical_bytes);
  e.PutVarint(s.chunks);
  e.PutVarint(s.disks.size());
  for (const auto& d : s.disks) e.PutString(d);
  e.PutU8(s.memory ? 1 : 0);
}

Status GetSummaryFields(Decoder& d, Summary* s) {
  for (std::string* f : {&s->sid, &s->name, &s->host, &s->vm, &s->rp, &s->description}) {
    RPFS_ASSIGN_OR_RETURN(*f, d.GetString());
  }
  RPFS_ASSIGN_OR_RETURN(s->rp_created_us, d.GetSignedVarint());
  RPFS_ASSIGN_OR_RETURN(s->pushed_us, d.GetSignedVarint());
  RPFS_ASSIGN_OR_RETURN(s->logical_bytes, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(s->chunks, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(uint64_t n, d.GetVarint());
  if (n > kMaxDisks) return d.Truncated();
  for (uint64_t i = 0; i < n; ++i) {
    RPFS_ASSIGN_OR_RETURN(std::string disk, d.GetString());
    s->disks.push_back(std::move(disk));
  }
  RPFS_ASSIGN_OR_RETURN(uint8_t mem, d.GetU8());
  s->memory = mem != 0;
  return Status::OK();
}

}  // namespace

std::string ChunkObject(const Digest& d) { return kChunkPrefix + d.Hex(); }
std::string ManifestObject(std::string_view sid) { return kSnapPrefix + std::string(sid); }
std::string PartObject(std::string_view sid, size_t stream, size_t part) {
  return ManifestObject(sid) + "." + std::to_string(stream) + "." + std::to_string(part);
}

std::string EncodeSummary(const Summary& s) {
  std::string out;
  Encoder e(&out);
  e.PutU8(s.base.empty() ? kSummaryV1 : kSummaryV2);
  PutSummaryFields(e, s);
  if (!s.base.empty()) e.PutString(s.base);
  return out;
}

Result<Summary> DecodeSummary(std::string_view in) {
  Decoder d(in, "region snapshot summary");
  RPFS_ASSIGN_OR_RETURN(uint8_t version, d.GetU8());
  if (version != kSummaryV1 && version != kSummaryV2) {
    return Status::NotSupported("region snapshot summary has version " + std::to_string(version) +
                                "; this rpfs reads versions 1 and 2 (pushed by a newer rpfs?)");
  }
  Summary s;
  RPFS_RETURN_IF_ERROR(GetSummaryFields(d, &s));
  if (version == kSummaryV2) {
    RPFS_ASSIGN_OR_RETURN(s.base, d.GetString());
    // A v2 summary always has a base, and a base is a sid like any other.
    if (s.base.empty() || s.base.find_first_of("./") != std::string::npos || s.base == s.sid) {
      return Status::Corruption("region snapshot summary: invalid base");
    }
  }
  RPFS_RETURN_IF_ERROR(d.ExpectEnd());
  // The name is a directory of the mount's .region/, the sid part of object names.
  if (!ValidateName(s.name, "snapshot name").ok() || s.sid.empty() ||
      s.sid.find_first_of("./") != std::string::npos) {
    return Status::Corruption("region snapshot summary: invalid name or sid");
  }
  return s;
}

size_t Manifest::PartCount(size_t stream) const {
  return static_cast<size_t>((streams[stream].entries + kEntriesPerPart - 1) / kEntriesPerPart);
}

std::string EncodeManifest(const Manifest& m) {
  std::string out;
  Encoder e(&out);
  e.PutU8(kManifestV1);
  PutSummaryFields(e, m.summary);
  e.PutVarint(m.chunk_size);
  e.PutString(m.domain_xml);
  e.PutVarint(m.streams.size());
  for (const auto& s : m.streams) {
    e.PutString(s.name);
    e.PutU8(s.memory ? 1 : 0);
    e.PutVarint(s.size);
    e.PutVarint(s.uid);
    e.PutVarint(s.gid);
    e.PutVarint(s.mode);
    e.PutVarint(s.entries);
  }
  return out;
}

Result<Manifest> DecodeManifest(std::string_view in) {
  Decoder d(in, "region manifest");
  RPFS_RETURN_IF_ERROR(CheckVersion(d, kManifestV1, "region manifest"));
  Manifest m;
  RPFS_RETURN_IF_ERROR(GetSummaryFields(d, &m.summary));
  RPFS_ASSIGN_OR_RETURN(uint64_t chunk_size, d.GetVarint());
  // A store's rule (format/records.h): a power of two from 4 KiB to 16 MiB.
  if (chunk_size < format::kMinChunkSize || chunk_size > format::kMaxChunkSize ||
      (chunk_size & (chunk_size - 1)) != 0) {
    return Status::Corruption("region manifest: chunk size " + std::to_string(chunk_size) +
                              " is not one a store can have");
  }
  m.chunk_size = static_cast<uint32_t>(chunk_size);
  RPFS_ASSIGN_OR_RETURN(m.domain_xml, d.GetString());
  RPFS_ASSIGN_OR_RETURN(uint64_t n, d.GetVarint());
  if (n > kMaxStreams) return d.Truncated();
  for (uint64_t i = 0; i < n; ++i) {
    ManifestStream s;
    RPFS_ASSIGN_OR_RETURN(s.name, d.GetString());
    RPFS_ASSIGN_OR_RETURN(uint8_t mem, d.GetU8());
    s.memory = mem != 0;
    RPFS_ASSIGN_OR_RETURN(s.size, d.GetVarint());
    uint64_t v = 0;
    for (uint32_t* f : {&s.uid, &s.gid, &s.mode}) {
      RPFS_ASSIGN_OR_RETURN(v, d.GetVarint());
      if (v > UINT32_MAX) return d.Truncated();
      *f = static_cast<uint32_t>(v);
    }
    RPFS_ASSIGN_OR_RETURN(s.entries, d.GetVarint());
    if (s.size > (1ull << 50)) return d.Truncated();
    const uint64_t chunks = (s.size + m.chunk_size - 1) / m.chunk_size;
    if (s.entries > chunks) return d.Truncated();
    // Names become file names in the mount and an RP's streams when pulled.
    if (s.memory ? s.name != "memory" : !ValidateName(s.name, "disk name").ok()) {
      return Status::Corruption("region manifest: invalid stream name");
    }
    for (const auto& other : m.streams) {
      if (other.name == s.name || (other.memory && s.memory)) {
        return Status::Corruption("region manifest: stream " + s.name + " given twice");
      }
    }
    m.streams.push_back(std::move(s));
  }
  RPFS_RETURN_IF_ERROR(d.ExpectEnd());
  return m;
}

std::string EncodePart(const std::vector<ChunkEntry>& entries, size_t begin, size_t end) {
  std::string out;
  Encoder e(&out);
  e.PutU8(kPartV1);
  e.PutVarint(end - begin);
  uint64_t prev = 0;
  for (size_t i = begin; i < end; ++i) {
    // Indices ascend: store the gap (the first one as is).
    e.PutVarint(i == begin ? entries[i].index : entries[i].index - prev);
    prev = entries[i].index;
    e.PutBytes(entries[i].digest.View());
  }
  return out;
}

Status DecodePart(std::string_view in, uint64_t chunk_count, std::vector<ChunkEntry>* out) {
  Decoder d(in, "region manifest part");
  RPFS_RETURN_IF_ERROR(CheckVersion(d, kPartV1, "region manifest part"));
  RPFS_ASSIGN_OR_RETURN(uint64_t n, d.GetVarint());
  if (n > kEntriesPerPart) return d.Truncated();
  const bool first_part = out->empty();
  uint64_t prev = first_part ? 0 : out->back().index;
  for (uint64_t i = 0; i < n; ++i) {
    RPFS_ASSIGN_OR_RETURN(uint64_t gap, d.GetVarint());
    // Strictly ascending across parts, and inside the stream (no wrap-around: the gap is
    // checked against what is left before the sum).
    const bool relative = i > 0;
    if (gap >= chunk_count || (relative && (gap == 0 || gap > chunk_count - 1 - prev))) {
      return Status::Corruption(
          "region manifest part: chunk index out of order or beyond the "
          "stream");
    }
    uint64_t index = relative ? prev + gap : gap;
    if ((!relative && !first_part && index <= prev) || index >= chunk_count) {
      return Status::Corruption("region manifest part: chunk index " + std::to_string(index) +
                                " out of order or beyond the stream");
    }
    RPFS_ASSIGN_OR_RETURN(std::string_view raw, d.GetBytes(Digest::kSize));
    RPFS_ASSIGN_OR_RETURN(Digest digest, Digest::FromBytes(raw));
    out->push_back(ChunkEntry{index, digest});
    prev = index;
  }
  return d.ExpectEnd();
}

std::string NewSid(const std::string& host) {
  std::random_device rd;
  const uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(r));
  return host + "-" + hex;
}

}  // namespace rpfs::region
