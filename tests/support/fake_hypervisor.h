// FakeHypervisor: an in-memory libvirt for repository tests. Domains have raw image files
// as disks; a point in time is a copy of them taken at BeginPointInTime, writes made
// through Write() are tracked per checkpoint (the fake's dirty bitmap), and every step can
// be made to fail.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "rpfs/hypervisor.h"

namespace rpfs::testing {

class FakeHypervisor : public Hypervisor {
 public:
  // Where a test can make the fake fail.
  enum class Fail {
    kNone,
    kConnect,             // the factory: libvirt is down
    kGetDomain,           // every lookup fails with an I/O error (libvirt went away)
    kBegin,               // the backup job does not start
    kIncremental,         // starting from a checkpoint fails (its bitmap is unusable)
    kMemory,              // saving the memory state fails
    kDiskVanishes,        // the job dies: its exported copy is gone before it is read
    kUndefineAfterBegin,  // the domain is undefined while its disks are read
    kRestore,             // restoring the memory state fails
    kStart,               // starting a domain fails
  };

  explicit FakeHypervisor(std::string dir) : dir_(std::move(dir)) {}

  // Defines a domain whose disks are the given images (target -> path): raw, or qcow2 when
  // the name ends in .qcow2. A point in time copies them; for a qcow2 disk a checkpoint is
  // also a bitmap in the file (qemu-img bitmap --add) and the changed extents of an
  // incremental point are that bitmap's, so tests write qcow2 disks with qemu-io.
  std::string AddDomain(const std::string& name,
                        const std::vector<std::pair<std::string, std::string>>& disks,
                        DomainState state = DomainState::kRunning);
  void SetState(const std::string& uuid, DomainState state);
  // Points a disk at another image (virsh edit): nothing is marked dirty, as qemu would not.
  void SetDiskPath(const std::string& uuid, const std::string& target, const std::string& path);
  void Undefine(const std::string& uuid);
  // Writes to a disk of the domain the way the guest would: recorded as dirty for every
  // checkpoint of the domain.
  void Write(const std::string& uuid, const std::string& target, uint64_t offset,
             const std::vector<std::byte>& data);
  void SetFail(Fail f) {
    std::lock_guard lock(mu_);
    fail_ = f;
  }
  // Bytes the next memory save writes.
  void SetMemory(std::vector<std::byte> memory) {
    std::lock_guard lock(mu_);
    memory_ = std::move(memory);
  }
  bool has_agent = false;
  // Whether the guest powers off when asked (ACPI); one that does not keeps running.
  bool obeys_shutdown = true;

  // What the fake saw.
  std::set<std::string> Checkpoints(const std::string& uuid);
  int jobs_running();
  std::string restored_xml;                // the XML of the last RestoreMemory
  std::vector<std::byte> restored_memory;  // the content of its memory file
  // What a drill's guest prints on its serial port when it boots (into the console file).
  std::string console_output;
  std::map<std::string, std::string> drill_disks;  // the disks of the last drill domain
  // What a command run through the agent gives (GuestExec: needs has_agent), and the argv
  // of the last one.
  GuestExecResult exec_result;
  std::vector<std::string> exec_argv;
  int shutdown_requests = 0;
  int destroys = 0;
  int starts = 0;

  HypervisorFactory Factory();

  // Hypervisor:
  const std::string& uri() const override { return uri_; }
  Result<std::vector<DomainInfo>> ListDomains() override;
  Result<DomainInfo> GetDomain(const std::string& uuid_or_name) override;
  Result<std::unique_ptr<PointInTime>> BeginPointInTime(const std::string& uuid,
                                                        const PointInTimeRequest& req) override;
  Status DeleteCheckpoints(const std::string& uuid, const std::string& prefix,
                           const std::string& keep) override;
  Result<std::string> RequestShutdown(const std::string& uuid) override;
  Status Destroy(const std::string& uuid) override;
  Status Start(const std::string& uuid) override;
  Result<DomainInfo> BootDrill(const std::string& source_xml, const std::string& name,
                               const std::map<std::string, std::string>& disk_paths,
                               const std::string& console_file) override;
  Status PingAgent(const std::string& uuid) override;
  Result<GuestExecResult> GuestExec(const std::string& uuid, const std::vector<std::string>& argv,
                                    uint32_t timeout_s) override;
  Status RestoreMemory(const std::string& uuid, const std::string& memory_file,
                       const std::string& xml) override;
  Result<DomainInfo> DefineCopy(const std::string& source_xml, const std::string& name,
                                const std::map<std::string, std::string>& disk_paths) override;

 private:
  struct Domain {
    DomainInfo info;
    bool transient = false;  // a drill's: gone once destroyed
    // checkpoint -> target -> extents written since it was made
    std::map<std::string, std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>>> dirty;
  };
  class Point;
  Result<Domain*> Find(const std::string& id);  // mu_ held
  void DropCheckpoint(const std::string& uuid, const std::string& cp);
  static std::string XmlOf(const DomainInfo& d);

  std::string dir_;
  std::string uri_ = "test:///rpfs-fake";
  std::mutex mu_;
  std::map<std::string, Domain> domains_;  // by uuid
  Fail fail_ = Fail::kNone;
  std::vector<std::byte> memory_;
  int next_uuid_ = 1;
  int jobs_ = 0;
  int copies_ = 0;
};

}  // namespace rpfs::testing
