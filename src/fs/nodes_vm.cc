// Node kinds of the root and of a VM directory's own entries: the root, <vm>/, <vm>/.control,
// <vm>/.status, <vm>/.prune-preview (node_kind.h). <vm>/.clones is in nodes_clone.cc, the
// RP directories in nodes_rp.cc.
#include <fcntl.h>
#include <sys/stat.h>

#include "fs/node_kind.h"
#include "fs/node_texts.h"
#include "rpfs/names.h"

namespace rpfs::fs {
namespace {

// The entries every VM directory has besides its RPs, in listing order. RP names never
// start with '.', so they never collide.
struct VmFile {
  const char* name;
  NodeKind kind;
};
constexpr VmFile kVmFiles[] = {
    {kControlFile, NodeKind::kControl},
    {kStatusFile, NodeKind::kStatus},
    {kClonesDir, NodeKind::kClonesDir},
    {kPrunePreviewFile, NodeKind::kPrunePreview},
};

class Root final : public DirectoryKind {
 public:
  Result<NodeFacts> Load(NodeContext&, const NodeKey&) const override { return NodeFacts{}; }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey&, const NodeFacts&) const override {
    return MakeAttr(S_IFDIR, OwnerDirAccess(ctx.access), 0, ctx.dir_times.Root(), 2, false);
  }
  Result<NodeKey> LookupChild(NodeContext& ctx, const NodeKey& dir,
                              const std::string& name) const override {
    if (name == kRegionDir && HasRegions(ctx)) return ChildKey(dir, NodeKind::kRegionDir);
    if (!ValidateName(name, "vm name").ok()) return Status::NotFound(name);
    RPFS_RETURN_IF_ERROR(ctx.repo->GetVm(name).status());
    return VmKey(dir, name);
  }
  Result<std::vector<ChildNode>> ListChildren(NodeContext& ctx, const NodeKey& dir) const override {
    RPFS_ASSIGN_OR_RETURN(auto vms, ctx.repo->ListVms());
    std::vector<ChildNode> out;
    if (HasRegions(ctx)) out.push_back({kRegionDir, ChildKey(dir, NodeKind::kRegionDir), {}});
    for (const auto& vm : vms) out.push_back({vm.name, VmKey(dir, vm.name), {}});
    return out;
  }

 private:
  // `.region/` is shown only when the store has a region (nodes_region.cc).
  static bool HasRegions(NodeContext& ctx) {
    auto remote = ctx.repo->remote_snapshots();
    return remote && remote->Configured();
  }
  static NodeKey VmKey(const NodeKey& root, const std::string& vm) {
    NodeKey key = ChildKey(root, NodeKind::kVm);
    key.vm = vm;
    return key;
  }
};

class Vm final : public DirectoryKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    return LoadVm(ctx, key);
  }
  // Only the owner may mkdir/rmdir/mv RPs in a VM directory (filesystem_namespace.cc).
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey& key, const NodeFacts&) const override {
    return MakeAttr(S_IFDIR, OwnerDirAccess(ctx.access), 0, ctx.dir_times.Vm(key.vm), 2, false);
  }
  Result<NodeKey> LookupChild(NodeContext& ctx, const NodeKey& dir,
                              const std::string& name) const override {
    for (const auto& f : kVmFiles) {
      if (name == f.name) return ChildKey(dir, f.kind);
    }
    if (!ValidateName(name, "rp name").ok()) return Status::NotFound(name);
    RPFS_ASSIGN_OR_RETURN(RpInfo rp, ctx.repo->GetRp(dir.vm, name));
    return RpKey(dir, rp.id);
  }
  Result<std::vector<ChildNode>> ListChildren(NodeContext& ctx, const NodeKey& dir) const override {
    RPFS_ASSIGN_OR_RETURN(auto rps, ctx.repo->ListRps(dir.vm));
    std::vector<ChildNode> out;
    for (const auto& f : kVmFiles) out.push_back({f.name, ChildKey(dir, f.kind), {}});
    for (auto& rp : rps) {
      std::string name = rp.name;
      NodeKey key = RpKey(dir, rp.id);
      out.push_back(
          {std::move(name), key, {std::make_shared<const RpInfo>(std::move(rp)), {}, {}}});
    }
    return out;
  }

 private:
  static NodeKey RpKey(const NodeKey& vm_dir, uint64_t rp_id) {
    NodeKey key = ChildKey(vm_dir, NodeKind::kRpDir);
    key.rp_id = rp_id;
    return key;
  }
};

// Write-only: one control command per write (Filesystem::Write).
class Control final : public FileKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    return LoadVm(ctx, key);
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey&, const NodeFacts&) const override {
    return MakeAttr(S_IFREG, ControlAccess(ctx.access), 0, 0, 1, false);
  }
  Status Open(NodeContext& ctx, const NodeKey& key, int flags, FileHandle* h) const override {
    if ((flags & O_ACCMODE) != O_WRONLY) {
      return Status::PermissionDenied(".control is write-only: write one command to it");
    }
    RPFS_RETURN_IF_ERROR(ctx.repo->GetVm(key.vm).status());
    h->control_vm = key.vm;
    return Status::OK();
  }
  // Accepted and ignored, so `echo cmd > .control` (O_TRUNC) works.
  Result<Attr> SetAttr(NodeContext& ctx, const NodeKey& key, const AttrChange&) const override {
    return Current(ctx, key);
  }
};

class VmStatus final : public GeneratedTextKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    return LoadVm(ctx, key);
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey&, const NodeFacts&) const override {
    return TextAttr(ctx, 0);
  }

 protected:
  Result<std::string> MakeText(NodeContext& ctx, const NodeKey& key) const override {
    return VmStatusText(ctx, key.vm);
  }
};

class PrunePreview final : public GeneratedTextKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    return LoadVm(ctx, key);
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey&, const NodeFacts&) const override {
    return TextAttr(ctx, 0);
  }

 protected:
  Result<std::string> MakeText(NodeContext& ctx, const NodeKey& key) const override {
    return PrunePreviewText(ctx, key.vm);
  }
};

}  // namespace

const NodeKindOps& RootKind() {
  static const Root kind;
  return kind;
}
const NodeKindOps& VmKind() {
  static const Vm kind;
  return kind;
}
const NodeKindOps& ControlKind() {
  static const Control kind;
  return kind;
}
const NodeKindOps& StatusKind() {
  static const VmStatus kind;
  return kind;
}
const NodeKindOps& PrunePreviewKind() {
  static const PrunePreview kind;
  return kind;
}

}  // namespace rpfs::fs
