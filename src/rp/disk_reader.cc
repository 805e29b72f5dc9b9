#include "rp/disk_reader.h"

#include <unistd.h>

#include <cstring>
#include <future>
#include <vector>

#include "format/chunk_codec.h"
#include "rp/chunk_cache.h"
#include "rp/export_output.h"
#include "util/fd.h"
#include "util/thread_pool.h"

namespace rpfs::rp {
namespace {

constexpr uint64_t kExportBatchBytes = 4ull << 20;

class StreamReader final : public DiskReader {
 public:
  StreamReader(const store::Store* store, PageCache* cache, ChunkCache* chunks,
               const format::RpStream& stream)
      : store_(store),
        chunks_(chunks),
        map_(cache, store->config().page_fanout, store->config().chunk_size, stream) {}

  uint64_t size() const override { return map_.size(); }

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    if (offset >= map_.size()) return size_t{0};
    uint64_t end = std::min<uint64_t>(map_.size(), offset + out.size());
    const uint64_t cs = map_.chunk_size();
    uint64_t pos = offset;
    while (pos < end) {
      uint64_t index = pos / cs;
      uint64_t chunk_start = index * cs;
      uint32_t chunk_len = map_.ChunkLength(index);
      uint64_t in_chunk = pos - chunk_start;
      uint64_t n = std::min<uint64_t>(chunk_len - in_chunk, end - pos);
      std::byte* dst = out.data() + (pos - offset);
      RPFS_ASSIGN_OR_RETURN(Digest d, map_.ChunkAt(index));
      if (d.IsZero()) {
        std::memset(dst, 0, n);
      } else if (in_chunk == 0 && n == chunk_len) {
        // Whole chunk: decode straight into the caller's buffer, keep the cache for
        // partial reads (the ones that would otherwise decode the same chunk again).
        RPFS_RETURN_IF_ERROR(ReadChunk(store_, d, std::span(dst, n)));
      } else {
        RPFS_ASSIGN_OR_RETURN(auto chunk, chunks_->Get(d, chunk_len));
        std::memcpy(dst, chunk->data() + in_chunk, n);
      }
      pos += n;
    }
    return static_cast<size_t>(end - offset);
  }

  Result<uint64_t> NextData(uint64_t offset) const override { return Seek(offset, true); }
  Result<uint64_t> NextHole(uint64_t offset) const override { return Seek(offset, false); }

  // The range's offset inside its first chunk, its length and the digests of the chunks it
  // covers: equal for two ranges only when their bytes are equal (a chunk's digest fixes
  // its bytes and its length; a hole's, zeros).
  Result<std::string> Fingerprint(uint64_t offset, uint64_t length) const override {
    if (offset > map_.size() || length > map_.size() - offset) {
      return Status::InvalidArgument("fingerprint of bytes " + std::to_string(offset) + "+" +
                                     std::to_string(length) + " past the end of the disk");
    }
    const uint64_t cs = map_.chunk_size();
    std::string out = std::to_string(offset % cs) + ":" + std::to_string(length) + ":";
    if (length == 0) return out;
    for (uint64_t i = offset / cs; i <= (offset + length - 1) / cs; ++i) {
      RPFS_ASSIGN_OR_RETURN(Digest d, map_.ChunkAt(i));
      out += d.View();
    }
    return out;
  }

 private:
  Result<uint64_t> Seek(uint64_t offset, bool want_data) const {
    if (offset >= map_.size()) return map_.size();
    const uint64_t cs = map_.chunk_size();
    RPFS_ASSIGN_OR_RETURN(uint64_t index, map_.FindChunk(offset / cs, want_data));
    if (index >= map_.chunk_count()) return map_.size();
    return std::max(offset, index * cs);
  }

  const store::Store* store_;
  ChunkCache* chunks_;
  ExtentMap map_;
};

}  // namespace

Status ReadChunk(const store::Store* store, const Digest& digest, std::span<std::byte> out) {
  thread_local format::ChunkDecoder decoder;
  Result<std::string> body = store->GetObjectBody({format::ObjectKind::kChunk, digest});
  // RocksDB's own checksums now catch most damage before our codec does: the same error.
  if (body.status().IsCorruption()) {
    return Status::IOError("chunk " + digest.Hex() + " is damaged: " + body.status().message());
  }
  RPFS_RETURN_IF_ERROR(body.status());
  Status s = decoder.Decode(*body, out);
  if (!s.ok()) return Status::IOError("chunk " + digest.Hex() + " is damaged: " + s.message());
  return Status::OK();
}

std::unique_ptr<DiskReader> NewDiskReader(const store::Store* store, PageCache* cache,
                                          ChunkCache* chunks, const format::RpStream& stream) {
  return std::make_unique<StreamReader>(store, cache, chunks, stream);
}

// Long (~90 lines) on purpose: the double-buffered batches are shared by the decode step
// (pool) and the write step (writer thread), two lambdas over one state.
// Batches of 4 MiB (not 16): each stays in the CPU caches from its decode to its write.
// The pool has at least 4 workers though the machine may have 2 cores: a worker waiting
// on a blob read leaves its core to one that decodes (docs/performance.md).
Status ExportStream(const store::Store* store, PageCache* cache, const format::RpStream& stream,
                    int fd, bool sparse, const ProgressFn& progress) {
  const auto& cfg = store->config();
  ExtentMap map(cache, cfg.page_fanout, cfg.chunk_size, stream);
  const uint64_t cs = cfg.chunk_size;
  const uint64_t per_batch = std::max<uint64_t>(1, kExportBatchBytes / cs);
  ThreadPool pool(std::max<size_t>(4, ThreadPool::DefaultWorkers()));

  // Two batches: one is decoded by the pool while the other is written by a writer thread.
  struct Batch {
    uint64_t first = 0;
    uint64_t count = 0;
    AlignedBuffer buffer;  // O_DIRECT needs it aligned
    std::vector<Digest> digests;
    std::vector<Status> statuses;
  };
  Batch batches[2];
  for (Batch& b : batches) {
    b.buffer = AlignedBuffer(per_batch * cs);
    b.digests.resize(per_batch);
    b.statuses.resize(per_batch);
  }
  ExportOutput out(fd);
  uint64_t written_to = 0;  // non-sparse output: bytes already written
  AlignedBuffer zeros;

  auto write_zeros_until = [&](uint64_t target) -> Status {
    if (sparse) return Status::OK();
    if (zeros.size() == 0) {
      zeros = AlignedBuffer(1 << 20);
      std::memset(zeros.data(), 0, zeros.size());
    }
    while (written_to < target) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), target - written_to));
      RPFS_RETURN_IF_ERROR(out.Write(std::span(zeros.data(), n), std::nullopt));
      written_to += n;
    }
    return Status::OK();
  };

  // Writes the runs of data chunks of `b` in order; holes become seeks (sparse) or zeros.
  auto write_batch = [&](const Batch& b) -> Status {
    uint64_t i = 0;
    while (i < b.count) {
      if (b.digests[i].IsZero()) {
        ++i;
        continue;
      }
      uint64_t j = i;
      while (j < b.count && !b.digests[j].IsZero()) {
        RPFS_RETURN_IF_ERROR(b.statuses[j]);
        ++j;
      }
      uint64_t off = (b.first + i) * cs;
      uint64_t len = (b.first + j - 1) * cs + map.ChunkLength(b.first + j - 1) - off;
      auto data = std::span<const std::byte>(b.buffer.data() + i * cs, len);
      if (sparse) {
        RPFS_RETURN_IF_ERROR(out.Write(data, off));
      } else {
        RPFS_RETURN_IF_ERROR(write_zeros_until(off));
        RPFS_RETURN_IF_ERROR(out.Write(data, std::nullopt));
        written_to = off + len;
      }
      i = j;
    }
    if (progress) progress(std::min(map.size(), (b.first + b.count) * cs), map.size());
    return Status::OK();
  };

  std::future<Status> writing;
  int cur = 0;
  for (uint64_t first = 0; first < map.chunk_count(); first += per_batch, cur ^= 1) {
    Batch& b = batches[cur];
    b.first = first;
    b.count = std::min<uint64_t>(per_batch, map.chunk_count() - first);
    for (uint64_t i = 0; i < b.count; ++i) {
      RPFS_ASSIGN_OR_RETURN(b.digests[i], map.ChunkAt(first + i));
    }
    pool.ParallelFor(b.count, [&](size_t i) {
      b.statuses[i] = Status::OK();
      if (b.digests[i].IsZero()) return;
      uint32_t len = map.ChunkLength(b.first + i);
      b.statuses[i] = ReadChunk(store, b.digests[i], std::span(b.buffer.data() + i * cs, len));
    });
    if (writing.valid()) RPFS_RETURN_IF_ERROR(writing.get());
    writing = std::async(std::launch::async, write_batch, std::cref(b));
  }
  if (writing.valid()) RPFS_RETURN_IF_ERROR(writing.get());
  if (sparse) {
    if (::ftruncate(fd, static_cast<off_t>(map.size())) != 0) {
      return Status::FromErrno(errno, "sizing export output");
    }
  } else {
    RPFS_RETURN_IF_ERROR(write_zeros_until(map.size()));
  }
  return Status::OK();
}

}  // namespace rpfs::rp
