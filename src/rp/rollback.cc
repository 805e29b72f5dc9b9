#include "rp/rollback.h"

#include <mutex>
#include <optional>
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

// Which chunks of the window [w, end) the extents touch; `cursor` is the first extent that
// may overlap this window or a later one (extents sorted, windows visited in order).
std::vector<bool> ChunksTouched(const std::vector<image::Extent>& extents, size_t* cursor,
                                uint64_t w, uint64_t end, uint64_t cs) {
  std::vector<bool> touched(end - w, false);
  while (*cursor < extents.size() && extents[*cursor].offset + extents[*cursor].length <= w * cs) {
    ++*cursor;
  }
  for (size_t e = *cursor; e < extents.size() && extents[e].offset < end * cs; ++e) {
    uint64_t first = std::max(w, extents[e].offset / cs);
    uint64_t last = std::min(end, (extents[e].offset + extents[e].length + cs - 1) / cs);
    for (uint64_t i = first; i < last; ++i) touched[i - w] = true;
  }
  return touched;
}

// An extent map's chunks asked for in increasing index order (indices may be skipped): the
// digest at i (zero for a hole), holes skipped without a lookup per index.
class ChunkWalker {
 public:
  explicit ChunkWalker(ExtentMap& map) : map_(map) {}
  Result<Digest> At(uint64_t i) {
    if (!started_ || next_ < i) {  // first call, or indices skipped past next_
      RPFS_ASSIGN_OR_RETURN(next_, map_.FindChunk(i, true));
      started_ = true;
    }
    if (next_ != i) return Digest();  // a hole up to next_
    RPFS_ASSIGN_OR_RETURN(Digest d, map_.ChunkAt(i));
    RPFS_ASSIGN_OR_RETURN(next_, map_.FindChunk(i + 1, true));
    return d;
  }

 private:
  ExtentMap& map_;
  bool started_ = false;
  uint64_t next_ = 0;
};

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
                    image::ImageTarget& target, const KnownImage* known, ThreadPool* pool,
                    RollbackCounters* counters, const ProgressFn& progress) {
  const auto& cfg = store->config();
  ExtentMap map(pages, cfg.page_fanout, cfg.chunk_size, stream);
  ChunkWalker rp_chunks(map);
  std::optional<ExtentMap> base_map;
  std::optional<ChunkWalker> base_chunks;
  if (known != nullptr) {
    if (known->base == nullptr || known->base->size != stream.size) {
      return Status::InvalidArgument("rollback: the known image is not of the RP's size");
    }
    base_map.emplace(pages, cfg.page_fanout, cfg.chunk_size, *known->base);
    base_chunks.emplace(*base_map);
  }
  RPFS_RETURN_IF_ERROR(target.Resize(stream.size));
  RPFS_ASSIGN_OR_RETURN(auto extents, target.DataExtents());
  const uint64_t cs = cfg.chunk_size;
  const uint64_t n = map.chunk_count();
  size_t ext = 0;      // first data extent that may overlap the current window
  size_t written = 0;  // the same for known->written

  for (uint64_t w = 0; w < n; w += kWindowChunks) {
    const uint64_t end = std::min(n, w + kWindowChunks);
    const std::vector<bool> image_data = ChunksTouched(extents, &ext, w, end, cs);
    const std::vector<bool> changed =
        known != nullptr ? ChunksTouched(known->written, &written, w, end, cs) : image_data;
    // The chunks to look at: data in the RP or in the image.
    std::vector<Item> items;
    for (uint64_t i = w; i < end; ++i) {
      RPFS_ASSIGN_OR_RETURN(Digest d, rp_chunks.At(i));
      if (known != nullptr && !changed[i - w]) {
        // Not written since the base RP: the image holds the base's chunk, no read needed.
        RPFS_ASSIGN_OR_RETURN(Digest held, base_chunks->At(i));
        if (!held.IsZero() || !d.IsZero()) counters->chunks_known++;
        if (held != d) items.push_back({i, d, false});
        continue;
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
