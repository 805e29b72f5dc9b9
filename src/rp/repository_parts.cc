#include "rp/repository_parts.h"

#include "format/keys.h"
#include "rp/disk_reader.h"
#include "util/coding.h"

namespace rpfs::rp {
namespace {

// A DiskReader that keeps its RP's data alive (ReaderPins) until it is destroyed.
class PinnedDiskReader : public DiskReader {
 public:
  PinnedDiskReader(std::unique_ptr<DiskReader> inner, std::shared_ptr<void> pin, std::string label)
      : inner_(std::move(inner)), pin_(std::move(pin)), label_(std::move(label)) {}
  uint64_t size() const override { return inner_->size(); }
  // A failed read names the RP and disk ("reading rp web01/day1 disk vda at offset N: chunk
  // ... is damaged"): that is the line the mount logs with the EIO.
  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    auto n = inner_->ReadAt(offset, out);
    if (!n.ok()) return n.status().WithContext("reading ", label_, " at offset ", offset);
    return n;
  }
  Result<uint64_t> NextData(uint64_t offset) const override { return inner_->NextData(offset); }
  Result<uint64_t> NextHole(uint64_t offset) const override { return inner_->NextHole(offset); }
  Result<std::string> Fingerprint(uint64_t offset, uint64_t length) const override {
    return inner_->Fingerprint(offset, length);
  }

 private:
  std::unique_ptr<DiskReader> inner_;
  std::shared_ptr<void> pin_;
  std::string label_;
};

}  // namespace

RepositoryParts::RepositoryParts(std::unique_ptr<store::Store> s)
    : store(std::move(s)),
      pages(store.get(), kPageCacheEntries),
      chunks(store.get(), kChunkCacheBytes),
      catalog(store.get()),
      gate([this](uint64_t rp_id) { (void)ReleaseDeferred(rp_id); }),
      clones(store.get(), &pages, &catalog, &gate),
      domains(store.get(), &pages) {}

Status RepositoryParts::ReleaseDeferred(uint64_t rp_id) {
  RPFS_ASSIGN_OR_RETURN(auto raw, store->Get(format::DeferredRpKey(rp_id)));
  if (!raw) return Status::OK();
  RPFS_ASSIGN_OR_RETURN(auto rec, format::DecodeRp(*raw));
  store::Mutation m;
  m.Delete(format::DeferredRpKey(rp_id));
  for (const store::ObjectId& root : Catalog::Roots(rec)) m.AddRef(root, -1);
  RPFS_RETURN_IF_ERROR(store->Commit(m));
  return store->RunGc().status();
}

Status RepositoryParts::ReleaseAllDeferred() {
  RPFS_ASSIGN_OR_RETURN(auto ids, catalog.DeferredIds());
  auto lock = gate.LockForWrite();
  for (uint64_t id : ids) RPFS_RETURN_IF_ERROR(ReleaseDeferred(id));
  return Status::OK();
}

Result<std::unique_ptr<DiskReader>> RepositoryParts::OpenPinned(const std::string& vm,
                                                                uint64_t rp_id,
                                                                const std::string& disk) {
  auto pin = gate.Pin(rp_id);
  RPFS_ASSIGN_OR_RETURN(auto rec, catalog.FindRpById(vm, rp_id));
  if (!rec)
    return Status::NotFound("rp #" + std::to_string(rp_id) + " of vm " + vm + " does not exist");
  const format::RpStream* s = Catalog::FindStream(*rec, disk);
  if (s == nullptr) return Status::NotFound(RpLabel(vm, rec->name) + " has no disk " + disk);
  return std::unique_ptr<DiskReader>(
      std::make_unique<PinnedDiskReader>(NewDiskReader(store.get(), &pages, &chunks, *s),
                                         std::move(pin), RpLabel(vm, rec->name) + " disk " + disk));
}

void RepositoryParts::NoteFreedAndReclaimIfDue(uint64_t freed) {
  if (freed == 0) return;
  auto raw = store->Get(format::CounterKey(format::kCounterReclaimable));
  if (!raw.ok()) return;
  uint64_t pending = freed;
  if (*raw) {
    auto before = Decoder(**raw, "reclaimable counter").GetFixed64();
    if (before.ok()) pending += *before;
  }
  auto usage = store->Usage();
  // While a create is open nothing has left the store yet: compact after its commit.
  if (usage.ok() && pending >= kReclaimMinBytes && pending >= usage->total / 4 &&
      !store->HasOpenTx() && store->Compact().ok()) {
    pending = 0;
  }
  std::string value;
  Encoder(&value).PutFixed64(pending);
  store::Mutation m;
  m.Put(format::CounterKey(format::kCounterReclaimable), value);
  (void)store->Commit(m);
}

}  // namespace rpfs::rp
