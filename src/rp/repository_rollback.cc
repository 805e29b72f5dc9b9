// Repository::Rollback and Repository::SetProtected.
#include <optional>
#include <set>

#include "format/keys.h"
#include "image/image_target.h"
#include "rp/domain_power.h"
#include "rp/repository_parts.h"
#include "rp/rollback.h"
#include "rp/rp_creation.h"
#include "util/clock.h"
#include "util/crash_point.h"
#include "util/thread_pool.h"

namespace rpfs {

using format::ObjectKind;
using store::ObjectId;

Status Repository::SetProtected(const std::string& vm, const std::string& rp, bool protect) {
  auto lock = impl_->gate.LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->catalog.LoadRp(vm, rp));
  uint32_t flags =
      protect ? (rec.flags | format::kRpFlagProtected) : (rec.flags & ~format::kRpFlagProtected);
  if (flags == rec.flags) return Status::OK();
  rec.flags = flags;
  store::Mutation m;
  m.Put(format::RpKey(vm, rec.id), format::EncodeRp(rec));
  return impl_->store->Commit(m);
}

namespace {

// A name for the undo RP of a rollback that is not taken yet: before-rollback-<time>[-N].
Result<std::string> UndoRpName(const rp::Catalog& catalog, const std::string& vm) {
  std::string name = "before-rollback-" + FormatIsoUtc(NowMicros());
  for (char& c : name) {
    if (c == ':') c = '-';
  }
  RPFS_ASSIGN_OR_RETURN(auto taken, catalog.FindRp(vm, name));
  for (int n = 2; taken; ++n) {
    RPFS_ASSIGN_OR_RETURN(taken, catalog.FindRp(vm, name + "-" + std::to_string(n)));
    if (!taken) name += "-" + std::to_string(n);
  }
  return name;
}

// The VM's images to rewrite, one per disk of the RP, each locked against qemu (Busy when
// one is in use). Every disk of the RP must still be a disk of the VM.
Status OpenTargets(const std::string& label, const format::VmRecord& vmrec,
                   const format::RpRecord& rec,
                   std::vector<std::unique_ptr<image::ImageTarget>>* targets,
                   std::vector<const format::RpStream*>* streams, uint64_t* bytes_total) {
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
    RPFS_RETURN_IF_ERROR((*target)->CheckResize(s.size).WithContext(label));
    targets->push_back(std::move(*target));
    streams->push_back(&s);
    *bytes_total += s.size;
  }
  return Status::OK();
}

// Per target, what it holds without reading it: the base RP's chunks outside what the
// bitmap marks, when the base (the checkpoint's RP) has that disk at the same size as the
// image and the RP rolled back to; otherwise nothing (the disk is compared in full).
std::vector<std::optional<rp::KnownImage>> KnownImages(
    const std::optional<format::RpRecord>& base,
    const std::map<std::string, std::vector<image::Extent>>& written,
    const std::vector<std::unique_ptr<image::ImageTarget>>& targets,
    const std::vector<const format::RpStream*>& streams) {
  std::vector<std::optional<rp::KnownImage>> known(targets.size());
  for (size_t i = 0; base && i < targets.size(); ++i) {
    const format::RpStream* held = rp::Catalog::FindStream(*base, streams[i]->name);
    auto it = written.find(streams[i]->name);
    if (held == nullptr || it == written.end() || held->size != targets[i]->size() ||
        held->size != streams[i]->size) {
      continue;
    }
    known[i] = rp::KnownImage{held, it->second};
  }
  return known;
}

// After the disks were written: the VM now stands at RP `rp_id` (its next RP is a child
// of it) unless that RP was deleted meanwhile (then the next RP has no parent and reads in
// full), and its checkpoints no longer describe the disks (the next RP reads all).
Result<format::VmRecord> CommitRolledBack(rp::RepositoryParts* parts, const std::string& vm,
                                          uint64_t rp_id, const std::string& label) {
  auto lock = parts->gate.LockForWrite();
  // The record as it is now: the undo RP, deletes and renames changed it meanwhile.
  auto vmrec = parts->catalog.LoadVm(vm);
  if (!vmrec.ok()) return vmrec.status().WithContext(label);
  RPFS_ASSIGN_OR_RETURN(auto still, parts->catalog.FindRpById(vm, rp_id));
  vmrec->current_rp = still ? rp_id : 0;
  vmrec->checkpoint.clear();
  vmrec->checkpoint_rp = 0;
  store::Mutation m;
  m.Put(format::VmKey(vm), format::EncodeVm(*vmrec));
  RPFS_RETURN_IF_ERROR(parts->store->Commit(m).WithContext(label));
  return vmrec;
}

// The disks of `vm` rewritten to equal RP `rp`: the rollback proper, once the domain (if
// any) is shut off. `writing` is set once a disk may have changed.
//
// Locks: the create lock throughout (no create or other rollback runs meanwhile), the
// images' qemu locks from before the undo RP until the end, and write_mu only where a
// create takes it (the undo RP's begin and commit) and for the final commit. The RP rolled
// back to is pinned, so a delete meanwhile cannot free the chunks being written back.
Status RollBackDisks(rp::RepositoryParts* parts, const std::string& vm, const std::string& rp,
                     const RollbackOptions& opts, const ProgressFn& progress,
                     RollbackResult* result, bool* writing) {
  auto create_lock = parts->gate.LockForCreate();
  RPFS_ASSIGN_OR_RETURN(auto found, parts->catalog.LoadRp(vm, rp));
  auto pin = parts->gate.Pin(found.id);
  RPFS_ASSIGN_OR_RETURN(auto again, parts->catalog.FindRpById(vm, found.id));
  if (!again) return Status::NotFound(rp::RpLabel(vm, rp) + " does not exist");
  const format::RpRecord rec = std::move(*again);
  RPFS_ASSIGN_OR_RETURN(auto vmrec, parts->catalog.LoadVm(vm));
  const std::string label = "rolling back vm " + vm + " to " + rp;
  if (vmrec.kind == format::VmKind::kLibvirt) {
    RPFS_RETURN_IF_ERROR(parts->domains.CheckShutOff(vmrec).WithContext(label));
  }
  // Before the images are opened for writing (which marks their bitmaps in use): what the
  // VM's checkpoint says each qcow2 disk had written since the RP it was made with. The
  // window between this read and the lock OpenTargets takes is the one place a qemu could
  // write unseen: it would have to start, write and stop in those milliseconds.
  const auto written = rp::DomainPoints::WrittenSinceCheckpoint(vmrec);
  const uint64_t base_id = written.empty() ? 0 : vmrec.checkpoint_rp;
  // Lock every image before writing any (and before the undo RP: nothing changes them).
  std::vector<std::unique_ptr<image::ImageTarget>> targets;
  std::vector<const format::RpStream*> streams;
  RPFS_RETURN_IF_ERROR(OpenTargets(label, vmrec, rec, &targets, &streams, &result->bytes_total));
  // The base RP's maps are read below: pinned like the RP rolled back to. Deleted since:
  // every disk is compared in full.
  std::shared_ptr<void> base_pin;
  std::optional<format::RpRecord> base;
  if (base_id != 0) {
    base_pin = parts->gate.Pin(base_id);
    RPFS_ASSIGN_OR_RETURN(base, parts->catalog.FindRpById(vm, base_id));
  }
  const auto known = KnownImages(base, written, targets, streams);

  if (opts.keep_current) {
    // The same pipeline as every create; we already hold the create lock.
    RPFS_ASSIGN_OR_RETURN(std::string name, UndoRpName(parts->catalog, vm));
    CreateOptions undo;
    undo.description = "state before rollback to " + rp;
    undo.force = true;
    undo.automatic = true;  // the write locks on the images are our own targets' (taken above)
    auto created = rp::RpCreation::Prepare(parts, vm, name, undo);
    Status s = created.ok() ? (*created)->Ingest(nullptr) : created.status();
    if (s.ok()) s = (*created)->Commit().status();
    if (!s.ok()) return s.WithContext(label, ": saving the current state");
    result->undo_rp = name;
  }

  CrashPoint("rollback.before_write");
  *writing = true;
  ThreadPool pool(ThreadPool::DefaultWorkers());
  rp::RollbackCounters counters;
  uint64_t done_before = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    ProgressFn disk_progress;
    if (progress) {
      disk_progress = [&](uint64_t done, uint64_t) {
        progress(done_before + done, result->bytes_total);
      };
    }
    Status s = rp::RollbackDisk(parts->store.get(), &parts->pages, *streams[i], *targets[i],
                                known[i] ? &*known[i] : nullptr, &pool, &counters, disk_progress);
    if (!s.ok()) return s.WithContext(label);
    done_before += streams[i]->size;
  }
  result->chunks_compared = counters.chunks_compared;
  result->chunks_known = counters.chunks_known;
  result->chunks_written = counters.chunks_written;
  result->bytes_written = counters.bytes_written;

  RPFS_ASSIGN_OR_RETURN(vmrec, CommitRolledBack(parts, vm, rec.id, label));
  targets.clear();  // qemu needs the images' write locks back
  if (vmrec.kind == format::VmKind::kLibvirt) {
    RPFS_RETURN_IF_ERROR(parts->domains.AfterRollback(vmrec, rec).WithContext(label));
  }
  return Status::OK();
}

}  // namespace

// With `stop`, the domain is stopped before the create lock is taken: a guest may take
// minutes to shut down, and creates and rollbacks of other VMs must not wait for it. The
// rollback proper then checks again that the domain is shut off (Busy if someone started
// it meanwhile).
Result<RollbackResult> Repository::Rollback(const std::string& vm, const std::string& rp,
                                            const RollbackOptions& opts,
                                            const ProgressFn& progress) {
  RollbackResult result;
  StepFn step = [&](const std::string& what) {
    result.steps.push_back({what, NowMicros()});
    if (opts.on_step) opts.on_step(what);
  };
  const std::string label = "rolling back vm " + vm + " to " + rp;
  std::optional<format::VmRecord> domain_vm;  // set when the domain is ours to handle
  if (opts.stop || opts.start) {
    RPFS_ASSIGN_OR_RETURN(auto vmrec, impl_->catalog.LoadVm(vm));
    RPFS_RETURN_IF_ERROR(impl_->catalog.LoadRp(vm, rp).status());  // before touching the guest
    if (vmrec.kind != format::VmKind::kLibvirt) {
      return Status::InvalidArgument("vm " + vm +
                                     " is made of image files: stopping and starting it needs a "
                                     "libvirt domain");
    }
    domain_vm = std::move(vmrec);
  }
  bool stopped = false;
  if (opts.stop) {
    rp::StopRequest req;
    req.timeout_s = opts.stop_timeout_s;
    req.force = opts.force;
    auto was_active = rp::StopDomain(impl_->domains, *domain_vm, req, step);
    if (!was_active.ok()) return was_active.status().WithContext(label);
    stopped = *was_active;
  }

  if (domain_vm) step("rolling back the disks");
  bool writing = false;
  Status s = RollBackDisks(impl_.get(), vm, rp, opts, progress, &result, &writing);
  if (!s.ok()) {
    if (!stopped) return s;
    if (writing) {
      return s.WithSuffix(
          " (the domain was shut down and stays off: its disks may be partly rolled back; run "
          "the rollback again)");
    }
    // Nothing changed on the disks: the guest runs again, as before the command.
    Status started = rp::StartDomain(impl_->domains, *domain_vm, step);
    return s.WithSuffix(started.ok() ? "; the domain was started again, unchanged"
                                     : "; starting the domain again failed: " + started.message());
  }
  if (opts.start) {
    auto dom = impl_->domains.DomainOf(*domain_vm);
    // The disks are rolled back whatever happens here: the error must say so.
    const std::string done =
        label + ": the disks were rolled back" +
        (result.undo_rp.empty() ? "" : " (the previous state is rp " + result.undo_rp + ")") +
        ", but starting the domain failed";
    if (!dom.ok()) return dom.status().WithContext(done);
    if (dom->state == DomainState::kShutOff) {
      RPFS_RETURN_IF_ERROR(rp::StartDomain(impl_->domains, *domain_vm, step).WithContext(done));
    } else {
      step("the domain runs again from the RP's memory state");
    }
  }
  return result;
}

}  // namespace rpfs
