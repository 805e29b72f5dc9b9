// The libvirt side of the repository: importing domains, reading a domain's disks at one
// instant (with its memory state and checkpoints), and what a rollback owes the domain.
// libvirt itself is behind rpfs::Hypervisor (src/virt); nothing here includes it.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>

#include "rp/disk_reader.h"
#include "rp/repository_impl.h"
#include "rpfs/names.h"
#include "util/clock.h"
#include "util/fd.h"

namespace rpfs {
namespace {

// The prefix of every checkpoint rpfs makes; the others are left alone.
constexpr char kCheckpointPrefix[] = "rpfs-";

std::string DomainLabel(const format::VmRecord& vm) {
  return "vm " + vm.name + " (libvirt domain " + vm.domain_name + " at " + vm.libvirt_uri + ")";
}

// A directory libvirt's qemu (another user) can write its socket, scratch and memory files
// into, removed with everything in it when the last holder lets go.
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

}  // namespace

const char* DomainStateName(DomainState state) {
  switch (state) {
    case DomainState::kRunning:
      return "running";
    case DomainState::kPaused:
      return "paused";
    case DomainState::kShutOff:
      return "shut off";
    case DomainState::kOther:
      break;
  }
  return "other";
}

void Repository::SetHypervisorFactory(HypervisorFactory factory) {
  std::lock_guard lock(impl_->virt_mu);
  impl_->hypervisor_factory = std::move(factory);
  impl_->hypervisors.clear();
}

Result<std::shared_ptr<Hypervisor>> Repository::Impl::HypervisorFor(const std::string& uri) {
  std::lock_guard lock(virt_mu);
  auto it = hypervisors.find(uri);
  if (it != hypervisors.end()) return it->second;
  if (!hypervisor_factory) {
    return Status::NotSupported("this rpfs cannot reach libvirt (no hypervisor connection)");
  }
  RPFS_ASSIGN_OR_RETURN(auto hv, hypervisor_factory(uri));
  hypervisors[uri] = hv;
  return hv;
}

Result<DomainInfo> Repository::Impl::DomainOf(const format::VmRecord& vm) {
  RPFS_ASSIGN_OR_RETURN(auto hv, HypervisorFor(vm.libvirt_uri));
  auto dom = hv->GetDomain(vm.domain_uuid);
  if (dom.ok()) return dom;
  if (dom.status().IsNotFound()) {
    return Status::NotFound(DomainLabel(vm) + ": the domain (uuid " + vm.domain_uuid +
                            ") no longer exists; its recovery points are kept");
  }
  return dom.status().WithContext(DomainLabel(vm));
}

Result<VmInfo> Repository::ImportVm(const std::string& uri, const std::string& domain,
                                    const std::string& vm) {
  RPFS_ASSIGN_OR_RETURN(auto hv, impl_->HypervisorFor(uri));
  RPFS_ASSIGN_OR_RETURN(DomainInfo dom, hv->GetDomain(domain));
  const std::string name = vm.empty() ? dom.name : vm;
  RPFS_RETURN_IF_ERROR(ValidateName(name, "vm name"));
  RPFS_RETURN_IF_ERROR(CheckReadableDisks(dom).WithContext("importing vm ", name));
  format::VmRecord rec;
  rec.name = name;
  rec.kind = format::VmKind::kLibvirt;
  rec.created_us = NowMicros();
  rec.libvirt_uri = hv->uri();
  rec.domain_uuid = dom.uuid;
  rec.domain_name = dom.name;
  for (const auto& d : dom.disks) rec.disks.push_back(ToVmDisk(d));
  {
    auto lock = impl_->LockForWrite();
    RPFS_ASSIGN_OR_RETURN(auto existing, impl_->store->Get(format::VmKey(name)));
    if (existing) return Status::AlreadyExists("vm " + name + " already exists");
    Status err;
    RPFS_RETURN_IF_ERROR(impl_->store->Scan(format::VmPrefix(), [&](std::string_view,
                                                                    std::string_view v) {
      auto other = format::DecodeVm(v);
      if (other.ok() && other->kind == format::VmKind::kLibvirt && other->domain_uuid == dom.uuid &&
          other->libvirt_uri == rec.libvirt_uri) {
        err = Status::AlreadyExists("libvirt domain " + dom.name + " is already vm " + other->name);
        return false;
      }
      return true;
    }));
    RPFS_RETURN_IF_ERROR(err);
    store::Mutation m;
    m.Put(format::VmKey(name), format::EncodeVm(rec));
    RPFS_RETURN_IF_ERROR(impl_->store->Commit(m));
  }
  impl_->Notify(StoreChange::Kind::kVmAdded, name);
  return GetVm(name);
}

Result<std::string> Repository::VmState(const std::string& vm) {
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->LoadVm(vm));
  if (rec.kind != format::VmKind::kLibvirt) return std::string("image files");
  RPFS_ASSIGN_OR_RETURN(DomainInfo dom, impl_->DomainOf(rec));
  return std::string(DomainStateName(dom.state));
}

Result<std::string> Repository::DomainXmlById(const std::string& vm, uint64_t rp_id) const {
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->FindRpById(vm, rp_id));
  if (!rec || rec->domain_xml.empty()) {
    return Status::NotFound("rp #" + std::to_string(rp_id) + " of vm " + vm +
                            " has no domain definition");
  }
  return rec->domain_xml;
}

Result<Repository::Impl::PointInput> Repository::Impl::OpenDiskInputs(const format::VmRecord& vm,
                                                                      const CreateOptions& opts) {
  if (vm.kind == format::VmKind::kLibvirt) return BeginDomainPoint(vm, opts);
  if (opts.memory || opts.quiesce) {
    return Status::InvalidArgument("vm " + vm.name + " is made of image files: " +
                                   (opts.memory ? "memory state" : "quiescing") +
                                   " needs a libvirt domain");
  }
  PointInput in;
  for (const auto& d : vm.disks) {
    RPFS_ASSIGN_OR_RETURN(auto src, image::OpenImage(d.name, d.path, d.format));
    in.disks.push_back({d.name, std::move(src), std::nullopt});
  }
  return in;
}

Result<Repository::Impl::PointInput> Repository::Impl::BeginDomainPoint(const format::VmRecord& vm,
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
    for (const auto& d : in.vm_disks) {
      RPFS_ASSIGN_OR_RETURN(auto src, image::OpenImage(d.name, d.path, d.format));
      in.disks.push_back({d.name, std::move(src), std::nullopt});
    }
    in.domain_xml = dom.xml;
    return in;
  }

  RPFS_ASSIGN_OR_RETURN(auto dir, MakeWorkDir(store->dir()));
  in.work_dir = dir;
  PointInTimeRequest req;
  req.quiesce = opts.quiesce;
  req.memory = opts.memory;
  req.work_dir = *dir;
  // The recorded checkpoint is a valid base only for the RP it was made with, and only
  // while that RP is the VM's current one (a rollback or another RP since moves it).
  if (!vm.checkpoint.empty() && vm.checkpoint_rp == vm.current_rp) req.since = vm.checkpoint;
  req.checkpoint = kCheckpointPrefix + std::to_string(NowMicros());
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

Result<std::string> Repository::DefineCloneDomain(
    const std::string& vm, const std::string& clone, const std::string& domain,
    const std::map<std::string, std::string>& disk_paths) {
  RPFS_ASSIGN_OR_RETURN(auto vmrec, impl_->LoadVm(vm));
  const std::string label = "defining domain " + domain + " for clone " + vm + "/" + clone;
  if (vmrec.kind != format::VmKind::kLibvirt) {
    return Status::InvalidArgument(label + ": vm " + vm + " is not a libvirt domain");
  }
  RPFS_ASSIGN_OR_RETURN(auto c, impl_->LoadClone(vm, clone));
  RPFS_ASSIGN_OR_RETURN(auto hv, impl_->HypervisorFor(vmrec.libvirt_uri));
  auto taken = hv->GetDomain(domain);
  if (taken.ok()) return Status::AlreadyExists(label + ": a domain of that name exists");
  if (!taken.status().IsNotFound()) return taken.status().WithContext(label);
  RPFS_ASSIGN_OR_RETURN(auto rp, impl_->FindRpById(vm, c.rp_id));
  std::string xml = rp ? rp->domain_xml : "";
  if (xml.empty()) {
    auto dom = impl_->DomainOf(vmrec);
    if (!dom.ok()) return dom.status().WithContext(label);
    xml = dom->xml;
  }
  RPFS_ASSIGN_OR_RETURN(DomainInfo defined, hv->DefineCopy(xml, domain, disk_paths));
  return defined.uuid;
}

Status Repository::Impl::CheckDomainShutOff(const format::VmRecord& vm) {
  RPFS_ASSIGN_OR_RETURN(DomainInfo dom, DomainOf(vm));
  if (dom.state != DomainState::kShutOff) {
    return Status::Busy(DomainLabel(vm) + " is " + DomainStateName(dom.state) +
                        ": shut it off first (virsh shutdown or destroy)");
  }
  return Status::OK();
}

Status Repository::Impl::AfterDomainRollback(const format::VmRecord& vm,
                                             const format::RpRecord& rp) {
  RPFS_ASSIGN_OR_RETURN(auto hv, HypervisorFor(vm.libvirt_uri));
  RPFS_RETURN_IF_ERROR(hv->DeleteCheckpoints(vm.domain_uuid, kCheckpointPrefix, ""));
  const format::RpStream* memory = FindStream(rp, kMemoryStream);
  if (memory == nullptr) return Status::OK();
  RPFS_ASSIGN_OR_RETURN(auto dir, MakeWorkDir(store->dir()));
  std::string file = *dir + "/memory.state";
  {
    UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd.valid()) return Status::FromErrno(errno, "creating " + file);
    RPFS_RETURN_IF_ERROR(
        rp::ExportStream(store.get(), &pages, *memory, fd.get(), /*sparse=*/true, nullptr));
    if (::fsync(fd.get()) != 0) return Status::FromErrno(errno, "writing " + file);
  }
  return hv->RestoreMemory(vm.domain_uuid, file, rp.domain_xml)
      .WithContext("restoring the memory state of ", RpLabel(vm.name, rp.name));
}

}  // namespace rpfs
