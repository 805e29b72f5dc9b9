// The registry of node kinds and what kinds share (node_kind.h).
#include "fs/node_kind.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cstdlib>

namespace rpfs::fs {

// One accessor per kind, defined next to its class in nodes_*.cc.
const NodeKindOps& RootKind();
const NodeKindOps& VmKind();
const NodeKindOps& ControlKind();
const NodeKindOps& StatusKind();
const NodeKindOps& PrunePreviewKind();
const NodeKindOps& RpDirKind();
const NodeKindOps& DiskKind();
const NodeKindOps& InfoKind();
const NodeKindOps& DomainXmlKind();
const NodeKindOps& ClonesDirKind();
const NodeKindOps& CloneDirKind();
const NodeKindOps& CloneDiskKind();
const NodeKindOps& CloneStatusKind();
const NodeKindOps& FilesDirKind();
const NodeKindOps& VolumesTextKind();
const NodeKindOps& VolumeRawKind();
const NodeKindOps& VolumeDirKind();
const NodeKindOps& GuestNodeKind();
const NodeKindOps& DiffFromDirKind();
const NodeKindOps& DiffTextKind();
const NodeKindOps& RegionDirKind();
const NodeKindOps& RegionSnapKind();
const NodeKindOps& RegionDiskKind();

// The registry. No default: -Wswitch names a kind without ops.
const NodeKindOps& KindOps(NodeKind kind) {
  switch (kind) {
    case NodeKind::kRoot:
      return RootKind();
    case NodeKind::kVm:
      return VmKind();
    case NodeKind::kControl:
      return ControlKind();
    case NodeKind::kStatus:
      return StatusKind();
    case NodeKind::kPrunePreview:
      return PrunePreviewKind();
    case NodeKind::kRpDir:
      return RpDirKind();
    case NodeKind::kDisk:
      return DiskKind();
    case NodeKind::kInfo:
      return InfoKind();
    case NodeKind::kDomainXml:
      return DomainXmlKind();
    case NodeKind::kClonesDir:
      return ClonesDirKind();
    case NodeKind::kCloneDir:
      return CloneDirKind();
    case NodeKind::kCloneDisk:
      return CloneDiskKind();
    case NodeKind::kCloneStatus:
      return CloneStatusKind();
    case NodeKind::kFilesDir:
      return FilesDirKind();
    case NodeKind::kVolumesText:
      return VolumesTextKind();
    case NodeKind::kVolumeRaw:
      return VolumeRawKind();
    case NodeKind::kVolumeDir:
      return VolumeDirKind();
    case NodeKind::kGuestNode:
      return GuestNodeKind();
    case NodeKind::kDiffFromDir:
      return DiffFromDirKind();
    case NodeKind::kDiffText:
      return DiffTextKind();
    case NodeKind::kRegionDir:
      return RegionDirKind();
    case NodeKind::kRegionSnap:
      return RegionSnapKind();
    case NodeKind::kRegionDisk:
      return RegionDiskKind();
  }
  // Node keys are made only by the kinds above: any other value is a corrupted key.
  std::abort();
}

Result<Attr> NodeKindOps::SetAttr(NodeContext&, const NodeKey&, const AttrChange&) const {
  return Status::ReadOnly("recovery points are read-only");
}

Result<std::string> NodeKindOps::ReadLink(NodeContext&, const NodeKey&) const {
  return Status::InvalidArgument("not a symbolic link");
}

Result<std::vector<std::pair<std::string, std::string>>> NodeKindOps::Xattrs(NodeContext&,
                                                                             const NodeKey&) const {
  // Not an empty list: ENOTSUP tells libvirt (which remembers owners in trusted.* xattrs
  // before it chowns a clone disk) that this filesystem keeps none, so it does not try.
  return Status::NotSupported("no extended attributes here");
}

Result<Attr> NodeKindOps::Current(NodeContext& ctx, const NodeKey& key) const {
  RPFS_ASSIGN_OR_RETURN(NodeFacts facts, Load(ctx, key));
  return AttrOf(ctx, key, facts);
}

Status DirectoryKind::Open(NodeContext&, const NodeKey&, int flags, FileHandle*) const {
  RPFS_RETURN_IF_ERROR(CheckReadOnlyOpen(flags));
  return Status::IsADirectory("is a directory");
}

Result<NodeKey> FileKind::LookupChild(NodeContext&, const NodeKey&, const std::string& name) const {
  return Status::NotADirectory(name + ": not a directory");
}

Result<std::vector<ChildNode>> FileKind::ListChildren(NodeContext&, const NodeKey&) const {
  return Status::NotADirectory("not a directory");
}

Status GeneratedTextKind::Open(NodeContext& ctx, const NodeKey& key, int flags,
                               FileHandle* h) const {
  RPFS_RETURN_IF_ERROR(CheckReadOnlyOpen(flags));
  RPFS_ASSIGN_OR_RETURN(h->text, MakeText(ctx, key));
  return Status::OK();
}

Attr GeneratedTextKind::TextAttr(const NodeContext& ctx, int64_t mtime_us) {
  return MakeAttr(S_IFREG, OwnerReadAccess(ctx.access), 0, mtime_us, 1, false);
}

Attr MakeAttr(mode_t type, const NodeAccess& a, uint64_t size, int64_t mtime_us, uint32_t nlink,
              bool immutable) {
  Attr attr{0, type | a.perm, size, mtime_us, nlink, immutable};
  attr.uid = a.uid;
  attr.gid = a.gid;
  return attr;
}

Status CheckReadOnlyOpen(int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) != 0) {
    return Status::ReadOnly("recovery points are read-only");
  }
  return Status::OK();
}

Result<NodeFacts> LoadVm(NodeContext& ctx, const NodeKey& key) {
  RPFS_RETURN_IF_ERROR(ctx.repo->GetVm(key.vm).status());
  return NodeFacts{};
}

Result<NodeFacts> LoadRp(NodeContext& ctx, const NodeKey& key) {
  RPFS_ASSIGN_OR_RETURN(RpInfo rp, ctx.repo->GetRpById(key.vm, key.rp_id));
  return NodeFacts{std::make_shared<const RpInfo>(std::move(rp)), nullptr, nullptr};
}

Result<NodeFacts> LoadClone(NodeContext& ctx, const NodeKey& key) {
  RPFS_ASSIGN_OR_RETURN(CloneInfo c, ctx.repo->GetClone(key.vm, key.clone));
  return NodeFacts{nullptr, std::make_shared<const CloneInfo>(std::move(c)), nullptr};
}

const RpInfo& RpOf(const NodeFacts& facts) {
  assert(facts.rp != nullptr);
  return *facts.rp;
}

NodeKey ChildKey(const NodeKey& dir, NodeKind kind) {
  NodeKey child = dir;
  child.kind = kind;
  child.disk.clear();
  return child;
}

std::optional<CloneOwners::Owner> CloneOwners::Get(const NodeKey& key) const {
  std::lock_guard lock(mu_);
  auto it = owners_.find(key.Encode());
  if (it == owners_.end()) return std::nullopt;
  return it->second;
}

CloneOwners::Owner CloneOwners::Set(const NodeKey& key, const AttrChange& change) {
  std::lock_guard lock(mu_);
  auto [it, added] = owners_.try_emplace(key.Encode(), ::getuid(), ::getgid());
  if (change.uid) it->second.first = *change.uid;
  if (change.gid) it->second.second = *change.gid;
  return it->second;
}

}  // namespace rpfs::fs
