// Finding the volumes on a disk: partition tables (MBR with its EBR chain, GPT with 512 or
// 4096-byte sectors and its backup header), LVM2 linear logical volumes, and the filesystem
// type of each volume from its magic numbers. Our own readers (libblkid, sfdisk and lvm are
// only test oracles); guest bytes are hostile: every field is checked, every loop bounded,
// and these parsers are fuzzed (scripts/fuzz.sh).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "guest/byte_source.h"
#include "rpfs/status.h"

namespace rpfs::guest {

// Filesystem (or container) types we recognise. Only some have a tree (SupportsTree).
enum class FsType : uint8_t {
  kUnknown,
  kExt2,
  kExt3,
  kExt4,
  kVfat,  // FAT12/16/32
  kExfat,
  kNtfs,
  kIso9660,
  kXfs,
  kBtrfs,
  kSwap,
  kLuks,
  kLvm2Member,
  kMdRaid,
};

// "ext4", "vfat", ... as blkid names them; "" for kUnknown.
const char* FsTypeName(FsType type);
// Whether the helper can show this type's files (ext2/3/4, vfat, exfat, ntfs, iso9660).
bool SupportsTree(FsType type);

struct FsProbe {
  FsType type = FsType::kUnknown;
  std::string label;  // as the filesystem stores it, UTF-8; "" when none
  std::string uuid;   // blkid's text form; "" when none
};

// The filesystem type of `volume` from its superblock magics (reads a few KiB near the start,
// none past the end). kUnknown is not an error; an I/O failure is.
Result<FsProbe> ProbeFs(const ByteSource& volume);

// One volume found on a disk.
struct VolumeInfo {
  std::string name;    // "vda1" (partition 1), "vda" (whole-disk filesystem), "vg0-root" (LV)
  std::string disk;    // "vda"
  std::string table;   // "gpt", "mbr", "lvm" or "none" (whole disk)
  uint32_t index = 0;  // partition number (MBR logicals from 5, as Linux numbers them); 0 else
  uint64_t start = 0;  // byte offset on the disk of its first segment
  uint64_t size = 0;   // bytes
  std::string type;    // partition type: GPT type GUID, "0x83" for MBR, "linear" for LVs
  FsProbe fs;
  // "ok" when a tree can be shown, "unsupported: <fs>", "error: <reason>"; the daemon
  // replaces "ok" by the helper's State() once the filesystem is opened.
  std::string state;
  std::vector<Segment> map;  // how its bytes lie on the disk (one segment for a partition)
};

// Every volume of disk `disk_name`, in disk order, then logical volumes. A damaged partition
// table or LVM label is not an error of the call: it is one entry with state "error: ..." and
// table "gpt"/"mbr"/"lvm" naming the structure and what is wrong with it. Errors of the call
// are I/O failures of `disk`.
Result<std::vector<VolumeInfo>> ScanDisk(const std::string& disk_name, const SourcePtr& disk);

}  // namespace rpfs::guest
