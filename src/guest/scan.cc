// ScanDisk: the volumes of one disk. Which structure wins when several are present:
//  1. a protective MBR (0xEE entry), or no MBR signature with "EFI PART" at LBA 1: GPT
//     (a hybrid MBR's other entries are ignored);
//  2. else a FAT/exFAT/NTFS boot sector at sector 0 (it carries 0x55AA too): whole disk;
//  3. else a plausible MBR: its primaries and logicals (extended partitions not listed);
//  4. else the whole disk, with whatever ProbeFs finds. A disk with no table and no known
//     filesystem (all zeros, say) is one entry "unsupported: unknown": `.volumes` then shows
//     that the disk was looked at and why it has no tree.
// LVM2 PVs (whole disk or partitions) are then expanded: the PV's own entry says
// "unsupported: LVM2_member (volume group <vg>)" (or the error in its label or metadata) and
// the VG's visible LVs follow all partitions.
#include <cctype>

#include "guest/lvm.h"
#include "guest/partitions.h"
#include "guest/volumes.h"

namespace rpfs::guest {
namespace {

std::string StateOf(const FsProbe& fs) {
  if (SupportsTree(fs.type)) return "ok";
  const char* name = FsTypeName(fs.type);
  return std::string("unsupported: ") + (*name ? name : "unknown");
}

// "vda" + 1 = "vda1"; "nvme0n1" + 1 = "nvme0n1p1", as Linux names partitions.
std::string PartitionName(const std::string& disk, uint32_t index) {
  bool digit = !disk.empty() && std::isdigit(static_cast<unsigned char>(disk.back()));
  return disk + (digit ? "p" : "") + std::to_string(index);
}

Result<VolumeInfo> Probed(const SourcePtr& disk, VolumeInfo v) {
  RPFS_ASSIGN_OR_RETURN(SourcePtr src, Slice(disk, v.start, v.size, v.name));
  RPFS_ASSIGN_OR_RETURN(v.fs, ProbeFs(*src));
  v.state = StateOf(v.fs);
  v.map = {Segment{0, v.start, v.size, false}};
  return v;
}

Status AddTable(const std::string& disk_name, const SourcePtr& disk, const PartitionTable& table,
                std::vector<VolumeInfo>* out) {
  if (!table.error.empty()) {
    VolumeInfo v;
    v.name = disk_name;
    v.disk = disk_name;
    v.table = table.kind;
    v.state = "error: " + table.error;
    out->push_back(std::move(v));
  }
  for (const Partition& p : table.partitions) {
    VolumeInfo v;
    v.name = PartitionName(disk_name, p.index);
    v.disk = disk_name;
    v.table = table.kind;
    v.index = p.index;
    v.start = p.start;
    v.size = p.size;
    v.type = p.type;
    v.part_label = p.name;
    if (!p.error.empty()) {
      v.state = "error: " + p.error;
      out->push_back(std::move(v));
      continue;
    }
    RPFS_ASSIGN_OR_RETURN(v, Probed(disk, std::move(v)));
    out->push_back(std::move(v));
  }
  return Status();
}

Status AddLvm(const std::string& disk_name, const SourcePtr& disk, std::vector<VolumeInfo>* out) {
  std::vector<LvmPvOnDisk> pvs;
  for (const VolumeInfo& v : *out)
    if (v.fs.type == FsType::kLvm2Member) pvs.push_back(LvmPvOnDisk{v.name, v.start, v.size});
  if (pvs.empty()) return Status();
  RPFS_ASSIGN_OR_RETURN(LvmScan scan, ScanLvm(disk_name, disk, pvs));
  for (VolumeInfo& v : *out) {
    auto state = scan.pv_state.find(v.name);
    if (v.fs.type == FsType::kLvm2Member && state != scan.pv_state.end()) v.state = state->second;
  }
  for (VolumeInfo& lv : scan.volumes) {
    if (lv.state.empty()) lv.state = StateOf(lv.fs);
    out->push_back(std::move(lv));
  }
  return Status();
}

}  // namespace

Result<std::vector<VolumeInfo>> ScanDisk(const std::string& disk_name, const SourcePtr& disk) {
  std::vector<VolumeInfo> out;
  RPFS_ASSIGN_OR_RETURN(std::optional<PartitionTable> mbr, ReadMbr(*disk));
  bool protective = mbr && mbr->kind == "gpt-protective";
  std::optional<PartitionTable> table;
  if (!mbr || protective) {
    RPFS_ASSIGN_OR_RETURN(table, ReadGpt(*disk, protective));
  }
  if (!table) {
    RPFS_ASSIGN_OR_RETURN(FsProbe whole, ProbeFs(*disk));
    bool boot_sector_fs =
        whole.type == FsType::kVfat || whole.type == FsType::kExfat || whole.type == FsType::kNtfs;
    if (mbr && !boot_sector_fs) table = std::move(mbr);
  }
  if (table) {
    RPFS_RETURN_IF_ERROR(AddTable(disk_name, disk, *table, &out));
  } else {
    VolumeInfo v;
    v.name = disk_name;
    v.disk = disk_name;
    v.table = "none";
    v.size = disk->size();
    RPFS_ASSIGN_OR_RETURN(v, Probed(disk, std::move(v)));
    out.push_back(std::move(v));
  }
  RPFS_RETURN_IF_ERROR(AddLvm(disk_name, disk, &out));
  return out;
}

}  // namespace rpfs::guest
