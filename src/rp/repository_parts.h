// RepositoryParts: the state behind the Repository API, as named parts with one job each.
// Repository::Impl is exactly this; the repository_*.cc files implement the public API on
// top of it and hold no state of their own.
//
//   store     the RocksDB store (src/store)
//   pages     decoded extent-map pages, shared by every reader and writer (leaf lock)
//   chunks    decoded chunks for partial reads (leaf lock)
//   catalog   read-only records: VMs, RPs, clones (no lock)
//   gate      create_mu, write_mu, reader pins, chores, change delivery (rp/write_gate.h)
//   clones    the clone disks open in this process (rp/clone_registry.h)
//   domains   libvirt domains through rpfs::Hypervisor (rp/domain_points.h)
//   remote    snapshots kept elsewhere, for the mount's .region/ view (set once, read often)
//
// The lock order of all of them is in rp/lock_order.h.
#pragma once

#include <atomic>
#include <memory>

#include "rp/catalog.h"
#include "rp/chunk_cache.h"
#include "rp/clone_registry.h"
#include "rp/domain_points.h"
#include "rp/extent_map.h"
#include "rp/write_gate.h"
#include "rpfs/repository.h"
#include "store/store.h"

namespace rpfs::rp {

inline constexpr size_t kPageCacheEntries = 4096;  // ~128 MiB of map coverage at 64 KiB chunks
inline constexpr uint64_t kChunkCacheBytes = 64ull << 20;  // decoded chunks for partial reads

struct RepositoryParts {
  explicit RepositoryParts(std::unique_ptr<store::Store> s);

  std::unique_ptr<store::Store> store;
  mutable PageCache pages;
  mutable ChunkCache chunks;
  Catalog catalog;
  WriteGate gate;
  CloneRegistry clones;
  DomainPoints domains;
  std::atomic<std::shared_ptr<RemoteSnapshots>> remote;

  // Releases the data of a deleted RP whose delete waited for its readers (write_mu held;
  // on failure its 'D' record stays for the next open).
  Status ReleaseDeferred(uint64_t rp_id);
  // Every deferred delete left by an earlier process (no reader survives a restart).
  Status ReleaseAllDeferred();
  // A reader of a disk of RP `rp_id`, pinning it: the record is read after pinning, and a
  // delete holds the pins from its check to its commit, so it either committed before
  // (NotFound here) or sees the pin and keeps the data.
  Result<std::unique_ptr<DiskReader>> OpenPinned(const std::string& vm, uint64_t rp_id,
                                                 const std::string& disk);
  // Adds `freed` to the persisted count of bytes freed since the last compaction and,
  // once that is at least a quarter of the store's size on disk (and kReclaimMinBytes),
  // compacts so the space returns to the filesystem (write_mu held). Errors are left for
  // the next delete or `rpfs compact`: the delete itself has succeeded.
  void NoteFreedAndReclaimIfDue(uint64_t freed);
  static constexpr uint64_t kReclaimMinBytes = 8ull << 20;
};

}  // namespace rpfs::rp

namespace rpfs {
struct Repository::Impl : rp::RepositoryParts {
  using RepositoryParts::RepositoryParts;
};
}  // namespace rpfs
