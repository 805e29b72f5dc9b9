#include "guest/volumes.h"

namespace rpfs::guest {

const char* FsTypeName(FsType type) {
  switch (type) {
    case FsType::kUnknown:
      return "";
    case FsType::kExt2:
      return "ext2";
    case FsType::kExt3:
      return "ext3";
    case FsType::kExt4:
      return "ext4";
    case FsType::kVfat:
      return "vfat";
    case FsType::kExfat:
      return "exfat";
    case FsType::kNtfs:
      return "ntfs";
    case FsType::kIso9660:
      return "iso9660";
    case FsType::kXfs:
      return "xfs";
    case FsType::kBtrfs:
      return "btrfs";
    case FsType::kSwap:
      return "swap";
    case FsType::kLuks:
      return "crypto_LUKS";
    case FsType::kLvm2Member:
      return "LVM2_member";
    case FsType::kMdRaid:
      return "linux_raid_member";
  }
  return "";
}

bool SupportsTree(FsType type) {
  switch (type) {
    case FsType::kExt2:
    case FsType::kExt3:
    case FsType::kExt4:
    case FsType::kVfat:
    case FsType::kExfat:
    case FsType::kNtfs:
    case FsType::kIso9660:
      return true;
    default:
      return false;
  }
}

}  // namespace rpfs::guest
