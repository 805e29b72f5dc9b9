// Repository::Rollback and Repository::SetProtected.
#include <set>

#include "image/image_target.h"
#include "rp/repository_impl.h"
#include "rp/rollback.h"
#include "util/clock.h"
#include "util/crash_point.h"
#include "util/thread_pool.h"

namespace rpfs {

Status Repository::SetProtected(const std::string& vm, const std::string& rp, bool protect) {
  auto lock = impl_->LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->LoadRp(vm, rp));
  uint32_t flags =
      protect ? (rec.flags | format::kRpFlagProtected) : (rec.flags & ~format::kRpFlagProtected);
  if (flags == rec.flags) return Status::OK();
  rec.flags = flags;
  store::Mutation m;
  m.Put(format::RpKey(vm, rec.id), format::EncodeRp(rec));
  return impl_->store->Commit(m);
}

Result<RollbackResult> Repository::Rollback(const std::string& vm, const std::string& rp,
                                            const RollbackOptions& opts,
                                            const ProgressFn& progress) {
  std::lock_guard create_lock(impl_->create_mu);
  auto lock = impl_->LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->LoadRp(vm, rp));
  RPFS_ASSIGN_OR_RETURN(auto vmrec, impl_->LoadVm(vm));
  const std::string label = "rolling back vm " + vm + " to " + rp;
  if (vmrec.kind == format::VmKind::kLibvirt) {
    RPFS_RETURN_IF_ERROR(impl_->CheckDomainShutOff(vmrec).WithContext(label));
  }

  // Every disk of the RP must still be a disk of the VM; lock them all before writing any.
  std::vector<std::unique_ptr<image::ImageTarget>> targets;
  std::vector<const format::RpStream*> streams;
  RollbackResult result;
  for (const auto& s : rec.streams) {
    if (s.kind != format::StreamKind::kDisk) continue;
    const format::VmDisk* disk = nullptr;
    for (const auto& d : vmrec.disks) {
      if (d.name == s.name) disk = &d;
    }
    if (disk == nullptr) {
      return Status::NotFound(label + ": the vm has no disk " + s.name + " any more");
    }
    auto target = image::ImageTarget::Open(disk->name, disk->path, disk->format);
    if (!target.ok()) return target.status().WithContext(label);
    targets.push_back(std::move(*target));
    streams.push_back(&s);
    result.bytes_total += s.size;
  }

  if (opts.keep_current) {
    // The undo point is read while we hold the image locks: nothing can change it meanwhile.
    std::string name = "before-rollback-" + FormatIsoUtc(NowMicros());
    for (char& c : name) {
      if (c == ':') c = '-';
    }
    RPFS_ASSIGN_OR_RETURN(auto taken, impl_->FindRp(vm, name));
    for (int n = 2; taken; ++n) {
      RPFS_ASSIGN_OR_RETURN(taken, impl_->FindRp(vm, name + "-" + std::to_string(n)));
      if (!taken) name += "-" + std::to_string(n);
    }
    CreateOptions undo;
    undo.description = "state before rollback to " + rp;
    auto created = impl_->CreateRpLocked(vm, name, undo, nullptr, /*write_locked=*/true);
    if (!created.ok()) return created.status().WithContext(label, ": saving the current state");
    result.undo_rp = name;
  }

  CrashPoint("rollback.before_write");
  ThreadPool pool(ThreadPool::DefaultWorkers());
  rp::RollbackCounters counters;
  uint64_t done_before = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    ProgressFn disk_progress;
    if (progress) {
      disk_progress = [&](uint64_t done, uint64_t) {
        progress(done_before + done, result.bytes_total);
      };
    }
    Status s = rp::RollbackDisk(impl_->store.get(), &impl_->pages, *streams[i], *targets[i], &pool,
                                &counters, disk_progress);
    if (!s.ok()) return s.WithContext(label);
    done_before += streams[i]->size;
  }
  result.chunks_compared = counters.chunks_compared;
  result.chunks_written = counters.chunks_written;
  result.bytes_written = counters.bytes_written;

  // The VM now stands at `rp`: its next RP is a child of it.
  RPFS_ASSIGN_OR_RETURN(vmrec, impl_->LoadVm(vm));  // keep_current changed it
  vmrec.current_rp = rec.id;
  // The checkpoints' bitmaps do not know what the rollback wrote: the next RP reads all.
  vmrec.checkpoint.clear();
  vmrec.checkpoint_rp = 0;
  store::Mutation m;
  m.Put(format::VmKey(vm), format::EncodeVm(vmrec));
  RPFS_RETURN_IF_ERROR(impl_->store->Commit(m).WithContext(label));
  targets.clear();  // qemu needs the images' write locks back
  if (vmrec.kind == format::VmKind::kLibvirt) {
    RPFS_RETURN_IF_ERROR(impl_->AfterDomainRollback(vmrec, rec).WithContext(label));
  }
  return result;
}

}  // namespace rpfs
