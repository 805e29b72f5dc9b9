// CloneDiskImpl: one disk of a clone, a local sparse raw file filled from an RP stream on
// first read (copy-on-read).
//
// Files, in the clone's directory:
//   <disk>.raw      the disk; a chunk's bytes are valid once its bit is set
//   <disk>.present  one bit per chunk (bit k of byte j = chunk 8j+k), 1 = present locally
// Invariant on disk: a set bit is only ever written after the chunk's data was made
// durable (fdatasync of the data, then the map, then fdatasync of the map), and bits only
// go from 0 to 1. A crash therefore loses at most fills and writes made since the last
// Flush(); a lost fill is simply fetched again, and a lost write was never acknowledged.
// Fills are flushed every kFlushEvery bytes, so a killed hydration resumes close to where
// it stopped.
//
// Concurrency: per-chunk stripe locks order fills and writes of chunks not yet present;
// present chunks are read and written with plain pread/pwrite.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "format/records.h"
#include "rp/extent_map.h"
#include "rpfs/repository.h"
#include "store/store.h"
#include "util/direct_io.h"
#include "util/fd.h"
#include "util/read_ahead.h"

namespace rpfs::rp {

struct CloneDiskFiles {
  std::string data;
  std::string present;
};
CloneDiskFiles CloneFiles(const std::string& dir, const std::string& disk);

// Where a clone disk's missing chunks come from. Thread-safe.
class CloneChunkSource {
 public:
  virtual ~CloneChunkSource() = default;
  // Fills `out` (chunk `index`'s length) with the chunk's bytes: zeros for a hole.
  virtual Status Fetch(uint64_t index, std::span<std::byte> out) = 0;
  // A hint: chunks [first, last] will be fetched soon (a remote source gets them at once).
  virtual void Prefetch(uint64_t first, uint64_t last) {
    (void)first;
    (void)last;
  }
  // Whether fetching ahead of a sequential reader pays: Prefetch of chunks not yet asked
  // for overlaps their fetch (and check) with the reader's work.
  virtual bool ReadsAhead() const { return false; }
};
// The chunks of RP stream `stream` in `store`.
std::unique_ptr<CloneChunkSource> NewStoreChunkSource(const store::Store* store, PageCache* pages,
                                                      const format::RpStream& stream);
// The chunks listed in `chunks` (ascending index), read through what `connect` returns,
// called on the first fetch (a clone that is hydrated never connects); the rest are holes.
using RemoteConnector = std::function<Result<std::shared_ptr<RemoteChunks>>()>;
std::unique_ptr<CloneChunkSource> NewRemoteChunkSource(
    RemoteConnector connect, std::vector<std::pair<uint64_t, Digest>> chunks);

// The chunk list of a clone disk made from elsewhere (CreateRemoteClone): a file in the
// clone's directory, `<disk>.chunks`, of (fixed64 index, 32-byte digest) records.
std::string RemoteChunkListFile(const std::string& dir, const std::string& disk);
Status WriteRemoteChunkList(const std::string& path,
                            const std::vector<std::pair<uint64_t, std::string>>& chunks);
Result<std::vector<std::pair<uint64_t, Digest>>> ReadRemoteChunkList(const std::string& path,
                                                                     uint64_t chunk_count);

// Creates the files of a new clone disk: a sparse data file of `size` bytes and an
// all-zero map, both synced.
Status CreateCloneDiskFiles(const CloneDiskFiles& files, uint64_t size, uint32_t chunk_size);
// Bytes present according to the map of a clone disk nobody has open.
Result<uint64_t> PresentBytesOnDisk(const CloneDiskFiles& files, uint64_t size,
                                    uint32_t chunk_size);

class CloneDiskImpl final : public CloneDisk {
 public:
  static constexpr uint64_t kFlushEvery = 64ull << 20;

  // `on_hydrated` runs once, after the last chunk became present and durable (not under
  // any lock of this object).
  static Result<std::shared_ptr<CloneDiskImpl>> Open(std::unique_ptr<CloneChunkSource> source,
                                                     uint64_t size, uint32_t chunk_size,
                                                     const CloneDiskFiles& files,
                                                     std::function<void()> on_hydrated);

  uint64_t size() const override { return size_; }
  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) override;
  Result<size_t> WriteAt(uint64_t offset, std::span<const std::byte> data) override;
  Status Flush() override;
  uint64_t hydrated_bytes() const override;
  bool hydrated() const override { return present_count_.load() == chunks_; }
  // Every chunk present *and* the map saying so durable: only then may the clone let go
  // of the store's data.
  bool durably_hydrated() const { return durable_.load(); }

  // Fetches every missing chunk, windows in parallel; progress in bytes of the disk.
  Status Hydrate(const ProgressFn& progress);

 private:
  CloneDiskImpl(std::unique_ptr<CloneChunkSource> source, uint64_t size, uint32_t chunk_size,
                UniqueFd data, UniqueFd present, std::function<void()> on_hydrated);
  bool Present(uint64_t i) const {
    return (bits_[i / 64].load(std::memory_order_acquire) >> (i % 64)) & 1;
  }
  void MarkPresent(uint64_t i);
  uint32_t ChunkLength(uint64_t i) const;
  // Tells the source which of chunks [first, last] are about to be filled (the span from
  // the first to the last missing one), so a remote source fetches them at once.
  void PrefetchMissing(uint64_t first, uint64_t last);
  static constexpr uint64_t kPrefetchChunks = 32;  // per prefetch while hydrating
  // The longest run one FillRun takes: it holds a stripe lock per chunk while it fetches,
  // and a bound keeps that (and a writer's wait behind it) small whatever the read size.
  static constexpr uint64_t kMaxRunChunks = 32;
  // Makes chunks [first, first + count) present, all of them missing when the caller
  // looked and whole in `dst` (their bytes, aligned for direct I/O when possible): fetched
  // straight into `dst` and written to the file with as few writes as the holes allow,
  // direct when the file allows it. A chunk made present meanwhile is read from the file.
  Status FillRun(uint64_t first, uint64_t count, std::span<std::byte> dst);
  // Writes the chunks of `dst` marked `fetched` (chunk `first` onwards) to the file and
  // marks them present; returns their bytes. Called with the run's stripes held.
  Result<uint64_t> StoreFetched(uint64_t first, std::span<std::byte> dst,
                                const std::vector<bool>& fetched);
  // Writes fetched bytes at `at` of the data file: direct I/O when the buffer, length and
  // offset allow and the filesystem takes it, else through the page cache.
  Status WriteFetched(std::span<const std::byte> bytes, uint64_t at);
  // Makes chunk `i` present (fetching it unless a write covers it whole) and applies
  // `write` (bytes at `write_offset` within the chunk) if given; copies [copy_offset,
  // +copy.size()) of the chunk's final content into `copy` if given.
  Status Fill(uint64_t i, std::span<const std::byte> write, uint64_t write_offset,
              std::span<std::byte> copy, uint64_t copy_offset);
  // Returns whether the map it made durable had every bit set.
  Result<bool> FlushLocked();
  void AfterFill(uint64_t bytes);
  // After a flush of a complete map: marks the disk durably hydrated, once, and tells.
  void MarkDurablyHydrated();

  std::unique_ptr<CloneChunkSource> source_;
  uint64_t size_;
  uint64_t cs_;
  uint64_t chunks_;
  UniqueFd data_;
  // Fetched runs are written direct: copying them into the page cache cost more CPU than
  // decoding them here (docs/performance.md), and nothing reads them back from the file
  // soon: the kernel keeps the mount's own copy of what it was sent.
  DirectIo direct_;
  UniqueFd present_;
  std::function<void()> on_hydrated_;
  std::vector<std::atomic<uint64_t>> bits_;
  // Chunks not present whose local bytes may not be zero: data found there at open (a fill
  // or write lost in a crash), or a fill whose write failed part-way. Only these need
  // punching when their content is zero. One bit per chunk, atomic: fills of chunks under
  // different stripe locks set bits of the same word.
  std::vector<std::atomic<uint64_t>> stale_;
  bool MaybeStale(uint64_t i) const {
    return (stale_[i / 64].load(std::memory_order_relaxed) >> (i % 64)) & 1;
  }
  void MarkMaybeStale(uint64_t first, uint64_t count) {
    for (uint64_t i = first; i < first + count; ++i) {
      stale_[i / 64].fetch_or(uint64_t{1} << (i % 64), std::memory_order_relaxed);
    }
  }
  std::atomic<uint64_t> present_count_{0};
  std::atomic<uint64_t> unflushed_{0};
  std::atomic<bool> durable_{false};
  // A run fill holds one stripe per chunk of the run (at most kMaxRunChunks) while it
  // fetches, which from a region can take a while: 256 stripes keep a
  // write to an unrelated missing chunk from waiting behind it most of the time.
  std::array<std::mutex, 256> stripes_;
  std::mutex flush_mu_;
  // Fetches ahead of a sequential reader when the source gains from it (a region: see
  // util/read_ahead.h). Last member: its thread calls PrefetchMissing, so it stops first.
  std::unique_ptr<ReadAhead> ahead_;
};

}  // namespace rpfs::rp
