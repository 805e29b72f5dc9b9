// Every persisted record of an rpfs store, with its encoding.
//
// PERSISTED FORMAT: each record starts with a version byte. Never renumber a version or
// an enum value below; add new ones. A decoder meeting a newer version refuses with a
// clear message rather than guessing. docs/format.md describes the same layouts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rpfs/status.h"
#include "util/hash.h"

namespace rpfs::format {

// The store's on-disk format version. Persisted in StoreConfig.
inline constexpr uint32_t kStoreFormatVersion = 1;

inline constexpr uint32_t kDefaultChunkSize = 64 * 1024;
inline constexpr uint32_t kMinChunkSize = 4 * 1024;
inline constexpr uint32_t kMaxChunkSize = 16 * 1024 * 1024;
inline constexpr int kDefaultCompressionLevel = 3;
// Children per extent-map page (persisted per store in StoreConfig::page_fanout).
inline constexpr uint32_t kDefaultPageFanout = 128;

struct StoreConfig {
  uint32_t format_version = kStoreFormatVersion;
  uint32_t chunk_size = kDefaultChunkSize;
  int32_t compression_level = kDefaultCompressionLevel;
  uint32_t page_fanout = kDefaultPageFanout;
  int64_t created_us = 0;
};
std::string EncodeStoreConfig(const StoreConfig& c);
Result<StoreConfig> DecodeStoreConfig(std::string_view in);

// Persisted enum values.
enum class DiskFormat : uint8_t { kRaw = 0, kQcow2 = 1 };
enum class VmKind : uint8_t { kImageFiles = 0, kLibvirt = 1 };
enum class StreamKind : uint8_t { kDisk = 0, kMemory = 1 };

const char* DiskFormatName(DiskFormat f);
Result<DiskFormat> ParseDiskFormat(std::string_view name);

struct VmDisk {
  std::string name;  // "vda"
  std::string path;  // absolute path of the image
  DiskFormat format = DiskFormat::kRaw;
};

struct VmRecord {
  std::string name;
  VmKind kind = VmKind::kImageFiles;
  std::vector<VmDisk> disks;
  uint64_t current_rp = 0;  // id of the RP the VM was last created from / rolled back to; 0 = none
  int64_t created_us = 0;
  // kLibvirt only (record version 2):
  std::string libvirt_uri;
  std::string domain_uuid;
  std::string domain_name;  // as last seen; the UUID is what identifies the domain
  std::string checkpoint;   // libvirt checkpoint made with RP `checkpoint_rp`; "" = none
  uint64_t checkpoint_rp = 0;
};
std::string EncodeVm(const VmRecord& v);
Result<VmRecord> DecodeVm(std::string_view in);

// Who may read a stream in the mount (docs/security.md): the owner, group and permission
// bits of the file it was read from. The default, which records written before RpRecord v2
// also get, is the mount owner's only (uid 0 stands for the mount's owner, see fs/access.h).
struct StreamAccess {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mode = 0400;  // permission bits only (no file type, setuid, setgid or sticky)
  bool operator==(const StreamAccess&) const = default;
};

// One stream of an RP: a disk (or, later, the memory state) as an extent-map tree.
struct RpStream {
  StreamKind kind = StreamKind::kDisk;
  std::string name;   // "vda"; "memory" for the memory state
  uint64_t size = 0;  // logical bytes
  Digest root;        // root page of the extent map; zero = entirely holes (or size 0)
  StreamAccess access;
  // Bytes of the stream held in chunks (its non-hole chunks, each counted at its length
  // within the stream): what st_blocks shows. Unknown for RPs written before v3.
  std::optional<uint64_t> allocated;
};

inline constexpr uint32_t kRpFlagQuiesced = 1u << 0;
inline constexpr uint32_t kRpFlagWithMemory = 1u << 1;
inline constexpr uint32_t kRpFlagProtected = 1u << 2;  // refused by delete and prune
// Taken by rpfs itself, not asked for: the undo RP of `rollback --keep-current`. Count-based
// keep rules ignore it (docs/retention.md). Older rpfs ignore the bit.
inline constexpr uint32_t kRpFlagAutomatic = 1u << 3;

// The outcome of the last restore drill of an RP (`rpfs drill`, docs/restore.md).
struct DrillRecord {
  int64_t time_us = 0;  // when it ran; 0 = never
  bool ok = false;
  std::string reason;    // why it failed, or what showed it booted
  uint64_t boot_us = 0;  // from start to the sign of life (ok only)
};

struct RpRecord {
  uint64_t id = 0;  // unique in the store, never reused; orders RPs by creation
  std::string vm;
  std::string name;
  int64_t created_us = 0;
  std::string description;
  uint64_t parent = 0;  // id of the parent RP, 0 = none
  uint32_t flags = 0;
  std::vector<RpStream> streams;
  std::string domain_xml;
  uint64_t logical_bytes = 0;       // sum of stream sizes
  uint64_t data_bytes = 0;          // raw bytes of the distinct non-zero chunks it references
  uint64_t stored_bytes = 0;        // stored (compressed) bytes of those chunks
  uint64_t added_bytes = 0;         // bytes this RP added to the store when it was created
  uint64_t create_duration_us = 0;  // from the create's start to its commit (v3; 0 before)
  DrillRecord drill;                // the last restore drill of this RP (v4)
};
std::string EncodeRp(const RpRecord& r);
Result<RpRecord> DecodeRp(std::string_view in);

// A VM's stored retention policy (`rpfs policy set`).
struct PolicyRecord {
  uint32_t keep_last = 0;
  uint32_t keep_hourly = 0;
  uint32_t keep_daily = 0;
  uint32_t keep_weekly = 0;
  uint32_t keep_monthly = 0;
  uint32_t keep_yearly = 0;
  int64_t keep_within_us = 0;
  // Version 2: the schedule `rpfs auto` follows (0: none) and its offset into the period.
  int64_t every_us = 0;
  int64_t at_us = 0;
};
std::string EncodePolicy(const PolicyRecord& p);
Result<PolicyRecord> DecodePolicy(std::string_view in);

// A region (`rpfs region add`): how to reach its Ceph RADOS pool.
struct RegionRecord {
  std::string name;
  std::string ceph_conf;  // absolute path of the ceph.conf
  std::string pool;
  std::string client_id;  // cephx user without "client." ("admin")
  int64_t created_us = 0;
};
std::string EncodeRegion(const RegionRecord& r);
Result<RegionRecord> DecodeRegion(std::string_view in);

inline constexpr uint32_t kCloneFlagHydrated = 1u << 0;  // complete: its roots are released

// A clone: writable disks made from an RP, filled from its streams on first read. Until
// hydrated it holds one reference on each stream root, so the data outlives the RP.
struct CloneRecord {
  std::string vm;
  std::string name;
  std::string rp_name;  // the RP it was made from, when it was made
  uint64_t rp_id = 0;
  int64_t created_us = 0;
  uint32_t flags = 0;
  std::vector<RpStream> disks;
  // Version 2: where its chunks come from when not from this store ("" = the RP above):
  // "region:<region>:<snapshot>". Such a clone's disks have no root (it holds no
  // reference); their chunk lists are files in the clone's directory.
  std::string source;
};
std::string EncodeClone(const CloneRecord& c);
Result<CloneRecord> DecodeClone(std::string_view in);

// Objects are content-addressed: chunks (disk data) and pages (extent-map nodes).
enum class ObjectKind : uint8_t { kChunk = 'c', kPage = 'p' };

struct ObjectId {
  ObjectKind kind = ObjectKind::kChunk;
  Digest digest;
  auto operator<=>(const ObjectId&) const = default;
};
struct ObjectIdHash {
  size_t operator()(const ObjectId& id) const {
    return DigestHash()(id.digest) ^ static_cast<size_t>(id.kind);
  }
};

// Per-object bookkeeping, kept apart from the body so refcount updates never rewrite data.
struct ObjectMeta {
  uint64_t refcount = 0;
  uint64_t raw_size = 0;     // uncompressed bytes
  uint64_t stored_size = 0;  // bytes of the encoded body
};
std::string EncodeObjectMeta(const ObjectMeta& m);
Result<ObjectMeta> DecodeObjectMeta(std::string_view in);

// An operation in flight (an RP being created). Objects it writes are listed under it
// until it commits, so recovery can remove them without scanning the store.
struct TxRecord {
  uint64_t id = 0;
  std::string description;  // "create web01/day3", for logs
  int64_t started_us = 0;
};
std::string EncodeTx(const TxRecord& t);
Result<TxRecord> DecodeTx(std::string_view in);

}  // namespace rpfs::format
