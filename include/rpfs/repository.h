// Repository: the recovery-point model of one rpfs store. The API the CLI, the daemon and
// the tests use; it knows nothing of RocksDB (store layer) or of the kernel (fs layer).
//
// A store holds VMs (named, each an ordered list of disks) and their recovery points
// (RPs): the content of every disk at one instant, as chunked, deduplicated, compressed
// extent maps. RPs form a tree through their parent; a VM's "current" RP is the parent
// of its next one.
//
// Thread-safety: all methods may be called from several threads. Mutations (add/remove
// VM, create/rename/delete RP, compact) are serialised by one lock, except that a create
// (and a rollback) holds it only to begin and to commit: deletes, prunes, renames and
// clones go on while a create reads its disks, and what they free is freed when it ends.
// Creates and rollbacks run one at a time. Reads never wait for mutations and see either
// the state before or after a mutation, never a partial one.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rpfs/hypervisor.h"
#include "rpfs/status.h"

namespace rpfs {
namespace store {
class Store;
}
namespace rp {
class ExtentMap;
}
namespace image {
class ImageSource;
}

using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

struct InitOptions {
  uint32_t chunk_size = 0;               // 0: default (64 KiB)
  std::optional<int> compression_level;  // zstd level; default 3
};

struct DiskSpec {
  std::string name;                   // "vda"
  std::string path;                   // image file or block device
  std::optional<std::string> format;  // "raw" or "qcow2"; probed when absent
};

struct VmDiskInfo {
  std::string name;
  std::string path;
  std::string format;
};

struct VmInfo {
  std::string name;
  std::string kind;         // "image-files" or "libvirt"
  std::string libvirt_uri;  // libvirt only
  std::string domain_uuid;  // libvirt only
  std::string domain_name;  // libvirt only, as last seen
  std::vector<VmDiskInfo> disks;
  std::string current_rp;  // empty when none
  size_t rp_count = 0;
};

struct RpDiskInfo {
  std::string name;
  uint64_t size = 0;
  // Owner, group and permission bits of the file the disk was read from when the RP was
  // made: what its file in the mount shows, never wider (docs/security.md). uid 0 with
  // mode 0400 for RPs made before rpfs recorded them.
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mode = 0400;
  // Bytes of the disk held in chunks (not holes): its st_blocks. Unknown for RPs made
  // before rpfs recorded it (format v3).
  std::optional<uint64_t> allocated;
};

struct RpInfo {
  uint64_t id = 0;
  std::string vm;
  std::string name;
  int64_t created_us = 0;
  std::string description;
  std::string parent;  // name of the parent RP; empty when none (or deleted)
  bool quiesced = false;
  bool with_memory = false;
  bool is_protected = false;  // delete and prune refuse it
  bool automatic = false;     // the undo RP of a rollback: --keep-last and the like skip it
  bool has_domain_xml = false;
  std::vector<RpDiskInfo> disks;
  uint64_t memory_bytes = 0;        // size of the memory state (0 = none)
  uint64_t logical_bytes = 0;       // sum of disk (and memory state) sizes
  uint64_t data_bytes = 0;          // raw bytes of its distinct non-zero chunks
  uint64_t stored_bytes = 0;        // stored (compressed) bytes of those chunks
  uint64_t added_bytes = 0;         // bytes it added to the store when created
  uint64_t create_duration_us = 0;  // how long its create took (0: not recorded, before v3)
  // The last restore drill (`rpfs drill`): drill_time_us 0 = never drilled.
  int64_t drill_time_us = 0;
  bool drill_ok = false;
  std::string drill_reason;
  uint64_t drill_boot_us = 0;
  // Set by CreateRp only (not stored): bytes read from the disks (an incremental RP reads
  // only what changed), per stream (disk name, or ".memory"), and how long a running guest
  // was paused for the instant.
  uint64_t read_bytes = 0;
  std::map<std::string, uint64_t> read_bytes_by_stream;
  uint64_t paused_us = 0;
};

// The last drill of an RP in words: "never", "ok at <time>, booted in 2.1 s: <how>",
// "failed at <time>: <why>".
std::string FormatDrill(const RpInfo& rp);
// The "key: value" text of an RP (the mount's `info` file and `rpfs info`).
std::string FormatRpInfo(const RpInfo& rp, uint64_t unique_bytes);

struct CreateOptions {
  std::string description;
  bool memory = false;   // libvirt: save the memory state with the disks
  bool quiesce = false;  // libvirt: freeze guest filesystems (needs the guest agent)
  // Read an image file even while a qemu that may write it holds it (its write lock): the
  // copy is at best crash-consistent. Without it such a create is Busy.
  bool force = false;
  bool automatic = false;  // taken by rpfs (a rollback's undo RP), not asked for by a user
};

// The name OpenDisk*/Export take for an RP's memory state (no disk can have it: disk names
// never start with '.').
inline constexpr char kMemoryStream[] = ".memory";

// A retention policy (see docs/retention.md for the semantics).
struct RetentionPolicy {
  uint32_t keep_last = 0;
  uint32_t keep_hourly = 0;
  uint32_t keep_daily = 0;
  uint32_t keep_weekly = 0;
  uint32_t keep_monthly = 0;
  uint32_t keep_yearly = 0;
  int64_t keep_within_us = 0;  // 0: no such rule
  // The schedule `rpfs auto` follows, stored with the rules (docs/retention.md): one RP in
  // each period of `every_us`, periods starting `at_us` into it (e.g. daily at 02:00 UTC).
  int64_t every_us = 0;  // 0: no schedule
  int64_t at_us = 0;
  bool empty() const;  // no keep rule (the schedule aside)
  bool scheduled() const { return every_us > 0; }
  // "--every 1d --at 02:00 --keep-daily 7 --keep-weekly 4"; "(none)" with neither.
  std::string ToString() const;
};

struct PruneEntry {
  std::string rp;
  int64_t created_us = 0;
  bool keep = false;
  std::vector<std::string> reasons;  // the rules that keep it: "last", "daily", "protected"...
};

struct PruneResult {
  std::vector<PruneEntry> entries;  // newest first
  uint64_t bytes_freed = 0;         // dry run: exactly what deleting the removed set frees
};

// Told each step of a long command as it begins ("asking the guest to shut down (ACPI)").
using StepFn = std::function<void(const std::string& step)>;

struct RollbackOptions {
  bool keep_current = false;  // first take an undo RP of the disks as they are
  // A libvirt VM's running domain: ask its guest to shut down and wait up to stop_timeout_s
  // for it; a guest that does not is Busy and nothing changes, unless `force`, which then
  // destroys the domain (docs/restore.md).
  bool stop = false;
  uint32_t stop_timeout_s = 120;
  bool force = false;
  // Start the domain afterwards (an RP with memory always resumes from it).
  bool start = false;
  StepFn on_step;  // optional
};

struct RollbackStep {
  std::string what;
  int64_t time_us = 0;  // when it began
};

struct RollbackResult {
  std::string undo_rp;              // keep_current: the RP taken first
  std::vector<RollbackStep> steps;  // the domain's handling, when stop or start was asked
  uint64_t bytes_total = 0;         // sum of the RP's disk sizes
  uint64_t chunks_compared = 0;     // image chunks read and hashed
  uint64_t chunks_known = 0;        // judged from a libvirt checkpoint's bitmap, not read
  uint64_t chunks_written = 0;      // chunks that differed and were rewritten
  uint64_t bytes_written = 0;
};

// A restore drill (`rpfs drill`, docs/restore.md): boot an RP in isolation and decide
// whether it works.
struct DrillOptions {
  uint32_t timeout_s = 300;  // for the sign of life
  // The sign of life: this text on the guest's serial console; "" = its guest agent answers.
  std::string expect;
  // Then, when not empty, this command runs in the guest with `/bin/sh -c` through its
  // agent, and the drill passes only if it exits 0 within timeout_s.
  std::string exec;
  // Where the drill's domain reads the clone's disks: the mount's paths, which fill on first
  // read. Null: the clone is hydrated first and its local files are booted.
  std::function<std::string(const std::string& clone, const std::string& disk)> disk_path;
  StepFn on_step;  // optional
};

// The names of drills' clones: reserved (a user's clone of that name is refused), since
// CleanDrillLeftovers deletes such a clone whose drill is not running.
inline constexpr char kDrillClonePrefix[] = "rpfs-drill-";
Status CheckNotDrillCloneName(const std::string& clone);

struct DrillResult {
  bool ok = false;
  std::string reason;       // what showed it booted, or why it failed
  uint64_t boot_us = 0;     // from the start of the domain to the sign of life (ok only)
  int64_t time_us = 0;      // when the drill began
  std::string clone;        // the clone booted (deleted again)
  std::string domain;       // the transient domain (destroyed again)
  std::string console;      // the last bytes the guest printed on its serial port
  std::string exec_output;  // the last bytes `exec` wrote (stdout, then stderr)
};

struct StoreSummary {
  uint32_t chunk_size = 0;
  int compression_level = 0;
  uint64_t disk_bytes = 0;          // the store directory on disk
  uint64_t fs_free_bytes = 0;       // free space for the store on its filesystem
  uint64_t chunk_count = 0;         // distinct chunks stored
  uint64_t chunk_raw_bytes = 0;     // their uncompressed size
  uint64_t chunk_stored_bytes = 0;  // their stored size
  uint64_t page_count = 0;
  uint64_t page_bytes = 0;
};

struct VerifyRecord {
  int64_t time_us = 0;
  bool ok = false;
  uint32_t sample_percent = 100;
};

struct VerifyResult {
  uint64_t objects = 0;
  uint64_t bytes_hashed = 0;
  uint64_t chunks_skipped = 0;           // not re-hashed by a sampled verify
  std::vector<std::string> problems;     // one line per damaged object, naming it
  std::vector<std::string> damaged_rps;  // "vm/rp: disk vda: chunk <id> at offset N: cause"
  bool ok() const { return problems.empty() && damaged_rps.empty(); }
};

// Random-access reader of one disk of one RP. Immutable data: safe from many threads.
class DiskReader {
 public:
  virtual ~DiskReader() = default;
  virtual uint64_t size() const = 0;
  // Reads up to out.size() bytes at `offset` (fewer only at end of disk). Every chunk is
  // checked; damage is an IOError naming the chunk, never wrong data.
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const = 0;
  // SEEK_DATA / SEEK_HOLE at chunk granularity, answered from the extent map alone (no
  // chunk is read): the first offset >= `offset` inside a stored chunk (NextData) or
  // inside a hole (NextHole). NextData returns size() when no data follows (the caller's
  // ENXIO); NextHole returns size() for the implicit hole at the end.
  virtual Result<uint64_t> NextData(uint64_t offset) const = 0;
  virtual Result<uint64_t> NextHole(uint64_t offset) const = 0;
  // What the bytes [offset, offset + length) are, from the extent map alone (no chunk is
  // read): two ranges, of any disks of any RPs of one store, whose fingerprints are equal
  // and not empty hold equal bytes. Unequal fingerprints prove nothing (another alignment,
  // or a chunk that differs outside the range). Empty when this reader cannot tell.
  virtual Result<std::string> Fingerprint(uint64_t offset, uint64_t length) const {
    (void)offset;
    (void)length;
    return std::string();
  }
};

// One writable disk of a clone. Reads of chunks not yet present locally fetch them from
// the store and keep them (copy-on-read); writes to such chunks fill the parts they do not
// cover first. Shared by every opener in the process; safe from many threads.
class CloneDisk {
 public:
  virtual ~CloneDisk() = default;
  virtual uint64_t size() const = 0;
  // Fewer bytes only at the end of the disk.
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) = 0;
  // Writes past the end of the disk fail (EFBIG): a clone disk has a fixed size.
  virtual Result<size_t> WriteAt(uint64_t offset, std::span<const std::byte> data) = 0;
  // Makes every write so far, and every chunk fetched so far, durable (fsync).
  virtual Status Flush() = 0;
  virtual uint64_t hydrated_bytes() const = 0;  // bytes of the chunks present locally
  virtual bool hydrated() const = 0;            // every chunk present: the store is not needed
};

struct CloneDiskInfo {
  std::string name;
  uint64_t size = 0;
  std::string path;  // the local raw image (a plain raw file once hydrated)
  uint64_t hydrated_bytes = 0;
};

struct CloneInfo {
  std::string vm;
  std::string name;
  std::string rp;  // the RP it was made from (as named then)
  int64_t created_us = 0;
  bool hydrated = false;
  std::string source;  // where its chunks come from: "" (an RP of this store) or a region
  std::string dir;
  std::vector<CloneDiskInfo> disks;
};

// Counters of the shared cache of decoded chunks (partial-chunk reads go through it, so
// small reads of one chunk decode it once).
struct ChunkCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t bytes = 0;     // decoded bytes held now
  uint64_t capacity = 0;  // bound on `bytes`
};

// A committed change of the store's namespace, reported to the change listener (the
// mount uses it to drop what the kernel caches about the names involved).
struct StoreChange {
  enum class Kind {
    kVmAdded,
    kVmRemoved,
    kRpCreated,
    kRpRenamed,
    kRpDeleted,
    kCloneCreated,
    kCloneDeleted
  };
  Kind kind = Kind::kRpCreated;
  std::string vm;
  std::string rp;        // the RP's name (its old name for a rename); the clone's name
  std::string new_name;  // kRpRenamed only
  uint64_t rp_id = 0;
};
using ChangeListener = std::function<void(const StoreChange&)>;

// A region (docs/region.md): a Ceph RADOS pool RPs are pushed to.
struct RegionConfig {
  std::string name;
  std::string ceph_conf;  // absolute path
  std::string pool = "rpfs";
  std::string client_id = "admin";
  int64_t created_us = 0;
};

// One RP as its chunks, for copying it elsewhere (a region push). It pins the RP: its
// chunks stay readable while this lives, even if the RP is deleted meanwhile.
class RpChunks {
 public:
  virtual ~RpChunks() = default;
  virtual const RpInfo& info() const = 0;
  virtual uint32_t chunk_size() const = 0;
  virtual const std::string& domain_xml() const = 0;
  // fn(chunk index, SHA-256 of the chunk as 32 raw bytes) for every stored chunk of
  // `stream` (a disk name, or kMemoryStream) in index order; holes are skipped. Stops
  // early when fn returns false.
  virtual Status ForEachChunk(const std::string& stream,
                              const std::function<bool(uint64_t, std::string_view)>& fn) const = 0;
  // The stored body of chunk `digest`: rpfs's chunk encoding (format/chunk_codec.h).
  virtual Result<std::string> StoredChunk(std::string_view digest) const = 0;
};

// One stream of an RP made from elsewhere (a region pull), read like a disk.
struct ImportedStream {
  std::string name;  // a disk name, or kMemoryStream
  std::unique_ptr<image::ImageSource> source;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mode = 0400;
};

struct ImportOptions {
  std::string description;
  std::string domain_xml;
};

// Chunks kept elsewhere (a region), for clones made from there. Given by the caller
// (SetRemoteChunksFactory), so this layer knows nothing of regions. Thread-safe.
class RemoteChunks {
 public:
  virtual ~RemoteChunks() = default;
  // Fills `out` (exactly the chunk's length) with chunk `digest` (32 raw bytes), checked
  // against its SHA-256: an error naming it, never wrong bytes.
  virtual Status Read(std::string_view digest, std::span<std::byte> out) = 0;
  // A hint: these chunks will be read soon. Fetching them all at once (in flight together)
  // makes the Reads that follow local. Failures are left for Read to report.
  virtual void Prefetch(const std::vector<std::string>& digests) { (void)digests; }
  // The clone made from `source` needs it no more (deleted, or every chunk is local): what
  // the source keeps for that clone may go. Whatever fails here is released later by the
  // source's own sweep (`rpfs region gc`).
  virtual Status Release(const std::string& source) {
    (void)source;
    return Status::OK();
  }
};
// The RemoteChunks of a clone's source ("region:<region>:<snapshot>[/<hold>]").
using RemoteChunksFactory =
    std::function<Result<std::shared_ptr<RemoteChunks>>(const std::string& source)>;

// Snapshots kept elsewhere (the store's regions), for the mount's `.region/` view. Given
// by the caller (SetRemoteSnapshots), so this layer knows nothing of regions. Thread-safe.
class RemoteSnapshots {
 public:
  virtual ~RemoteSnapshots() = default;
  // Whether there is anything to show (a region is configured); cheap, asks no server.
  virtual bool Configured() const = 0;
  // Every snapshot, named as `.region/` shows it, as an RpInfo: its name, the time its RP
  // was made, and its disks with their sizes and access.
  virtual Result<std::vector<RpInfo>> List() = 0;
  // Disk `disk` of snapshot `snapshot` as listed with id `id` (NotFound when the name now
  // stands for another push).
  virtual Result<std::unique_ptr<DiskReader>> OpenDisk(const std::string& snapshot, uint64_t id,
                                                       const std::string& disk) = 0;
};

// One disk of a clone made from elsewhere: its size, access and chunks (index, digest).
struct RemoteDisk {
  std::string name;
  uint64_t size = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mode = 0400;
  std::vector<std::pair<uint64_t, std::string>> chunks;  // ascending index, 32-byte digests
};

class Repository {
 public:
  static Result<std::unique_ptr<Repository>> Init(const std::string& dir, const InitOptions& opts);
  static Result<std::unique_ptr<Repository>> Open(const std::string& dir);
  ~Repository();

  // --- VMs ---
  Status AddVm(const std::string& vm, const std::vector<DiskSpec>& disks);
  // libvirt VMs need a way to reach libvirt (the CLI passes virt::ConnectLibvirt).
  void SetHypervisorFactory(HypervisorFactory factory);
  // Registers libvirt domain `domain` (name or UUID) at `uri` as VM `vm` (default: the
  // domain's name). Its disks come from the domain definition.
  Result<VmInfo> ImportVm(const std::string& uri, const std::string& domain,
                          const std::string& vm = "");
  // "image files", or the domain's state ("running", "paused", "shut off") asked of libvirt.
  Result<std::string> VmState(const std::string& vm);
  // The domain XML stored with an RP (NotFound when it has none).
  Result<std::string> DomainXmlById(const std::string& vm, uint64_t rp_id) const;
  // Refuses while the VM still has RPs.
  Status RemoveVm(const std::string& vm);
  Result<std::vector<VmInfo>> ListVms() const;
  Result<VmInfo> GetVm(const std::string& vm) const;

  // --- recovery points ---
  Result<RpInfo> CreateRp(const std::string& vm, const std::string& rp, const CreateOptions& opts,
                          const ProgressFn& progress = nullptr);
  Result<std::vector<RpInfo>> ListRps(const std::string& vm) const;  // creation order
  Result<RpInfo> GetRp(const std::string& vm, const std::string& rp) const;
  // By id: stable across renames (the mount keys RP directories by id).
  Result<RpInfo> GetRpById(const std::string& vm, uint64_t id) const;
  Status RenameRp(const std::string& vm, const std::string& from, const std::string& to);
  // Deletes all of `rps` in one atomic step; returns the bytes freed.
  Result<uint64_t> DeleteRps(const std::string& vm, const std::vector<std::string>& rps);
  // Protected RPs are refused by DeleteRps (PermissionDenied) until unprotected.
  Status SetProtected(const std::string& vm, const std::string& rp, bool protect);
  // Rewrites the VM's disks so they equal RP `rp`, writing only the chunks that differ,
  // and makes `rp` the VM's current RP (the parent of its next one). Busy when an image is
  // in use (qemu's image locks). Irreversible unless opts.keep_current.
  Result<RollbackResult> Rollback(const std::string& vm, const std::string& rp,
                                  const RollbackOptions& opts,
                                  const ProgressFn& progress = nullptr);
  // Retention: the stored policy of a VM (nullopt when none), and a prune by a policy.
  Status SetPolicy(const std::string& vm, const RetentionPolicy& policy);
  Result<std::optional<RetentionPolicy>> GetPolicy(const std::string& vm) const;
  // Deletes (unless dry_run) every RP of `vm` the policy does not keep, in one atomic step.
  // InvalidArgument for an empty policy (it would remove everything).
  Result<PruneResult> Prune(const std::string& vm, const RetentionPolicy& policy, bool dry_run);
  // Bytes deleting exactly this set would free (shared only among the set counts too).
  Result<uint64_t> BytesFreedByDeleting(const std::string& vm,
                                        const std::vector<std::string>& rps) const;

  // --- data ---
  Result<std::unique_ptr<DiskReader>> OpenDisk(const std::string& vm, const std::string& rp,
                                               const std::string& disk) const;
  Result<std::unique_ptr<DiskReader>> OpenDiskById(const std::string& vm, uint64_t rp_id,
                                                   const std::string& disk) const;
  // Writes the disk image to `fd`. With `sparse` (fd is a fresh regular file) holes are
  // skipped with seeks and the file is sized at the end; otherwise zeros are written.
  Status Export(const std::string& vm, const std::string& rp, const std::string& disk, int fd,
                bool sparse, const ProgressFn& progress = nullptr) const;

  // --- clones ---
  // Makes writable disks from RP `rp`, at once (no data copied): files under
  // <store>/clones/<vm>/<clone>/. The clone keeps the RP's data alive until it is hydrated
  // or deleted, even if the RP is deleted.
  Result<CloneInfo> CreateClone(const std::string& vm, const std::string& rp,
                                const std::string& clone);
  Result<std::vector<CloneInfo>> ListClones(const std::string& vm) const;  // "" = every VM
  Result<CloneInfo> GetClone(const std::string& vm, const std::string& clone) const;
  // Busy while one of its disks is open.
  Status DeleteClone(const std::string& vm, const std::string& clone);
  // Defines a new libvirt domain `domain` from the RP's domain XML (the VM's, when the RP
  // has none) whose disks are `disk_paths` (disk -> path: the clone's disks as the mount
  // shows them, which fills them on first read); new UUID, new MACs. Returns its UUID.
  Result<std::string> DefineCloneDomain(const std::string& vm, const std::string& clone,
                                        const std::string& domain,
                                        const std::map<std::string, std::string>& disk_paths);
  Result<std::shared_ptr<CloneDisk>> OpenCloneDisk(const std::string& vm, const std::string& clone,
                                                   const std::string& disk);
  // A clone of disks kept elsewhere (a region snapshot): made at once, its chunks read
  // through the RemoteChunks of `source` on first read. `chunk_size` must be the store's.
  // A VM that does not exist is made, without disks. `from` is shown as the clone's RP.
  Result<CloneInfo> CreateRemoteClone(const std::string& vm, const std::string& clone,
                                      const std::string& source, const std::string& from,
                                      uint32_t chunk_size, const std::vector<RemoteDisk>& disks);
  void SetRemoteChunksFactory(RemoteChunksFactory factory);
  // The `.region/` view's source; null (the default) shows none.
  void SetRemoteSnapshots(std::shared_ptr<RemoteSnapshots> snapshots);
  std::shared_ptr<RemoteSnapshots> remote_snapshots() const;
  // Fetches every chunk not yet present; afterwards the clone never reads the store again.
  Status HydrateClone(const std::string& vm, const std::string& clone,
                      const ProgressFn& progress = nullptr);

  // --- restore drills (docs/restore.md) ---
  // Boots RP `rp` of libvirt VM `vm` as an instant clone in a transient domain with no
  // network, waits for its sign of life, then destroys the domain and deletes the clone
  // whatever happened, and stores the outcome with the RP. A drill that ran returns OK with
  // ok=false when the guest failed it; errors are for a drill that could not run.
  Result<DrillResult> Drill(const std::string& vm, const std::string& rp, const DrillOptions& opts);
  // Deletes the clones of drills whose process died (kill -9): named rpfs-drill-*, their
  // lock not held. Their domains went with the process (libvirt autodestroy). Returns how
  // many went.
  Result<size_t> CleanDrillLeftovers();

  // --- copies elsewhere (regions, docs/region.md) ---
  Result<std::unique_ptr<RpChunks>> OpenRpChunks(const std::string& vm,
                                                 const std::string& rp) const;
  // Makes RP `rp` of `vm` by reading `streams` (a pulled region snapshot). It stands outside
  // the VM's lineage: no parent, and it never becomes the VM's current RP, so the VM's next
  // RP is not based on it. A VM that does not exist is made, without disks.
  Result<RpInfo> ImportRp(const std::string& vm, const std::string& rp,
                          std::vector<ImportedStream> streams, const ImportOptions& opts,
                          const ProgressFn& progress = nullptr);
  Status AddRegion(const RegionConfig& region);  // AlreadyExists when the name is taken
  Status RemoveRegion(const std::string& name);
  Result<RegionConfig> GetRegion(const std::string& name) const;
  Result<std::vector<RegionConfig>> ListRegions() const;
  // What tells this store from another on the same host (its creation time): what a
  // region records with a hold this store takes, so only this store's gc releases it.
  std::string StoreId() const;

  // --- store ---
  // `sample_percent` < 100: re-hash only that share of the chunks, a different one each
  // run (pages, references and refcounts are always checked in full).
  // Records its time and outcome for LastVerify (rpfs metrics).
  Result<VerifyResult> Verify(const ProgressFn& progress = nullptr, uint32_t sample_percent = 100);
  // The last verify of this store, if any ran since rpfs recorded them.
  Result<std::optional<VerifyRecord>> LastVerify() const;
  Status Compact();
  Result<StoreSummary> Summary() const;
  ChunkCacheStats CacheStats() const;

  // Called after every committed namespace change, from the thread that made it, possibly
  // with the store's write lock held: it must return quickly and must not call back into
  // mutations. Replaces any previous listener; nullptr removes it (and waits for a call in
  // progress to return).
  void SetChangeListener(ChangeListener listener);

 private:
  Result<VerifyResult> CheckStore(const ProgressFn& progress, uint32_t sample_percent) const;
  explicit Repository(std::unique_ptr<store::Store> store);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rpfs
