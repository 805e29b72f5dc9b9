// Repository::Impl: the state behind the Repository API, shared by the files that
// implement it (repository.cc: VMs, RPs, data, store; repository_rollback.cc: rollback).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "format/keys.h"
#include "image/image_source.h"
#include "rp/chunk_cache.h"
#include "rp/clone_disk.h"
#include "rp/extent_map.h"
#include "rp/reader_pins.h"
#include "rpfs/repository.h"
#include "store/store.h"
#include "util/coding.h"

namespace rpfs {

using format::ObjectKind;
using store::ObjectId;

inline constexpr size_t kPageCacheEntries = 4096;  // ~128 MiB of map coverage at 64 KiB chunks
inline constexpr uint64_t kChunkCacheBytes = 64ull << 20;  // decoded chunks for partial reads

inline std::string RpLabel(std::string_view vm, std::string_view rp) {
  return "rp " + std::string(vm) + "/" + std::string(rp);
}

struct Repository::Impl {
  explicit Impl(std::unique_ptr<store::Store> s)
      : store(std::move(s)),
        pages(store.get(), kPageCacheEntries),
        chunks(store.get(), kChunkCacheBytes) {}

  std::unique_ptr<store::Store> store;
  // Lock order: create_mu, then write_mu. A create holds create_mu throughout (creates
  // and rollbacks run one at a time) but write_mu only to begin and to commit, so deletes,
  // prunes, renames and clones go on while it reads disks (see store.h on the GC gate).
  std::mutex create_mu;
  mutable std::mutex write_mu;  // serialises every mutation of the store
  mutable rp::PageCache pages;
  mutable rp::ChunkCache chunks;
  mutable rp::ReaderPins pins;
  std::mutex listener_mu;
  ChangeListener listener;
  // Clone disks open in this process, shared by all their users; key CloneDiskKey().
  std::mutex clones_mu;
  std::map<std::string, std::weak_ptr<rp::CloneDiskImpl>> open_clone_disks;

  static std::string CloneDiskKey(const std::string& vm, const std::string& clone,
                                  const std::string& disk) {
    return vm + '\0' + clone + '\0' + disk;
  }
  std::string CloneDir(const std::string& vm, const std::string& clone) const {
    return store->dir() + "/clones/" + vm + "/" + clone;
  }
  Result<format::CloneRecord> LoadClone(const std::string& vm, const std::string& clone) const {
    RPFS_ASSIGN_OR_RETURN(auto raw, store->Get(format::CloneKey(vm, clone)));
    if (!raw) return Status::NotFound("clone " + vm + "/" + clone + " does not exist");
    return format::DecodeClone(*raw);
  }
  // A clone disk became fully hydrated: queued, and handled like a released deferred
  // delete (by whoever holds or next takes write_mu), so a reader never waits for a create.
  void OnCloneDiskHydrated(const std::string& vm, const std::string& clone) {
    {
      std::lock_guard lock(clones_mu);
      hydrated_clones.emplace_back(vm, clone);
    }
    FinishReleasedDeletes();
  }
  // Releases a clone's hold on the store once every one of its disks is hydrated
  // (write_mu held).
  void ReleaseHydratedClone(const std::string& vm, const std::string& clone);
  std::vector<std::pair<std::string, std::string>> hydrated_clones;  // guarded by clones_mu
  bool HasHydratedClones() {
    std::lock_guard lock(clones_mu);
    return !hydrated_clones.empty();
  }
  // OpenCloneDisk under clones_mu (shares open disks; queues a clone found complete).
  Result<std::shared_ptr<CloneDisk>> OpenCloneDiskLocked(const std::string& vm,
                                                         const std::string& clone,
                                                         const std::string& disk);
  // Directories under clones/ left by a create or delete that a crash interrupted.
  Status RemoveOrphanCloneDirs();
  CloneInfo ToCloneInfo(const format::CloneRecord& c);

  void Notify(StoreChange::Kind kind, std::string vm, std::string rp = {}, uint64_t rp_id = 0,
              std::string new_name = {}) {
    std::lock_guard lock(listener_mu);
    if (!listener) return;
    listener(StoreChange{kind, std::move(vm), std::move(rp), std::move(new_name), rp_id});
  }

  // Holds write_mu; on release, finishes the deletes deferred for readers that have gone.
  class WriteLock {
   public:
    explicit WriteLock(Impl* impl) : impl_(impl), lock_(impl->write_mu) {}
    ~WriteLock() {
      lock_.unlock();
      impl_->FinishReleasedDeletes();
    }

   private:
    Impl* impl_;
    std::unique_lock<std::mutex> lock_;
  };
  WriteLock LockForWrite() { return WriteLock(this); }

  // Releases the data of a deleted RP whose delete waited for its readers (write_mu held).
  Status ReleaseDeferred(uint64_t rp_id) {
    RPFS_ASSIGN_OR_RETURN(auto raw, store->Get(format::DeferredRpKey(rp_id)));
    if (!raw) return Status::OK();
    RPFS_ASSIGN_OR_RETURN(auto rec, format::DecodeRp(*raw));
    store::Mutation m;
    m.Delete(format::DeferredRpKey(rp_id));
    for (const ObjectId& root : Roots(rec)) m.AddRef(root, -1);
    RPFS_RETURN_IF_ERROR(store->Commit(m));
    return store->RunGc().status();
  }

  // Called without write_mu. Whoever holds write_mu when a last reader closes (or a clone
  // completes) finishes the deferred work on release, so nothing waits here for a create.
  void FinishReleasedDeletes() {
    while (pins.HasReleasable() || HasHydratedClones()) {
      std::unique_lock lock(write_mu, std::try_to_lock);
      if (!lock.owns_lock()) return;
      for (uint64_t id : pins.TakeReleasable()) {
        (void)ReleaseDeferred(id);  // on failure the 'D' record stays for the next open
      }
      std::vector<std::pair<std::string, std::string>> done;
      {
        std::lock_guard l(clones_mu);
        done.swap(hydrated_clones);
      }
      for (const auto& [vm, clone] : done) ReleaseHydratedClone(vm, clone);
    }
  }

  // Every deferred delete left by an earlier process (no reader survives a restart).
  Status ReleaseAllDeferred() {
    std::vector<uint64_t> ids;
    RPFS_RETURN_IF_ERROR(
        store->Scan(format::DeferredRpPrefix(), [&](std::string_view k, std::string_view) {
          if (k.size() == 9) ids.push_back(GetBigEndian64(k.substr(1)));
          return true;
        }));
    std::lock_guard lock(write_mu);
    for (uint64_t id : ids) RPFS_RETURN_IF_ERROR(ReleaseDeferred(id));
    return Status::OK();
  }

  // Adds `freed` to the persisted count of bytes freed since the last compaction and,
  // once that is at least a quarter of the store's size on disk (and kReclaimMinBytes),
  // compacts so the space returns to the filesystem (write_mu held). Errors are left for
  // the next delete or `rpfs compact`: the delete itself has succeeded.
  void NoteFreedAndReclaimIfDue(uint64_t freed);
  static constexpr uint64_t kReclaimMinBytes = 8ull << 20;

  // CreateRp with create_mu held. With `write_locked` (Rollback's undo RP, taken inside
  // its own lock) write_mu is held throughout; otherwise it is taken only to begin the
  // transaction and to commit, and what may have changed meanwhile is checked again.
  Result<RpInfo> CreateRpLocked(const std::string& vm, const std::string& rp,
                                const CreateOptions& opts, const ProgressFn& progress,
                                bool write_locked);

  // --- libvirt VMs (repository_libvirt.cc) ---
  std::mutex virt_mu;
  HypervisorFactory hypervisor_factory;                            // guarded by virt_mu
  std::map<std::string, std::shared_ptr<Hypervisor>> hypervisors;  // by URI, guarded by virt_mu
  Result<std::shared_ptr<Hypervisor>> HypervisorFor(const std::string& uri);
  // The VM's domain now; NotFound naming the VM when it was undefined.
  Result<DomainInfo> DomainOf(const format::VmRecord& vm);

  // One disk to read for a new RP; with `changed`, only those extents (the rest is the
  // parent's).
  struct DiskInput {
    std::string name;
    std::unique_ptr<image::ImageSource> source;
    std::optional<std::vector<image::Extent>> changed;
  };
  // What a new RP reads: the VM's disks, or a domain's point in time. Members go in
  // reverse order: the NBD connections close, then the job ends, then its files go.
  struct PointInput {
    std::shared_ptr<void> work_dir;        // removed when the input goes
    std::unique_ptr<PointInTime> pit;      // libvirt only
    std::vector<format::VmDisk> vm_disks;  // the domain's disks now (libvirt only)
    std::string checkpoint;                // made at this point ("" = none)
    std::string domain_xml;                // libvirt only
    std::vector<DiskInput> disks;
  };
  Result<PointInput> OpenDiskInputs(const format::VmRecord& vm, const CreateOptions& opts);
  Result<PointInput> BeginDomainPoint(const format::VmRecord& vm, const CreateOptions& opts);
  // Rollback of a libvirt VM: Busy unless its domain is shut off.
  Status CheckDomainShutOff(const format::VmRecord& vm);
  // After the disks were rewritten: drop the checkpoints (their bitmaps no longer describe
  // the disks) and, for an RP with memory, start the domain from that state.
  Status AfterDomainRollback(const format::VmRecord& vm, const format::RpRecord& rp);

  // Pins RP `rp_id` for the lifetime of the returned guard (see ReaderPins).
  std::shared_ptr<void> Pin(uint64_t rp_id) {
    pins.Acquire(rp_id);
    return std::shared_ptr<void>(nullptr, [this, rp_id](void*) {
      if (pins.Release(rp_id)) FinishReleasedDeletes();
    });
  }

  // A disk of a pinned RP: the record is read after pinning, and a delete holds the pins
  // from its check to its commit, so it either committed before (NotFound here) or sees
  // the pin and keeps the data.
  Result<std::unique_ptr<DiskReader>> OpenPinned(const std::string& vm, uint64_t rp_id,
                                                 const std::string& disk);

  // Roots of the RPs deleted while being read: still referenced until released.
  Result<std::vector<format::RpRecord>> LoadDeferred() const {
    return LoadRpsWithPrefix(format::DeferredRpPrefix());
  }

  Result<format::VmRecord> LoadVm(const std::string& vm) const {
    RPFS_ASSIGN_OR_RETURN(auto raw, store->Get(format::VmKey(vm)));
    if (!raw) return Status::NotFound("vm " + vm + " does not exist");
    return format::DecodeVm(*raw);
  }

  Result<std::optional<format::RpRecord>> FindRpById(const std::string& vm, uint64_t id) const {
    if (id == 0) return std::optional<format::RpRecord>();
    RPFS_ASSIGN_OR_RETURN(auto raw, store->Get(format::RpKey(vm, id)));
    if (!raw) return std::optional<format::RpRecord>();
    RPFS_ASSIGN_OR_RETURN(auto rec, format::DecodeRp(*raw));
    return std::optional<format::RpRecord>(std::move(rec));
  }

  Result<std::optional<format::RpRecord>> FindRp(const std::string& vm,
                                                 const std::string& name) const {
    RPFS_ASSIGN_OR_RETURN(auto raw, store->Get(format::RpNameKey(vm, name)));
    if (!raw) return std::optional<format::RpRecord>();
    if (raw->size() != 8)
      return Status::Corruption("name index of " + RpLabel(vm, name) + " is malformed");
    return FindRpById(vm, GetBigEndian64(*raw));
  }

  Result<format::RpRecord> LoadRp(const std::string& vm, const std::string& name) const {
    RPFS_RETURN_IF_ERROR(LoadVm(vm).status());
    RPFS_ASSIGN_OR_RETURN(auto rec, FindRp(vm, name));
    if (!rec) return Status::NotFound(RpLabel(vm, name) + " does not exist");
    return std::move(*rec);
  }

  // The RPs of one VM, in creation order.
  Result<std::vector<format::RpRecord>> LoadRps(const std::string& vm) const {
    return LoadRpsWithPrefix(format::RpPrefix(vm));
  }

  Result<std::vector<format::RpRecord>> LoadRpsWithPrefix(const std::string& prefix) const {
    std::vector<format::RpRecord> out;
    Status err;
    RPFS_RETURN_IF_ERROR(store->Scan(prefix, [&](std::string_view, std::string_view v) {
      auto rec = format::DecodeRp(v);
      if (!rec.ok()) {
        err = rec.status();
        return false;
      }
      out.push_back(std::move(*rec));
      return true;
    }));
    RPFS_RETURN_IF_ERROR(err);
    return out;
  }

  RpInfo ToInfo(const format::RpRecord& r, const std::string& parent_name) const {
    RpInfo info;
    info.id = r.id;
    info.vm = r.vm;
    info.name = r.name;
    info.created_us = r.created_us;
    info.description = r.description;
    info.parent = parent_name;
    info.quiesced = (r.flags & format::kRpFlagQuiesced) != 0;
    info.with_memory = (r.flags & format::kRpFlagWithMemory) != 0;
    info.is_protected = (r.flags & format::kRpFlagProtected) != 0;
    info.has_domain_xml = !r.domain_xml.empty();
    for (const auto& s : r.streams) {
      if (s.kind == format::StreamKind::kDisk) info.disks.push_back({s.name, s.size});
      if (s.kind == format::StreamKind::kMemory) info.memory_bytes = s.size;
    }
    info.logical_bytes = r.logical_bytes;
    info.data_bytes = r.data_bytes;
    info.stored_bytes = r.stored_bytes;
    info.added_bytes = r.added_bytes;
    return info;
  }

  Result<std::string> ParentName(const format::RpRecord& r) const {
    RPFS_ASSIGN_OR_RETURN(auto parent, FindRpById(r.vm, r.parent));
    return parent ? parent->name : std::string();
  }

  std::vector<ObjectId> Roots(const format::RpRecord& r) const {
    std::vector<ObjectId> roots;
    for (const auto& s : r.streams)
      if (!s.root.IsZero()) roots.push_back(ObjectId{ObjectKind::kPage, s.root});
    return roots;
  }

  const format::RpStream* FindStream(const format::RpRecord& r, const std::string& disk) const {
    for (const auto& s : r.streams)
      if (disk == kMemoryStream ? s.kind == format::StreamKind::kMemory
                                : s.kind == format::StreamKind::kDisk && s.name == disk) {
        return &s;
      }
    return nullptr;
  }
};

}  // namespace rpfs
