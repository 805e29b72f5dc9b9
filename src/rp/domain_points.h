// DomainPoints: what the repository asks of libvirt VMs, through rpfs::Hypervisor (the
// libvirt code itself is in src/virt): the connection per URI, the domain of a VM, the
// disks a new RP reads (a domain's point in time, or an image-file VM's files), and what a
// rollback owes the domain afterwards.
//
// hypervisors_mu (rank kRankHypervisors, rp/lock_order.h) guards the connection cache only;
// no libvirt call is made with it held except the factory's connect.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/records.h"
#include "image/image_source.h"
#include "rp/extent_map.h"
#include "rp/lock_order.h"
#include "rpfs/hypervisor.h"
#include "rpfs/repository.h"
#include "store/store.h"
#include "util/ordered_mutex.h"

namespace rpfs::rp {

// One disk a new RP reads; with `changed`, only those extents (the rest is the parent's).
struct DiskInput {
  std::string name;
  std::unique_ptr<image::ImageSource> source;
  std::optional<std::vector<image::Extent>> changed;
  format::StreamAccess access;  // of the file behind the disk; owner only when unknown
  bool memory = false;          // the memory state, not a disk (an imported RP's)
};

// What a new RP reads: the VM's disks, or a domain's point in time. Members go in reverse
// order: the NBD connections close, then the backup job ends, then its files go.
struct PointInput {
  std::shared_ptr<void> work_dir;        // removed when the input goes
  std::unique_ptr<PointInTime> pit;      // libvirt only
  std::vector<format::VmDisk> vm_disks;  // the domain's disks now (libvirt only)
  std::string checkpoint;                // made at this point ("" = none)
  std::string domain_xml;                // libvirt only
  std::vector<DiskInput> disks;
};

class DomainPoints {
 public:
  DomainPoints(const store::Store* store, PageCache* pages) : store_(store), pages_(pages) {}

  void SetFactory(HypervisorFactory factory);
  // The connection to `uri`, made once and shared.
  Result<std::shared_ptr<Hypervisor>> HypervisorFor(const std::string& uri);
  // The VM's domain now; NotFound naming the VM when it was undefined.
  Result<DomainInfo> DomainOf(const format::VmRecord& vm);
  // The disks of `vm` to read for a new RP (a point in time for a libvirt VM).
  Result<PointInput> Open(const format::VmRecord& vm, const CreateOptions& opts);
  // Rollback of a libvirt VM: Busy unless its domain is shut off.
  Status CheckShutOff(const format::VmRecord& vm);
  // The extents written to each qcow2 disk (by name) of the shut-off libvirt VM since the
  // RP its checkpoint was made with (vm.checkpoint_rp), from that checkpoint's bitmap in
  // the image file. A disk whose bitmap cannot be read (none, or marked in use by a qemu
  // that holds it or was killed) is left out. Call it before anything opens the images for
  // writing: that marks their bitmaps in use.
  static std::map<std::string, std::vector<image::Extent>> WrittenSinceCheckpoint(
      const format::VmRecord& vm);
  // After the disks were rewritten: drop the checkpoints (their bitmaps no longer describe
  // the disks) and, for an RP with memory, start the domain from that state.
  Status AfterRollback(const format::VmRecord& vm, const format::RpRecord& rp);

 private:
  Result<PointInput> BeginDomainPoint(const format::VmRecord& vm, const CreateOptions& opts);

  const store::Store* const store_;
  PageCache* const pages_;
  OrderedMutex mu_{kRankHypervisors, "DomainPoints::hypervisors_mu"};
  HypervisorFactory factory_;                                       // guarded by mu_
  std::map<std::string, std::shared_ptr<Hypervisor>> hypervisors_;  // by URI, guarded by mu_
};

// A new directory under `<store>/virt` that libvirt's qemu (another user) can write its
// sockets, scratch, memory and console files into; removed with everything in it when the
// last holder lets go.
Result<std::shared_ptr<std::string>> MakeWorkDir(const std::string& store_dir);

// What libvirt-specific code in the rp layer shares.
std::string DomainLabel(const format::VmRecord& vm);
Status CheckReadableDisks(const DomainInfo& dom);
format::VmDisk ToVmDisk(const DomainDisk& d);

}  // namespace rpfs::rp
