#include "virt/libvirt_hypervisor.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <chrono>
#include <map>
#include <mutex>

#include "util/clock.h"
#include "util/log.h"
#include "virt/domain_xml.h"
#include "virt/guest_exec.h"

namespace rpfs::virt {
namespace {

// libvirt's last error as a Status: a missing domain is NotFound, everything else names
// what we were doing and libvirt's message.
Status LibvirtError(const std::string& what) {
  virErrorPtr e = virGetLastError();
  std::string msg = e != nullptr && e->message != nullptr ? e->message : "unknown libvirt error";
  int code = e != nullptr ? e->code : 0;
  if (code == VIR_ERR_NO_DOMAIN) return Status::NotFound(what + ": " + msg);
  if (code == VIR_ERR_NO_SUPPORT || code == VIR_ERR_ARGUMENT_UNSUPPORTED ||
      code == VIR_ERR_AGENT_UNRESPONSIVE || code == VIR_ERR_OPERATION_UNSUPPORTED) {
    return Status::NotSupported(what + ": " + msg);
  }
  if (code == VIR_ERR_OPERATION_INVALID) return Status::Busy(what + ": " + msg);
  return Status::IOError(what + ": " + msg);
}

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

struct DomainFree {
  void operator()(virDomainPtr d) const { virDomainFree(d); }
};
using DomainRef = std::unique_ptr<virDomain, DomainFree>;

std::string TakeString(char* s) {
  std::string out = s != nullptr ? s : "";
  free(s);  // NOLINT: libvirt allocates with malloc
  return out;
}

DomainState StateOf(int state) {
  switch (state) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
      return DomainState::kRunning;
    case VIR_DOMAIN_PAUSED:
    case VIR_DOMAIN_PMSUSPENDED:
      return DomainState::kPaused;
    case VIR_DOMAIN_SHUTOFF:
    case VIR_DOMAIN_CRASHED:
      return DomainState::kShutOff;
    default:
      return DomainState::kOther;
  }
}

class LibvirtHypervisor;

class LibvirtPointInTime final : public PointInTime {
 public:
  LibvirtPointInTime(DomainRef dom, std::string name, std::string since, std::string checkpoint)
      : dom_(std::move(dom)),
        name_(std::move(name)),
        since_(std::move(since)),
        checkpoint_(std::move(checkpoint)) {}
  ~LibvirtPointInTime() override {
    EndJob();
    if (!kept_ && !checkpoint_.empty()) DeleteCheckpoint(checkpoint_);
  }

  const std::vector<FrozenDisk>& disks() const override { return disks_; }
  const std::string& domain_xml() const override { return xml_; }
  const std::string& memory_file() const override { return memory_; }
  bool incremental() const override { return incremental_; }
  bool quiesced() const override { return quiesced_; }
  const std::string& checkpoint() const override { return checkpoint_; }
  uint64_t paused_us() const override { return paused_us_; }

  Status Keep() override {
    kept_ = true;
    EndJob();
    if (!since_.empty() && since_ != checkpoint_) DeleteCheckpoint(since_);
    return Status::OK();
  }
  void set_checkpoint(std::string c) { checkpoint_ = std::move(c); }

  std::vector<FrozenDisk> disks_;
  std::string xml_;
  std::string memory_;
  bool incremental_ = false;
  bool quiesced_ = false;
  uint64_t paused_us_ = 0;
  bool job_ = false;

 private:
  void EndJob() {
    if (!job_) return;
    job_ = false;
    (void)virDomainAbortJob(dom_.get());  // a pull backup ends only by abort
  }
  void DeleteCheckpoint(const std::string& name) {
    virDomainCheckpointPtr cp = virDomainCheckpointLookupByName(dom_.get(), name.c_str(), 0);
    if (cp == nullptr) return;
    (void)virDomainCheckpointDelete(cp, 0);
    virDomainCheckpointFree(cp);
  }

  DomainRef dom_;
  std::string name_;
  std::string since_;
  std::string checkpoint_;
  bool kept_ = false;
};

class LibvirtHypervisor final : public Hypervisor {
 public:
  LibvirtHypervisor(virConnectPtr conn, std::string uri) : conn_(conn), uri_(std::move(uri)) {}
  ~LibvirtHypervisor() override { virConnectClose(conn_); }

  const std::string& uri() const override { return uri_; }

  Result<std::vector<DomainInfo>> ListDomains() override {
    virDomainPtr* doms = nullptr;
    int n = virConnectListAllDomains(conn_, &doms, 0);
    if (n < 0) return LibvirtError("listing the domains of " + uri_);
    std::vector<DomainRef> refs;
    for (int i = 0; i < n; ++i) refs.emplace_back(doms[i]);
    free(doms);  // NOLINT
    std::vector<DomainInfo> out;
    for (auto& d : refs) {
      auto info = Describe(d.get());
      if (info.ok()) {
        out.push_back(std::move(*info));
      } else if (!info.status().IsNotFound()) {  // undefined meanwhile: skip it
        return info.status();
      }
    }
    return out;
  }

  Result<DomainInfo> GetDomain(const std::string& id) override {
    RPFS_ASSIGN_OR_RETURN(DomainRef d, Lookup(id));
    return Describe(d.get());
  }

  // Long (~65 lines) on purpose: libvirt's pull-backup protocol is a fixed sequence
  // (checkpoint XML, backup XML, begin, job info) whose cleanup on each failure depends on
  // how far it got; one function keeps that order readable.
  Result<std::unique_ptr<PointInTime>> BeginPointInTime(const std::string& uuid,
                                                        const PointInTimeRequest& req) override {
    RPFS_ASSIGN_OR_RETURN(DomainRef d, Lookup(uuid));
    RPFS_ASSIGN_OR_RETURN(DomainInfo info, Describe(d.get()));
    const std::string what = "domain " + info.name;
    virDomainPtr dom = d.get();
    auto pit =
        std::make_unique<LibvirtPointInTime>(std::move(d), info.name, req.since, req.checkpoint);
    pit->xml_ = info.xml;

    AbortOurStaleJob(dom, req.work_dir);
    // Quiesce while the guest runs (the agent must answer), then pause for the instant.
    bool frozen = false;
    if (req.quiesce) {
      if (virDomainFSFreeze(dom, nullptr, 0, 0) < 0) {
        return LibvirtError(what + ": cannot quiesce (is qemu-guest-agent running in it?)");
      }
      frozen = true;
    }
    auto thaw = [&] {
      if (frozen) (void)virDomainFSThaw(dom, nullptr, 0, 0);
      frozen = false;
    };
    int64_t paused_at = MonotonicMicros();
    bool paused_by_us = info.state == DomainState::kRunning;
    if (paused_by_us && virDomainSuspend(dom) < 0) {
      thaw();
      return LibvirtError(what + ": cannot pause it");
    }
    auto resume = [&] {
      if (paused_by_us) (void)virDomainResume(dom);
      paused_by_us = false;
      pit->paused_us_ = static_cast<uint64_t>(MonotonicMicros() - paused_at);
      thaw();
    };

    PointInTimeRequest use = req;
    bool any_qcow2 = false;
    for (const auto& disk : info.disks) any_qcow2 |= disk.format == "qcow2";
    if (!any_qcow2) use.checkpoint.clear();  // only qcow2 disks hold bitmaps
    pit->set_checkpoint(use.checkpoint);
    // The memory is saved first: while a backup job runs libvirt refuses it (state change
    // lock). Saving it hands qemu's bitmaps back to the image files until the guest
    // resumes, so the job cannot start from `since`: it exports whole disks, and the
    // extents written since come from the files' own copy of the bitmap, read now, while
    // nothing can write them.
    std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> saved_dirty;
    if (req.memory) {
      Status m = SaveMemory(dom, info, req.work_dir, pit.get());
      if (!m.ok()) {
        resume();
        return m;
      }
      saved_dirty = ReadSavedBitmaps(info, use.since, req.read_file_bitmap);
      use.since.clear();
    }
    Status s = StartBackup(dom, info, use, pit.get());
    if (!s.ok() && !use.since.empty()) {
      // The checkpoint is gone or its bitmap unusable (a crash, a restart without a clean
      // shutdown): read everything this time.
      PointInTimeRequest full = use;
      full.since.clear();
      s = StartBackup(dom, info, full, pit.get());
    }
    if (!s.ok()) {
      resume();
      return s;
    }
    resume();
    UseSavedBitmaps(saved_dirty, pit.get());
    pit->quiesced_ = req.quiesce;
    return std::unique_ptr<PointInTime>(std::move(pit));
  }

  Status DeleteCheckpoints(const std::string& uuid, const std::string& prefix,
                           const std::string& keep) override {
    RPFS_ASSIGN_OR_RETURN(DomainRef d, Lookup(uuid));
    virDomainCheckpointPtr* cps = nullptr;
    int n = virDomainListAllCheckpoints(d.get(), &cps, 0);
    if (n < 0) return LibvirtError("listing the checkpoints of domain " + uuid);
    Status first;
    for (int i = 0; i < n; ++i) {
      std::string name = virDomainCheckpointGetName(cps[i]);
      if (name.rfind(prefix, 0) == 0 && name != keep && virDomainCheckpointDelete(cps[i], 0) < 0 &&
          first.ok()) {
        // A shut-off domain whose bitmaps qemu-img cannot drop: forget the metadata at least
        // (a stale bitmap costs a little space, never a wrong RP: rpfs no longer uses it).
        if (virDomainCheckpointDelete(cps[i], VIR_DOMAIN_CHECKPOINT_DELETE_METADATA_ONLY) < 0) {
          first = LibvirtError("deleting checkpoint " + name);
        }
      }
      virDomainCheckpointFree(cps[i]);
    }
    free(cps);  // NOLINT
    return first;
  }

  Result<std::string> RequestShutdown(const std::string& uuid) override {
    RPFS_ASSIGN_OR_RETURN(DomainRef d, Lookup(uuid));
    // ACPI first: most guests answer the power button, and the call returns at once.
    // The agent only when that fails: libvirt's agent shutdown blocks (a sync, then up to a
    // minute for the guest's event), which would eat the caller's timeout.
    if (virDomainShutdownFlags(d.get(), VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) == 0) {
      return std::string("ACPI");
    }
    std::string acpi_error = LibvirtError("").message();
    if (virDomainShutdownFlags(d.get(), VIR_DOMAIN_SHUTDOWN_GUEST_AGENT) == 0) {
      return std::string("guest agent, ACPI failed");
    }
    return Status::IOError("asking domain " + uuid + " to shut down (ACPI" + acpi_error +
                           "; it has no guest agent that answers)");
  }

  Status Destroy(const std::string& uuid) override {
    RPFS_ASSIGN_OR_RETURN(DomainRef d, Lookup(uuid));
    if (virDomainDestroy(d.get()) < 0) return LibvirtError("destroying domain " + uuid);
    return Status::OK();
  }

  Status Start(const std::string& uuid) override {
    RPFS_ASSIGN_OR_RETURN(DomainRef d, Lookup(uuid));
    if (virDomainCreate(d.get()) < 0) return LibvirtError("starting domain " + uuid);
    return Status::OK();
  }

  Result<DomainInfo> BootDrill(const std::string& source_xml, const std::string& name,
                               const std::map<std::string, std::string>& disk_paths,
                               const std::string& console_file) override {
    RPFS_ASSIGN_OR_RETURN(std::string xml,
                          DrillDomainXml(source_xml, name, disk_paths, console_file));
    virDomainPtr dom = virDomainCreateXML(conn_, xml.c_str(), VIR_DOMAIN_START_AUTODESTROY);
    if (dom == nullptr) return LibvirtError("starting drill domain " + name);
    DomainRef d(dom);
    auto info = Describe(d.get());
    // The caller cannot destroy a domain whose UUID it never got: do it here (autodestroy
    // would only act when this connection closes, at the end of a long-lived daemon).
    if (!info.ok()) (void)virDomainDestroy(dom);
    return info;
  }

  Status PingAgent(const std::string& uuid) override {
    RPFS_ASSIGN_OR_RETURN(DomainRef d, Lookup(uuid));
    long long seconds = 0;  // NOLINT(google-runtime-int): libvirt's type
    unsigned int nanos = 0;
    // guest-get-time: the cheapest question the agent answers (libvirt has no bare ping
    // outside libvirt-qemu).
    if (virDomainGetTime(d.get(), &seconds, &nanos, 0) < 0) {
      return LibvirtError("asking the guest agent of domain " + uuid);
    }
    return Status::OK();
  }

  Result<GuestExecResult> GuestExec(const std::string& uuid, const std::vector<std::string>& argv,
                                    uint32_t timeout_s) override {
    RPFS_ASSIGN_OR_RETURN(DomainRef d, Lookup(uuid));
    return RunInGuest(d.get(), virDomainGetName(d.get()), argv, timeout_s);
  }

  Status RestoreMemory(const std::string& uuid, const std::string& memory_file,
                       const std::string& xml) override {
    RPFS_ASSIGN_OR_RETURN(DomainRef d, Lookup(uuid));
    const char* dxml = xml.empty() ? nullptr : xml.c_str();
    if (virDomainRestoreFlags(conn_, memory_file.c_str(), dxml, VIR_DOMAIN_SAVE_RUNNING) < 0) {
      return LibvirtError("restoring domain " + uuid + " from " + memory_file);
    }
    return Status::OK();
  }

  Result<DomainInfo> DefineCopy(const std::string& source_xml, const std::string& name,
                                const std::map<std::string, std::string>& disk_paths) override {
    RPFS_ASSIGN_OR_RETURN(std::string xml, CopyDomainXml(source_xml, name, disk_paths));
    virDomainPtr dom = virDomainDefineXML(conn_, xml.c_str());
    if (dom == nullptr) return LibvirtError("defining domain " + name);
    DomainRef d(dom);
    return Describe(d.get());
  }

 private:
  Result<DomainRef> Lookup(const std::string& id) {
    virDomainPtr d = virDomainLookupByUUIDString(conn_, id.c_str());
    if (d == nullptr) d = virDomainLookupByName(conn_, id.c_str());
    if (d == nullptr) {
      virErrorPtr e = virGetLastError();
      if (e == nullptr || e->code == VIR_ERR_NO_DOMAIN || e->code == VIR_ERR_INVALID_ARG) {
        return Status::NotFound("libvirt domain " + id + " does not exist at " + uri_);
      }
      return LibvirtError("looking up libvirt domain " + id + " at " + uri_);
    }
    return DomainRef(d);
  }

  Result<DomainInfo> Describe(virDomainPtr d) {
    DomainInfo info;
    char uuid[VIR_UUID_STRING_BUFLEN];
    if (virDomainGetUUIDString(d, uuid) < 0) return LibvirtError("reading a domain's uuid");
    info.uuid = uuid;
    const char* name = virDomainGetName(d);
    info.name = name != nullptr ? name : "";
    int state = 0;
    int reason = 0;
    if (virDomainGetState(d, &state, &reason, 0) < 0) {
      return LibvirtError("reading the state of domain " + info.name);
    }
    info.state = StateOf(state);
    info.xml = TakeString(virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE));
    if (info.xml.empty()) return LibvirtError("reading the definition of domain " + info.name);
    RPFS_ASSIGN_OR_RETURN(ParsedDomain parsed, ParseDomainXml(info.xml));
    info.disks = std::move(parsed.disks);
    return info;
  }

  // A pull backup whose NBD socket lies in a directory we make: a job left by an rpfs that
  // was killed before it could end it. It would keep every later backup out.
  void AbortOurStaleJob(virDomainPtr dom, const std::string& work_dir) {
    std::string parent = work_dir.substr(0, work_dir.rfind('/') + 1);
    std::string xml = TakeString(virDomainBackupGetXMLDesc(dom, 0));
    if (!xml.empty() && !parent.empty() && xml.find("socket='" + parent) != std::string::npos) {
      (void)virDomainAbortJob(dom);
    }
    virResetLastError();
  }

  Status StartBackup(virDomainPtr dom, const DomainInfo& info, const PointInTimeRequest& req,
                     LibvirtPointInTime* pit) {
    const std::string socket = req.work_dir + "/nbd.sock";
    std::string backup = "<domainbackup mode='pull'>";
    if (!req.since.empty()) backup += "<incremental>" + XmlEscape(req.since) + "</incremental>";
    backup += "<server transport='unix' socket='" + XmlEscape(socket) + "'/><disks>";
    std::string checkpoint;
    if (!req.checkpoint.empty()) {
      checkpoint = "<domaincheckpoint><name>" + XmlEscape(req.checkpoint) + "</name><disks>";
    }
    for (const auto& d : info.disks) {
      const bool bitmap = d.format == "qcow2";
      backup += "<disk name='" + XmlEscape(d.target) + "' backup='yes' type='file'";
      if (!req.since.empty()) {
        backup += bitmap ? " backupmode='incremental' incremental='" + XmlEscape(req.since) + "'"
                         : std::string(" backupmode='full'");
      }
      backup +=
          "><scratch file='" + XmlEscape(req.work_dir + "/" + d.target + ".scratch") + "'/></disk>";
      if (!checkpoint.empty()) {
        checkpoint += "<disk name='" + XmlEscape(d.target) + "' checkpoint='" +
                      (bitmap ? "bitmap" : "no") + "'/>";
      }
    }
    backup += "</disks></domainbackup>";
    if (!checkpoint.empty()) checkpoint += "</disks></domaincheckpoint>";
    if (virDomainBackupBegin(dom, backup.c_str(), checkpoint.empty() ? nullptr : checkpoint.c_str(),
                             0) < 0) {
      return LibvirtError("domain " + info.name + ": starting the backup job" +
                          (req.since.empty() ? "" : " from checkpoint " + req.since));
    }
    pit->job_ = true;
    pit->incremental_ = !req.since.empty();
    pit->disks_.clear();
    for (const auto& d : info.disks) {
      FrozenDisk f;
      f.target = d.target;
      f.nbd_socket = socket;
      f.nbd_export = d.target;
      f.format = d.format;
      if (pit->incremental_ && d.format == "qcow2") {
        f.dirty_context = "qemu:dirty-bitmap:backup-" + d.target;
      }
      pit->disks_.push_back(std::move(f));
    }
    return Status::OK();
  }

  // The bitmap of checkpoint `since` in each qcow2 file, as the memory save left it. A disk
  // whose bitmap cannot be read (missing, still marked in use) is left out: it is read whole.
  static std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> ReadSavedBitmaps(
      const DomainInfo& info, const std::string& since,
      const PointInTimeRequest::BitmapReader& read) {
    std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> out;
    if (since.empty() || !read) return out;
    for (const auto& d : info.disks) {
      if (d.format != "qcow2" || d.block) continue;
      auto extents = read(d.path, since);
      if (extents.ok()) {
        out[d.target] = std::move(*extents);
      } else {
        log::Log(
            log::Severity::kWarning, "saved-bitmap-unreadable",
            {{"domain", info.name}, {"disk", d.target}, {"error", extents.status().message()}});
      }
    }
    return out;
  }

  // The full export of each disk in `dirty` is read only where its saved bitmap says.
  static void UseSavedBitmaps(
      std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>>& dirty,
      LibvirtPointInTime* pit) {
    for (auto& f : pit->disks_) {
      auto it = dirty.find(f.target);
      if (it == dirty.end()) continue;
      f.has_changed_extents = true;
      f.changed_extents = std::move(it->second);
      pit->incremental_ = true;
    }
  }

  // The memory state at the paused instant, as a libvirt save image (what
  // virDomainRestoreFlags reads), without stopping the domain: an external memory-only
  // snapshot with no metadata.
  Status SaveMemory(virDomainPtr dom, const DomainInfo& info, const std::string& work_dir,
                    LibvirtPointInTime* pit) {
    const std::string file = work_dir + "/memory.state";
    std::string xml = "<domainsnapshot><name>rpfs-memory</name><memory snapshot='external' file='" +
                      XmlEscape(file) + "'/><disks>";
    for (const auto& d : info.disks) {
      xml += "<disk name='" + XmlEscape(d.target) + "' snapshot='no'/>";
    }
    xml += "</disks></domainsnapshot>";
    virDomainSnapshotPtr snap =
        virDomainSnapshotCreateXML(dom, xml.c_str(), VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA);
    if (snap == nullptr) return LibvirtError("domain " + info.name + ": saving the memory state");
    virDomainSnapshotFree(snap);
    pit->memory_ = file;
    return Status::OK();
  }

  virConnectPtr conn_;
  std::string uri_;
};

// libvirt prints every error to stderr unless told otherwise; we report them ourselves.
void QuietErrors(void*, virErrorPtr) {}

}  // namespace

Result<std::shared_ptr<Hypervisor>> ConnectLibvirt(const std::string& uri) {
  static std::once_flag once;
  std::call_once(once, [] {
    virInitialize();
    virSetErrorFunc(nullptr, QuietErrors);
  });
  virConnectPtr conn = virConnectOpen(uri.empty() ? nullptr : uri.c_str());
  if (conn == nullptr) {
    return Status::IOError("cannot connect to libvirt at " + (uri.empty() ? "(default)" : uri) +
                           ": " + LibvirtError("").message().substr(2));
  }
  std::string real = TakeString(virConnectGetURI(conn));
  return std::shared_ptr<Hypervisor>(std::make_shared<LibvirtHypervisor>(conn, real));
}

std::string LibvirtVersion() {
  unsigned long version = 0;  // NOLINT(runtime/int): libvirt's type
  if (virGetVersion(&version, nullptr, nullptr) != 0) return "unknown";
  return std::to_string(version / 1000000) + "." + std::to_string(version / 1000 % 1000) + "." +
         std::to_string(version % 1000);
}

}  // namespace rpfs::virt
