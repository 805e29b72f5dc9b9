// Every name the mount shows. No other file builds mount paths or names.
#pragma once

#include <string>
#include <string_view>

namespace rpfs::fs {

inline constexpr char kInfoFile[] = "info";
inline constexpr char kDiskSuffix[] = ".raw";
inline constexpr char kMemoryFile[] = "memory.state";   // only in an RP with memory state
inline constexpr char kDomainXmlFile[] = "domain.xml";  // only in an RP with a definition
// Reserved in every VM directory (the control-file issue); RP names can never collide
// with them because valid names never start with '.'.
inline constexpr char kControlFile[] = ".control";
inline constexpr char kStatusFile[] = ".status";
inline constexpr char kClonesDir[] = ".clones";
inline constexpr char kPrunePreviewFile[] = ".prune-preview";
// The guest's own files under an RP (docs/guest-files.md): <vm>/<rp>/files/, in it a
// `.volumes` table, `<volume>.raw` for every volume and `<volume>/` for each one with a tree.
inline constexpr char kFilesDir[] = "files";
inline constexpr char kVolumesFile[] = ".volumes";
// files/.diff-from/<other rp>: the guest files changed from that RP to this one.
inline constexpr char kDiffFromDir[] = ".diff-from";

// The snapshots of the store's regions (docs/region.md), at the root; VM names never start
// with '.', so it never collides with one.
inline constexpr char kRegionDir[] = ".region";

// "vda" -> "vda.raw"
inline std::string DiskFileName(std::string_view disk) { return std::string(disk) + kDiskSuffix; }
// "vda.raw" -> "vda"; empty when `file` is not a disk file name.
inline std::string DiskFromFileName(std::string_view file) {
  std::string_view suffix = kDiskSuffix;
  if (file.size() <= suffix.size() || file.substr(file.size() - suffix.size()) != suffix) return "";
  return std::string(file.substr(0, file.size() - suffix.size()));
}

// "vda1" -> "vda1.raw": the raw slice of a volume (same suffix as disks).
inline std::string VolumeRawName(std::string_view volume) { return DiskFileName(volume); }

// A clone disk's path below the mount point: ("web01", "copy", "vda") ->
// "web01/.clones/copy/vda.raw".
inline std::string CloneDiskPath(std::string_view vm, std::string_view clone,
                                 std::string_view disk) {
  return std::string(vm) + "/" + kClonesDir + "/" + std::string(clone) + "/" + DiskFileName(disk);
}

}  // namespace rpfs::fs
