#include "rp/ingest.h"

#include <future>
#include <memory>
#include <mutex>
#include <vector>

#include "format/chunk_codec.h"
#include "format/page.h"
#include "rp/tree_builder.h"
#include "util/crash_point.h"

namespace rpfs::rp {
namespace {

// Bytes read per batch: big enough for long sequential reads and to keep both cores busy.
constexpr uint64_t kBatchBytes = 16ull << 20;

using format::ObjectKind;
using store::ObjectId;

struct Slot {
  uint64_t index = 0;
  uint32_t length = 0;
  size_t buffer_offset = 0;
  bool hole = false;
  bool exists = false;       // stored before this batch
  uint64_t stored_size = 0;  // of an existing chunk
  Digest digest;
  std::string body;  // encoded, for a chunk the store lacks
  Status status;
};

// Read buffers are recycled: a fresh 16 MiB allocation per batch costs a memset and a
// page fault per 4 KiB, which showed up as ~10 % of a next-day RP.
class BufferPool {
 public:
  explicit BufferPool(size_t size) : size_(size) {}
  std::unique_ptr<std::byte[]> Take() {
    std::lock_guard lock(mu_);
    if (free_.empty()) return std::unique_ptr<std::byte[]>(new std::byte[size_]);  // uninitialised
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void Give(std::unique_ptr<std::byte[]> b) {
    std::lock_guard lock(mu_);
    free_.push_back(std::move(b));
  }

 private:
  size_t size_;
  std::mutex mu_;
  std::vector<std::unique_ptr<std::byte[]>> free_;
};

struct Batch {
  std::vector<Slot> slots;
  std::unique_ptr<std::byte[]> buffer;
  Status status;
};

format::ChunkEncoder& EncoderFor(int level) {
  thread_local std::unique_ptr<format::ChunkEncoder> encoder;
  thread_local int encoder_level = 0;
  if (!encoder || encoder_level != level) {
    encoder = std::make_unique<format::ChunkEncoder>(level);
    encoder_level = level;
  }
  return *encoder;
}

class TxPageSink final : public PageSink {
 public:
  explicit TxPageSink(IngestContext& ctx) : ctx_(ctx) {}
  Result<Digest> StorePage(const format::Page& page) override {
    std::string body = format::EncodePage(page);
    Digest id = Sha256(body);
    if (ctx_.tx_pages.count(id) != 0) return id;
    ObjectId oid{ObjectKind::kPage, id};
    RPFS_ASSIGN_OR_RETURN(auto meta, ctx_.store->GetObjectMeta(oid));
    if (meta) return id;
    RPFS_RETURN_IF_ERROR(ctx_.tx->PutObject(oid, body, body.size()));
    ctx_.tx_pages.insert(id);
    ctx_.added_bytes += body.size();
    for (const Digest& child : page.entries) {
      if (!child.IsZero()) ctx_.mutation->AddRef(store::ChildId(page.level, child), 1);
    }
    return id;
  }

 private:
  IngestContext& ctx_;
};

// The chunk indices that hold data, as [first, last) runs.
std::vector<std::pair<uint64_t, uint64_t>> ChunkRuns(const std::vector<image::Extent>& extents,
                                                     uint64_t chunk_size) {
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  for (const auto& e : extents) {
    if (e.length == 0) continue;
    uint64_t first = e.offset / chunk_size;
    uint64_t last = (e.offset + e.length + chunk_size - 1) / chunk_size;
    if (!runs.empty() && runs.back().second >= first) {
      runs.back().second = std::max(runs.back().second, last);
    } else {
      runs.emplace_back(first, last);
    }
  }
  return runs;
}

// Feeds the base's chunks to the builder, in index order, skipping those that were read
// again (the dirty runs): they are replaced by what the image holds now.
class BaseMerger {
 public:
  BaseMerger(IngestContext& ctx, const ExtentMap* base,
             const std::vector<std::pair<uint64_t, uint64_t>>& dirty, TreeBuilder& builder)
      : ctx_(ctx), base_(base), dirty_(dirty), builder_(builder) {}

  // Adds every base chunk with an index below `limit`.
  Status AddBefore(uint64_t limit) {
    if (base_ == nullptr) return Status::OK();
    if (!started_) {
      started_ = true;
      RPFS_ASSIGN_OR_RETURN(next_, base_->FindChunk(0, /*want_data=*/true));
    }
    while (next_ < limit && next_ < base_->chunk_count()) {
      if (!IsDirty(next_)) {
        RPFS_ASSIGN_OR_RETURN(Digest d, base_->ChunkAt(next_));
        RPFS_RETURN_IF_ERROR(Count(d, base_->ChunkLength(next_)));
        RPFS_RETURN_IF_ERROR(builder_.Add(next_, d));
      }
      RPFS_ASSIGN_OR_RETURN(next_, base_->FindChunk(next_ + 1, /*want_data=*/true));
    }
    return Status::OK();
  }

 private:
  bool IsDirty(uint64_t index) {
    while (run_ < dirty_.size() && dirty_[run_].second <= index) ++run_;
    return run_ < dirty_.size() && dirty_[run_].first <= index;
  }
  Status Count(const Digest& d, uint32_t length) {
    if (!ctx_.counted.insert(d).second) return Status::OK();
    uint64_t stored = 0;
    auto it = ctx_.tx_chunks.find(d);
    if (it != ctx_.tx_chunks.end()) {
      stored = it->second;
    } else {
      RPFS_ASSIGN_OR_RETURN(auto meta, ctx_.store->GetObjectMeta(ObjectId{ObjectKind::kChunk, d}));
      if (!meta) {
        return Status::Corruption("chunk " + d.Hex() +
                                  " of the previous recovery point is missing");
      }
      stored = meta->stored_size;
    }
    ctx_.data_bytes += length;
    ctx_.stored_bytes += stored;
    return Status::OK();
  }

  IngestContext& ctx_;
  const ExtentMap* base_;
  const std::vector<std::pair<uint64_t, uint64_t>>& dirty_;
  TreeBuilder& builder_;
  bool started_ = false;
  uint64_t next_ = 0;
  size_t run_ = 0;
};

}  // namespace

Result<format::RpStream> IngestDisk(IngestContext& ctx, const std::string& name,
                                    image::ImageSource& source, const ExtentMap* base,
                                    const std::vector<image::Extent>* changed) {
  const auto& cfg = ctx.store->config();
  const uint64_t cs = cfg.chunk_size;
  const uint64_t size = source.size();
  const uint64_t chunks = (size + cs - 1) / cs;
  const uint64_t per_batch = std::max<uint64_t>(1, kBatchBytes / cs);

  if (base != nullptr && (changed == nullptr || base->size() != size)) base = nullptr;
  std::vector<image::Extent> extents;
  if (base != nullptr) {
    extents = *changed;
  } else {
    RPFS_ASSIGN_OR_RETURN(extents, source.DataExtents());
  }
  auto runs = ChunkRuns(extents, cs);

  // Plan the batches: consecutive data chunks, at most per_batch each.
  std::vector<std::vector<uint64_t>> plan;
  for (auto [first, last] : runs) {
    for (uint64_t i = first; i < last && i < chunks; ++i) {
      if (plan.empty() || plan.back().size() == per_batch) plan.emplace_back();
      plan.back().push_back(i);
    }
  }

  BufferPool buffers(per_batch * cs);
  auto read_batch = [&](const std::vector<uint64_t>& indices) {
    Batch b;
    b.slots.resize(indices.size());
    b.buffer = buffers.Take();
    size_t pos = 0;
    for (size_t i = 0; i < indices.size(); ++i) {
      Slot& s = b.slots[i];
      s.index = indices[i];
      s.length = static_cast<uint32_t>(std::min<uint64_t>(cs, size - s.index * cs));
      s.buffer_offset = pos;
      pos += s.length;
    }
    // One read per run of consecutive chunks.
    size_t i = 0;
    while (i < b.slots.size() && b.status.ok()) {
      size_t j = i + 1;
      while (j < b.slots.size() && b.slots[j].index == b.slots[j - 1].index + 1) ++j;
      uint64_t off = b.slots[i].index * cs;
      size_t len = b.slots[j - 1].buffer_offset + b.slots[j - 1].length - b.slots[i].buffer_offset;
      b.status = source.ReadAt(off, std::span(b.buffer.get() + b.slots[i].buffer_offset, len));
      i = j;
    }
    return b;
  };

  TxPageSink sink(ctx);
  TreeBuilder builder(chunks, cfg.page_fanout, &sink);
  BaseMerger merger(ctx, base, runs, builder);
  std::mutex tx_mu;  // guards ctx.tx_chunks during the parallel phase

  std::future<Batch> next;
  if (!plan.empty()) next = std::async(std::launch::async, read_batch, plan[0]);
  for (size_t bi = 0; bi < plan.size(); ++bi) {
    Batch b = next.get();
    if (bi + 1 < plan.size()) next = std::async(std::launch::async, read_batch, plan[bi + 1]);
    if (!b.status.ok()) {
      if (next.valid()) next.wait();
      return b.status;
    }

    ctx.pool->ParallelFor(b.slots.size(), [&](size_t i) {
      Slot& s = b.slots[i];
      auto data = std::span<const std::byte>(b.buffer.get() + s.buffer_offset, s.length);
      if (IsAllZero(data)) {
        s.hole = true;
        return;
      }
      s.digest = Sha256(data);
      {
        std::lock_guard lock(tx_mu);
        auto it = ctx.tx_chunks.find(s.digest);
        if (it != ctx.tx_chunks.end()) {
          s.exists = true;
          s.stored_size = it->second;
          return;
        }
      }
      auto meta = ctx.store->GetObjectMeta(ObjectId{ObjectKind::kChunk, s.digest});
      if (!meta.ok()) {
        s.status = meta.status();
      } else if (meta->has_value()) {
        s.exists = true;
        s.stored_size = (*meta)->stored_size;
      } else {
        EncoderFor(cfg.compression_level).Encode(data, &s.body);
      }
    });

    for (Slot& s : b.slots) {
      RPFS_RETURN_IF_ERROR(s.status.WithContext("disk ", name));
      ctx.bytes_read += s.length;
      RPFS_RETURN_IF_ERROR(merger.AddBefore(s.index + 1).WithContext("disk ", name));
      if (s.hole) continue;
      if (!s.exists) {
        auto it = ctx.tx_chunks.find(s.digest);
        if (it != ctx.tx_chunks.end()) {  // a duplicate within this batch
          s.stored_size = it->second;
        } else {
          RPFS_RETURN_IF_ERROR(
              ctx.tx->PutObject(ObjectId{ObjectKind::kChunk, s.digest}, s.body, s.length));
          s.stored_size = s.body.size();
          ctx.tx_chunks.emplace(s.digest, s.stored_size);
          ctx.added_bytes += s.stored_size;
        }
      }
      if (ctx.counted.insert(s.digest).second) {
        ctx.data_bytes += s.length;
        ctx.stored_bytes += s.stored_size;
      }
      RPFS_RETURN_IF_ERROR(builder.Add(s.index, s.digest));
    }
    buffers.Give(std::move(b.buffer));
    if (ctx.progress) ctx.progress(ctx.bytes_read, ctx.progress_total);
    CrashPoint("ingest.batch");
  }

  RPFS_RETURN_IF_ERROR(merger.AddBefore(chunks).WithContext("disk ", name));
  format::RpStream stream;
  stream.kind = format::StreamKind::kDisk;
  stream.name = name;
  stream.size = size;
  RPFS_ASSIGN_OR_RETURN(stream.root, builder.Finish());
  if (!stream.root.IsZero()) ctx.mutation->AddRef(ObjectId{ObjectKind::kPage, stream.root}, 1);
  return stream;
}

}  // namespace rpfs::rp
