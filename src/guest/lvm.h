// LVM2 physical volumes on one disk and the linear logical volumes they hold (internal to
// the guest layer; ScanDisk calls it with the volumes it probed as kLvm2Member).
// Trusted: nothing. Checked: the label's sector number, checksum and type; the PV header's
// area lists stay inside the label sector; the metadata area header's checksum, magic and
// version; the metadata text's place inside its area (it may wrap around the circular
// buffer), its size (4 MiB at most) and checksum; then the parsed metadata's numbers, with
// overflow checks, and every segment against the PV it lies on. The VG whose metadata has the
// highest seqno among the PVs found wins. PVs on other disks (a VG spanning several disks of
// one RP) are out of scope: their LVs are entries with an error naming the missing PV.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "guest/byte_source.h"
#include "guest/volumes.h"
#include "rpfs/status.h"

namespace rpfs::guest {

struct LvmPvOnDisk {
  std::string volume;   // the volume holding the PV ("vda2", or "vda" for a whole disk)
  uint64_t offset = 0;  // bytes on the disk
  uint64_t size = 0;
};

struct LvmScan {
  // One entry per visible LV, table "lvm", type "linear" (the first unsupported segment type
  // otherwise). `state` is empty when the LV was mapped (ScanDisk sets it from `fs`), else
  // "unsupported: <segment type>" or "error: <reason>".
  std::vector<VolumeInfo> volumes;
  // For each PV volume: the state its own entry gets ("unsupported: LVM2_member (volume group
  // vg0)" or "error: <what is wrong with its label or metadata>").
  std::map<std::string, std::string> pv_state;
};

Result<LvmScan> ScanLvm(const std::string& disk_name, const SourcePtr& disk,
                        const std::vector<LvmPvOnDisk>& pvs);

// "vg-lv" as device-mapper names it: each '-' inside a name doubled.
std::string DmName(const std::string& vg, const std::string& lv);

}  // namespace rpfs::guest
