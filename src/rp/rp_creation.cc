#include "rp/rp_creation.h"

#include <algorithm>
#include <cstdlib>

#include "format/keys.h"
#include "rp/repository_parts.h"
#include "rpfs/names.h"
#include "util/clock.h"
#include "util/crash_point.h"
#include "util/log.h"

namespace rpfs::rp {
namespace {

bool SameDisks(const std::vector<format::VmDisk>& a, const std::vector<format::VmDisk>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.name == y.name && x.path == y.path && x.format == y.format;
  });
}

// RPs per VM: readdir of a VM directory and `list` load every RP of the VM
// (docs/security-parts/limits-and-logs.md). RPFS_MAX_RPS_PER_VM lowers it (tests) or
// raises it.
size_t MaxRpsPerVm() {
  const char* env = std::getenv("RPFS_MAX_RPS_PER_VM");
  if (env != nullptr && *env != '\0') {
    char* end = nullptr;
    unsigned long long v = std::strtoull(env, &end, 10);
    if (end != nullptr && *end == '\0' && v > 0) return static_cast<size_t>(v);
  }
  return kMaxRpsPerVm;
}

}  // namespace

RpCreation::RpCreation(RepositoryParts* parts, std::string vm, std::string rp,
                       const CreateOptions& opts)
    : parts_(parts),
      vm_(std::move(vm)),
      rp_(std::move(rp)),
      opts_(opts),
      label_("creating " + RpLabel(vm_, rp_)) {}

RpCreation::~RpCreation() = default;

Status RpCreation::CheckNewRp() {
  const Catalog& catalog = parts_->catalog;
  RPFS_RETURN_IF_ERROR(ValidateName(rp_, "rp name"));
  RPFS_RETURN_IF_ERROR(ValidateDescription(opts_.description).WithContext(label_));
  if (vm_is_new_) return Status::OK();
  RPFS_ASSIGN_OR_RETURN(auto existing, catalog.FindRp(vm_, rp_));
  if (existing) return Status::AlreadyExists(RpLabel(vm_, rp_) + " already exists");
  RPFS_ASSIGN_OR_RETURN(size_t count, catalog.CountRps(vm_));
  if (count >= MaxRpsPerVm()) {
    return Status::NoSpace(label_ + ": vm " + vm_ + " holds " + std::to_string(count) +
                           " recovery points, the most allowed per vm (" +
                           std::to_string(MaxRpsPerVm()) +
                           ", RPFS_MAX_RPS_PER_VM); delete or prune some first");
  }
  return Status::OK();
}

Result<std::unique_ptr<RpCreation>> RpCreation::Prepare(RepositoryParts* parts,
                                                        const std::string& vm,
                                                        const std::string& rp,
                                                        const CreateOptions& opts) {
  std::unique_ptr<RpCreation> c(new RpCreation(parts, vm, rp, opts));
  const Catalog& catalog = parts->catalog;
  RPFS_ASSIGN_OR_RETURN(c->vm_at_prepare_, catalog.LoadVm(vm));
  RPFS_RETURN_IF_ERROR(c->CheckNewRp());
  if (c->vm_at_prepare_.kind == format::VmKind::kImageFiles && c->vm_at_prepare_.disks.empty()) {
    return Status::InvalidArgument(c->label_ + ": vm " + vm +
                                   " has no disks (it was made by a region pull): nothing to read");
  }

  auto input = parts->domains.Open(c->vm_at_prepare_, opts);
  if (!input.ok()) return input.status().WithContext(c->label_);
  c->input_ = std::move(*input);
  // An incremental input reads only what changed since the VM's current RP, whose extent
  // maps give the rest; without that RP (deleted since) every disk is read in full.
  RPFS_ASSIGN_OR_RETURN(c->base_rp_, catalog.FindRpById(vm, c->vm_at_prepare_.current_rp));
  for (auto& d : c->input_.disks) {
    if (d.changed && !c->base_rp_) d.changed.reset();
    if (c->SourceMoved(d.name)) d.changed.reset();
    auto extents =
        d.changed ? Result<std::vector<image::Extent>>(*d.changed) : d.source->DataExtents();
    if (!extents.ok()) return extents.status().WithContext(c->label_);
    for (const auto& e : *extents) c->total_bytes_ += e.length;
  }
  return c;
}

Result<std::unique_ptr<RpCreation>> RpCreation::PrepareImport(
    RepositoryParts* parts, const std::string& vm, const std::string& rp, const CreateOptions& opts,
    PointInput input, std::string domain_xml) {
  std::unique_ptr<RpCreation> c(new RpCreation(parts, vm, rp, opts));
  c->imported_ = true;
  RPFS_RETURN_IF_ERROR(ValidateName(vm, "vm name"));
  auto vmrec = parts->catalog.LoadVm(vm);
  if (vmrec.ok()) {
    c->vm_at_prepare_ = std::move(*vmrec);
  } else if (vmrec.status().code() == Status::Code::kNotFound) {
    c->vm_is_new_ = true;
    c->vm_at_prepare_.name = vm;
    c->vm_at_prepare_.created_us = NowMicros();
  } else {
    return vmrec.status();
  }
  RPFS_RETURN_IF_ERROR(c->CheckNewRp());
  c->input_ = std::move(input);
  c->input_.domain_xml = std::move(domain_xml);
  for (auto& d : c->input_.disks) {
    auto extents = d.source->DataExtents();
    if (!extents.ok()) return extents.status().WithContext(c->label_);
    for (const auto& e : *extents) c->total_bytes_ += e.length;
  }
  return c;
}

bool RpCreation::SourceMoved(const std::string& disk) const {
  const format::VmDisk* before = nullptr;
  for (const auto& d : vm_at_prepare_.disks) {
    if (d.name == disk) before = &d;
  }
  for (const auto& now : input_.vm_disks) {
    if (now.name != disk || before == nullptr || now.path == before->path) continue;
    // Another file: the parent's extent map says nothing about it. Read it in full.
    log::Log(log::Severity::kNotice, "disk-source-changed",
             {{"vm", vm_},
              {"rp", rp_},
              {"disk", disk},
              {"from", before->path},
              {"to", now.path},
              {"read", "full"}});
    return true;
  }
  return false;
}

Status RpCreation::Ingest(const ProgressFn& progress) {
  store::Store* store = parts_->store.get();
  {
    // Beginning the tx is a mutation: a delete deciding whether frees wait for a tx
    // (Store::HasOpenTx) must see it begun or not, never half.
    auto lock = parts_->gate.LockForWrite();
    auto tx = store->BeginTx(label_);
    if (!tx.ok()) return tx.status().WithContext(label_);
    tx_ = std::move(*tx);
  }
  // From here on the disks are read while other mutations go on.
  pool_ = std::make_unique<ThreadPool>(ThreadPool::DefaultWorkers());
  ctx_.store = store;
  ctx_.tx = tx_.get();
  ctx_.mutation = &mutation_;
  ctx_.pool = pool_.get();
  ctx_.progress = progress;
  ctx_.progress_total = total_bytes_;

  rec_.vm = vm_;
  rec_.name = rp_;
  rec_.description = opts_.description;
  const auto& cfg = store->config();
  for (auto& d : input_.disks) {
    // A disk read incrementally keeps the parent's chunks outside `changed`.
    std::optional<ExtentMap> base;
    const format::RpStream* parent_stream =
        base_rp_ ? Catalog::FindStream(*base_rp_, d.name) : nullptr;
    if (d.changed && parent_stream != nullptr) {
      base.emplace(&parts_->pages, cfg.page_fanout, cfg.chunk_size, *parent_stream);
    }
    auto stream = IngestDisk(ctx_, d.name, *d.source, base ? &*base : nullptr,
                             d.changed ? &*d.changed : nullptr);
    if (!stream.ok()) return stream.status().WithContext(label_);
    stream->access = d.access;
    if (d.memory) {
      stream->kind = format::StreamKind::kMemory;
      stream->name = "memory";
      rec_.flags |= format::kRpFlagWithMemory;
    }
    rec_.logical_bytes += stream->size;
    rec_.streams.push_back(std::move(*stream));
  }
  // An image written while it was read gives a torn RP: refuse it (same inode and size).
  for (auto& d : input_.disks) {
    Status s = d.source->CheckUnchanged();
    if (!s.ok()) return s.WithContext(label_);
  }
  rec_.domain_xml = input_.domain_xml;
  RPFS_RETURN_IF_ERROR(IngestMemory());
  ingested_ = true;
  return Status::OK();
}

Status RpCreation::IngestMemory() {
  if (!input_.pit) return Status::OK();
  const PointInTime& pit = *input_.pit;
  if (pit.quiesced()) rec_.flags |= format::kRpFlagQuiesced;
  if (pit.memory_file().empty()) return Status::OK();
  auto src = image::OpenImage("memory state", pit.memory_file(), format::DiskFormat::kRaw);
  if (!src.ok()) return src.status().WithContext(label_);
  auto stream = IngestDisk(ctx_, "memory", **src);
  if (!stream.ok()) return stream.status().WithContext(label_, ": memory state");
  stream->kind = format::StreamKind::kMemory;
  rec_.logical_bytes += stream->size;
  rec_.streams.push_back(std::move(*stream));
  rec_.flags |= format::kRpFlagWithMemory;
  return Status::OK();
}

Result<format::VmRecord> RpCreation::Revalidate() {
  // The VM record may have changed meanwhile (another RP deleted or renamed, a policy
  // set, the VM removed and added again): commit against the record as it is now.
  auto now = parts_->catalog.LoadVm(vm_);
  if (vm_is_new_ && !now.ok() && now.status().code() == Status::Code::kNotFound) {
    return vm_at_prepare_;  // made by this commit
  }
  if (now.ok()) vm_is_new_ = false;  // made meanwhile by someone else: not by this commit
  if (!now.ok()) return now.status().WithContext(label_);
  if (imported_) {  // read from elsewhere: the VM's disks do not matter
    RPFS_ASSIGN_OR_RETURN(auto taken, parts_->catalog.FindRp(vm_, rp_));
    if (taken) return Status::AlreadyExists(RpLabel(vm_, rp_) + " already exists");
    return now;
  }
  if (!SameDisks(now->disks, vm_at_prepare_.disks) ||
      now->domain_uuid != vm_at_prepare_.domain_uuid) {
    return Status::Busy(label_ + ": the vm's disks changed while they were read");
  }
  if (input_.pit) {  // a domain undefined while its disks were read: keep nothing
    Status still = parts_->domains.DomainOf(*now).status();
    if (!still.ok()) return still.WithContext(label_);
  }
  RPFS_ASSIGN_OR_RETURN(auto taken, parts_->catalog.FindRp(vm_, rp_));
  if (taken) return Status::AlreadyExists(RpLabel(vm_, rp_) + " already exists");
  return now;
}

Result<RpInfo> RpCreation::Commit() {
  if (!ingested_) return Status::Aborted(label_ + ": commit before ingest");
  store::Store* store = parts_->store.get();
  auto lock = parts_->gate.LockForWrite();
  RPFS_ASSIGN_OR_RETURN(format::VmRecord vmrec, Revalidate());
  auto id = store->NextId(format::kCounterRpId, &mutation_);
  if (!id.ok()) return id.status().WithContext(label_);
  rec_.id = *id;
  rec_.created_us = NowMicros();
  std::optional<format::RpRecord> parent;
  if (!imported_) {
    RPFS_ASSIGN_OR_RETURN(parent, parts_->catalog.FindRpById(vm_, vmrec.current_rp));
  }
  rec_.parent = parent ? parent->id : 0;
  rec_.data_bytes = ctx_.data_bytes;
  rec_.stored_bytes = ctx_.stored_bytes;
  rec_.added_bytes = ctx_.added_bytes;
  if (opts_.automatic) rec_.flags |= format::kRpFlagAutomatic;
  rec_.create_duration_us = static_cast<uint64_t>(std::max<int64_t>(0, NowMicros() - started_us_));

  mutation_.Put(format::RpKey(vm_, rec_.id), format::EncodeRp(rec_));
  mutation_.Put(format::RpNameKey(vm_, rp_), format::EncodeRpNameIndex(rec_.id));
  if (!imported_) vmrec.current_rp = rec_.id;
  if (vmrec.kind == format::VmKind::kLibvirt && !imported_) {
    vmrec.disks = input_.vm_disks;
    vmrec.checkpoint = input_.checkpoint;
    vmrec.checkpoint_rp = input_.checkpoint.empty() ? 0 : rec_.id;
  }
  mutation_.Put(format::VmKey(vm_), format::EncodeVm(vmrec));
  CrashPoint("create.before_commit");
  Status s = tx_->Commit(mutation_);
  if (!s.ok()) return s.WithContext(label_);
  // The RP is stored: the job ends, the new checkpoint stays for the next RP. A failure
  // here costs the next RP its incremental read, nothing else.
  if (input_.pit) (void)input_.pit->Keep();
  if (vm_is_new_) lock.Post(StoreChange::Kind::kVmAdded, vm_, "", 0);
  lock.Post(StoreChange::Kind::kRpCreated, vm_, rp_, rec_.id);
  tx_.reset();  // the tx has ended: the store may free again
  // Deletes committed while the disks were read left their objects queued (store.h).
  (void)store->RunGc();  // on failure the queue stays for the next RunGc or Open
  RpInfo info = Catalog::ToInfo(rec_, parent ? parent->name : "");
  info.read_bytes = ctx_.bytes_read;
  info.read_bytes_by_stream = ctx_.bytes_read_by_stream;
  if (input_.pit) info.paused_us = input_.pit->paused_us();
  return info;
}

}  // namespace rpfs::rp
