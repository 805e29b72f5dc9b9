// Store: the RocksDB-backed object and metadata store under one rpfs store directory.
//
// Data kept (see format/keys.h for every key):
//   - metadata records (store config, VMs, RPs, name index) in the default column family;
//   - content-addressed objects: chunk bodies ("chunks", BlobDB) and extent-map pages
//     ("pages"), each with an ObjectMeta (refcount, sizes) in "objects".
// An object's refcount is the number of references to it from stored pages (each stored
// page counts once, however many RPs share it) plus the number of RP streams whose root
// it is. When a refcount reaches zero the object is queued ('G' keys) in the same atomic
// batch, and garbage collection frees it and decrements its children: so any delete
// frees exactly the objects no one else references, at once, with no store scan.
//
// Creating an RP is a WriteTx: new objects are written with refcount 0 and listed under
// the tx (without the WAL: they are made durable by one flush at commit); the commit is
// one synced batch that publishes the records and applies every refcount change. A crash
// before the commit leaves the tx record, and Open() removes the tx's objects.
//
// Thread-safety: reads (Get, Scan, GetObjectMeta, GetObjectBody) are safe from any thread
// at any time. Mutations (BeginTx, Commit, RunGc, WriteTx::Commit, Compact) must be
// serialised by the caller (the Repository holds one write lock). An open WriteTx may go
// on putting objects while other mutations commit (the Repository reads a create's disks
// without its write lock), because nothing is freed while a WriteTx is open: RunGc leaves
// the queue for the first RunGc after the last WriteTx ended, so an object a WriteTx found
// present (and will reference at its commit) cannot vanish under it. WriteTxs themselves
// are not concurrent with each other (the caller runs one at a time). The directory is
// locked against other processes for the lifetime of the Store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "format/records.h"
#include "rpfs/status.h"

namespace rpfs::store {

using format::ObjectId;
using format::ObjectIdHash;
using format::ObjectMeta;

// A set of changes applied atomically by Store::Commit.
class Mutation {
 public:
  void Put(std::string key, std::string value) {
    puts_.emplace_back(std::move(key), std::move(value));
  }
  void Delete(std::string key) { deletes_.push_back(std::move(key)); }
  // Adds `delta` (may be negative) to the refcount of an existing (or tx-written) object.
  void AddRef(const ObjectId& id, int64_t delta) { refs_[id] += delta; }

  const auto& puts() const { return puts_; }
  const auto& deletes() const { return deletes_; }
  const auto& refs() const { return refs_; }

 private:
  std::vector<std::pair<std::string, std::string>> puts_;
  std::vector<std::string> deletes_;
  std::unordered_map<ObjectId, int64_t, ObjectIdHash> refs_;
};

// Bytes on disk of the store directory, by kind.
struct DiskUsage {
  uint64_t total = 0;
  uint64_t blob_files = 0;  // chunk bodies
  uint64_t sst_files = 0;   // metadata, pages, small chunks
  uint64_t other = 0;       // WAL, manifest, options, lock, clone disks (allocated bytes)
};

struct ObjectTotals {
  uint64_t chunks = 0;
  uint64_t chunk_raw_bytes = 0;
  uint64_t chunk_stored_bytes = 0;
  uint64_t pages = 0;
  uint64_t page_bytes = 0;
};

struct ObjectProblem {
  ObjectId id;
  std::string what;  // "SHA-256 mismatch", "missing", "refcount 3, referenced 2 times"
  // False for bookkeeping problems (a refcount that disagrees with the references found,
  // a leaked object): the object itself reads right. A damaged page hides its children's
  // references, so their refcounts then disagree too without any of them being damaged.
  bool unreadable = true;
};

struct VerifyReport {
  uint64_t objects = 0;
  uint64_t chunk_bytes = 0;     // raw bytes re-hashed
  uint64_t chunks_skipped = 0;  // chunks a sampled verify did not re-hash
  std::vector<ObjectProblem> problems;
  std::vector<std::string> leftovers;  // pending tx / gc entries that should not exist
};

using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

class WriteTx;

class Store {
 public:
  // Creates a new store in `dir` (which may exist but must not hold a store).
  static Result<std::unique_ptr<Store>> Init(const std::string& dir,
                                             const format::StoreConfig& cfg);
  // Opens an existing store, takes its lock, and finishes any interrupted operation.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir);
  virtual ~Store() = default;

  virtual const format::StoreConfig& config() const = 0;
  virtual const std::string& dir() const = 0;

  // --- metadata (default column family) ---
  virtual Result<std::optional<std::string>> Get(std::string_view key) const = 0;
  // Calls fn(key, value) for every key starting with `prefix`, in order, until it returns false.
  virtual Status Scan(std::string_view prefix,
                      const std::function<bool(std::string_view, std::string_view)>& fn) const = 0;

  // --- objects ---
  virtual Result<std::optional<ObjectMeta>> GetObjectMeta(const ObjectId& id) const = 0;
  // The stored body (encoded chunk or page). NotFound or Corruption naming the object.
  // Every read checks RocksDB's checksums, the read path's included: skipping them (to save
  // the blob record's CRC32C, a fifth of the daemon's CPU on a cold sequential read) also
  // skipped those of the table blocks that lead to the blob, and Debian's RocksDB asserts on
  // a damaged entry it parses, so bit rot in a table ended the mount daemon
  // (StoreTest.ADamagedChunkTableIsCorruptionOnTheReadPath). RocksDB 7.8 cannot skip the
  // blob's CRC alone.
  virtual Result<std::string> GetObjectBody(const ObjectId& id) const = 0;

  // --- mutations (caller serialises) ---
  virtual Result<std::unique_ptr<WriteTx>> BeginTx(std::string description) = 0;
  // Applies `m` atomically and durably (synced). Objects whose refcount reaches zero are
  // queued for RunGc in the same batch.
  virtual Status Commit(const Mutation& m) = 0;
  // Frees every queued object, cascading through pages. Returns the bytes freed. While a
  // WriteTx is open it frees nothing and returns 0: the queue waits for the next call.
  virtual Result<uint64_t> RunGc() = 0;
  // True while a WriteTx is open (begun, neither committed nor destroyed).
  virtual bool HasOpenTx() const = 0;
  // Reads a counter, adds one, and stages the new value in `m`: the returned id is used
  // only if `m` commits. Caller serialises.
  virtual Result<uint64_t> NextId(std::string_view counter, Mutation* m) = 0;
  // Rewrites files to reclaim space from deleted objects now.
  virtual Status Compact() = 0;
  // Returns once no background compaction is pending or running (they always end). For
  // tests and benchmarks that look at the files a store leaves.
  virtual void WaitForCompactions() const = 0;

  // --- accounting and checks ---
  virtual Result<DiskUsage> Usage() const = 0;
  // Counts and sizes of all stored objects (reads object metadata only, no bodies).
  virtual Result<ObjectTotals> CountObjects() const = 0;
  // Bytes that releasing one reference to each of `roots` would free (a dry run of the
  // decrement cascade; reads only what would be freed and its direct children).
  virtual Result<uint64_t> SimulateRelease(const std::vector<ObjectId>& roots) const = 0;
  // Re-hashes every object, checks every reference from `roots` and from pages resolves,
  // and checks every refcount. `roots` holds one entry per RP stream root. With
  // `sample_percent` < 100, only that share of the chunks, picked at random for each run, is
  // read and re-hashed; pages, references and refcounts are always checked in full.
  virtual Result<VerifyReport> Verify(const std::vector<ObjectId>& roots,
                                      const ProgressFn& progress,
                                      uint32_t sample_percent = 100) const = 0;
};

// An RP being written. Objects put here are invisible to RPs until Commit; if the WriteTx
// is destroyed without committing, its objects are removed (and, after a crash, by the
// next Store::Open).
class WriteTx {
 public:
  virtual ~WriteTx() = default;
  // Writes a new object with refcount 0. The caller makes sure it does not exist yet.
  virtual Status PutObject(const ObjectId& id, std::string_view body, uint64_t raw_size) = 0;
  // Makes every object durable, then applies `m` atomically: the point of no return.
  virtual Status Commit(const Mutation& m) = 0;
};

// Converts a child entry of a page at `level` to its object id.
// The RocksDB library this process runs with ("7.8.3"), for `rpfs --version`.
std::string RocksDbVersion();

inline ObjectId ChildId(uint8_t level, const Digest& d) {
  return ObjectId{level == 0 ? format::ObjectKind::kChunk : format::ObjectKind::kPage, d};
}

}  // namespace rpfs::store
