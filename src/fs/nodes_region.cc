// Node kinds of the region view (docs/region.md): .region/, .region/<snapshot>/ and its
// read-only .region/<snapshot>/<disk>.raw, from the repository's RemoteSnapshots. A
// snapshot is immutable; its directory and disks take the access of the disks it was
// pushed from, like an RP's (access.h).
#include <sys/stat.h>

#include "fs/node_kind.h"

namespace rpfs::fs {
namespace {

Result<std::shared_ptr<RemoteSnapshots>> Remote(NodeContext& ctx) {
  auto remote = ctx.repo->remote_snapshots();
  if (!remote || !remote->Configured()) return Status::NotFound("no region");
  return remote;
}

// The snapshot of `key` as an RpInfo (RemoteSnapshots::List). Its id stands for the push
// (the sid): a snapshot deleted and pushed again under the same name is another node, so
// the kernel never serves the old one's cached pages for it. `any_push`: by name only.
Result<NodeFacts> LoadSnapshot(NodeContext& ctx, const NodeKey& key, bool any_push = false) {
  RPFS_ASSIGN_OR_RETURN(auto remote, Remote(ctx));
  RPFS_ASSIGN_OR_RETURN(auto snaps, remote->List());
  for (auto& s : snaps) {
    if (s.name == key.snapshot && (any_push || s.id == key.rp_id)) {
      return NodeFacts{std::make_shared<const RpInfo>(std::move(s)), {}, {}};
    }
  }
  return Status::NotFound("no region snapshot " + key.snapshot);
}

NodeKey SnapshotKey(const NodeKey& dir, const RpInfo& snapshot) {
  NodeKey key = ChildKey(dir, NodeKind::kRegionSnap);
  key.snapshot = snapshot.name;
  key.rp_id = snapshot.id;
  return key;
}

NodeKey RegionDiskKey(const NodeKey& dir, const std::string& disk) {
  NodeKey key = ChildKey(dir, NodeKind::kRegionDisk);
  key.disk = disk;
  return key;
}

class RegionDir final : public DirectoryKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey&) const override {
    RPFS_RETURN_IF_ERROR(Remote(ctx).status());
    return NodeFacts{};
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey&, const NodeFacts&) const override {
    return MakeAttr(S_IFDIR, OwnerDirAccess(ctx.access), 0, ctx.dir_times.Root(), 2, false);
  }
  Result<NodeKey> LookupChild(NodeContext& ctx, const NodeKey& dir,
                              const std::string& name) const override {
    NodeKey by_name = ChildKey(dir, NodeKind::kRegionSnap);
    by_name.snapshot = name;
    RPFS_ASSIGN_OR_RETURN(NodeFacts facts, LoadSnapshot(ctx, by_name, /*any_push=*/true));
    return SnapshotKey(dir, RpOf(facts));
  }
  Result<std::vector<ChildNode>> ListChildren(NodeContext& ctx, const NodeKey& dir) const override {
    RPFS_ASSIGN_OR_RETURN(auto remote, Remote(ctx));
    RPFS_ASSIGN_OR_RETURN(auto snaps, remote->List());
    std::vector<ChildNode> out;
    for (auto& s : snaps) {
      NodeKey key = SnapshotKey(dir, s);
      std::string name = s.name;
      out.push_back({name, key, {std::make_shared<const RpInfo>(std::move(s)), {}, {}}});
    }
    return out;
  }
};

class RegionSnap final : public DirectoryKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    return LoadSnapshot(ctx, key);
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey&, const NodeFacts& facts) const override {
    const RpInfo& snap = RpOf(facts);
    return MakeAttr(S_IFDIR, RpDirAccess(ctx.access, snap), 0, snap.created_us, 2, true);
  }
  Result<NodeKey> LookupChild(NodeContext& ctx, const NodeKey& dir,
                              const std::string& name) const override {
    RPFS_ASSIGN_OR_RETURN(NodeFacts facts, LoadSnapshot(ctx, dir));
    for (const auto& d : RpOf(facts).disks) {
      if (DiskFileName(d.name) == name) return RegionDiskKey(dir, d.name);
    }
    return Status::NotFound(name);
  }
  Result<std::vector<ChildNode>> ListChildren(NodeContext& ctx, const NodeKey& dir) const override {
    RPFS_ASSIGN_OR_RETURN(NodeFacts facts, LoadSnapshot(ctx, dir));
    std::vector<ChildNode> out;
    for (const auto& d : RpOf(facts).disks) {
      out.push_back({DiskFileName(d.name), RegionDiskKey(dir, d.name), facts});
    }
    return out;
  }
};

class RegionDisk final : public FileKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    return LoadSnapshot(ctx, key);
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey& key, const NodeFacts& facts) const override {
    const RpInfo& snap = RpOf(facts);
    for (const auto& d : snap.disks) {
      if (d.name != key.disk) continue;
      Attr attr = MakeAttr(S_IFREG, RpDiskAccess(ctx.access, d), d.size, snap.created_us, 1, true);
      attr.allocated = d.allocated;
      return attr;
    }
    return Status::NotFound("no disk " + key.disk);
  }
  Status Open(NodeContext& ctx, const NodeKey& key, int flags, FileHandle* h) const override {
    RPFS_RETURN_IF_ERROR(CheckReadOnlyOpen(flags));
    RPFS_ASSIGN_OR_RETURN(auto remote, Remote(ctx));
    RPFS_ASSIGN_OR_RETURN(h->disk, remote->OpenDisk(key.snapshot, key.rp_id, key.disk));
    return Status::OK();
  }
  bool UsesPageCache() const override { return true; }  // a snapshot never changes
};

}  // namespace

const NodeKindOps& RegionDirKind() {
  static const RegionDir kind;
  return kind;
}
const NodeKindOps& RegionSnapKind() {
  static const RegionSnap kind;
  return kind;
}
const NodeKindOps& RegionDiskKind() {
  static const RegionDisk kind;
  return kind;
}

}  // namespace rpfs::fs
