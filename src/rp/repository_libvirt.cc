// The libvirt side of the repository: importing domains, reading a domain's disks at one
// instant (with its memory state and checkpoints), and what a rollback owes the domain.
// libvirt itself is behind rpfs::Hypervisor (src/virt); nothing here includes it.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>

#include "format/keys.h"
#include "rp/disk_reader.h"
#include "rp/repository_parts.h"
#include "rpfs/names.h"
#include "util/clock.h"
#include "util/fd.h"

namespace rpfs {

using rp::CheckReadableDisks;
using rp::DomainLabel;
using rp::ToVmDisk;

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
  impl_->domains.SetFactory(std::move(factory));
}

Result<VmInfo> Repository::ImportVm(const std::string& uri, const std::string& domain,
                                    const std::string& vm) {
  RPFS_ASSIGN_OR_RETURN(auto hv, impl_->domains.HypervisorFor(uri));
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
    auto lock = impl_->gate.LockForWrite();
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
    lock.Post(StoreChange::Kind::kVmAdded, name);
  }
  return GetVm(name);
}

Result<std::string> Repository::VmState(const std::string& vm) {
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->catalog.LoadVm(vm));
  if (rec.kind != format::VmKind::kLibvirt) return std::string("image files");
  RPFS_ASSIGN_OR_RETURN(DomainInfo dom, impl_->domains.DomainOf(rec));
  return std::string(DomainStateName(dom.state));
}

Result<std::string> Repository::DomainXmlById(const std::string& vm, uint64_t rp_id) const {
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->catalog.FindRpById(vm, rp_id));
  if (!rec || rec->domain_xml.empty()) {
    return Status::NotFound("rp #" + std::to_string(rp_id) + " of vm " + vm +
                            " has no domain definition");
  }
  return rec->domain_xml;
}

Result<std::string> Repository::DefineCloneDomain(
    const std::string& vm, const std::string& clone, const std::string& domain,
    const std::map<std::string, std::string>& disk_paths) {
  RPFS_ASSIGN_OR_RETURN(auto vmrec, impl_->catalog.LoadVm(vm));
  const std::string label = "defining domain " + domain + " for clone " + vm + "/" + clone;
  if (vmrec.kind != format::VmKind::kLibvirt) {
    return Status::InvalidArgument(label + ": vm " + vm + " is not a libvirt domain");
  }
  RPFS_ASSIGN_OR_RETURN(auto c, impl_->catalog.LoadClone(vm, clone));
  RPFS_ASSIGN_OR_RETURN(auto hv, impl_->domains.HypervisorFor(vmrec.libvirt_uri));
  auto taken = hv->GetDomain(domain);
  if (taken.ok()) return Status::AlreadyExists(label + ": a domain of that name exists");
  if (!taken.status().IsNotFound()) return taken.status().WithContext(label);
  RPFS_ASSIGN_OR_RETURN(auto rp, impl_->catalog.FindRpById(vm, c.rp_id));
  std::string xml = rp ? rp->domain_xml : "";
  if (xml.empty()) {
    auto dom = impl_->domains.DomainOf(vmrec);
    if (!dom.ok()) return dom.status().WithContext(label);
    xml = dom->xml;
  }
  RPFS_ASSIGN_OR_RETURN(DomainInfo defined, hv->DefineCopy(xml, domain, disk_paths));
  return defined.uuid;
}

}  // namespace rpfs
