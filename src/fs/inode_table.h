// InodeTable: the one owner of inode numbers and kernel lookup counts.
//
// A node is identified by what it shows (kind, vm, RP id, disk, clone), not by a path, so an RP
// keeps its inode across renames. Numbers are handed out sequentially and never reused
// while the kernel holds a reference; a node is dropped when its lookup count returns to 0
// (the root is never dropped). Thread-safe: one mutex, held only for map operations.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace rpfs::fs {

using InodeNo = uint64_t;
inline constexpr InodeNo kRootInode = 1;

enum class NodeKind : uint8_t {
  kRoot,
  kVm,
  kRpDir,
  kDisk,
  kInfo,
  kControl,
  kStatus,
  kClonesDir,     // <vm>/.clones
  kCloneDir,      // <vm>/.clones/<clone>
  kCloneDisk,     // <vm>/.clones/<clone>/<disk>.raw
  kCloneStatus,   // <vm>/.clones/<clone>/.status
  kPrunePreview,  // <vm>/.prune-preview
  kDomainXml,     // <vm>/<rp>/domain.xml (memory.state is a kDisk of stream kMemoryStream)
  kFilesDir,      // <vm>/<rp>/files
  kVolumesText,   // <vm>/<rp>/files/.volumes
  kVolumeRaw,     // <vm>/<rp>/files/<volume>.raw
  kVolumeDir,     // <vm>/<rp>/files/<volume>: the root of a guest filesystem
  kGuestNode,     // any file or directory below a volume root (volume, guest_ino)
  kDiffFromDir,   // <vm>/<rp>/files/.diff-from
  kDiffText,      // <vm>/<rp>/files/.diff-from/<rp>: the changes from other_rp_id to rp_id
  kRegionDir,     // .region: snapshots of the store's regions
  kRegionSnap,    // .region/<snapshot>
  kRegionDisk,    // .region/<snapshot>/<disk>.raw
};

struct NodeKey {
  NodeKind kind = NodeKind::kRoot;
  std::string vm;
  uint64_t rp_id = 0;
  std::string disk;
  std::string clone;
  std::string volume;        // guest files: the volume ("vda1")
  uint64_t guest_ino = 0;    // kGuestNode: the guest filesystem's inode (hard links share a node)
  uint64_t other_rp_id = 0;  // kDiffText: the RP compared with
  std::string snapshot;      // kRegionSnap, kRegionDisk: the region snapshot
  std::string Encode() const;
};

class InodeTable {
 public:
  InodeTable();
  // The inode for `key`, created if needed; adds one kernel lookup.
  InodeNo Ref(const NodeKey& key);
  // The node of `ino`, or nullopt for an unknown (forgotten or never issued) inode.
  std::optional<NodeKey> Get(InodeNo ino) const;
  // The inode of `key` if the kernel holds one, without adding a lookup.
  std::optional<InodeNo> Find(const NodeKey& key) const;
  // Drops `n` kernel lookups.
  void Forget(InodeNo ino, uint64_t n);
  size_t size() const;

 private:
  struct Node {
    NodeKey key;
    uint64_t lookups = 0;
  };
  mutable std::mutex mu_;
  InodeNo next_ = kRootInode + 1;
  std::unordered_map<InodeNo, Node> nodes_;
  std::unordered_map<std::string, InodeNo> by_key_;
};

}  // namespace rpfs::fs
