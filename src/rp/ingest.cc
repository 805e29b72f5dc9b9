#include "rp/ingest.h"

#include <future>
#include <memory>
#include <mutex>
#include <vector>

#include "format/chunk_codec.h"
#include "format/page.h"
#include "rp/tree_builder.h"
#include "util/aligned_buffer.h"
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
// page fault per 4 KiB, which showed up as ~10 % of a next-day RP. They are aligned for
// direct I/O: a raw image is read with O_DIRECT when the read allows it (sources.h).
class BufferPool {
 public:
  explicit BufferPool(size_t size) : size_(size) {}
  AlignedBuffer Take() {
    std::lock_guard lock(mu_);
    if (free_.empty()) return AlignedBuffer(size_);  // uninitialised
    AlignedBuffer b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void Give(AlignedBuffer b) {
    std::lock_guard lock(mu_);
    free_.push_back(std::move(b));
  }

 private:
  size_t size_;
  std::mutex mu_;
  std::vector<AlignedBuffer> free_;
};

struct Batch {
  std::vector<Slot> slots;
  AlignedBuffer buffer;
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

// Plans the batches: consecutive data chunks, at most `per_batch` each, in index order.
std::vector<std::vector<uint64_t>> PlanBatches(
    const std::vector<std::pair<uint64_t, uint64_t>>& runs, uint64_t chunks, uint64_t per_batch) {
  std::vector<std::vector<uint64_t>> plan;
  for (auto [first, last] : runs) {
    for (uint64_t i = first; i < last && i < chunks; ++i) {
      if (plan.empty() || plan.back().size() == per_batch) plan.emplace_back();
      plan.back().push_back(i);
    }
  }
  return plan;
}

// One disk's ingest: a prefetch thread reads batch n+1 while the pool hashes and
// compresses batch n (Classify) and the caller's thread adds it, in index order, to the tx
// and the tree (Store). Order matters for the second step only: TreeBuilder takes chunks
// in index order, and the base's unchanged chunks are merged in between.
class DiskIngest {
 public:
  DiskIngest(IngestContext& ctx, const std::string& name, image::ImageSource& source,
             const ExtentMap* base, const std::vector<std::pair<uint64_t, uint64_t>>& runs)
      : ctx_(ctx),
        name_(name),
        source_(source),
        cs_(ctx.store->config().chunk_size),
        size_(source.size()),
        chunks_((size_ + cs_ - 1) / cs_),
        per_batch_(std::max<uint64_t>(1, kBatchBytes / cs_)),
        runs_(runs),
        buffers_(per_batch_ * cs_),
        sink_(ctx),
        builder_(chunks_, ctx.store->config().page_fanout, &sink_),
        merger_(ctx, base, runs_, builder_) {}

  Result<format::RpStream> Run() {
    auto plan = PlanBatches(runs_, chunks_, per_batch_);
    std::future<Batch> next;
    auto read = [this](const std::vector<uint64_t>& indices) { return ReadBatch(indices); };
    if (!plan.empty()) next = std::async(std::launch::async, read, plan[0]);
    for (size_t bi = 0; bi < plan.size(); ++bi) {
      Batch b = next.get();
      if (bi + 1 < plan.size()) next = std::async(std::launch::async, read, plan[bi + 1]);
      if (!b.status.ok()) {
        if (next.valid()) next.wait();  // the prefetch uses `this`: let it end first
        return b.status;
      }
      Classify(b);
      RPFS_RETURN_IF_ERROR(Store(b));
      buffers_.Give(std::move(b.buffer));
      if (ctx_.progress) ctx_.progress(ctx_.bytes_read, ctx_.progress_total);
      CrashPoint("ingest.batch");
    }
    // The base's chunks after the last one read.
    RPFS_RETURN_IF_ERROR(merger_.AddBefore(chunks_).WithContext("disk ", name_));
    format::RpStream stream;
    stream.kind = format::StreamKind::kDisk;
    stream.name = name_;
    stream.size = size_;
    RPFS_ASSIGN_OR_RETURN(stream.root, builder_.Finish());
    stream.allocated = AllocatedBytes();
    // The RP's reference to its root; pages reference their children (TxPageSink).
    if (!stream.root.IsZero()) ctx_.mutation->AddRef(ObjectId{ObjectKind::kPage, stream.root}, 1);
    return stream;
  }

 private:
  // Every chunk is cs_ bytes of the stream but the last, which ends at size_.
  uint64_t AllocatedBytes() const {
    uint64_t bytes = builder_.added() * cs_;
    if (builder_.added() > 0 && builder_.last_index() + 1 == chunks_)
      bytes -= chunks_ * cs_ - size_;
    return bytes;
  }

  // Reads the chunks of one batch into one recycled buffer, one read per run of
  // consecutive chunks (runs are long for a full RP, short for an incremental one).
  Batch ReadBatch(const std::vector<uint64_t>& indices) {
    Batch b;
    b.slots.resize(indices.size());
    b.buffer = buffers_.Take();
    size_t pos = 0;
    for (size_t i = 0; i < indices.size(); ++i) {
      Slot& s = b.slots[i];
      s.index = indices[i];
      s.length = static_cast<uint32_t>(std::min<uint64_t>(cs_, size_ - s.index * cs_));
      s.buffer_offset = pos;
      pos += s.length;
    }
    size_t i = 0;
    while (i < b.slots.size() && b.status.ok()) {
      size_t j = i + 1;
      while (j < b.slots.size() && b.slots[j].index == b.slots[j - 1].index + 1) ++j;
      uint64_t off = b.slots[i].index * cs_;
      size_t len = b.slots[j - 1].buffer_offset + b.slots[j - 1].length - b.slots[i].buffer_offset;
      b.status = source_.ReadAt(off, std::span(b.buffer.data() + b.slots[i].buffer_offset, len));
      i = j;
    }
    return b;
  }

  // In parallel, per chunk: a zero chunk is a hole; otherwise its digest, whether the
  // store (or this tx) has it, and, only if not, its compressed body. The store lookup is
  // a bloom-filtered Get, far cheaper than compressing a chunk we would throw away.
  void Classify(Batch& b) {
    const int level = ctx_.store->config().compression_level;
    ctx_.pool->ParallelFor(b.slots.size(), [&](size_t i) {
      Slot& s = b.slots[i];
      auto data = std::span<const std::byte>(b.buffer.data() + s.buffer_offset, s.length);
      if (IsAllZero(data)) {
        s.hole = true;
        return;
      }
      s.digest = Sha256(data);
      {
        std::lock_guard lock(tx_mu_);
        auto it = ctx_.tx_chunks.find(s.digest);
        if (it != ctx_.tx_chunks.end()) {
          s.exists = true;
          s.stored_size = it->second;
          return;
        }
      }
      auto meta = ctx_.store->GetObjectMeta(ObjectId{ObjectKind::kChunk, s.digest});
      if (!meta.ok()) {
        s.status = meta.status();
      } else if (meta->has_value()) {
        s.exists = true;
        s.stored_size = (*meta)->stored_size;
      } else {
        EncoderFor(level).Encode(data, &s.body);
      }
    });
  }

  // In index order: the base's chunks before each slot, then the slot: new chunks into the
  // tx (a duplicate within the batch is written once), statistics counted once per
  // distinct chunk, and the digest into the tree.
  Status Store(Batch& b) {
    for (Slot& s : b.slots) {
      RPFS_RETURN_IF_ERROR(s.status.WithContext("disk ", name_));
      ctx_.bytes_read += s.length;
      ctx_.bytes_read_by_stream[name_] += s.length;
      RPFS_RETURN_IF_ERROR(merger_.AddBefore(s.index + 1).WithContext("disk ", name_));
      if (s.hole) continue;
      if (!s.exists) {
        auto it = ctx_.tx_chunks.find(s.digest);
        if (it != ctx_.tx_chunks.end()) {
          s.stored_size = it->second;
        } else {
          RPFS_RETURN_IF_ERROR(
              ctx_.tx->PutObject(ObjectId{ObjectKind::kChunk, s.digest}, s.body, s.length));
          s.stored_size = s.body.size();
          // No lock: Classify (the only concurrent reader) is not running now.
          ctx_.tx_chunks.emplace(s.digest, s.stored_size);
          ctx_.added_bytes += s.stored_size;
        }
      }
      if (ctx_.counted.insert(s.digest).second) {
        ctx_.data_bytes += s.length;
        ctx_.stored_bytes += s.stored_size;
      }
      RPFS_RETURN_IF_ERROR(builder_.Add(s.index, s.digest));
    }
    return Status::OK();
  }

  IngestContext& ctx_;
  const std::string& name_;
  image::ImageSource& source_;
  const uint64_t cs_;
  const uint64_t size_;
  const uint64_t chunks_;
  const uint64_t per_batch_;
  const std::vector<std::pair<uint64_t, uint64_t>> runs_;
  BufferPool buffers_;  // shared with the prefetch thread (it locks)
  TxPageSink sink_;
  TreeBuilder builder_;
  BaseMerger merger_;
  std::mutex tx_mu_;  // guards ctx_.tx_chunks while Classify runs in the pool
};

}  // namespace

Result<format::RpStream> IngestDisk(IngestContext& ctx, const std::string& name,
                                    image::ImageSource& source, const ExtentMap* base,
                                    const std::vector<image::Extent>* changed) {
  // An incremental read needs a base of the same size; otherwise every data extent is read.
  if (base != nullptr && (changed == nullptr || base->size() != source.size())) base = nullptr;
  std::vector<image::Extent> extents;
  if (base != nullptr) {
    extents = *changed;
  } else {
    RPFS_ASSIGN_OR_RETURN(extents, source.DataExtents());
  }
  DiskIngest ingest(ctx, name, source, base, ChunkRuns(extents, ctx.store->config().chunk_size));
  return ingest.Run();
}

}  // namespace rpfs::rp
