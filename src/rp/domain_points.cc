#include "rp/domain_points.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>

#include "image/qcow2_bitmaps.h"
#include "image/qemu_locks.h"
#include "rp/catalog.h"
#include "rp/disk_reader.h"
#include "rpfs/names.h"
#include "util/clock.h"
#include "util/fd.h"
#include "util/log.h"

namespace rpfs::rp {
namespace {

// The prefix of every checkpoint rpfs makes; the others are left alone.
constexpr char kCheckpointPrefix[] = "rpfs-";

}  // namespace

Result<std::shared_ptr<std::string>> MakeWorkDir(const std::string& store_dir) {
  std::string parent = store_dir + "/virt";
  if (::mkdir(parent.c_str(), 0711) != 0 && errno != EEXIST) {
    return Status::FromErrno(errno, "creating " + parent);
  }
  std::string tmpl = parent + "/point-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return Status::FromErrno(errno, "creating " + tmpl);
  // qemu runs as its own user: it must create files here. The names are random and the
  // parent cannot be listed by others.
  ::chmod(tmpl.c_str(), 0733);
  return std::shared_ptr<std::string>(new std::string(tmpl), [](std::string* dir) {
    std::error_code ec;
    std::filesystem::remove_all(*dir, ec);
    delete dir;
  });
}

std::string DomainLabel(const format::VmRecord& vm) {
  return "vm " + vm.name + " (libvirt domain " + vm.domain_name + " at " + vm.libvirt_uri + ")";
}

format::VmDisk ToVmDisk(const DomainDisk& d) {
  format::VmDisk out;
  out.name = d.target;
  out.path = d.path;
  out.format = d.format == "qcow2" ? format::DiskFormat::kQcow2 : format::DiskFormat::kRaw;
  return out;
}

Status CheckReadableDisks(const DomainInfo& dom) {
  if (dom.disks.empty()) {
    return Status::InvalidArgument("libvirt domain " + dom.name + " has no disk rpfs can read");
  }
  for (const auto& d : dom.disks) {
    if (d.format != "raw" && d.format != "qcow2") {
      return Status::NotSupported("libvirt domain " + dom.name + ": disk " + d.target +
                                  " has format '" + d.format + "' (rpfs reads raw and qcow2)");
    }
    RPFS_RETURN_IF_ERROR(ValidateName(d.target, "disk name"));
  }
  return Status::OK();
}

void DomainPoints::SetFactory(HypervisorFactory factory) {
  std::lock_guard lock(mu_);
  factory_ = std::move(factory);
  hypervisors_.clear();
}

Result<std::shared_ptr<Hypervisor>> DomainPoints::HypervisorFor(const std::string& uri) {
  std::lock_guard lock(mu_);
  auto it = hypervisors_.find(uri);
  if (it != hypervisors_.end()) return it->second;
  if (!factory_) {
    return Status::NotSupported("this rpfs cannot reach libvirt (no hypervisor connection)");
  }
  RPFS_ASSIGN_OR_RETURN(auto hv, factory_(uri));
  hypervisors_[uri] = hv;
  return hv;
}

Result<DomainInfo> DomainPoints::DomainOf(const format::VmRecord& vm) {
  RPFS_ASSIGN_OR_RETURN(auto hv, HypervisorFor(vm.libvirt_uri));
  auto dom = hv->GetDomain(vm.domain_uuid);
  if (dom.ok()) return dom;
  if (dom.status().IsNotFound()) {
    return Status::NotFound(DomainLabel(vm) + ": the domain (uuid " + vm.domain_uuid +
                            ") no longer exists; its recovery points are kept");
  }
  return dom.status().WithContext(DomainLabel(vm));
}

namespace {

// Opens image `d` for reading, with the access its RP file will show. Unless `force`d,
// an image a qemu may write (its write lock) is Busy: the copy would be torn.
Status AddImage(const format::VmDisk& d, bool force, PointInput* in) {
  if (!force) RPFS_RETURN_IF_ERROR(image::CheckNoQemuWriter(d.name, d.path));
  DiskInput input;
  input.name = d.name;
  RPFS_ASSIGN_OR_RETURN(input.source, image::OpenImage(d.name, d.path, d.format, force));
  RPFS_ASSIGN_OR_RETURN(input.access, image::AccessOf(d.name, d.path));
  in->disks.push_back(std::move(input));
  return Status::OK();
}

// The access of a running domain's disk `target`, read through libvirt: that of its source
// file; the mount owner's only for a source that is not a local file (network disks).
format::StreamAccess SourceAccess(const std::vector<format::VmDisk>& disks,
                                  const std::string& target) {
  for (const auto& d : disks) {
    if (d.name != target || d.path.empty()) continue;
    auto access = image::AccessOf(d.name, d.path);
    if (access.ok()) return *access;
  }
  return format::StreamAccess{};
}

}  // namespace

Result<PointInput> DomainPoints::Open(const format::VmRecord& vm, const CreateOptions& opts) {
  if (vm.kind == format::VmKind::kLibvirt) return BeginDomainPoint(vm, opts);
  if (opts.memory || opts.quiesce) {
    return Status::InvalidArgument("vm " + vm.name + " is made of image files: " +
                                   (opts.memory ? "memory state" : "quiescing") +
                                   " needs a libvirt domain");
  }
  PointInput in;
  for (const auto& d : vm.disks) RPFS_RETURN_IF_ERROR(AddImage(d, opts.force, &in));
  return in;
}

Result<PointInput> DomainPoints::BeginDomainPoint(const format::VmRecord& vm,
                                                  const CreateOptions& opts) {
  RPFS_ASSIGN_OR_RETURN(auto hv, HypervisorFor(vm.libvirt_uri));
  RPFS_ASSIGN_OR_RETURN(DomainInfo dom, DomainOf(vm));
  RPFS_RETURN_IF_ERROR(CheckReadableDisks(dom).WithContext(DomainLabel(vm)));
  PointInput in;
  for (const auto& d : dom.disks) in.vm_disks.push_back(ToVmDisk(d));
  const bool active = dom.state == DomainState::kRunning || dom.state == DomainState::kPaused;
  if (!active) {
    if (opts.memory || opts.quiesce) {
      return Status::InvalidArgument(
          DomainLabel(vm) + " is " + DomainStateName(dom.state) + ": " +
          (opts.memory ? "it has no memory state to save" : "there is no guest to quiesce"));
    }
    // Nothing writes a shut-off domain's disks but us (qemu's locks keep a start out while
    // qemu-nbd reads a qcow2; a raw image is checked for changes after).
    for (const auto& d : in.vm_disks) RPFS_RETURN_IF_ERROR(AddImage(d, opts.force, &in));
    in.domain_xml = dom.xml;
    return in;
  }

  RPFS_ASSIGN_OR_RETURN(auto dir, MakeWorkDir(store_->dir()));
  in.work_dir = dir;
  PointInTimeRequest req;
  req.quiesce = opts.quiesce;
  req.memory = opts.memory;
  req.work_dir = *dir;
  // The recorded checkpoint is a valid base only for the RP it was made with, and only
  // while that RP is the VM's current one (a rollback or another RP since moves it).
  if (!vm.checkpoint.empty() && vm.checkpoint_rp == vm.current_rp) req.since = vm.checkpoint;
  req.checkpoint = kCheckpointPrefix + std::to_string(NowMicros());
  req.read_file_bitmap =
      [](const std::string& path,
         const std::string& bitmap) -> Result<std::vector<std::pair<uint64_t, uint64_t>>> {
    RPFS_ASSIGN_OR_RETURN(auto extents, image::Qcow2DirtyExtents(path, bitmap));
    std::vector<std::pair<uint64_t, uint64_t>> out;
    out.reserve(extents.size());
    for (const auto& e : extents) out.emplace_back(e.offset, e.length);
    return out;
  };
  RPFS_ASSIGN_OR_RETURN(in.pit, hv->BeginPointInTime(dom.uuid, req));
  in.checkpoint = in.pit->checkpoint();
  in.domain_xml = in.pit->domain_xml();
  for (const FrozenDisk& fd : in.pit->disks()) {
    DiskInput input;
    input.name = fd.target;
    if (fd.nbd_socket.empty()) {
      auto fmt = format::ParseDiskFormat(fd.format);
      if (!fmt.ok()) return fmt.status().WithContext("disk ", fd.target);
      RPFS_ASSIGN_OR_RETURN(input.source, image::OpenImage(fd.target, fd.path, *fmt));
    } else {
      RPFS_ASSIGN_OR_RETURN(input.source, image::OpenNbdExport(fd.target, fd.nbd_socket,
                                                               fd.nbd_export, fd.dirty_context));
    }
    input.access = SourceAccess(in.vm_disks, fd.target);
    if (in.pit->incremental() && !fd.dirty_context.empty()) {
      RPFS_ASSIGN_OR_RETURN(input.changed, input.source->ChangedExtents());
    } else if (in.pit->incremental() && fd.has_changed_extents) {
      input.changed.emplace();
      for (auto [offset, length] : fd.changed_extents) input.changed->push_back({offset, length});
    }
    in.disks.push_back(std::move(input));
  }
  return in;
}

Status DomainPoints::CheckShutOff(const format::VmRecord& vm) {
  RPFS_ASSIGN_OR_RETURN(DomainInfo dom, DomainOf(vm));
  if (dom.state != DomainState::kShutOff) {
    return Status::Busy(DomainLabel(vm) + " is " + DomainStateName(dom.state) +
                        ": shut it off first (rollback --stop, virsh shutdown or destroy)");
  }
  return Status::OK();
}

std::map<std::string, std::vector<image::Extent>> DomainPoints::WrittenSinceCheckpoint(
    const format::VmRecord& vm) {
  std::map<std::string, std::vector<image::Extent>> out;
  if (vm.kind != format::VmKind::kLibvirt || vm.checkpoint.empty() || vm.checkpoint_rp == 0) {
    return out;
  }
  for (const auto& d : vm.disks) {
    if (d.format != format::DiskFormat::kQcow2) continue;
    auto written = image::Qcow2DirtyExtents(d.path, vm.checkpoint);
    if (written.ok()) {
      out[d.name] = std::move(*written);
    } else {
      log::Log(log::Severity::kNotice, "checkpoint-bitmap-unreadable",
               {{"vm", vm.name}, {"disk", d.name}, {"error", written.status().message()}});
    }
  }
  return out;
}

Status DomainPoints::AfterRollback(const format::VmRecord& vm, const format::RpRecord& rp) {
  // The checkpoints' bitmaps in the qcow2 disks describe writes since RPs the disks no
  // longer follow. libvirt's checkpoint delete of a shut-off domain often keeps them
  // (metadata only); qemu-img removes them while nothing holds the image. Failing to is
  // worth a log line, not a failed rollback: rpfs never trusts these bitmaps again.
  for (const auto& d : vm.disks) {
    if (d.format != format::DiskFormat::kQcow2) continue;
    auto removed = image::RemoveQcow2Bitmaps(d.path, kCheckpointPrefix);
    if (!removed.ok()) {
      log::Log(log::Severity::kWarning, "bitmap-remove-failed",
               {{"vm", vm.name}, {"disk", d.name}, {"error", removed.status().message()}});
    }
  }
  RPFS_ASSIGN_OR_RETURN(auto hv, HypervisorFor(vm.libvirt_uri));
  RPFS_RETURN_IF_ERROR(hv->DeleteCheckpoints(vm.domain_uuid, kCheckpointPrefix, ""));
  const format::RpStream* memory = Catalog::FindStream(rp, kMemoryStream);
  if (memory == nullptr) return Status::OK();
  RPFS_ASSIGN_OR_RETURN(auto dir, MakeWorkDir(store_->dir()));
  std::string file = *dir + "/memory.state";
  {
    UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd.valid()) return Status::FromErrno(errno, "creating " + file);
    RPFS_RETURN_IF_ERROR(ExportStream(store_, pages_, *memory, fd.get(), /*sparse=*/true, nullptr));
    if (::fsync(fd.get()) != 0) return Status::FromErrno(errno, "writing " + file);
  }
  return hv->RestoreMemory(vm.domain_uuid, file, rp.domain_xml)
      .WithContext("restoring the memory state of ", RpLabel(vm.name, rp.name));
}

}  // namespace rpfs::rp
