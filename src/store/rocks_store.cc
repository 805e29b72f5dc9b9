// RocksDB implementation of Store. The only code (with rocks_status.cc) that includes rocksdb.
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_set>

#include "format/chunk_codec.h"
#include "format/keys.h"
#include "format/page.h"
#include "store/rocks_crc32c.h"
#include "store/rocks_status.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/crash_point.h"
#include "util/hash.h"
#include "util/lock_file.h"
#include "util/thread_pool.h"

namespace rpfs::store {
namespace fs = std::filesystem;
using format::ObjectKind;

namespace {

constexpr char kDbDir[] = "db";
constexpr char kLockFile[] = "rpfs.lock";
// Unflushed WAL-less object writes are batched up to this size.
constexpr size_t kTxBatchBytes = 8 << 20;
// Objects freed per GC batch: bounds the memory and size of each atomic batch.
constexpr size_t kGcBatchObjects = 4096;

std::string ObjectName(const ObjectId& id) {
  return std::string(id.kind == ObjectKind::kChunk ? "chunk " : "page ") + id.digest.Hex();
}

rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }
std::string_view ToView(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

class RocksStore;

class RocksWriteTx final : public WriteTx {
 public:
  RocksWriteTx(RocksStore* store, uint64_t id) : store_(store), id_(id) {}
  ~RocksWriteTx() override;
  Status PutObject(const ObjectId& id, std::string_view body, uint64_t raw_size) override;
  Status Commit(const Mutation& m) override;

 private:
  Status WritePending();
  RocksStore* store_;
  uint64_t id_;
  rocksdb::WriteBatch batch_;
  bool committed_ = false;
};

// What Verify found checking one object's body.
struct ObjectCheck {
  std::string problem;  // empty: sound
  std::vector<ObjectId> children;
  uint64_t raw = 0;  // decoded bytes of a chunk
  uint64_t stored = 0;
};

class RocksStore final : public Store {
 public:
  RocksStore(std::string dir, LockFile lock) : dir_(std::move(dir)), lock_(std::move(lock)) {}
  ~RocksStore() override { Close(); }

  static Result<std::unique_ptr<RocksStore>> OpenDb(const std::string& dir, bool create) {
    RPFS_ASSIGN_OR_RETURN(LockFile lock,
                          LockFile::Acquire((fs::path(dir) / kLockFile).string(), dir));
    auto store = std::make_unique<RocksStore>(dir, std::move(lock));
    RPFS_RETURN_IF_ERROR(store->OpenRocks(create));
    return store;
  }

  Status OpenRocks(bool create) {
    // Before RocksDB computes its first checksum in this process. The call also links
    // rocks_crc32c.o (and its rocksdb::crc32c::Extend) into every executable with a store.
    InstallFastCrc32c();
    rocksdb::DBOptions dbo;
    dbo.create_if_missing = create;
    dbo.create_missing_column_families = create;
    dbo.atomic_flush = true;    // objects written without WAL stay consistent with their 'U' keys
    dbo.max_open_files = 5000;  // not -1: RocksDB bug #12503 with blobs
    dbo.max_background_jobs = 2;
    dbo.bytes_per_sync = 8 << 20;
    dbo.keep_log_file_num = 3;
    // RocksDB tells the kernel every file is read at random (POSIX_FADV_RANDOM), which turns
    // off readahead on blob files; but chunks are written in disk order, so reading a disk
    // in order reads its blob file in order, and readahead is what makes that one large I/O
    // instead of one per chunk (docs/performance.md).
    dbo.advise_random_on_open = false;

    auto table_cache = rocksdb::NewLRUCache(64 << 20);
    rocksdb::BlockBasedTableOptions bbt;
    bbt.block_cache = table_cache;
    bbt.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    auto factory = std::shared_ptr<rocksdb::TableFactory>(rocksdb::NewBlockBasedTableFactory(bbt));

    rocksdb::ColumnFamilyOptions meta_cf;
    meta_cf.table_factory = factory;
    rocksdb::ColumnFamilyOptions objects_cf = meta_cf;
    objects_cf.compression = rocksdb::kNoCompression;  // digests do not compress
    rocksdb::ColumnFamilyOptions pages_cf = meta_cf;
    pages_cf.compression = rocksdb::kLZ4Compression;  // runs of hole entries do
    rocksdb::ColumnFamilyOptions chunks_cf = meta_cf;
    chunks_cf.compression = rocksdb::kNoCompression;  // bodies are zstd already
    chunks_cf.enable_blob_files = true;
    chunks_cf.min_blob_size = 0;
    chunks_cf.blob_file_size = 256 << 20;
    chunks_cf.blob_compression_type = rocksdb::kNoCompression;
    // No blob GC in ordinary compactions: it relocates every blob of the older half of the
    // blob files whether they hold garbage or not, which during a create rewrote a share of
    // what the create had just written (17 % of a first RP's CPU). Space comes back through
    // Compact() (forced GC), which deletes run once enough has been freed.
    chunks_cf.enable_blob_garbage_collection = false;
    chunks_cf.write_buffer_size = 128 << 20;

    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, meta_cf},
        {format::kCfObjects, objects_cf},
        {format::kCfChunks, chunks_cf},
        {format::kCfPages, pages_cf},
    };
    std::string path = (fs::path(dir_) / kDbDir).string();
    rocksdb::DB* db = nullptr;
    RPFS_RETURN_IF_ERROR(
        FromRocks(rocksdb::DB::Open(dbo, path, cfs, &handles_, &db), "opening store " + dir_));
    db_.reset(db);
    return Status::OK();
  }

  void Close() {
    if (!db_) return;
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
    db_->Close();
    db_.reset();
  }

  Status WriteConfig(const format::StoreConfig& cfg) {
    config_ = cfg;
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db_->Put(wo, meta(), format::StoreConfigKey(), format::EncodeStoreConfig(cfg)),
                     "writing store config");
  }

  Status LoadConfig() {
    RPFS_ASSIGN_OR_RETURN(auto raw, Get(format::StoreConfigKey()));
    if (!raw) return Status::Corruption("store " + dir_ + " has no config record");
    RPFS_ASSIGN_OR_RETURN(config_, format::DecodeStoreConfig(*raw));
    return Status::OK();
  }

  // Removes what interrupted transactions left, then frees queued objects.
  Status Recover() {
    std::vector<uint64_t> txs;
    RPFS_RETURN_IF_ERROR(Scan(format::TxPrefix(), [&](std::string_view key, std::string_view) {
      uint64_t tx = format::TxIdFromKey(key);
      if (tx != 0) txs.push_back(tx);
      return true;
    }));
    for (uint64_t tx : txs) RPFS_RETURN_IF_ERROR(AbortTx(tx));
    RPFS_ASSIGN_OR_RETURN(uint64_t freed, RunGc());
    (void)freed;
    return Status::OK();
  }

  const format::StoreConfig& config() const override { return config_; }
  const std::string& dir() const override { return dir_; }

  rocksdb::ColumnFamilyHandle* meta() const { return handles_[0]; }
  rocksdb::ColumnFamilyHandle* objects() const { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* chunks() const { return handles_[2]; }
  rocksdb::ColumnFamilyHandle* pages() const { return handles_[3]; }
  rocksdb::ColumnFamilyHandle* BodyCf(const ObjectId& id) const {
    return id.kind == ObjectKind::kChunk ? chunks() : pages();
  }
  rocksdb::DB* db() const { return db_.get(); }

  Result<std::optional<std::string>> Get(std::string_view key) const override {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta(), ToSlice(key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    RPFS_RETURN_IF_ERROR(FromRocks(s, "reading store metadata"));
    return std::optional<std::string>(std::move(value));
  }

  Status Scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    return ScanCf(meta(), prefix, fn);
  }

  Status ScanCf(rocksdb::ColumnFamilyHandle* cf, std::string_view prefix,
                const std::function<bool(std::string_view, std::string_view)>& fn) const {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
      std::string_view key = ToView(it->key());
      if (key.substr(0, prefix.size()) != prefix) break;
      if (!fn(key, ToView(it->value()))) break;
    }
    return FromRocks(it->status(), "scanning store");
  }

  Result<std::optional<ObjectMeta>> GetObjectMeta(const ObjectId& id) const override {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), objects(), format::ObjectKey(id), &value);
    if (s.IsNotFound()) return std::optional<ObjectMeta>();
    RPFS_RETURN_IF_ERROR(FromRocks(s, "reading " + ObjectName(id)));
    RPFS_ASSIGN_OR_RETURN(ObjectMeta m, format::DecodeObjectMeta(value));
    return std::optional<ObjectMeta>(m);
  }

  Result<std::string> GetObjectBody(const ObjectId& id) const override {
    return ReadBody(rocksdb::ReadOptions(), id);
  }

  Result<std::unique_ptr<WriteTx>> BeginTx(std::string description) override {
    Mutation m;
    RPFS_ASSIGN_OR_RETURN(uint64_t id, NextId(format::kCounterTxId, &m));
    format::TxRecord rec{id, std::move(description), NowMicros()};
    m.Put(format::TxKey(id), format::EncodeTx(rec));
    RPFS_RETURN_IF_ERROR(Commit(m));
    open_txs_.fetch_add(1);
    return std::unique_ptr<WriteTx>(std::make_unique<RocksWriteTx>(this, id));
  }

  bool HasOpenTx() const override { return open_txs_.load() > 0; }
  void EndTx() { open_txs_.fetch_sub(1); }

  // Adds `m`'s changes to `batch`; refcounts that reach zero queue their object.
  Status StageMutation(const Mutation& m, rocksdb::WriteBatch* batch) {
    for (const auto& [key, value] : m.puts()) batch->Put(meta(), key, value);
    for (const auto& key : m.deletes()) batch->Delete(meta(), key);
    for (const auto& [id, delta] : m.refs()) {
      if (delta == 0) continue;
      RPFS_ASSIGN_OR_RETURN(auto meta_rec, GetObjectMeta(id));
      if (!meta_rec) return Status::Corruption(ObjectName(id) + " is referenced but missing");
      int64_t count = static_cast<int64_t>(meta_rec->refcount) + delta;
      if (count < 0) {
        return Status::Corruption(ObjectName(id) + " refcount would drop below zero");
      }
      meta_rec->refcount = static_cast<uint64_t>(count);
      batch->Put(objects(), format::ObjectKey(id), format::EncodeObjectMeta(*meta_rec));
      if (count == 0) batch->Put(meta(), format::GcKey(id), "");
    }
    return Status::OK();
  }

  Status Commit(const Mutation& m) override {
    rocksdb::WriteBatch batch;
    RPFS_RETURN_IF_ERROR(StageMutation(m, &batch));
    return WriteSynced(&batch, "committing to store");
  }

  Status WriteSynced(rocksdb::WriteBatch* batch, std::string_view what) {
    RPFS_RETURN_IF_ERROR(RefuseIfWriteFailed());
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return Checked(db_->Write(wo, batch), what);
  }

  // After a failed write, sync or flush RocksDB is in an error state where a further write
  // trips assertions in Debian's build (seen with a failed WAL fdatasync) and could not
  // succeed anyway: every later write is refused until the store is opened again, and
  // what was left half done (a tx record) is finished by that Open.
  Status Checked(const rocksdb::Status& rs, std::string_view what) {
    Status s = FromRocks(rs, what);
    if (!s.ok() && !write_failed_.exchange(true)) {
      std::lock_guard lock(write_error_mu_);
      write_error_ = s.message();
    }
    return s;
  }
  Status RefuseIfWriteFailed() const {
    if (!write_failed_.load()) return Status::OK();
    std::lock_guard lock(write_error_mu_);
    return Status::IOError("store " + dir_ + " stopped writing after an earlier error (" +
                           write_error_ + "); restart rpfs to recover it");
  }

  Result<uint64_t> NextId(std::string_view counter, Mutation* m) override {
    RPFS_ASSIGN_OR_RETURN(auto raw, Get(format::CounterKey(counter)));
    uint64_t next = 1;
    if (raw) {
      Decoder d(*raw, "counter");
      RPFS_ASSIGN_OR_RETURN(uint64_t cur, d.GetFixed64());
      next = cur + 1;
    }
    std::string value;
    Encoder(&value).PutFixed64(next);
    m->Put(format::CounterKey(counter), std::move(value));
    return next;
  }

  // Lists the children of a page body as object ids.
  Result<std::vector<ObjectId>> Children(const ObjectId& id, std::string_view body) const {
    std::vector<ObjectId> out;
    if (id.kind != ObjectKind::kPage) return out;
    auto page = format::DecodePage(body, config_.page_fanout);
    if (!page.ok()) return page.status().WithContext(ObjectName(id));
    for (const Digest& d : page->entries)
      if (!d.IsZero()) out.push_back(ChildId(page->level, d));
    return out;
  }

  // Drains the 'G' queue in synced batches of at most kGcBatchObjects. Each batch is atomic
  // and removes the queue keys it handled together with the objects it freed and the
  // children it queued, so a crash between batches leaves a queue the next call resumes, and
  // running a batch twice frees nothing twice.
  Result<uint64_t> RunGc() override {
    uint64_t freed = 0;
    if (HasOpenTx()) return freed;  // the queue stays (durably) for the next call
    for (;;) {
      std::vector<ObjectId> queue;
      RPFS_RETURN_IF_ERROR(Scan(format::GcPrefix(), [&](std::string_view key, std::string_view) {
        auto id = format::ObjectIdFromSuffix(key);
        if (id.ok()) queue.push_back(*id);
        return queue.size() < kGcBatchObjects;
      }));
      if (queue.empty()) return freed;
      rocksdb::WriteBatch batch;
      // Refcounts changed in this batch, so that two decrements of one child add up.
      std::unordered_map<ObjectId, ObjectMeta, ObjectIdHash> changed;
      auto meta_of = [&](const ObjectId& id) -> Result<std::optional<ObjectMeta>> {
        auto it = changed.find(id);
        if (it != changed.end()) return std::optional<ObjectMeta>(it->second);
        return GetObjectMeta(id);
      };
      std::unordered_set<ObjectId, ObjectIdHash> deleted;
      for (const ObjectId& id : queue) {
        batch.Delete(meta(), format::GcKey(id));
        RPFS_ASSIGN_OR_RETURN(auto m, meta_of(id));
        if (!m || m->refcount != 0) continue;  // already gone, or referenced again
        // A page's children lose the reference it held; the ones it was the last
        // reference of join the queue (in this batch, so the cascade is as durable as
        // the free that caused it).
        if (id.kind == ObjectKind::kPage) {
          RPFS_ASSIGN_OR_RETURN(std::string body, GetObjectBody(id));
          RPFS_ASSIGN_OR_RETURN(auto children, Children(id, body));
          for (const ObjectId& child : children) {
            RPFS_ASSIGN_OR_RETURN(auto cm, meta_of(child));
            if (!cm || cm->refcount == 0) {
              return Status::Corruption(ObjectName(child) + " refcount would drop below zero");
            }
            cm->refcount--;
            changed[child] = *cm;
            if (cm->refcount == 0) batch.Put(meta(), format::GcKey(child), "");
          }
        }
        batch.Delete(BodyCf(id), ToSlice(id.digest.View()));
        batch.Delete(objects(), format::ObjectKey(id));
        changed.erase(id);
        deleted.insert(id);
        freed += m->stored_size;
      }
      // Refcounts are written once per batch, after every decrement was added up.
      for (const auto& [id, m] : changed) {
        if (deleted.count(id) == 0)
          batch.Put(objects(), format::ObjectKey(id), format::EncodeObjectMeta(m));
      }
      CrashPoint("gc.before_batch");
      RPFS_RETURN_IF_ERROR(WriteSynced(&batch, "freeing objects"));
    }
  }

  Result<uint64_t> SimulateRelease(const std::vector<ObjectId>& roots) const override {
    std::unordered_map<ObjectId, uint64_t, ObjectIdHash> counts;  // refcounts as they would be
    std::vector<ObjectId> queue;
    auto release = [&](const ObjectId& id) -> Status {
      auto it = counts.find(id);
      if (it == counts.end()) {
        RPFS_ASSIGN_OR_RETURN(auto m, GetObjectMeta(id));
        if (!m) return Status::Corruption(ObjectName(id) + " is referenced but missing");
        it = counts.emplace(id, m->refcount).first;
      }
      if (it->second == 0) return Status::Corruption(ObjectName(id) + " refcount below zero");
      if (--it->second == 0) queue.push_back(id);
      return Status::OK();
    };
    for (const ObjectId& root : roots) RPFS_RETURN_IF_ERROR(release(root));
    uint64_t freed = 0;
    while (!queue.empty()) {
      ObjectId id = queue.back();
      queue.pop_back();
      RPFS_ASSIGN_OR_RETURN(auto m, GetObjectMeta(id));
      if (m) freed += m->stored_size;
      if (id.kind == ObjectKind::kPage) {
        RPFS_ASSIGN_OR_RETURN(std::string body, GetObjectBody(id));
        RPFS_ASSIGN_OR_RETURN(auto children, Children(id, body));
        for (const ObjectId& child : children) RPFS_RETURN_IF_ERROR(release(child));
      }
    }
    return freed;
  }

  Status AbortTx(uint64_t tx) {
    RPFS_RETURN_IF_ERROR(RefuseIfWriteFailed());  // the tx record stays for the next Open
    rocksdb::WriteBatch batch;
    RPFS_RETURN_IF_ERROR(
        Scan(format::TxObjectPrefix(tx), [&](std::string_view key, std::string_view) {
          auto id = format::ObjectIdFromSuffix(key);
          if (!id.ok()) return true;
          auto m = GetObjectMeta(*id);
          // Objects of an uncommitted tx have refcount 0; anything else was never ours to remove.
          if (m.ok() && m->has_value() && (*m)->refcount == 0) {
            batch.Delete(BodyCf(*id), ToSlice(id->digest.View()));
            batch.Delete(objects(), format::ObjectKey(*id));
          }
          batch.Delete(meta(), ToSlice(key));
          return true;
        }));
    batch.Delete(meta(), format::TxKey(tx));
    return WriteSynced(&batch, "removing an interrupted operation");
  }

  Status FlushAll() {
    rocksdb::FlushOptions fo;
    fo.wait = true;
    RPFS_RETURN_IF_ERROR(RefuseIfWriteFailed());
    return Checked(db_->Flush(fo, handles_), "flushing store");
  }

  Status Compact() override {
    RPFS_RETURN_IF_ERROR(FlushAll());
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    co.blob_garbage_collection_policy = rocksdb::BlobGarbageCollectionPolicy::kForce;
    co.blob_garbage_collection_age_cutoff = 1.0;
    for (auto* h : handles_) {
      RPFS_RETURN_IF_ERROR(
          FromRocks(db_->CompactRange(co, h, nullptr, nullptr), "compacting store"));
    }
    return Status::OK();
  }

  void WaitForCompactions() const override {
    for (;;) {
      uint64_t busy = 0;
      for (auto* h : handles_) {
        uint64_t pending = 0, running = 0;
        db_->GetIntProperty(h, rocksdb::DB::Properties::kCompactionPending, &pending);
        db_->GetIntProperty(h, rocksdb::DB::Properties::kNumRunningCompactions, &running);
        busy += pending + running;
      }
      if (busy == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // 7.8 has no wait call
    }
  }

  Result<DiskUsage> Usage() const override {
    DiskUsage u;
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(dir_, ec)) {
      if (!entry.is_regular_file(ec)) continue;
      // The smaller of size and allocation: a sparse clone disk counts what it holds, not
      // its holes; a RocksDB WAL or manifest counts its bytes, not the tail RocksDB
      // preallocates (fallocate KEEP_SIZE) and gives back when the file is closed.
      struct stat st = {};
      if (::lstat(entry.path().c_str(), &st) != 0) continue;  // removed while we looked
      uint64_t size =
          std::min(static_cast<uint64_t>(st.st_size), static_cast<uint64_t>(st.st_blocks) * 512);
      std::string ext = entry.path().extension().string();
      if (ext == ".blob") {
        u.blob_files += size;
      } else if (ext == ".sst") {
        u.sst_files += size;
      } else {
        u.other += size;
      }
      u.total += size;
    }
    if (ec) return Status::IOError("listing store " + dir_ + ": " + ec.message());
    return u;
  }

  Result<ObjectTotals> CountObjects() const override {
    ObjectTotals t;
    Status parse_error;
    RPFS_RETURN_IF_ERROR(ScanCf(objects(), "", [&](std::string_view key, std::string_view value) {
      auto m = format::DecodeObjectMeta(value);
      if (!m.ok()) {
        parse_error = m.status();
        return false;
      }
      if (!key.empty() && key[0] == static_cast<char>(ObjectKind::kPage)) {
        t.pages++;
        t.page_bytes += m->stored_size;
      } else {
        t.chunks++;
        t.chunk_raw_bytes += m->raw_size;
        t.chunk_stored_bytes += m->stored_size;
      }
      return true;
    }));
    RPFS_RETURN_IF_ERROR(parse_error);
    return t;
  }

  Result<VerifyReport> Verify(const std::vector<ObjectId>& roots, const ProgressFn& progress,
                              uint32_t sample_percent) const override;

 private:
  ObjectCheck CheckObject(const ObjectId& id) const;
  Result<std::string> ReadBody(const rocksdb::ReadOptions& ro, const ObjectId& id) const {
    std::string value;
    rocksdb::Status s = db_->Get(ro, BodyCf(id), ToSlice(id.digest.View()), &value);
    if (s.IsNotFound()) return Status::Corruption(ObjectName(id) + " is referenced but missing");
    RPFS_RETURN_IF_ERROR(FromRocks(s, "reading " + ObjectName(id)));
    return value;
  }
  std::string dir_;
  LockFile lock_;
  format::StoreConfig config_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::atomic<int> open_txs_{0};           // WriteTxs begun and not yet committed or destroyed
  std::atomic<bool> write_failed_{false};  // see Checked()
  mutable std::mutex write_error_mu_;
  std::string write_error_;  // the first failed write's message
  friend class RocksWriteTx;
};

// ---- WriteTx ----

RocksWriteTx::~RocksWriteTx() {
  if (committed_) return;
  // Abort: the objects written so far go. If this fails (store broken, disk full), the tx
  // record stays and the next Open finishes the job.
  batch_.Clear();
  (void)store_->AbortTx(id_);
  store_->EndTx();
}

Status RocksWriteTx::WritePending() {
  if (batch_.Count() == 0) return Status::OK();
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;  // made durable by the flush in Commit; a crash before drops them
  RPFS_RETURN_IF_ERROR(store_->RefuseIfWriteFailed());
  RPFS_RETURN_IF_ERROR(store_->Checked(store_->db()->Write(wo, &batch_), "writing chunks"));
  batch_.Clear();
  return Status::OK();
}

Status RocksWriteTx::PutObject(const ObjectId& id, std::string_view body, uint64_t raw_size) {
  ObjectMeta m{0, raw_size, body.size()};
  batch_.Put(store_->BodyCf(id), ToSlice(id.digest.View()), ToSlice(body));
  batch_.Put(store_->objects(), format::ObjectKey(id), format::EncodeObjectMeta(m));
  batch_.Put(store_->meta(), format::TxObjectKey(id_, id), "");
  if (batch_.GetDataSize() >= kTxBatchBytes) return WritePending();
  return Status::OK();
}

Status RocksWriteTx::Commit(const Mutation& m) {
  RPFS_RETURN_IF_ERROR(WritePending());
  CrashPoint("tx.before_flush");
  RPFS_RETURN_IF_ERROR(store_->FlushAll());
  CrashPoint("tx.after_flush");
  rocksdb::WriteBatch batch;
  RPFS_RETURN_IF_ERROR(store_->StageMutation(m, &batch));
  std::string begin = format::TxObjectPrefix(id_);
  std::string end = format::TxObjectPrefix(id_ + 1);
  batch.DeleteRange(store_->meta(), begin, end);
  batch.Delete(store_->meta(), format::TxKey(id_));
  Status s = store_->WriteSynced(&batch, "committing");
  if (!s.ok()) {
    // The batch may have reached the log before its sync failed: whether it counts is
    // decided when the store is next opened (whole, or not at all).
    return s.WithContext("commit not confirmed (whole or absent after the next open)");
  }
  committed_ = true;
  store_->EndTx();
  CrashPoint("tx.after_commit");
  return Status::OK();
}

// ---- Verify ----

// One object, from any thread: a chunk must decode and hash to its id; a page must hash to
// its id and decode, and then names its children (their references are counted).
ObjectCheck RocksStore::CheckObject(const ObjectId& id) const {
  ObjectCheck c;
  auto body = GetObjectBody(id);
  if (!body.ok()) {
    c.problem = body.status().message();
    return c;
  }
  c.stored = body->size();
  if (id.kind == ObjectKind::kChunk) {
    thread_local format::ChunkDecoder decoder;
    auto len = format::RawLength(*body);
    if (!len.ok() || *len > format::kMaxChunkSize) {
      c.problem = "undecodable chunk body";
      return c;
    }
    std::string buf(*len, '\0');
    Status s = decoder.Decode(*body, AsWritableBytes(buf));
    if (!s.ok()) {
      c.problem = s.message();
    } else if (Sha256(buf) != id.digest) {
      c.problem = "SHA-256 mismatch";
    }
    c.raw = *len;
    return c;
  }
  if (Sha256(*body) != id.digest) {
    c.problem = "SHA-256 mismatch";
    return c;
  }
  auto kids = Children(id, *body);
  if (kids.ok()) {
    c.children = std::move(*kids);
  } else {
    c.problem = kids.status().message();
  }
  return c;
}

// Four phases over shared tallies (stored refcounts, references found), ~70 lines: read
// every object's metadata; check bodies in parallel batches (CheckObject); compare the
// refcounts with the references; list what unfinished operations left.
Result<VerifyReport> RocksStore::Verify(const std::vector<ObjectId>& roots,
                                        const ProgressFn& progress, uint32_t sample_percent) const {
  VerifyReport report;
  std::unordered_map<ObjectId, uint64_t, ObjectIdHash> expected;  // references found
  std::unordered_map<ObjectId, uint64_t, ObjectIdHash> actual;    // stored refcounts
  for (const ObjectId& r : roots) expected[r]++;
  // A sample picks chunks by their digest mixed with a fresh seed, so successive sampled
  // runs cover different chunks. Pages are always read: they hold the references.
  const uint64_t seed = std::random_device{}() * 0x9E3779B97F4A7C15ull;
  auto sampled = [&](const ObjectId& id) {
    if (sample_percent >= 100 || id.kind != ObjectKind::kChunk) return true;
    uint64_t h = GetBigEndian64(id.digest.View()) ^ seed;
    h *= 0xBF58476D1CE4E5B9ull;
    return (h >> 32) % 100 < sample_percent;
  };
  std::vector<ObjectId> to_check;

  uint64_t total_bytes = 0;
  {
    std::vector<std::pair<ObjectId, ObjectMeta>> all;
    RPFS_RETURN_IF_ERROR(ScanCf(objects(), "", [&](std::string_view key, std::string_view value) {
      auto id = format::ObjectIdFromKey(key);
      auto m = format::DecodeObjectMeta(value);
      if (id.ok() && m.ok()) {
        actual[*id] = m->refcount;
        if (sampled(*id)) {
          to_check.push_back(*id);
          total_bytes += m->stored_size;
        } else {
          ++report.chunks_skipped;
        }
      } else {
        report.problems.push_back({ObjectId{}, "undecodable object record"});
      }
      return true;
    }));
  }

  ThreadPool pool(ThreadPool::DefaultWorkers());
  std::mutex mu;
  uint64_t done_bytes = 0;
  std::vector<ObjectId> batch;
  auto check_batch = [&]() {
    pool.ParallelFor(batch.size(), [&](size_t i) {
      const ObjectId& id = batch[i];
      ObjectCheck c = CheckObject(id);
      std::lock_guard lock(mu);
      for (const ObjectId& child : c.children) expected[child]++;
      if (!c.problem.empty()) report.problems.push_back({id, c.problem});
      report.chunk_bytes += c.raw;
      done_bytes += c.stored;
      if (progress) progress(done_bytes, total_bytes);
    });
    report.objects += batch.size();
    batch.clear();
  };
  for (const ObjectId& id : to_check) {
    batch.push_back(id);
    if (batch.size() == 256) check_batch();
  }
  check_batch();

  for (const auto& [id, want] : expected) {
    auto it = actual.find(id);
    if (it == actual.end()) {
      report.problems.push_back({id, "referenced but missing"});
    } else if (it->second != want) {
      report.problems.push_back({id,
                                 "refcount " + std::to_string(it->second) + ", referenced " +
                                     std::to_string(want) + " times",
                                 false});
    }
  }
  for (const auto& [id, count] : actual) {
    if (expected.count(id) == 0) {
      report.problems.push_back(
          {id, "leaked: refcount " + std::to_string(count) + ", never referenced", false});
    }
  }
  for (std::string_view prefix : {"T", "U", "G"}) {
    RPFS_RETURN_IF_ERROR(Scan(prefix, [&](std::string_view key, std::string_view) {
      report.leftovers.push_back(std::string(prefix == "T"   ? "unfinished operation"
                                             : prefix == "U" ? "object of an unfinished operation"
                                                             : "object waiting to be freed") +
                                 " (key of " + std::to_string(key.size()) + " bytes)");
      return true;
    }));
  }
  return report;
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Init(const std::string& dir, const format::StoreConfig& cfg) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create store directory " + dir + ": " + ec.message());
  if (fs::exists(fs::path(dir) / kDbDir)) {
    return Status::AlreadyExists("store " + dir + " already exists");
  }
  RPFS_ASSIGN_OR_RETURN(auto store, RocksStore::OpenDb(dir, /*create=*/true));
  format::StoreConfig c = cfg;
  c.format_version = format::kStoreFormatVersion;
  c.created_us = NowMicros();
  RPFS_RETURN_IF_ERROR(store->WriteConfig(c));
  return std::unique_ptr<Store>(std::move(store));
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status::NotFound("store " + dir + " does not exist (create it with 'rpfs init')");
  }
  if (!fs::exists(fs::path(dir) / kDbDir / "CURRENT", ec)) {
    return Status::InvalidArgument(dir + " is not an rpfs store (create one with 'rpfs init')");
  }
  RPFS_ASSIGN_OR_RETURN(auto store, RocksStore::OpenDb(dir, /*create=*/false));
  RPFS_RETURN_IF_ERROR(store->LoadConfig());
  RPFS_RETURN_IF_ERROR(store->Recover().WithContext("recovering store ", dir));
  return std::unique_ptr<Store>(std::move(store));
}

std::string RocksDbVersion() { return rocksdb::GetRocksVersionAsString(true); }

}  // namespace rpfs::store
