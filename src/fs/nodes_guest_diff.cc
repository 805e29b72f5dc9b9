// <vm>/<rp>/files/.diff-from/<other rp>: the guest files changed from <other rp> to <rp>
// (fs/guest_diff.h), as `rpfs diff <vm> <other rp> <rp>` prints them. The text is made when
// the file is opened (a diff may take seconds: never on a getattr or a listing).
// The mount owner's (and the operators') only: it names the files of two RPs at once.
#include <sys/stat.h>

#include "fs/guest_diff.h"
#include "fs/node_kind.h"
#include "rpfs/names.h"

namespace rpfs::fs {
namespace {

NodeKey DiffKey(const NodeKey& dir, uint64_t other_rp) {
  NodeKey key = ChildKey(dir, NodeKind::kDiffText);
  key.other_rp_id = other_rp;
  return key;
}

// files/.diff-from: `<rp>` for any RP of the VM (this one too: its diff is empty), found by
// name and never listed, so that `grep -r`, `find` or a backup of the mount does not
// compute a diff for every pair of RPs.
class DiffFromDir final : public DirectoryKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    return LoadRp(ctx, key);
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey&, const NodeFacts& facts) const override {
    return MakeAttr(S_IFDIR, OwnerDirAccess(ctx.access), 0, RpOf(facts).created_us, 2, false);
  }
  Result<NodeKey> LookupChild(NodeContext& ctx, const NodeKey& dir,
                              const std::string& name) const override {
    if (!ValidateName(name, "rp name").ok()) return Status::NotFound(name);
    RPFS_ASSIGN_OR_RETURN(RpInfo other, ctx.repo->GetRp(dir.vm, name));
    return DiffKey(dir, other.id);
  }
  Result<std::vector<ChildNode>> ListChildren(NodeContext&, const NodeKey&) const override {
    return std::vector<ChildNode>{};
  }
  bool UsesPageCache() const override { return false; }  // RPs come and go
};

class DiffText final : public GeneratedTextKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    RPFS_ASSIGN_OR_RETURN(NodeFacts facts, LoadRp(ctx, key));
    RPFS_RETURN_IF_ERROR(ctx.repo->GetRpById(key.vm, key.other_rp_id).status());
    return facts;
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey&, const NodeFacts& facts) const override {
    return TextAttr(ctx, RpOf(facts).created_us);
  }

 protected:
  Result<std::string> MakeText(NodeContext& ctx, const NodeKey& key) const override {
    RPFS_ASSIGN_OR_RETURN(GuestDiff diff,
                          DiffGuestFiles(ctx.volumes, key.vm, key.other_rp_id, key.rp_id));
    return FormatGuestDiff(diff);
  }
};

}  // namespace

const NodeKindOps& DiffFromDirKind() {
  static const DiffFromDir kind;
  return kind;
}
const NodeKindOps& DiffTextKind() {
  static const DiffText kind;
  return kind;
}

}  // namespace rpfs::fs
