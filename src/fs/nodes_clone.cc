// Node kinds of clones: <vm>/.clones/, <vm>/.clones/<clone>/ and its <disk>.raw (read-write,
// copy-on-read) and .status (hydration progress) (node_kind.h).
#include <sys/stat.h>

#include <cassert>

#include "fs/node_kind.h"
#include "fs/node_texts.h"
#include "rpfs/names.h"

namespace rpfs::fs {
namespace {

// Every kind below .clones loads its clone (LoadClone); the clone directory hands its own
// to a listing.
const CloneInfo& CloneOf(const NodeFacts& facts) {
  assert(facts.clone != nullptr);
  return *facts.clone;
}

NodeFacts FactsOf(CloneInfo c) {
  return {nullptr, std::make_shared<const CloneInfo>(std::move(c)), nullptr};
}

class ClonesDir final : public DirectoryKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    return LoadVm(ctx, key);
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey& key, const NodeFacts&) const override {
    return MakeAttr(S_IFDIR, OwnerDirAccess(ctx.access), 0, ctx.dir_times.Clones(key.vm), 2, false);
  }
  Result<NodeKey> LookupChild(NodeContext& ctx, const NodeKey& dir,
                              const std::string& name) const override {
    if (!ValidateName(name, "clone name").ok()) return Status::NotFound(name);
    RPFS_RETURN_IF_ERROR(ctx.repo->GetClone(dir.vm, name).status());
    return CloneKey(dir, name);
  }
  Result<std::vector<ChildNode>> ListChildren(NodeContext& ctx, const NodeKey& dir) const override {
    RPFS_ASSIGN_OR_RETURN(auto clones, ctx.repo->ListClones(dir.vm));
    std::vector<ChildNode> out;
    for (auto& c : clones) {
      std::string name = c.name;
      NodeKey key = CloneKey(dir, name);
      out.push_back({std::move(name), key, FactsOf(std::move(c))});
    }
    return out;
  }

 private:
  static NodeKey CloneKey(const NodeKey& dir, const std::string& clone) {
    NodeKey key = ChildKey(dir, NodeKind::kCloneDir);
    key.clone = clone;
    return key;
  }
};

class CloneDir final : public DirectoryKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    return LoadClone(ctx, key);
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey&, const NodeFacts& facts) const override {
    return MakeAttr(S_IFDIR, OwnerDirAccess(ctx.access), 0, CloneOf(facts).created_us, 2, false);
  }
  Result<NodeKey> LookupChild(NodeContext&, const NodeKey& dir,
                              const std::string& name) const override {
    if (name == kStatusFile) return ChildKey(dir, NodeKind::kCloneStatus);
    std::string disk = DiskFromFileName(name);
    if (disk.empty()) return Status::NotFound(name);
    return DiskKey(dir, disk);
  }
  Result<std::vector<ChildNode>> ListChildren(NodeContext& ctx, const NodeKey& dir) const override {
    RPFS_ASSIGN_OR_RETURN(NodeFacts facts, LoadClone(ctx, dir));
    std::vector<ChildNode> out;
    for (const auto& d : CloneOf(facts).disks) {
      out.push_back({DiskFileName(d.name), DiskKey(dir, d.name), facts});
    }
    out.push_back({kStatusFile, ChildKey(dir, NodeKind::kCloneStatus), facts});
    return out;
  }

 private:
  static NodeKey DiskKey(const NodeKey& dir, const std::string& disk) {
    NodeKey key = ChildKey(dir, NodeKind::kCloneDisk);
    key.disk = disk;
    return key;
  }
};

// Read-write, fixed size; every change comes through this mount, so the page cache may
// keep it. A chown is kept for the mount's life (libvirt gives disks to the qemu user).
class CloneDiskFile final : public FileKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    return LoadClone(ctx, key);
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey& key, const NodeFacts& facts) const override {
    const CloneInfo& c = CloneOf(facts);
    for (const auto& d : c.disks) {
      if (d.name != key.disk) continue;
      return MakeAttr(S_IFREG, CloneDiskAccess(ctx.access, ctx.clone_owners.Get(key)), d.size,
                      c.created_us, 1, false);
    }
    return Status::NotFound("no disk " + key.disk);
  }
  Status Open(NodeContext& ctx, const NodeKey& key, int, FileHandle* h) const override {
    RPFS_ASSIGN_OR_RETURN(h->clone, ctx.repo->OpenCloneDisk(key.vm, key.clone, key.disk));
    return Status::OK();
  }
  Result<Attr> SetAttr(NodeContext& ctx, const NodeKey& key,
                       const AttrChange& change) const override {
    RPFS_ASSIGN_OR_RETURN(Attr a, Current(ctx, key));
    if (change.size && *change.size != a.size) {
      return Status::InvalidArgument("clone disk " + key.disk + " has a fixed size of " +
                                     std::to_string(a.size) + " bytes (dd: use conv=notrunc)");
    }
    if (change.uid || change.gid) {  // the kernel has checked the caller may (root)
      auto owner = ctx.clone_owners.Set(key, change);
      a.uid = owner.first;
      a.gid = owner.second;
    }
    return a;
  }
  bool UsesPageCache() const override { return true; }
};

class CloneStatus final : public GeneratedTextKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    return LoadClone(ctx, key);
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey&, const NodeFacts& facts) const override {
    return TextAttr(ctx, CloneOf(facts).created_us);
  }

 protected:
  Result<std::string> MakeText(NodeContext& ctx, const NodeKey& key) const override {
    return CloneStatusText(ctx, key.vm, key.clone);
  }
};

}  // namespace

const NodeKindOps& ClonesDirKind() {
  static const ClonesDir kind;
  return kind;
}
const NodeKindOps& CloneDirKind() {
  static const CloneDir kind;
  return kind;
}
const NodeKindOps& CloneDiskKind() {
  static const CloneDiskFile kind;
  return kind;
}
const NodeKindOps& CloneStatusKind() {
  static const CloneStatus kind;
  return kind;
}

}  // namespace rpfs::fs
