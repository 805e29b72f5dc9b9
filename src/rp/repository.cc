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
#include "rp/repository_parts.h"
#include "rp/rp_creation.h"
#include "rpfs/names.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/crash_point.h"

namespace rpfs {

using format::ObjectKind;
using store::ObjectId;

namespace {

// Store paths are kept absolute: clone files are reported by path.
std::string AbsolutePath(const std::string& dir) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(dir, ec);
  return ec ? dir : abs.lexically_normal().string();
}

}  // namespace

Repository::Repository(std::unique_ptr<store::Store> store)
    : impl_(std::make_unique<Impl>(std::move(store))) {}
Repository::~Repository() {
  // Releases started by hydrations use the store (a region's config): done before it goes.
  if (impl_) impl_->clones.WaitForReleases();
}

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
      repo->impl_->clones.RemoveOrphanDirs().WithContext("cleaning clones in store ", dir));
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
  auto lock = impl_->gate.LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto existing, impl_->store->Get(format::VmKey(vm)));
  if (existing) return Status::AlreadyExists("vm " + vm + " already exists");
  store::Mutation m;
  m.Put(format::VmKey(vm), format::EncodeVm(rec));
  RPFS_RETURN_IF_ERROR(impl_->store->Commit(m));
  lock.Post(StoreChange::Kind::kVmAdded, vm);
  return Status::OK();
}

Status Repository::RemoveVm(const std::string& vm) {
  auto lock = impl_->gate.LockForWrite();
  RPFS_RETURN_IF_ERROR(impl_->catalog.LoadVm(vm).status());
  RPFS_ASSIGN_OR_RETURN(auto rps, impl_->catalog.LoadRps(vm));
  if (!rps.empty()) {
    return Status::Busy("vm " + vm + " still has " + std::to_string(rps.size()) +
                        " recovery point(s); delete them first ('rpfs delete " + vm + " --all')");
  }
  RPFS_ASSIGN_OR_RETURN(bool has_clones, impl_->catalog.HasClones(vm));
  if (has_clones) {
    return Status::Busy("vm " + vm + " still has clones; delete them first ('rpfs clone-list " +
                        vm + "')");
  }
  store::Mutation m;
  m.Delete(format::VmKey(vm));
  m.Delete(format::PolicyKey(vm));
  RPFS_RETURN_IF_ERROR(impl_->store->Commit(m));
  lock.Post(StoreChange::Kind::kVmRemoved, vm);
  return Status::OK();
}

Result<VmInfo> Repository::GetVm(const std::string& vm) const {
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->catalog.LoadVm(vm));
  VmInfo info;
  info.name = rec.name;
  info.kind = rec.kind == format::VmKind::kLibvirt ? "libvirt" : "image-files";
  info.libvirt_uri = rec.libvirt_uri;
  info.domain_uuid = rec.domain_uuid;
  info.domain_name = rec.domain_name;
  for (const auto& d : rec.disks)
    info.disks.push_back({d.name, d.path, format::DiskFormatName(d.format)});
  RPFS_ASSIGN_OR_RETURN(auto current, impl_->catalog.FindRpById(vm, rec.current_rp));
  if (current) info.current_rp = current->name;
  RPFS_ASSIGN_OR_RETURN(info.rp_count, impl_->catalog.CountRps(vm));
  return info;
}

Result<std::vector<VmInfo>> Repository::ListVms() const {
  RPFS_ASSIGN_OR_RETURN(auto names, impl_->catalog.VmNames());
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
  auto create_lock = impl_->gate.LockForCreate();
  RPFS_ASSIGN_OR_RETURN(auto creation, rp::RpCreation::Prepare(impl_.get(), vm, rp, opts));
  RPFS_RETURN_IF_ERROR(creation->Ingest(progress));
  return creation->Commit();
}

Result<std::vector<RpInfo>> Repository::ListRps(const std::string& vm) const {
  RPFS_RETURN_IF_ERROR(impl_->catalog.LoadVm(vm).status());
  RPFS_ASSIGN_OR_RETURN(auto recs, impl_->catalog.LoadRps(vm));
  std::map<uint64_t, std::string> names;
  for (const auto& r : recs) names[r.id] = r.name;
  std::vector<RpInfo> out;
  for (const auto& r : recs) {
    auto it = names.find(r.parent);
    out.push_back(rp::Catalog::ToInfo(r, it != names.end() ? it->second : ""));
  }
  return out;
}

Result<RpInfo> Repository::GetRp(const std::string& vm, const std::string& rp) const {
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->catalog.LoadRp(vm, rp));
  RPFS_ASSIGN_OR_RETURN(std::string parent, impl_->catalog.ParentName(rec));
  return rp::Catalog::ToInfo(rec, parent);
}

Result<RpInfo> Repository::GetRpById(const std::string& vm, uint64_t id) const {
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->catalog.FindRpById(vm, id));
  if (!rec)
    return Status::NotFound("rp #" + std::to_string(id) + " of vm " + vm + " does not exist");
  RPFS_ASSIGN_OR_RETURN(std::string parent, impl_->catalog.ParentName(*rec));
  return rp::Catalog::ToInfo(*rec, parent);
}

std::string FormatDrill(const RpInfo& rp) {
  if (rp.drill_time_us == 0) return "never";
  return std::string(rp.drill_ok ? "ok" : "failed") + " at " + FormatIsoUtc(rp.drill_time_us) +
         (rp.drill_ok ? ", booted in " + FormatSeconds(static_cast<int64_t>(rp.drill_boot_us))
                      : "") +
         ": " + rp.drill_reason;
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
  line("automatic", rp.automatic ? "yes" : "no");
  line("logical_bytes", std::to_string(rp.logical_bytes));
  line("data_bytes", std::to_string(rp.data_bytes));
  line("stored_bytes", std::to_string(rp.stored_bytes));
  line("added_bytes", std::to_string(rp.added_bytes));
  line("unique_bytes", std::to_string(unique_bytes));
  line("drill", FormatDrill(rp));
  return out;
}

Status Repository::RenameRp(const std::string& vm, const std::string& from, const std::string& to) {
  RPFS_RETURN_IF_ERROR(ValidateName(to, "rp name"));
  auto lock = impl_->gate.LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->catalog.LoadRp(vm, from));
  if (from == to) return Status::OK();
  RPFS_ASSIGN_OR_RETURN(auto clash, impl_->catalog.FindRp(vm, to));
  if (clash) return Status::AlreadyExists(rp::RpLabel(vm, to) + " already exists");
  store::Mutation m;
  m.Delete(format::RpNameKey(vm, from));
  m.Put(format::RpNameKey(vm, to), format::EncodeRpNameIndex(rec.id));
  rec.name = to;
  m.Put(format::RpKey(vm, rec.id), format::EncodeRp(rec));
  RPFS_RETURN_IF_ERROR(impl_->store->Commit(m));
  lock.Post(StoreChange::Kind::kRpRenamed, vm, from, rec.id, to);
  return Status::OK();
}

namespace {

// The ids of `names` among `all`; NotFound or PermissionDenied (protected) naming the RP.
Result<std::set<uint64_t>> ResolveDoomed(const std::string& vm,
                                         const std::vector<format::RpRecord>& all,
                                         const std::vector<std::string>& names) {
  std::set<uint64_t> doomed;
  for (const auto& name : names) {
    auto it = std::find_if(all.begin(), all.end(), [&](const auto& r) { return r.name == name; });
    if (it == all.end()) return Status::NotFound(rp::RpLabel(vm, name) + " does not exist");
    if ((it->flags & format::kRpFlagProtected) != 0) {
      return Status::PermissionDenied(rp::RpLabel(vm, name) +
                                      " is protected; unprotect it first ('rpfs unprotect " + vm +
                                      " " + name + "')");
    }
    doomed.insert(it->id);
  }
  return doomed;
}

// What deleting `doomed` commits, staged in `m`: the records go, children move up to
// their nearest surviving ancestor (the tree stays a tree), and each RP's roots lose their
// reference now, or, if a reader has it pinned, when the last reader closes (a 'D' record).
struct DeletePlan {
  store::Mutation m;
  std::vector<uint64_t> deferred;  // pinned: released later
  std::vector<ObjectId> released;  // roots whose reference goes now
};

DeletePlan PlanDelete(const std::string& vm, const std::vector<format::RpRecord>& all,
                      const std::set<uint64_t>& doomed, format::VmRecord vmrec,
                      rp::ReaderPins::DeleteScope* pins) {
  std::map<uint64_t, const format::RpRecord*> by_id;
  for (const auto& r : all) by_id[r.id] = &r;
  auto surviving_ancestor = [&](uint64_t id) {
    while (id != 0 && doomed.count(id) != 0) {
      auto it = by_id.find(id);
      id = it == by_id.end() ? 0 : it->second->parent;
    }
    return by_id.count(id) != 0 ? id : 0;
  };
  DeletePlan plan;
  for (const auto& r : all) {
    if (doomed.count(r.id) != 0) {
      plan.m.Delete(format::RpKey(vm, r.id));
      plan.m.Delete(format::RpNameKey(vm, r.name));
      if (pins->DeferIfPinned(r.id)) {
        plan.m.Put(format::DeferredRpKey(r.id), format::EncodeRp(r));
        plan.deferred.push_back(r.id);
      } else {
        for (const ObjectId& root : rp::Catalog::Roots(r)) {
          plan.m.AddRef(root, -1);
          plan.released.push_back(root);
        }
      }
    } else if (r.parent != 0 && doomed.count(r.parent) != 0) {
      format::RpRecord moved = r;
      moved.parent = surviving_ancestor(r.parent);
      plan.m.Put(format::RpKey(vm, r.id), format::EncodeRp(moved));
    }
  }
  if (doomed.count(vmrec.current_rp) != 0) {
    vmrec.current_rp = surviving_ancestor(vmrec.current_rp);
    plan.m.Put(format::VmKey(vm), format::EncodeVm(vmrec));
  }
  return plan;
}

}  // namespace

Result<uint64_t> Repository::DeleteRps(const std::string& vm, const std::vector<std::string>& rps) {
  // Every error names what was being deleted, whichever step fails (the commit, or the
  // freeing after it, whose syncs can fail too).
  std::string what = "deleting";
  for (const auto& name : std::set<std::string>(rps.begin(), rps.end())) {
    what += " " + rp::RpLabel(vm, name);
  }
  auto lock = impl_->gate.LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto vmrec, impl_->catalog.LoadVm(vm));
  RPFS_ASSIGN_OR_RETURN(auto all, impl_->catalog.LoadRps(vm));
  RPFS_ASSIGN_OR_RETURN(auto doomed, ResolveDoomed(vm, all, rps));
  if (doomed.empty()) return uint64_t{0};
  // The pins are held from the check to the commit: no reader can pin an RP in between.
  std::optional<rp::ReaderPins::DeleteScope> pin_scope(&impl_->gate.pins());
  DeletePlan plan = PlanDelete(vm, all, doomed, vmrec, &*pin_scope);
  // While a create reads its disks nothing is freed (store.h): then the answer is what the
  // freeing will give once it has ended, computed now (write_mu held: no tx can end).
  std::optional<uint64_t> freed_later;
  if (impl_->store->HasOpenTx()) {
    auto simulated = impl_->store->SimulateRelease(plan.released);
    if (!simulated.ok()) return simulated.status().WithContext(what);
    freed_later = *simulated;
  }
  CrashPoint("delete.before_commit");
  Status committed = impl_->store->Commit(plan.m);
  if (!committed.ok()) {
    for (uint64_t id : plan.deferred) pin_scope->CancelDeferred(id);
    return committed.WithContext(what);
  }
  pin_scope.reset();
  for (const auto& r : all) {
    if (doomed.count(r.id) != 0) {
      lock.Post(StoreChange::Kind::kRpDeleted, vm, r.name, r.id);
    }
  }
  CrashPoint("delete.after_commit");
  uint64_t freed = 0;
  if (freed_later) {
    freed = *freed_later;
  } else {
    // The delete is committed; what failed is freeing its data, which the GC queue keeps
    // for the next delete or open.
    auto gc = impl_->store->RunGc();
    if (!gc.ok()) return gc.status().WithContext(what, " (committed; its data is freed later)");
    freed = *gc;
  }
  impl_->NoteFreedAndReclaimIfDue(freed);
  return freed;
}

Result<uint64_t> Repository::BytesFreedByDeleting(const std::string& vm,
                                                  const std::vector<std::string>& rps) const {
  std::vector<ObjectId> roots;
  std::set<std::string> seen;
  for (const auto& name : rps) {
    if (!seen.insert(name).second) continue;
    RPFS_ASSIGN_OR_RETURN(auto rec, impl_->catalog.LoadRp(vm, name));
    for (const ObjectId& r : rp::Catalog::Roots(rec)) roots.push_back(r);
  }
  return impl_->store->SimulateRelease(roots);
}

// ---------------- data ----------------

Result<std::unique_ptr<DiskReader>> Repository::OpenDisk(const std::string& vm,
                                                         const std::string& rp,
                                                         const std::string& disk) const {
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->catalog.LoadRp(vm, rp));
  return impl_->OpenPinned(vm, rec.id, disk);
}

Result<std::unique_ptr<DiskReader>> Repository::OpenDiskById(const std::string& vm, uint64_t rp_id,
                                                             const std::string& disk) const {
  return impl_->OpenPinned(vm, rp_id, disk);
}

Status Repository::Export(const std::string& vm, const std::string& rp, const std::string& disk,
                          int fd, bool sparse, const ProgressFn& progress) const {
  RPFS_ASSIGN_OR_RETURN(auto found, impl_->catalog.LoadRp(vm, rp));
  auto pin = impl_->gate.Pin(found.id);
  RPFS_ASSIGN_OR_RETURN(auto again,
                        impl_->catalog.FindRpById(vm, found.id));  // not deleted meanwhile
  if (!again) return Status::NotFound(rp::RpLabel(vm, rp) + " does not exist");
  const format::RpRecord& rec = *again;
  const format::RpStream* s = rp::Catalog::FindStream(rec, disk);
  if (s == nullptr) return Status::NotFound(rp::RpLabel(vm, rp) + " has no disk " + disk);
  return rp::ExportStream(impl_->store.get(), &impl_->pages, *s, fd, sparse, progress)
      .WithContext("exporting ", rp::RpLabel(vm, rp), " disk ", disk);
}

// ---------------- store ----------------

// ~60 lines in three steps over one set of roots, kept together because all run under the
// one write lock that makes refcounts comparable with references: collect every root
// (RPs, deferred deletes, unhydrated clones), let the store check its objects, then name
// the RPs that reach a damaged one.
Result<VerifyResult> Repository::Verify(const ProgressFn& progress, uint32_t sample_percent) {
  RPFS_ASSIGN_OR_RETURN(VerifyResult result, CheckStore(progress, sample_percent));
  std::string value;
  Encoder e(&value);
  e.PutFixed64(static_cast<uint64_t>(NowMicros()));
  e.PutFixed64(result.ok() ? 1 : 0);
  e.PutFixed64(sample_percent);
  store::Mutation m;
  m.Put(format::CounterKey(format::kCounterLastVerify), value);
  // Only a statistic: a store that cannot record it was still verified.
  (void)impl_->store->Commit(m);
  return result;
}

Result<std::optional<VerifyRecord>> Repository::LastVerify() const {
  RPFS_ASSIGN_OR_RETURN(auto raw,
                        impl_->store->Get(format::CounterKey(format::kCounterLastVerify)));
  if (!raw) return std::optional<VerifyRecord>();
  Decoder d(*raw, "last verify record");
  VerifyRecord r;
  RPFS_ASSIGN_OR_RETURN(uint64_t time, d.GetFixed64());
  RPFS_ASSIGN_OR_RETURN(uint64_t ok, d.GetFixed64());
  RPFS_ASSIGN_OR_RETURN(uint64_t sample, d.GetFixed64());
  r.time_us = static_cast<int64_t>(time);
  r.ok = ok == 1;
  r.sample_percent = static_cast<uint32_t>(std::min<uint64_t>(sample, 100));
  return std::optional<VerifyRecord>(r);
}

Result<VerifyResult> Repository::CheckStore(const ProgressFn& progress,
                                            uint32_t sample_percent) const {
  // Refcounts are checked against references: no mutation may run in between (reads may).
  auto lock = impl_->gate.LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto rps, impl_->catalog.LoadAllRps());
  RPFS_ASSIGN_OR_RETURN(auto deleted_but_read, impl_->catalog.LoadDeferred());
  std::vector<ObjectId> roots;
  for (const auto* list : {&rps, &deleted_but_read})
    for (const auto& r : *list)
      for (const ObjectId& root : rp::Catalog::Roots(r)) roots.push_back(root);
  // Clones not yet hydrated hold their source streams' roots.
  RPFS_ASSIGN_OR_RETURN(auto clones, ListClones(""));
  for (const auto& c : clones) {
    if (c.hydrated) continue;
    RPFS_ASSIGN_OR_RETURN(auto rec, impl_->catalog.LoadClone(c.vm, c.name));
    for (const auto& d : rec.disks)
      if (!d.root.IsZero()) roots.push_back(ObjectId{ObjectKind::kPage, d.root});
  }
  RPFS_ASSIGN_OR_RETURN(auto report, impl_->store->Verify(roots, progress, sample_percent));

  VerifyResult out;
  out.objects = report.objects;
  out.bytes_hashed = report.chunk_bytes;
  out.chunks_skipped = report.chunks_skipped;
  std::unordered_map<ObjectId, std::string, format::ObjectIdHash> bad;
  for (const auto& p : report.problems) {
    std::string kind = p.id.kind == ObjectKind::kChunk ? "chunk " : "page ";
    out.problems.push_back(kind + p.id.digest.Hex() + ": " + p.what);
    if (p.unreadable) bad.emplace(p.id, p.what);  // only those make an RP damaged
  }
  for (const auto& l : report.leftovers) out.problems.push_back(l);
  if (bad.empty()) return out;

  // Name the RPs that reach a damaged object, with the disk and offset.
  rp::PageCache cache(impl_->store.get(), rp::kPageCacheEntries);
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
      // A map page the store walk could not read may read now (a transient I/O error):
      // it is named by id, not by reading it again and finding nothing wrong.
      Status pages = map.ForEachPage([&](const Digest& id, const format::Page&) {
        auto it = bad.find(ObjectId{ObjectKind::kPage, id});
        if (it != bad.end()) {
          out.damaged_rps.push_back(where + ": map page " + id.Hex() + ": " + it->second);
        }
        return true;
      });
      if (!pages.ok() && out.damaged_rps.size() == before) {
        out.damaged_rps.push_back(where + ": " + pages.message());
        continue;
      }
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
  auto lock = impl_->gate.LockForWrite();
  RPFS_RETURN_IF_ERROR(impl_->store->Compact());
  store::Mutation m;
  m.Delete(format::CounterKey(format::kCounterReclaimable));
  return impl_->store->Commit(m);
}

void Repository::SetChangeListener(ChangeListener listener) {
  impl_->gate.SetChangeListener(std::move(listener));
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
