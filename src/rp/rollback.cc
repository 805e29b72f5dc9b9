#include "rp/rollback.h"

#include <array>
#include <future>
#include <mutex>
#include <optional>
#include <vector>

#include "rp/disk_reader.h"

namespace rpfs::rp {
namespace {

constexpr uint64_t kWindowChunks = 256;

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

// A window of chunks (up to `end`): the ones to look at, and the image's bytes
// [span_start, span_end) that those with image data need.
struct Window {
  uint64_t end = 0;
  std::vector<Item> items;
  uint64_t span_start = 0;
  uint64_t span_end = 0;
  std::vector<std::byte> bytes;
};

}  // namespace

// One function of ~110 lines on purpose: its three steps (plan a window, read its image
// bytes, compare and rewrite) are lambdas sharing the map walkers, extent cursors and
// counters, and the loop at the end pipelines them; split, they would pass all of it
// around. Each step is commented below.
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
  size_t ext = 0;      // first data extent that may overlap the next window planned
  size_t written = 0;  // the same for known->written

  // Which chunks of [w, end) to look at, and the image bytes they need (one span). Called
  // for the windows in order: the walkers and cursors only go forward.
  auto plan = [&](uint64_t w, Window* win) -> Status {
    win->end = std::min(n, w + kWindowChunks);
    win->items.clear();
    const std::vector<bool> image_data = ChunksTouched(extents, &ext, w, win->end, cs);
    const std::vector<bool> changed =
        known != nullptr ? ChunksTouched(known->written, &written, w, win->end, cs) : image_data;
    for (uint64_t i = w; i < win->end; ++i) {
      RPFS_ASSIGN_OR_RETURN(Digest d, rp_chunks.At(i));
      if (known != nullptr && !changed[i - w]) {
        // Not written since the base RP: the image holds the base's chunk, no read needed.
        RPFS_ASSIGN_OR_RETURN(Digest held, base_chunks->At(i));
        if (!held.IsZero() || !d.IsZero()) counters->chunks_known++;
        if (held != d) win->items.push_back({i, d, false});
        continue;
      }
      if (!d.IsZero() || image_data[i - w]) win->items.push_back({i, d, image_data[i - w]});
    }
    win->span_start = win->span_end = 0;
    for (const Item& it : win->items) {
      if (!it.image_has_data) continue;
      if (win->span_end == 0) win->span_start = it.index * cs;
      win->span_end = it.index * cs + map.ChunkLength(it.index);
    }
    return Status::OK();
  };
  // The window's image bytes in one read (far faster cold than a read per chunk).
  auto read = [&target](Window* win) -> Status {
    if (win->span_end <= win->span_start) return Status::OK();
    win->bytes.resize(win->span_end - win->span_start);
    return target.ReadAt(win->span_start, std::span(win->bytes));
  };
  // Compares the window's chunks with the RP's and rewrites those that differ, in parallel.
  auto process = [&](const Window& win) -> Status {
    std::vector<Status> statuses(win.items.size());
    pool->ParallelFor(win.items.size(), [&](size_t k) {
      const Item& it = win.items[k];
      const uint64_t off = it.index * cs;
      const uint32_t len = map.ChunkLength(it.index);
      Status& st = statuses[k];
      if (it.image_has_data) {
        counters->chunks_compared++;
        std::span<const std::byte> now(win.bytes.data() + (off - win.span_start), len);
        bool same = it.digest.IsZero() ? IsAllZero(now) : Sha256(now) == it.digest;
        if (same) return;
      }
      if (it.digest.IsZero()) {
        st = target.Zero(off, len);
      } else {
        std::vector<std::byte> buf(len);
        st = ReadChunk(store, it.digest, buf);
        if (st.ok()) st = target.WriteAt(off, buf);
      }
      if (st.ok()) {
        counters->chunks_written++;
        counters->bytes_written += len;
      }
    });
    for (const Status& st : statuses) RPFS_RETURN_IF_ERROR(st);
    return Status::OK();
  };

  // Pipelined over two windows: the next one is planned and read while this one is
  // compared and rewritten (a read-then-hash in turn left a core idle half the time). The
  // two touch different chunks, and the targets take concurrent reads and writes.
  std::array<Window, 2> slots;
  if (n > 0) RPFS_RETURN_IF_ERROR(plan(0, &slots[0]));
  std::future<Status> reading =
      n > 0 ? std::async(std::launch::async, read, &slots[0]) : std::future<Status>();
  for (uint64_t w = 0, k = 0; w < n; w += kWindowChunks, ++k) {
    Window& cur = slots[k % 2];
    Window& next = slots[(k + 1) % 2];
    const bool more = w + kWindowChunks < n;
    Status planned = more ? plan(w + kWindowChunks, &next) : Status::OK();
    Status got = reading.get();  // cur's bytes; nothing is reading now
    RPFS_RETURN_IF_ERROR(got);
    RPFS_RETURN_IF_ERROR(planned);
    if (more) reading = std::async(std::launch::async, read, &next);
    Status done = process(cur);
    if (!done.ok()) {
      if (reading.valid()) reading.wait();  // it writes into `next`, which goes with us
      return done;
    }
    if (progress) progress(std::min(cur.end * cs, stream.size), stream.size);
  }
  return target.Sync();
}

}  // namespace rpfs::rp
