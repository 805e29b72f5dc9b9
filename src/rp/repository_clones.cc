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

Result<CloneInfo> Repository::CreateClone(const std::string& vm, const std::string& rp,
                                          const std::string& clone) {
  RPFS_RETURN_IF_ERROR(ValidateName(clone, "clone name"));
  auto lock = impl_->gate.LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->catalog.LoadRp(vm, rp));
  RPFS_ASSIGN_OR_RETURN(auto existing, impl_->store->Get(format::CloneKey(vm, clone)));
  if (existing) return Status::AlreadyExists(CloneLabel(vm, clone) + " already exists");
  const std::string label = "cloning " + rp::RpLabel(vm, rp) + " as " + clone;

  format::CloneRecord c;
  c.vm = vm;
  c.name = clone;
  c.rp_name = rec.name;
  c.rp_id = rec.id;
  c.created_us = NowMicros();
  for (const auto& s : rec.streams) {
    if (s.kind == format::StreamKind::kDisk) c.disks.push_back(s);
  }
  // Files first, record last: a crash in between leaves only a directory, removed at the
  // next open.
  const std::string dir = impl_->clones.Dir(vm, clone);
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
                                        impl_->store->config().chunk_size);
    if (!s.ok()) return cleanup(s);
  }
  Status synced = FsyncDir(dir);
  if (synced.ok()) synced = FsyncDir(stdfs::path(dir).parent_path().string());
  if (!synced.ok()) return cleanup(synced);
  CrashPoint("clone.before_commit");
  store::Mutation m;
  for (const ObjectId& root : CloneRegistry::Roots(c)) m.AddRef(root, 1);
  m.Put(format::CloneKey(vm, clone), format::EncodeClone(c));
  Status committed = impl_->store->Commit(m);
  if (!committed.ok()) return cleanup(committed);
  lock.Post(StoreChange::Kind::kCloneCreated, vm, clone);
  return impl_->clones.ToInfo(c);
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
  auto lock = impl_->gate.LockForWrite();
  RPFS_RETURN_IF_ERROR(impl_->catalog.LoadVm(vm).status());
  RPFS_ASSIGN_OR_RETURN(auto c, impl_->catalog.LoadClone(vm, clone));
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
  return impl_->store->RunGc().status();
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
  return Status::OK();
}

}  // namespace rpfs
