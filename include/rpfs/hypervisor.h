// Hypervisor: what rpfs needs from libvirt, as a narrow interface the repository calls.
//
// The repository (rp layer) depends only on this header; src/virt implements it over
// libvirt (the only code that includes libvirt), and tests/support has a fake that can
// fail at every step. Domains are identified by UUID: a name can be reused by another
// domain after an undefine.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rpfs/status.h"

namespace rpfs {

enum class DomainState { kRunning, kPaused, kShutOff, kOther };
const char* DomainStateName(DomainState state);  // "running", "paused", "shut off", "other"

struct DomainDisk {
  std::string target;  // "vda"
  std::string path;    // image file or block device
  std::string format;  // "raw" or "qcow2"
  bool block = false;  // <disk type='block'>
};

struct DomainInfo {
  std::string name;
  std::string uuid;
  DomainState state = DomainState::kOther;
  std::string xml;  // the persistent definition (inactive XML)
  std::vector<DomainDisk> disks;
};

// One disk of a domain fixed at one instant, readable while its PointInTime lives.
struct FrozenDisk {
  std::string target;
  // An NBD export on a unix socket (the backup job of a running domain)...
  std::string nbd_socket;
  std::string nbd_export;
  // ...with, for an incremental point, the meta context listing the extents written since
  // the checkpoint it was asked to start from; empty when everything must be read.
  std::string dirty_context;
  // ...or, when nbd_socket is empty, an image file holding the disk at that instant...
  std::string path;
  std::string format;
  // ...with, when the hypervisor tracks writes itself, the extents written since `since`
  // (offset, length).
  bool has_changed_extents = false;
  std::vector<std::pair<uint64_t, uint64_t>> changed_extents;
};

struct PointInTimeRequest {
  bool quiesce = false;  // freeze guest filesystems through the agent around the instant
  bool memory = false;   // save the memory state at the same instant
  // The checkpoint of the previous RP: the qcow2 disks then export only what changed since.
  // When it is missing or unusable, the point falls back to a full one (incremental() false).
  std::string since;
  // A checkpoint to create at this instant, on the disks that can have one (qcow2); ""
  // = none. PointInTime::checkpoint() says whether it was made.
  std::string checkpoint;
  std::string work_dir;  // for the NBD socket, scratch files and the memory file
  // Reads the persistent bitmap `bitmap` stored in the qcow2 file `path`: the extents
  // (offset, length) it marks as written. With `memory` the backup job cannot start from
  // `since` (libvirt refuses once the memory save has handed the image back to the file),
  // but the file then holds that checkpoint's bitmap: this reads it while the guest is
  // still paused. Unset, or failing, a point with memory reads its disks whole.
  using BitmapReader = std::function<Result<std::vector<std::pair<uint64_t, uint64_t>>>(
      const std::string& path, const std::string& bitmap)>;
  BitmapReader read_file_bitmap;
};

// A command run in a guest through its agent (guest-exec).
struct GuestExecResult {
  bool exited = false;  // false: still running when the wait ended
  int exit_code = 0;    // when it exited normally
  int signal = 0;       // the signal that ended it; 0 = none
  std::string out;      // what it wrote to stdout and stderr (the agent caps each)
  std::string err;
};

class PointInTime {
 public:
  // Ends the backup job if still running; deletes the new checkpoint unless Keep() ran.
  virtual ~PointInTime() = default;
  virtual const std::vector<FrozenDisk>& disks() const = 0;
  virtual const std::string& domain_xml() const = 0;   // the definition at that instant
  virtual const std::string& memory_file() const = 0;  // "" without memory
  // The disks with a dirty_context or changed extents are incremental.
  virtual bool incremental() const = 0;
  virtual bool quiesced() const = 0;
  virtual const std::string& checkpoint() const = 0;  // the checkpoint made, "" = none
  virtual uint64_t paused_us() const = 0;             // how long the guest was paused
  // The point was stored: end the job, keep the new checkpoint, drop `since`.
  virtual Status Keep() = 0;
};

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;
  virtual const std::string& uri() const = 0;
  virtual Result<std::vector<DomainInfo>> ListDomains() = 0;
  // By UUID or name. NotFound when there is no such domain.
  virtual Result<DomainInfo> GetDomain(const std::string& uuid_or_name) = 0;
  virtual Result<std::unique_ptr<PointInTime>> BeginPointInTime(const std::string& uuid,
                                                                const PointInTimeRequest& req) = 0;
  // Deletes the domain's checkpoints whose name starts with `prefix`, except `keep`.
  virtual Status DeleteCheckpoints(const std::string& uuid, const std::string& prefix,
                                   const std::string& keep) = 0;
  // Starts the shut-off domain from a memory file saved by a PointInTime, with `xml` as its
  // definition; the domain runs afterwards.
  virtual Status RestoreMemory(const std::string& uuid, const std::string& memory_file,
                               const std::string& xml) = 0;
  // Asks the guest to shut down: an ACPI power-button press, or when that cannot be sent, a
  // request through the guest agent. A guest may ignore it; the caller polls GetDomain for
  // kShutOff. Says how it asked ("ACPI", "guest agent, ACPI failed").
  virtual Result<std::string> RequestShutdown(const std::string& uuid) = 0;
  // Pulls the plug (virsh destroy): the guest gets no say.
  virtual Status Destroy(const std::string& uuid) = 0;
  // Boots the shut-off domain.
  virtual Status Start(const std::string& uuid) = 0;
  // Starts a transient, isolated copy of a domain for a restore drill: `source_xml` with a
  // new name and UUID, the disks of `disk_paths` (target -> raw image), no network, and its
  // first serial port writing to `console_file`. libvirt destroys it when this connection
  // closes, so a killed rpfs leaves no drill running.
  virtual Result<DomainInfo> BootDrill(const std::string& source_xml, const std::string& name,
                                       const std::map<std::string, std::string>& disk_paths,
                                       const std::string& console_file) = 0;
  // OK when the guest agent of the running domain answers.
  virtual Status PingAgent(const std::string& uuid) = 0;
  // Runs `argv` (argv[0] a path in the guest) through the guest agent of the running domain
  // and waits up to `timeout_s` for it to end, capturing its output. An error means it
  // could not be started (no agent, no such program); a command still running at the
  // deadline is a result with exited false.
  virtual Result<GuestExecResult> GuestExec(const std::string& uuid,
                                            const std::vector<std::string>& argv,
                                            uint32_t timeout_s) = 0;
  // Defines a new persistent domain from `source_xml` with a new name, a new UUID, new MAC
  // addresses and the disks of `disk_paths` (target -> raw image). Returns it.
  virtual Result<DomainInfo> DefineCopy(const std::string& source_xml, const std::string& name,
                                        const std::map<std::string, std::string>& disk_paths) = 0;
};

// Connects to the hypervisor at a URI ("qemu:///system"). Unavailable libvirt is an error
// naming the URI.
using HypervisorFactory =
    std::function<Result<std::shared_ptr<Hypervisor>>(const std::string& uri)>;

}  // namespace rpfs
