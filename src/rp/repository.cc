#include "rpfs/repository.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include "format/keys.h"
#include "image/image_source.h"
#include "rp/chunk_cache.h"
#include "rp/disk_reader.h"
#include "rp/extent_map.h"
#include "rp/ingest.h"
#include "rp/reader_pins.h"
#include "rp/repository_impl.h"
#include "rpfs/names.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/crash_point.h"

namespace rpfs {

namespace {

// Store paths are kept absolute: clone files are reported by path.
std::string AbsolutePath(const std::string& dir) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(dir, ec);
  return ec ? dir : abs.lexically_normal().string();
}

// A DiskReader that keeps its RP's data alive (ReaderPins) until it is destroyed.
class PinnedDiskReader : public DiskReader {
 public:
  PinnedDiskReader(std::unique_ptr<DiskReader> inner, std::shared_ptr<void> pin)
      : inner_(std::move(inner)), pin_(std::move(pin)) {}
  uint64_t size() const override { return inner_->size(); }
  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    return inner_->ReadAt(offset, out);
  }
  Result<uint64_t> NextData(uint64_t offset) const override { return inner_->NextData(offset); }
  Result<uint64_t> NextHole(uint64_t offset) const override { return inner_->NextHole(offset); }

 private:
  std::unique_ptr<DiskReader> inner_;
  std::shared_ptr<void> pin_;
};

bool SameDisks(const std::vector<format::VmDisk>& a, const std::vector<format::VmDisk>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.name == y.name && x.path == y.path && x.format == y.format;
  });
}

}  // namespace

Result<std::unique_ptr<DiskReader>> Repository::Impl::OpenPinned(const std::string& vm,
                                                                 uint64_t rp_id,
                                                                 const std::string& disk) {
  auto pin = Pin(rp_id);
  RPFS_ASSIGN_OR_RETURN(auto rec, FindRpById(vm, rp_id));
  if (!rec)
    return Status::NotFound("rp #" + std::to_string(rp_id) + " of vm " + vm + " does not exist");
  const format::RpStream* s = FindStream(*rec, disk);
  if (s == nullptr) return Status::NotFound(RpLabel(vm, rec->name) + " has no disk " + disk);
  return std::unique_ptr<DiskReader>(std::make_unique<PinnedDiskReader>(
      rp::NewDiskReader(store.get(), &pages, &chunks, *s), std::move(pin)));
}

Repository::Repository(std::unique_ptr<store::Store> store)
    : impl_(std::make_unique<Impl>(std::move(store))) {}
Repository::~Repository() = default;

Result<std::unique_ptr<Repository>> Repository::Init(const std::string& dir,
                                                     const InitOptions& opts) {
  format::StoreConfig cfg;
  if (opts.chunk_size != 0) {
    uint32_t cs = opts.chunk_size;
    if (cs < format::kMinChunkSize || cs > format::kMaxChunkSize || (cs & (cs - 1)) != 0) {
      return Status::InvalidArgument("invalid chunk size " + std::to_string(cs) +
                                     ": must be a power of two from 4096 to 16777216");
    }
    cfg.chunk_size = cs;
  }
  if (opts.compression_level) {
    int l = *opts.compression_level;
    if (l < -7 || l > 19 || l == 0) {
      return Status::InvalidArgument("invalid compression level " + std::to_string(l) +
                                     ": zstd levels -7..-1 (fast) and 1..19");
    }
    cfg.compression_level = l;
  }
  RPFS_ASSIGN_OR_RETURN(auto s, store::Store::Init(AbsolutePath(dir), cfg));
  return std::unique_ptr<Repository>(new Repository(std::move(s)));
}

Result<std::unique_ptr<Repository>> Repository::Open(const std::string& dir) {
  RPFS_ASSIGN_OR_RETURN(auto s, store::Store::Open(AbsolutePath(dir)));
  std::unique_ptr<Repository> repo(new Repository(std::move(s)));
  RPFS_RETURN_IF_ERROR(
      repo->impl_->ReleaseAllDeferred().WithContext("releasing deleted rps in store ", dir));
  RPFS_RETURN_IF_ERROR(
      repo->impl_->RemoveOrphanCloneDirs().WithContext("cleaning clones in store ", dir));
  return repo;
}

// ---------------- VMs ----------------

Status Repository::AddVm(const std::string& vm, const std::vector<DiskSpec>& disks) {
  RPFS_RETURN_IF_ERROR(ValidateName(vm, "vm name"));
  if (disks.empty()) return Status::InvalidArgument("vm " + vm + " needs at least one disk");
  format::VmRecord rec;
  rec.name = vm;
  rec.kind = format::VmKind::kImageFiles;
  rec.created_us = NowMicros();
  std::set<std::string> seen;
  for (const DiskSpec& d : disks) {
    RPFS_RETURN_IF_ERROR(ValidateName(d.name, "disk name"));
    if (!seen.insert(d.name).second) {
      return Status::InvalidArgument("vm " + vm + ": disk " + d.name + " is given twice");
    }
    if (d.path.empty()) return Status::InvalidArgument("disk " + d.name + ": empty path");
    format::VmDisk disk;
    disk.name = d.name;
    disk.path = std::filesystem::absolute(d.path).lexically_normal().string();
    if (d.format) {
      RPFS_ASSIGN_OR_RETURN(disk.format, format::ParseDiskFormat(*d.format));
    } else {
      auto probed = image::ProbeFormat(disk.path);
      if (!probed.ok()) return probed.status().WithContext("disk ", d.name);
      disk.format = *probed;
    }
    // Open it once now, so a wrong path or format fails here rather than at the first RP.
    auto src = image::OpenImage(disk.name, disk.path, disk.format);
    if (!src.ok()) return src.status().WithContext("adding vm ", vm);
    rec.disks.push_back(std::move(disk));
  }
  auto lock = impl_->LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto existing, impl_->store->Get(format::VmKey(vm)));
  if (existing) return Status::AlreadyExists("vm " + vm + " already exists");
  store::Mutation m;
  m.Put(format::VmKey(vm), format::EncodeVm(rec));
  RPFS_RETURN_IF_ERROR(impl_->store->Commit(m));
  impl_->Notify(StoreChange::Kind::kVmAdded, vm);
  return Status::OK();
}

Status Repository::RemoveVm(const std::string& vm) {
  auto lock = impl_->LockForWrite();
  RPFS_RETURN_IF_ERROR(impl_->LoadVm(vm).status());
  RPFS_ASSIGN_OR_RETURN(auto rps, impl_->LoadRps(vm));
  if (!rps.empty()) {
    return Status::Busy("vm " + vm + " still has " + std::to_string(rps.size()) +
                        " recovery point(s); delete them first ('rpfs delete " + vm + " --all')");
  }
  bool has_clones = false;
  RPFS_RETURN_IF_ERROR(
      impl_->store->Scan(format::ClonePrefix(vm), [&](std::string_view, std::string_view) {
        has_clones = true;
        return false;
      }));
  if (has_clones) {
    return Status::Busy("vm " + vm + " still has clones; delete them first ('rpfs clone-list " +
                        vm + "')");
  }
  store::Mutation m;
  m.Delete(format::VmKey(vm));
  m.Delete(format::PolicyKey(vm));
  RPFS_RETURN_IF_ERROR(impl_->store->Commit(m));
  impl_->Notify(StoreChange::Kind::kVmRemoved, vm);
  return Status::OK();
}

Result<VmInfo> Repository::GetVm(const std::string& vm) const {
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->LoadVm(vm));
  VmInfo info;
  info.name = rec.name;
  info.kind = rec.kind == format::VmKind::kLibvirt ? "libvirt" : "image-files";
  info.libvirt_uri = rec.libvirt_uri;
  info.domain_uuid = rec.domain_uuid;
  info.domain_name = rec.domain_name;
  for (const auto& d : rec.disks)
    info.disks.push_back({d.name, d.path, format::DiskFormatName(d.format)});
  RPFS_ASSIGN_OR_RETURN(auto current, impl_->FindRpById(vm, rec.current_rp));
  if (current) info.current_rp = current->name;
  RPFS_RETURN_IF_ERROR(
      impl_->store->Scan(format::RpPrefix(vm), [&](std::string_view, std::string_view) {
        info.rp_count++;
        return true;
      }));
  return info;
}

Result<std::vector<VmInfo>> Repository::ListVms() const {
  std::vector<std::string> names;
  RPFS_RETURN_IF_ERROR(
      impl_->store->Scan(format::VmPrefix(), [&](std::string_view k, std::string_view) {
        names.push_back(format::VmNameFromKey(k));
        return true;
      }));
  std::vector<VmInfo> out;
  for (const auto& n : names) {
    auto info = GetVm(n);
    if (info.ok())
      out.push_back(std::move(*info));
    else if (!info.status().IsNotFound())
      return info.status();  // removed meanwhile: skip
  }
  return out;
}

// ---------------- recovery points ----------------

Result<RpInfo> Repository::CreateRp(const std::string& vm, const std::string& rp,
                                    const CreateOptions& opts, const ProgressFn& progress) {
  RPFS_RETURN_IF_ERROR(ValidateName(rp, "rp name"));
  std::lock_guard create_lock(impl_->create_mu);
  return impl_->CreateRpLocked(vm, rp, opts, progress, /*write_locked=*/false);
}

Result<RpInfo> Repository::Impl::CreateRpLocked(const std::string& vm, const std::string& rp,
                                                const CreateOptions& opts,
                                                const ProgressFn& progress, bool write_locked) {
  RPFS_ASSIGN_OR_RETURN(auto vmrec, LoadVm(vm));
  RPFS_ASSIGN_OR_RETURN(auto existing, FindRp(vm, rp));
  if (existing) return Status::AlreadyExists(RpLabel(vm, rp) + " already exists");
  const std::string label = "creating " + RpLabel(vm, rp);

  auto input = OpenDiskInputs(vmrec, opts);
  if (!input.ok()) return input.status().WithContext(label);
  // An incremental input reads only what changed since the VM's current RP, whose
  // extent maps give the rest.
  RPFS_ASSIGN_OR_RETURN(auto base_rp, FindRpById(vm, vmrec.current_rp));
  uint64_t total = 0;
  for (auto& d : input->disks) {
    if (d.changed && !base_rp) d.changed.reset();
    auto extents =
        d.changed ? Result<std::vector<image::Extent>>(*d.changed) : d.source->DataExtents();
    if (!extents.ok()) return extents.status().WithContext(label);
    for (const auto& e : *extents) total += e.length;
  }

  ThreadPool pool(ThreadPool::DefaultWorkers());
  std::optional<WriteLock> lock;
  if (!write_locked) lock.emplace(this);
  auto tx = store->BeginTx(label);
  if (!tx.ok()) return tx.status().WithContext(label);
  lock.reset();  // the disks are read while other mutations go on
  store::Mutation m;
  rp::IngestContext ctx;
  ctx.store = store.get();
  ctx.tx = tx->get();
  ctx.mutation = &m;
  ctx.pool = &pool;
  ctx.progress = progress;
  ctx.progress_total = total;

  format::RpRecord rec;
  rec.vm = vm;
  rec.name = rp;
  rec.description = opts.description;
  const auto& cfg = store->config();
  for (auto& d : input->disks) {
    std::optional<rp::ExtentMap> base;
    const format::RpStream* parent_stream = base_rp ? FindStream(*base_rp, d.name) : nullptr;
    if (d.changed && parent_stream != nullptr) {
      base.emplace(&pages, cfg.page_fanout, cfg.chunk_size, *parent_stream);
    }
    auto stream = rp::IngestDisk(ctx, d.name, *d.source, base ? &*base : nullptr,
                                 d.changed ? &*d.changed : nullptr);
    if (!stream.ok()) return stream.status().WithContext(label);
    rec.logical_bytes += stream->size;
    rec.streams.push_back(std::move(*stream));
  }
  for (auto& d : input->disks) {
    Status s = d.source->CheckUnchanged();
    if (!s.ok()) return s.WithContext(label);
  }
  rec.domain_xml = input->domain_xml;
  if (input->pit) {
    const PointInTime& pit = *input->pit;
    if (pit.quiesced()) rec.flags |= format::kRpFlagQuiesced;
    if (!pit.memory_file().empty()) {
      auto src = image::OpenImage("memory state", pit.memory_file(), format::DiskFormat::kRaw);
      if (!src.ok()) return src.status().WithContext(label);
      auto stream = rp::IngestDisk(ctx, "memory", **src);
      if (!stream.ok()) return stream.status().WithContext(label, ": memory state");
      stream->kind = format::StreamKind::kMemory;
      rec.logical_bytes += stream->size;
      rec.streams.push_back(std::move(*stream));
      rec.flags |= format::kRpFlagWithMemory;
    }
  }

  if (!write_locked) {
    lock.emplace(this);
    // The VM record may have changed meanwhile (another RP deleted or renamed, a policy
    // set, the VM removed and added again): commit against the record as it is now.
    auto now = LoadVm(vm);
    if (!now.ok()) return now.status().WithContext(label);
    if (!SameDisks(now->disks, vmrec.disks) || now->domain_uuid != vmrec.domain_uuid) {
      return Status::Busy(label + ": the vm's disks changed while they were read");
    }
    vmrec = std::move(*now);
    if (input->pit) {  // a domain undefined while its disks were read: keep nothing
      Status still = DomainOf(vmrec).status();
      if (!still.ok()) return still.WithContext(label);
    }
    RPFS_ASSIGN_OR_RETURN(auto taken, FindRp(vm, rp));
    if (taken) return Status::AlreadyExists(RpLabel(vm, rp) + " already exists");
  }
  auto id = store->NextId(format::kCounterRpId, &m);
  if (!id.ok()) return id.status().WithContext(label);
  rec.id = *id;
  rec.created_us = NowMicros();
  RPFS_ASSIGN_OR_RETURN(auto parent, FindRpById(vm, vmrec.current_rp));
  rec.parent = parent ? parent->id : 0;
  rec.data_bytes = ctx.data_bytes;
  rec.stored_bytes = ctx.stored_bytes;
  rec.added_bytes = ctx.added_bytes;

  std::string id_value;
  PutBigEndian64(&id_value, rec.id);
  m.Put(format::RpKey(vm, rec.id), format::EncodeRp(rec));
  m.Put(format::RpNameKey(vm, rp), id_value);
  vmrec.current_rp = rec.id;
  if (vmrec.kind == format::VmKind::kLibvirt) {
    vmrec.disks = input->vm_disks;
    vmrec.checkpoint = input->checkpoint;
    vmrec.checkpoint_rp = input->checkpoint.empty() ? 0 : rec.id;
  }
  m.Put(format::VmKey(vm), format::EncodeVm(vmrec));
  CrashPoint("create.before_commit");
  Status s = (*tx)->Commit(m);
  if (!s.ok()) return s.WithContext(label);
  // The RP is stored: the job ends, the new checkpoint stays for the next RP. A failure
  // here costs the next RP its incremental read, nothing else.
  if (input->pit) (void)input->pit->Keep();
  Notify(StoreChange::Kind::kRpCreated, vm, rp, rec.id);
  // Deletes committed while the disks were read left their objects queued (store.h).
  (void)store->RunGc();  // on failure the queue stays for the next RunGc or Open
  RpInfo info = ToInfo(rec, parent ? parent->name : "");
  info.read_bytes = ctx.bytes_read;
  if (input->pit) info.paused_us = input->pit->paused_us();
  return info;
}

Result<std::vector<RpInfo>> Repository::ListRps(const std::string& vm) const {
  RPFS_RETURN_IF_ERROR(impl_->LoadVm(vm).status());
  RPFS_ASSIGN_OR_RETURN(auto recs, impl_->LoadRps(vm));
  std::map<uint64_t, std::string> names;
  for (const auto& r : recs) names[r.id] = r.name;
  std::vector<RpInfo> out;
  for (const auto& r : recs) {
    auto it = names.find(r.parent);
    out.push_back(impl_->ToInfo(r, it != names.end() ? it->second : ""));
  }
  return out;
}

Result<RpInfo> Repository::GetRp(const std::string& vm, const std::string& rp) const {
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->LoadRp(vm, rp));
  RPFS_ASSIGN_OR_RETURN(std::string parent, impl_->ParentName(rec));
  return impl_->ToInfo(rec, parent);
}

Result<RpInfo> Repository::GetRpById(const std::string& vm, uint64_t id) const {
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->FindRpById(vm, id));
  if (!rec)
    return Status::NotFound("rp #" + std::to_string(id) + " of vm " + vm + " does not exist");
  RPFS_ASSIGN_OR_RETURN(std::string parent, impl_->ParentName(*rec));
  return impl_->ToInfo(*rec, parent);
}

std::string FormatRpInfo(const RpInfo& rp, uint64_t unique_bytes) {
  std::string disks;
  for (const auto& d : rp.disks)
    disks += (disks.empty() ? "" : " ") + d.name + "=" + std::to_string(d.size);
  std::string out;
  auto line = [&](const char* key, const std::string& value) {
    out += key;
    out += ": ";
    out += value;
    out += "\n";
  };
  line("name", rp.name);
  line("vm", rp.vm);
  line("created", FormatIsoUtc(rp.created_us));
  line("description", rp.description);
  line("parent", rp.parent);
  line("disks", disks);
  line("memory", rp.with_memory ? "yes" : "no");
  line("quiesced", rp.quiesced ? "yes" : "no");
  line("protected", rp.is_protected ? "yes" : "no");
  line("logical_bytes", std::to_string(rp.logical_bytes));
  line("data_bytes", std::to_string(rp.data_bytes));
  line("stored_bytes", std::to_string(rp.stored_bytes));
  line("added_bytes", std::to_string(rp.added_bytes));
  line("unique_bytes", std::to_string(unique_bytes));
  return out;
}

Status Repository::RenameRp(const std::string& vm, const std::string& from, const std::string& to) {
  RPFS_RETURN_IF_ERROR(ValidateName(to, "rp name"));
  auto lock = impl_->LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->LoadRp(vm, from));
  if (from == to) return Status::OK();
  RPFS_ASSIGN_OR_RETURN(auto clash, impl_->FindRp(vm, to));
  if (clash) return Status::AlreadyExists(RpLabel(vm, to) + " already exists");
  store::Mutation m;
  m.Delete(format::RpNameKey(vm, from));
  std::string id_value;
  PutBigEndian64(&id_value, rec.id);
  m.Put(format::RpNameKey(vm, to), id_value);
  rec.name = to;
  m.Put(format::RpKey(vm, rec.id), format::EncodeRp(rec));
  RPFS_RETURN_IF_ERROR(impl_->store->Commit(m));
  impl_->Notify(StoreChange::Kind::kRpRenamed, vm, from, rec.id, to);
  return Status::OK();
}

Result<uint64_t> Repository::DeleteRps(const std::string& vm, const std::vector<std::string>& rps) {
  auto lock = impl_->LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto vmrec, impl_->LoadVm(vm));
  RPFS_ASSIGN_OR_RETURN(auto all, impl_->LoadRps(vm));
  std::map<uint64_t, const format::RpRecord*> by_id;
  for (const auto& r : all) by_id[r.id] = &r;
  std::set<uint64_t> doomed;
  for (const auto& name : rps) {
    auto it = std::find_if(all.begin(), all.end(), [&](const auto& r) { return r.name == name; });
    if (it == all.end()) return Status::NotFound(RpLabel(vm, name) + " does not exist");
    if ((it->flags & format::kRpFlagProtected) != 0) {
      return Status::PermissionDenied(RpLabel(vm, name) +
                                      " is protected; unprotect it first ('rpfs unprotect " + vm +
                                      " " + name + "')");
    }
    doomed.insert(it->id);
  }
  if (doomed.empty()) return uint64_t{0};
  // Children of a deleted RP move up to its nearest surviving ancestor: the tree stays a tree.
  auto surviving_ancestor = [&](uint64_t id) {
    while (id != 0 && doomed.count(id) != 0) {
      auto it = by_id.find(id);
      id = it == by_id.end() ? 0 : it->second->parent;
    }
    return by_id.count(id) != 0 ? id : 0;
  };
  store::Mutation m;
  std::vector<uint64_t> deferred;
  std::vector<ObjectId> released;  // roots whose reference goes now
  std::optional<rp::ReaderPins::DeleteScope> pin_scope(&impl_->pins);  // until the commit
  for (const auto& r : all) {
    if (doomed.count(r.id) != 0) {
      m.Delete(format::RpKey(vm, r.id));
      m.Delete(format::RpNameKey(vm, r.name));
      if (pin_scope->DeferIfPinned(r.id)) {
        // Open readers keep its data: released when the last one closes.
        m.Put(format::DeferredRpKey(r.id), format::EncodeRp(r));
        deferred.push_back(r.id);
      } else {
        for (const ObjectId& root : impl_->Roots(r)) {
          m.AddRef(root, -1);
          released.push_back(root);
        }
      }
    } else if (r.parent != 0 && doomed.count(r.parent) != 0) {
      format::RpRecord moved = r;
      moved.parent = surviving_ancestor(r.parent);
      m.Put(format::RpKey(vm, r.id), format::EncodeRp(moved));
    }
  }
  if (doomed.count(vmrec.current_rp) != 0) {
    vmrec.current_rp = surviving_ancestor(vmrec.current_rp);
    m.Put(format::VmKey(vm), format::EncodeVm(vmrec));
  }
  // While a create reads its disks nothing is freed (store.h): then the answer is what the
  // freeing will give once it has ended, computed now (write_mu held: no tx can end).
  std::optional<uint64_t> freed_later;
  if (impl_->store->HasOpenTx()) {
    RPFS_ASSIGN_OR_RETURN(freed_later, impl_->store->SimulateRelease(released));
  }
  CrashPoint("delete.before_commit");
  Status committed = impl_->store->Commit(m);
  if (!committed.ok()) {
    for (uint64_t id : deferred) pin_scope->CancelDeferred(id);
    std::string what = "deleting";
    for (const auto& name : rps) what += " " + RpLabel(vm, name);
    return committed.WithContext(what);
  }
  pin_scope.reset();
  for (const auto& r : all) {
    if (doomed.count(r.id) != 0) impl_->Notify(StoreChange::Kind::kRpDeleted, vm, r.name, r.id);
  }
  CrashPoint("delete.after_commit");
  uint64_t freed = 0;
  if (freed_later) {
    freed = *freed_later;
  } else {
    RPFS_ASSIGN_OR_RETURN(freed, impl_->store->RunGc());
  }
  impl_->NoteFreedAndReclaimIfDue(freed);
  return freed;
}

void Repository::Impl::NoteFreedAndReclaimIfDue(uint64_t freed) {
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

Result<uint64_t> Repository::BytesFreedByDeleting(const std::string& vm,
                                                  const std::vector<std::string>& rps) const {
  std::vector<ObjectId> roots;
  std::set<std::string> seen;
  for (const auto& name : rps) {
    if (!seen.insert(name).second) continue;
    RPFS_ASSIGN_OR_RETURN(auto rec, impl_->LoadRp(vm, name));
    for (const ObjectId& r : impl_->Roots(rec)) roots.push_back(r);
  }
  return impl_->store->SimulateRelease(roots);
}

// ---------------- data ----------------

Result<std::unique_ptr<DiskReader>> Repository::OpenDisk(const std::string& vm,
                                                         const std::string& rp,
                                                         const std::string& disk) const {
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->LoadRp(vm, rp));
  return impl_->OpenPinned(vm, rec.id, disk);
}

Result<std::unique_ptr<DiskReader>> Repository::OpenDiskById(const std::string& vm, uint64_t rp_id,
                                                             const std::string& disk) const {
  return impl_->OpenPinned(vm, rp_id, disk);
}

Status Repository::Export(const std::string& vm, const std::string& rp, const std::string& disk,
                          int fd, bool sparse, const ProgressFn& progress) const {
  RPFS_ASSIGN_OR_RETURN(auto found, impl_->LoadRp(vm, rp));
  auto pin = impl_->Pin(found.id);
  RPFS_ASSIGN_OR_RETURN(auto again, impl_->FindRpById(vm, found.id));  // not deleted meanwhile
  if (!again) return Status::NotFound(RpLabel(vm, rp) + " does not exist");
  const format::RpRecord& rec = *again;
  const format::RpStream* s = impl_->FindStream(rec, disk);
  if (s == nullptr) return Status::NotFound(RpLabel(vm, rp) + " has no disk " + disk);
  return rp::ExportStream(impl_->store.get(), &impl_->pages, *s, fd, sparse, progress)
      .WithContext("exporting ", RpLabel(vm, rp), " disk ", disk);
}

// ---------------- store ----------------

Result<VerifyResult> Repository::Verify(const ProgressFn& progress) const {
  // Refcounts are checked against references: no mutation may run in between (reads may).
  auto lock = impl_->LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto rps, impl_->LoadRpsWithPrefix(format::AllRpPrefix()));
  RPFS_ASSIGN_OR_RETURN(auto deleted_but_read, impl_->LoadDeferred());
  std::vector<ObjectId> roots;
  for (const auto* list : {&rps, &deleted_but_read})
    for (const auto& r : *list)
      for (const ObjectId& root : impl_->Roots(r)) roots.push_back(root);
  // Clones not yet hydrated hold their source streams' roots.
  RPFS_ASSIGN_OR_RETURN(auto clones, ListClones(""));
  for (const auto& c : clones) {
    if (c.hydrated) continue;
    RPFS_ASSIGN_OR_RETURN(auto rec, impl_->LoadClone(c.vm, c.name));
    for (const auto& d : rec.disks)
      if (!d.root.IsZero()) roots.push_back(ObjectId{ObjectKind::kPage, d.root});
  }
  RPFS_ASSIGN_OR_RETURN(auto report, impl_->store->Verify(roots, progress));

  VerifyResult out;
  out.objects = report.objects;
  out.bytes_hashed = report.chunk_bytes;
  std::unordered_map<ObjectId, std::string, format::ObjectIdHash> bad;
  for (const auto& p : report.problems) {
    std::string kind = p.id.kind == ObjectKind::kChunk ? "chunk " : "page ";
    out.problems.push_back(kind + p.id.digest.Hex() + ": " + p.what);
    if (p.unreadable) bad.emplace(p.id, p.what);  // only those make an RP damaged
  }
  for (const auto& l : report.leftovers) out.problems.push_back(l);
  if (bad.empty()) return out;

  // Name the RPs that reach a damaged object, with the disk and offset.
  rp::PageCache cache(impl_->store.get(), kPageCacheEntries);
  const auto& cfg = impl_->store->config();
  for (const auto& r : rps) {
    for (const auto& s : r.streams) {
      std::string where = r.vm + "/" + r.name + ": disk " + s.name;
      if (s.root.IsZero()) continue;
      auto root_bad = bad.find(ObjectId{ObjectKind::kPage, s.root});
      if (root_bad != bad.end()) {
        out.damaged_rps.push_back(where + ": map page " + s.root.Hex() + ": " + root_bad->second);
        continue;
      }
      rp::ExtentMap map(&cache, cfg.page_fanout, cfg.chunk_size, s);
      size_t before = out.damaged_rps.size();
      Status walk = map.ForEachChunk([&](uint64_t index, const Digest& d) {
        auto it = bad.find(ObjectId{ObjectKind::kChunk, d});
        if (it != bad.end()) {
          out.damaged_rps.push_back(where + ": chunk " + d.Hex() + " at offset " +
                                    std::to_string(index * cfg.chunk_size) + ": " + it->second);
        }
        return true;
      });
      if (!walk.ok() && out.damaged_rps.size() == before) {
        out.damaged_rps.push_back(where + ": " + walk.message());
      }
    }
  }
  return out;
}

Status Repository::Compact() {
  auto lock = impl_->LockForWrite();
  RPFS_RETURN_IF_ERROR(impl_->store->Compact());
  store::Mutation m;
  m.Delete(format::CounterKey(format::kCounterReclaimable));
  return impl_->store->Commit(m);
}

void Repository::SetChangeListener(ChangeListener listener) {
  std::lock_guard lock(impl_->listener_mu);
  impl_->listener = std::move(listener);
}

ChunkCacheStats Repository::CacheStats() const { return impl_->chunks.Stats(); }

Result<StoreSummary> Repository::Summary() const {
  StoreSummary s;
  const auto& cfg = impl_->store->config();
  s.chunk_size = cfg.chunk_size;
  s.compression_level = cfg.compression_level;
  RPFS_ASSIGN_OR_RETURN(auto usage, impl_->store->Usage());
  s.disk_bytes = usage.total;
  struct statvfs vfs;
  if (::statvfs(impl_->store->dir().c_str(), &vfs) == 0) {
    s.fs_free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  }
  RPFS_ASSIGN_OR_RETURN(auto totals, impl_->store->CountObjects());
  s.chunk_count = totals.chunks;
  s.chunk_raw_bytes = totals.chunk_raw_bytes;
  s.chunk_stored_bytes = totals.chunk_stored_bytes;
  s.page_count = totals.pages;
  s.page_bytes = totals.page_bytes;
  return s;
}

}  // namespace rpfs
