#include "rp/rollback.h"

#include <mutex>
#include <vector>

#include "rp/disk_reader.h"

namespace rpfs::rp {
namespace {

constexpr uint64_t kWindowChunks = 256;

std::vector<std::byte>& WindowBuffer(size_t n) {
  thread_local std::vector<std::byte> buf;
  if (buf.size() < n) buf.resize(n);
  return buf;
}

struct Item {
  uint64_t index;
  Digest digest;  // zero: the RP holds a hole here
  bool image_has_data;
};

}  // namespace

// One function of ~70 lines on purpose: its batch loop (read image chunks, compare,
// rewrite the ones that differ) shares the batch buffers and counters with its two
// lambdas; split, they would pass all of it around. Each step is commented below.
Status RollbackDisk(const store::Store* store, PageCache* pages, const format::RpStream& stream,
                    image::ImageTarget& target, ThreadPool* pool, RollbackCounters* counters,
                    const ProgressFn& progress) {
  const auto& cfg = store->config();
  ExtentMap map(pages, cfg.page_fanout, cfg.chunk_size, stream);
  RPFS_RETURN_IF_ERROR(target.Resize(stream.size));
  RPFS_ASSIGN_OR_RETURN(auto extents, target.DataExtents());
  const uint64_t cs = cfg.chunk_size;
  const uint64_t n = map.chunk_count();
  size_t ext = 0;  // first extent that may overlap the current window

  for (uint64_t w = 0; w < n; w += kWindowChunks) {
    const uint64_t end = std::min(n, w + kWindowChunks);
    // Which chunks of the window hold data in the image now.
    std::vector<bool> image_data(end - w, false);
    while (ext < extents.size() && extents[ext].offset + extents[ext].length <= w * cs) ++ext;
    for (size_t e = ext; e < extents.size() && extents[e].offset < end * cs; ++e) {
      uint64_t first = std::max(w, extents[e].offset / cs);
      uint64_t last = std::min(end, (extents[e].offset + extents[e].length + cs - 1) / cs);
      for (uint64_t i = first; i < last; ++i) image_data[i - w] = true;
    }
    // The chunks to look at: data in the RP or in the image.
    std::vector<Item> items;
    RPFS_ASSIGN_OR_RETURN(uint64_t next, map.FindChunk(w, true));
    for (uint64_t i = w; i < end; ++i) {
      Digest d;
      if (i == next) {
        RPFS_ASSIGN_OR_RETURN(d, map.ChunkAt(i));
        RPFS_ASSIGN_OR_RETURN(next, map.FindChunk(i + 1, true));
      }
      if (!d.IsZero() || image_data[i - w]) items.push_back({i, d, image_data[i - w]});
    }
    // The window's image bytes in one read (far faster cold than a read per chunk).
    std::vector<std::byte>& window = WindowBuffer(kWindowChunks * cs);
    uint64_t span_start = 0, span_end = 0;
    for (const Item& it : items) {
      if (!it.image_has_data) continue;
      if (span_end == 0) span_start = it.index * cs;
      span_end = it.index * cs + map.ChunkLength(it.index);
    }
    if (span_end > span_start) {
      RPFS_RETURN_IF_ERROR(
          target.ReadAt(span_start, std::span(window.data(), span_end - span_start)));
    }
    std::vector<Status> statuses(items.size());
    pool->ParallelFor(items.size(), [&](size_t k) {
      const Item& it = items[k];
      const uint64_t off = it.index * cs;
      const uint32_t len = map.ChunkLength(it.index);
      Status& s = statuses[k];
      if (it.image_has_data) {
        counters->chunks_compared++;
        std::span<const std::byte> now(window.data() + (off - span_start), len);
        bool same = it.digest.IsZero() ? IsAllZero(now) : Sha256(now) == it.digest;
        if (same) return;
      }
      if (it.digest.IsZero()) {
        s = target.Zero(off, len);
      } else {
        std::vector<std::byte> buf(len);
        s = ReadChunk(store, it.digest, buf);
        if (s.ok()) s = target.WriteAt(off, buf);
      }
      if (s.ok()) {
        counters->chunks_written++;
        counters->bytes_written += len;
      }
    });
    for (const Status& s : statuses) RPFS_RETURN_IF_ERROR(s);
    if (progress) progress(std::min(end * cs, stream.size), stream.size);
  }
  return target.Sync();
}

}  // namespace rpfs::rp
