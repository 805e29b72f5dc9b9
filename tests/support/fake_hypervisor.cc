#include "support/fake_hypervisor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "image/qcow2_bitmaps.h"
#include "support/images.h"
#include "support/run.h"

namespace rpfs::testing {
namespace {

// A copy that keeps the holes (only non-zero 4 KiB blocks are written), like qemu's export.
void CopySparse(const std::string& from, const std::string& to) {
  auto bytes = ReadAll(from);
  MakeSparseFile(to, bytes.size());
  const size_t block = 4096;
  for (size_t off = 0; off < bytes.size(); off += block) {
    size_t n = std::min(block, bytes.size() - off);
    bool zero = true;
    for (size_t i = 0; i < n && zero; ++i) zero = bytes[off + i] == std::byte{0};
    if (!zero)
      WriteAt(to, off, std::vector<std::byte>(bytes.begin() + off, bytes.begin() + off + n));
  }
}

}  // namespace

class FakeHypervisor::Point final : public PointInTime {
 public:
  Point(FakeHypervisor* hv, std::string uuid, std::string since, std::string checkpoint)
      : hv_(hv),
        uuid_(std::move(uuid)),
        since_(std::move(since)),
        checkpoint_(std::move(checkpoint)) {}
  ~Point() override {
    EndJob();
    if (!kept_ && !checkpoint_.empty()) hv_->DropCheckpoint(uuid_, checkpoint_);
    for (const auto& d : disks_) ::unlink(d.path.c_str());
  }
  const std::vector<FrozenDisk>& disks() const override { return disks_; }
  const std::string& domain_xml() const override { return xml_; }
  const std::string& memory_file() const override { return memory_; }
  bool incremental() const override { return incremental_; }
  bool quiesced() const override { return quiesced_; }
  const std::string& checkpoint() const override { return checkpoint_; }
  uint64_t paused_us() const override { return 1234; }
  Status Keep() override {
    kept_ = true;
    EndJob();
    if (!since_.empty()) hv_->DropCheckpoint(uuid_, since_);
    return Status::OK();
  }

  std::vector<FrozenDisk> disks_;
  std::string xml_;
  std::string memory_;
  bool incremental_ = false;
  bool quiesced_ = false;

 private:
  void EndJob() {
    if (ended_) return;
    ended_ = true;
    std::lock_guard lock(hv_->mu_);
    hv_->jobs_--;
  }
  FakeHypervisor* hv_;
  std::string uuid_;
  std::string since_;
  std::string checkpoint_;
  bool kept_ = false;
  bool ended_ = false;
};

std::string FakeHypervisor::XmlOf(const DomainInfo& d) {
  std::string xml = "<domain type='qemu'><name>" + d.name + "</name><uuid>" + d.uuid +
                    "</uuid><memory unit='MiB'>32</memory><devices>";
  for (const auto& disk : d.disks) {
    xml += "<disk type='file' device='disk'><driver name='qemu' type='" + disk.format +
           "'/><source file='" + disk.path + "'/><target dev='" + disk.target + "'/></disk>";
  }
  return xml + "</devices></domain>";
}

std::string FakeHypervisor::AddDomain(const std::string& name,
                                      const std::vector<std::pair<std::string, std::string>>& disks,
                                      DomainState state) {
  std::lock_guard lock(mu_);
  char uuid[40];
  std::snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012d", next_uuid_++);
  Domain d;
  d.info.name = name;
  d.info.uuid = uuid;
  d.info.state = state;
  for (const auto& [target, path] : disks) {
    const bool qcow2 = path.size() > 6 && path.substr(path.size() - 6) == ".qcow2";
    d.info.disks.push_back({target, path, qcow2 ? "qcow2" : "raw", false});
  }
  d.info.xml = XmlOf(d.info);
  domains_[uuid] = std::move(d);
  return uuid;
}

void FakeHypervisor::SetState(const std::string& uuid, DomainState state) {
  std::lock_guard lock(mu_);
  domains_.at(uuid).info.state = state;
}

void FakeHypervisor::SetDiskPath(const std::string& uuid, const std::string& target,
                                 const std::string& path) {
  std::lock_guard lock(mu_);
  for (auto& d : domains_.at(uuid).info.disks) {
    if (d.target == target) d.path = path;
  }
}

void FakeHypervisor::Undefine(const std::string& uuid) {
  std::lock_guard lock(mu_);
  domains_.erase(uuid);
}

void FakeHypervisor::Write(const std::string& uuid, const std::string& target, uint64_t offset,
                           const std::vector<std::byte>& data) {
  std::lock_guard lock(mu_);
  Domain& d = domains_.at(uuid);
  for (const auto& disk : d.info.disks) {
    if (disk.target == target) WriteAt(disk.path, offset, data);
  }
  for (auto& [cp, per_disk] : d.dirty) per_disk[target].push_back({offset, data.size()});
}

std::set<std::string> FakeHypervisor::Checkpoints(const std::string& uuid) {
  std::lock_guard lock(mu_);
  std::set<std::string> out;
  auto it = domains_.find(uuid);
  if (it == domains_.end()) return out;
  for (const auto& [cp, unused] : it->second.dirty) out.insert(cp);
  return out;
}

int FakeHypervisor::jobs_running() {
  std::lock_guard lock(mu_);
  return jobs_;
}

void FakeHypervisor::DropCheckpoint(const std::string& uuid, const std::string& cp) {
  std::lock_guard lock(mu_);
  auto it = domains_.find(uuid);
  if (it != domains_.end()) it->second.dirty.erase(cp);
}

HypervisorFactory FakeHypervisor::Factory() {
  return [this](const std::string&) -> Result<std::shared_ptr<Hypervisor>> {
    std::lock_guard lock(mu_);
    if (fail_ == Fail::kConnect) {
      return Status::IOError("cannot connect to libvirt at " + uri_ +
                             ": Failed to connect socket (fake: libvirtd is down)");
    }
    return std::shared_ptr<Hypervisor>(std::shared_ptr<void>(), this);  // not owned
  };
}

Result<FakeHypervisor::Domain*> FakeHypervisor::Find(const std::string& id) {
  if (fail_ == Fail::kGetDomain) return Status::IOError("fake: libvirt stopped answering");
  auto it = domains_.find(id);
  if (it != domains_.end()) return &it->second;
  for (auto& [uuid, d] : domains_) {
    if (d.info.name == id) return &d;
  }
  return Status::NotFound("libvirt domain " + id + " does not exist at " + uri_);
}

Result<std::vector<DomainInfo>> FakeHypervisor::ListDomains() {
  std::lock_guard lock(mu_);
  std::vector<DomainInfo> out;
  for (const auto& [uuid, d] : domains_) out.push_back(d.info);
  return out;
}

Result<DomainInfo> FakeHypervisor::GetDomain(const std::string& id) {
  std::lock_guard lock(mu_);
  RPFS_ASSIGN_OR_RETURN(Domain * d, Find(id));
  return d->info;
}

Result<std::unique_ptr<PointInTime>> FakeHypervisor::BeginPointInTime(
    const std::string& uuid, const PointInTimeRequest& req) {
  std::lock_guard lock(mu_);
  RPFS_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  if (fail_ == Fail::kBegin) {
    return Status::IOError("domain " + d->info.name + ": starting the backup job: fake failure");
  }
  if (req.quiesce && !has_agent) {
    return Status::NotSupported("domain " + d->info.name +
                                ": cannot quiesce (is qemu-guest-agent running in it?): "
                                "QEMU guest agent is not configured");
  }
  if (req.memory && fail_ == Fail::kMemory) {
    return Status::IOError("domain " + d->info.name + ": saving the memory state: fake failure");
  }
  // (No failure may return once the point exists: its destructor takes mu_.)
  auto p = std::make_unique<Point>(this, uuid, req.since, req.checkpoint);
  jobs_++;
  p->xml_ = d->info.xml;
  if (has_agent) {  // the definition then has the agent's channel, as libvirt's would
    p->xml_.insert(p->xml_.find("</devices>"),
                   "<channel type='unix'><target type='virtio' "
                   "name='org.qemu.guest_agent.0'/></channel>");
  }
  p->quiesced_ = req.quiesce;
  auto since = d->dirty.find(req.since);
  p->incremental_ = !req.since.empty() && since != d->dirty.end() && fail_ != Fail::kIncremental;
  for (const auto& disk : d->info.disks) {
    FrozenDisk f;
    f.target = disk.target;
    f.path = dir_ + "/point-" + std::to_string(copies_++) + "-" + disk.target;
    f.format = disk.format;
    CopySparse(disk.path, f.path);
    if (fail_ == Fail::kDiskVanishes) ::unlink(f.path.c_str());
    if (p->incremental_) {
      f.has_changed_extents = true;
      f.changed_extents = since->second[disk.target];
      if (disk.format == "qcow2") {
        // libvirt fails the job when the bitmap is unusable; the fake reads all instead.
        auto written = image::Qcow2DirtyExtents(disk.path, req.since);
        f.has_changed_extents = written.ok();
        f.changed_extents.clear();
        if (written.ok()) {
          for (const auto& e : *written) f.changed_extents.push_back({e.offset, e.length});
        }
      }
    }
    p->disks_.push_back(std::move(f));
  }
  // A qcow2 disk gets the checkpoint's bitmap in its file, as libvirt's checkpoints do; any
  // qemu tool that writes the image (qemu-io in tests) then records its writes there.
  for (const auto& disk : d->info.disks) {
    if (disk.format == "qcow2" && !req.checkpoint.empty()) {
      if (RunCommand({"qemu-img", "bitmap", "--add", disk.path, req.checkpoint}).exit_code != 0) {
        ADD_FAILURE() << "fake: qemu-img bitmap --add " << req.checkpoint << " " << disk.path;
      }
    }
  }
  if (req.memory) {
    p->memory_ = dir_ + "/memory-" + std::to_string(copies_++);
    MakeSparseFile(p->memory_, 0);
    WriteAt(p->memory_, 0, memory_);
  }
  if (!req.checkpoint.empty()) d->dirty[req.checkpoint];
  if (fail_ == Fail::kUndefineAfterBegin) domains_.erase(uuid);
  return std::unique_ptr<PointInTime>(std::move(p));
}

Status FakeHypervisor::DeleteCheckpoints(const std::string& uuid, const std::string& prefix,
                                         const std::string& keep) {
  std::lock_guard lock(mu_);
  RPFS_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  for (auto it = d->dirty.begin(); it != d->dirty.end();) {
    if (it->first.rfind(prefix, 0) == 0 && it->first != keep) {
      it = d->dirty.erase(it);
    } else {
      ++it;
    }
  }
  return Status::OK();
}

Result<std::string> FakeHypervisor::RequestShutdown(const std::string& uuid) {
  std::lock_guard lock(mu_);
  RPFS_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  ++shutdown_requests;
  if (d->info.state != DomainState::kRunning) {
    return Status::Busy("fake: domain " + uuid + " is not running");
  }
  if (obeys_shutdown) d->info.state = DomainState::kShutOff;
  return std::string("ACPI");
}

Status FakeHypervisor::Destroy(const std::string& uuid) {
  std::lock_guard lock(mu_);
  RPFS_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  ++destroys;
  d->info.state = DomainState::kShutOff;
  if (d->transient) domains_.erase(d->info.uuid);
  return Status::OK();
}

// The fake guest "boots" when the first disk has a boot sector (0x55 0xaa at 510), and then
// prints console_output.
Result<DomainInfo> FakeHypervisor::BootDrill(const std::string& source_xml, const std::string& name,
                                             const std::map<std::string, std::string>& disk_paths,
                                             const std::string& console_file) {
  std::lock_guard lock(mu_);
  if (fail_ == Fail::kStart) return Status::IOError("fake: starting drill domain failed");
  if (source_xml.empty()) return Status::InvalidArgument("fake: no domain XML");
  char uuid[40];
  std::snprintf(uuid, sizeof(uuid), "00000000-0000-4000-9000-%012d", next_uuid_++);
  Domain d;
  d.transient = true;
  d.info.name = name;
  d.info.uuid = uuid;
  d.info.state = DomainState::kRunning;
  for (const auto& [target, path] : disk_paths)
    d.info.disks.push_back({target, path, "raw", false});
  d.info.xml = XmlOf(d.info);
  domains_[uuid] = d;
  drill_disks = disk_paths;
  std::string sector(512, '\0');
  if (!disk_paths.empty()) {
    std::ifstream disk(disk_paths.begin()->second, std::ios::binary);
    disk.read(sector.data(), 512);
  }
  std::ofstream console(console_file, std::ios::binary | std::ios::trunc);
  if (sector[510] == '\x55' && sector[511] == '\xaa') console << console_output;
  return d.info;
}

Status FakeHypervisor::PingAgent(const std::string& uuid) {
  std::lock_guard lock(mu_);
  RPFS_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  if (!has_agent || d->info.state != DomainState::kRunning) {
    return Status::NotSupported("fake: no guest agent answers");
  }
  return Status::OK();
}

Result<GuestExecResult> FakeHypervisor::GuestExec(const std::string& uuid,
                                                  const std::vector<std::string>& argv, uint32_t) {
  RPFS_RETURN_IF_ERROR(PingAgent(uuid));
  std::lock_guard lock(mu_);
  exec_argv = argv;
  return exec_result;
}

Status FakeHypervisor::Start(const std::string& uuid) {
  std::lock_guard lock(mu_);
  RPFS_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  if (fail_ == Fail::kStart) return Status::IOError("fake: start failed");
  if (d->info.state != DomainState::kShutOff) {
    return Status::Busy("fake: domain " + uuid + " is already active");
  }
  ++starts;
  d->info.state = DomainState::kRunning;
  return Status::OK();
}

Status FakeHypervisor::RestoreMemory(const std::string& uuid, const std::string& memory_file,
                                     const std::string& xml) {
  std::lock_guard lock(mu_);
  RPFS_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  if (fail_ == Fail::kRestore) return Status::IOError("fake: restore failed");
  restored_xml = xml;
  restored_memory = ReadAll(memory_file);
  d->info.state = DomainState::kRunning;
  return Status::OK();
}

Result<DomainInfo> FakeHypervisor::DefineCopy(
    const std::string& source_xml, const std::string& name,
    const std::map<std::string, std::string>& disk_paths) {
  (void)source_xml;
  std::vector<std::pair<std::string, std::string>> disks(disk_paths.begin(), disk_paths.end());
  std::string uuid = AddDomain(name, disks, DomainState::kShutOff);
  return GetDomain(uuid);
}

}  // namespace rpfs::testing
