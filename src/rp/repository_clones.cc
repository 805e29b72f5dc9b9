// Repository: clones (writable disks made from an RP, filled on first read).
#include <filesystem>

#include "format/keys.h"
#include "rp/clone_disk.h"
#include "rp/repository_parts.h"
#include "rpfs/names.h"
#include "util/clock.h"
#include "util/crash_point.h"

namespace rpfs {

using format::ObjectKind;
using store::ObjectId;

namespace stdfs = std::filesystem;

using rp::CloneLabel;
using rp::CloneRegistry;

namespace {

// The files of clone `c` (sparse disks, empty maps, and whatever `more_files` writes), then
// its record (and `new_vm`'s) in one commit. write_mu held by `lock`.
Result<CloneInfo> MakeClone(rp::RepositoryParts& parts, rp::WriteGate::WriteLock& lock,
                            const format::CloneRecord& c, const std::string& label,
                            const std::function<Status(const std::string& dir)>& more_files,
                            const format::VmRecord* new_vm) {
  // Files first, record last: a crash in between leaves only a directory, removed at the
  // next open.
  const std::string dir = parts.clones.Dir(c.vm, c.name);
  std::error_code ec;
  stdfs::remove_all(dir, ec);
  stdfs::create_directories(dir, ec);
  if (ec) return Status::IOError(label + ": cannot create " + dir + ": " + ec.message());
  auto cleanup = [&](Status s) {
    stdfs::remove_all(dir, ec);
    return s.WithContext(label);
  };
  for (const auto& d : c.disks) {
    Status s = rp::CreateCloneDiskFiles(rp::CloneFiles(dir, d.name), d.size,
                                        parts.store->config().chunk_size);
    if (!s.ok()) return cleanup(s);
  }
  if (more_files) {
    Status s = more_files(dir);
    if (!s.ok()) return cleanup(s);
  }
  Status synced = FsyncDir(dir);
  if (synced.ok()) synced = FsyncDir(stdfs::path(dir).parent_path().string());
  if (!synced.ok()) return cleanup(synced);
  CrashPoint("clone.before_commit");
  store::Mutation m;
  for (const ObjectId& root : CloneRegistry::Roots(c)) m.AddRef(root, 1);
  m.Put(format::CloneKey(c.vm, c.name), format::EncodeClone(c));
  if (new_vm != nullptr) m.Put(format::VmKey(c.vm), format::EncodeVm(*new_vm));
  Status committed = parts.store->Commit(m);
  if (!committed.ok()) return cleanup(committed);
  if (new_vm != nullptr) lock.Post(StoreChange::Kind::kVmAdded, c.vm);
  lock.Post(StoreChange::Kind::kCloneCreated, c.vm, c.name);
  return parts.clones.ToInfo(c);
}

}  // namespace

Result<CloneInfo> Repository::CreateClone(const std::string& vm, const std::string& rp,
                                          const std::string& clone) {
  RPFS_RETURN_IF_ERROR(ValidateName(clone, "clone name"));
  auto lock = impl_->gate.LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->catalog.LoadRp(vm, rp));
  RPFS_ASSIGN_OR_RETURN(auto existing, impl_->store->Get(format::CloneKey(vm, clone)));
  if (existing) return Status::AlreadyExists(CloneLabel(vm, clone) + " already exists");
  format::CloneRecord c;
  c.vm = vm;
  c.name = clone;
  c.rp_name = rec.name;
  c.rp_id = rec.id;
  c.created_us = NowMicros();
  for (const auto& s : rec.streams) {
    if (s.kind == format::StreamKind::kDisk) c.disks.push_back(s);
  }
  return MakeClone(*impl_, lock, c, "cloning " + rp::RpLabel(vm, rp) + " as " + clone, nullptr,
                   nullptr);
}

Result<CloneInfo> Repository::CreateRemoteClone(const std::string& vm, const std::string& clone,
                                                const std::string& source, const std::string& from,
                                                uint32_t chunk_size,
                                                const std::vector<RemoteDisk>& disks) {
  RPFS_RETURN_IF_ERROR(ValidateName(vm, "vm name"));
  RPFS_RETURN_IF_ERROR(ValidateName(clone, "clone name"));
  RPFS_RETURN_IF_ERROR(CheckNotDrillCloneName(clone));
  const std::string label = "cloning " + from + " as " + CloneLabel(vm, clone);
  const uint32_t cs = impl_->store->config().chunk_size;
  if (chunk_size != cs) {
    return Status::NotSupported(label + ": its chunks are " + std::to_string(chunk_size) +
                                " bytes, this store's " + std::to_string(cs) +
                                "; pull it as an RP instead (rpfs pull)");
  }
  format::CloneRecord c;
  c.vm = vm;
  c.name = clone;
  c.rp_name = from;
  c.created_us = NowMicros();
  c.source = source;
  for (const auto& d : disks) {
    RPFS_RETURN_IF_ERROR(ValidateName(d.name, "disk name"));
    format::RpStream s;
    s.name = d.name;
    s.size = d.size;
    s.access = format::StreamAccess{d.uid, d.gid, d.mode & 0777};
    c.disks.push_back(s);
  }
  auto lock = impl_->gate.LockForWrite();
  std::optional<format::VmRecord> new_vm;
  auto vmrec = impl_->catalog.LoadVm(vm);
  if (!vmrec.ok()) {
    if (vmrec.status().code() != Status::Code::kNotFound) return vmrec.status();
    new_vm.emplace();
    new_vm->name = vm;
    new_vm->created_us = NowMicros();
  }
  RPFS_ASSIGN_OR_RETURN(auto existing, impl_->store->Get(format::CloneKey(vm, clone)));
  if (existing) return Status::AlreadyExists(CloneLabel(vm, clone) + " already exists");
  auto chunk_lists = [&](const std::string& dir) -> Status {
    for (const auto& d : disks) {
      RPFS_RETURN_IF_ERROR(
          rp::WriteRemoteChunkList(rp::RemoteChunkListFile(dir, d.name), d.chunks));
    }
    return Status::OK();
  };
  return MakeClone(*impl_, lock, c, label, chunk_lists, new_vm ? &*new_vm : nullptr);
}

void Repository::SetRemoteChunksFactory(RemoteChunksFactory factory) {
  impl_->clones.SetRemoteFactory(std::move(factory));
}

Result<std::vector<CloneInfo>> Repository::ListClones(const std::string& vm) const {
  if (!vm.empty()) RPFS_RETURN_IF_ERROR(impl_->catalog.LoadVm(vm).status());
  RPFS_ASSIGN_OR_RETURN(auto recs, impl_->catalog.LoadClones(vm));
  std::vector<CloneInfo> out;
  for (const auto& c : recs) out.push_back(impl_->clones.ToInfo(c));
  return out;
}

Result<CloneInfo> Repository::GetClone(const std::string& vm, const std::string& clone) const {
  RPFS_RETURN_IF_ERROR(impl_->catalog.LoadVm(vm).status());
  RPFS_ASSIGN_OR_RETURN(auto c, impl_->catalog.LoadClone(vm, clone));
  return impl_->clones.ToInfo(c);
}

Status Repository::DeleteClone(const std::string& vm, const std::string& clone) {
  format::CloneRecord c;
  Status gc;
  {
    auto lock = impl_->gate.LockForWrite();
    RPFS_RETURN_IF_ERROR(impl_->catalog.LoadVm(vm).status());
    RPFS_ASSIGN_OR_RETURN(c, impl_->catalog.LoadClone(vm, clone));
    RPFS_RETURN_IF_ERROR(impl_->clones.DeleteUnlessOpen(c, [&] {
      store::Mutation m;
      for (const ObjectId& root : CloneRegistry::Roots(c)) m.AddRef(root, -1);
      m.Delete(format::CloneKey(vm, clone));
      return impl_->store->Commit(m).WithContext("deleting ", CloneLabel(vm, clone));
    }));
    lock.Post(StoreChange::Kind::kCloneDeleted, vm, clone);
    // Record gone first: a crash now leaves only files, removed at the next open.
    std::error_code ec;
    stdfs::remove_all(impl_->clones.Dir(vm, clone), ec);
    gc = impl_->store->RunGc().status();
  }
  // A hydrated clone released its source when it became so. In the background: a delete
  // may come from the mount (`rm -r`), whose request must not wait on the network.
  if ((c.flags & format::kCloneFlagHydrated) == 0) impl_->clones.StartRelease(std::move(c));
  return gc;
}

Result<std::shared_ptr<CloneDisk>> Repository::OpenCloneDisk(const std::string& vm,
                                                             const std::string& clone,
                                                             const std::string& disk) {
  return impl_->clones.Open(vm, clone, disk);
}

Status Repository::HydrateClone(const std::string& vm, const std::string& clone,
                                const ProgressFn& progress) {
  struct FinishAtEnd {  // releases what the hydration queued, once done
    rp::WriteGate* gate;
    ~FinishAtEnd() { gate->RunChores(); }
  } finish{&impl_->gate};
  RPFS_ASSIGN_OR_RETURN(auto c, impl_->catalog.LoadClone(vm, clone));
  uint64_t total = 0, before = 0;
  for (const auto& d : c.disks) total += d.size;
  for (const auto& d : c.disks) {
    RPFS_ASSIGN_OR_RETURN(auto disk, OpenCloneDisk(vm, clone, d.name));
    auto* impl = static_cast<rp::CloneDiskImpl*>(disk.get());
    ProgressFn p;
    if (progress) p = [&](uint64_t done, uint64_t) { progress(before + done, total); };
    RPFS_RETURN_IF_ERROR(impl->Hydrate(p).WithContext("hydrating ", CloneLabel(vm, clone)));
    before += d.size;
  }
  if (progress) progress(total, total);
  // Every chunk is local and durable (Hydrate flushes): the source is needed no more.
  // Released here, before returning, so what the command reports is what the region
  // holds; the hydration's chore, which marks the clone hydrated, may release it again
  // (a no-op) and may run on another thread later.
  if ((c.flags & format::kCloneFlagHydrated) == 0) impl_->clones.ReleaseSource(c);
  return Status::OK();
}

}  // namespace rpfs
