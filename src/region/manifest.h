// What a region holds about a snapshot, and the object names of the region's pool.
//
// PERSISTED FORMAT (shared by every host of a region; docs/region.md):
//   rpfs.index                 omap: "snap.<name>" -> Summary of a published snapshot
//                                    "push.<sid>"  -> Summary of a push in progress
//                                    "del.<sid>"   -> Summary of a delete in progress
//                                    "hold.<hid>"  -> a clone's hold on a snapshot:
//                                       sid = hid, name = the snapshot's name,
//                                       base = the snapshot's sid, host, vm, rp = what
//                                       holds it ("clone <name>"), description = the
//                                       holding store's id, pushed_us = when taken
//                              (a Summary names its base: the sid whose references it
//                              inherits for the chunks they share)
//   rpfs.chunk.<sha256 hex>    data: the chunk's body in rpfs's chunk encoding
//                              omap: "<sid>" -> "1" for every snapshot referencing it
//   rpfs.snap.<sid>            data: the Manifest (streams and their part counts)
//   rpfs.snap.<sid>.<s>.<p>    data: part p of stream s's chunk list
// A sid (snapshot id) is unique per push: "<host>-<16 hex>", so a name deleted and pushed
// again never shares references with its old self.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rpfs/status.h"
#include "util/hash.h"

namespace rpfs::region {

inline constexpr char kIndexObject[] = "rpfs.index";
inline constexpr char kChunkPrefix[] = "rpfs.chunk.";
inline constexpr char kSnapPrefix[] = "rpfs.snap.";
inline constexpr char kSnapKey[] = "snap.";
inline constexpr char kPushKey[] = "push.";
inline constexpr char kDelKey[] = "del.";
inline constexpr char kHoldKey[] = "hold.";
// Entries per part object (33 bytes or so each: a part stays well under RADOS's limits).
inline constexpr size_t kEntriesPerPart = 128 * 1024;

std::string ChunkObject(const Digest& d);
std::string ManifestObject(std::string_view sid);
std::string PartObject(std::string_view sid, size_t stream, size_t part);

// The index entry of a snapshot (published, being pushed, or being deleted).
struct Summary {
  std::string sid;
  std::string name;
  std::string host;  // where it was pushed from
  std::string vm;
  std::string rp;
  std::string description;
  int64_t rp_created_us = 0;
  int64_t pushed_us = 0;  // when the push began (push.* entries: how old a dead push is)
  uint64_t logical_bytes = 0;
  uint64_t chunks = 0;  // distinct chunks referenced
  std::vector<std::string> disks;
  bool memory = false;
  // The sid of the snapshot this one inherits references from (docs/region.md, "Bases"):
  // the chunks the two share hold the base's references, not this one's. Empty: none.
  // Only the index entry's value is authoritative (a delete of the base clears it).
  std::string base;
};
// Written as version 1 when `base` is empty (readable by every rpfs), version 2 otherwise.
std::string EncodeSummary(const Summary& s);
Result<Summary> DecodeSummary(std::string_view in);

struct ChunkEntry {
  uint64_t index = 0;
  Digest digest;
};

struct ManifestStream {
  std::string name;  // a disk name, or "memory"
  bool memory = false;
  uint64_t size = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mode = 0400;
  uint64_t entries = 0;            // chunks held (holes are not listed)
  std::vector<ChunkEntry> chunks;  // loaded from the parts, not in the manifest object
};

struct Manifest {
  Summary summary;
  uint32_t chunk_size = 0;
  std::string domain_xml;
  std::vector<ManifestStream> streams;
  size_t PartCount(size_t stream) const;
};
// The manifest object (without the chunk lists) and one part's chunk list.
std::string EncodeManifest(const Manifest& m);
Result<Manifest> DecodeManifest(std::string_view in);
std::string EncodePart(const std::vector<ChunkEntry>& entries, size_t begin, size_t end);
// Appends the part's entries to `out`; `chunk_count` bounds the indices (the stream's).
Status DecodePart(std::string_view in, uint64_t chunk_count, std::vector<ChunkEntry>* out);

// "<host>-<16 random hex digits>"
std::string NewSid(const std::string& host);

}  // namespace rpfs::region
