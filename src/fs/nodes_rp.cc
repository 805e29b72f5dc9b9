// Node kinds of a recovery point: <vm>/<rp>/ and its files <disk>.raw, memory.state,
// domain.xml and info (node_kind.h). Everything but `info` is immutable.
#include <sys/stat.h>

#include <cassert>

#include "fs/node_kind.h"
#include "fs/node_texts.h"

namespace rpfs::fs {
namespace {

// A file of the RP with access `a`, modified when the RP was created.
Attr RpFileAttr(const RpInfo& rp, const NodeAccess& a, uint64_t size) {
  return MakeAttr(S_IFREG, a, size, rp.created_us, 1, true);
}

class RpDir final : public DirectoryKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    return LoadRp(ctx, key);
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey&, const NodeFacts& facts) const override {
    const RpInfo& rp = RpOf(facts);
    return MakeAttr(S_IFDIR, RpDirAccess(ctx.access, rp), 0, rp.created_us, 2, true);
  }
  Result<NodeKey> LookupChild(NodeContext&, const NodeKey& dir,
                              const std::string& name) const override {
    if (name == kInfoFile) return ChildKey(dir, NodeKind::kInfo);
    if (name == kDomainXmlFile) return ChildKey(dir, NodeKind::kDomainXml);
    if (name == kFilesDir) return ChildKey(dir, NodeKind::kFilesDir);
    std::string disk = name == kMemoryFile ? std::string(kMemoryStream) : DiskFromFileName(name);
    if (disk.empty()) return Status::NotFound(name);
    return DiskKey(dir, disk);
  }
  Result<std::vector<ChildNode>> ListChildren(NodeContext& ctx, const NodeKey& dir) const override {
    RPFS_ASSIGN_OR_RETURN(NodeFacts facts, LoadRp(ctx, dir));
    const RpInfo& rp = RpOf(facts);
    std::vector<ChildNode> out;
    for (const auto& d : rp.disks)
      out.push_back({DiskFileName(d.name), DiskKey(dir, d.name), facts});
    if (rp.with_memory) out.push_back({kMemoryFile, DiskKey(dir, kMemoryStream), facts});
    if (rp.has_domain_xml) {
      out.push_back({kDomainXmlFile, ChildKey(dir, NodeKind::kDomainXml), facts});
    }
    out.push_back({kInfoFile, ChildKey(dir, NodeKind::kInfo), facts});
    // The guest's files (nodes_guest.cc); listing the RP reads none of them.
    if (!rp.disks.empty()) out.push_back({kFilesDir, ChildKey(dir, NodeKind::kFilesDir), facts});
    return out;
  }

 private:
  static NodeKey DiskKey(const NodeKey& dir, const std::string& disk) {
    NodeKey key = ChildKey(dir, NodeKind::kDisk);
    key.disk = disk;
    return key;
  }
};

// A disk as it was, or the memory state (disk kMemoryStream); through the page cache.
class Disk final : public FileKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    return LoadRp(ctx, key);
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey& key, const NodeFacts& facts) const override {
    const RpInfo& rp = RpOf(facts);
    if (key.disk == kMemoryStream && rp.with_memory) {
      return RpFileAttr(rp, OwnerReadAccess(ctx.access), rp.memory_bytes);
    }
    for (const auto& d : rp.disks) {
      if (d.name == key.disk) {
        Attr attr = RpFileAttr(rp, RpDiskAccess(ctx.access, d), d.size);
        attr.allocated = d.allocated;
        return attr;
      }
    }
    return Status::NotFound("no disk " + key.disk);
  }
  Status Open(NodeContext& ctx, const NodeKey& key, int flags, FileHandle* h) const override {
    RPFS_RETURN_IF_ERROR(CheckReadOnlyOpen(flags));
    RPFS_ASSIGN_OR_RETURN(h->disk, ctx.repo->OpenDiskById(key.vm, key.rp_id, key.disk));
    return Status::OK();
  }
  bool UsesPageCache() const override { return true; }
};

// The domain definition stored with the RP: stored text, so its real size.
class DomainXml final : public FileKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    return LoadRp(ctx, key);
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey& key, const NodeFacts& facts) const override {
    RPFS_ASSIGN_OR_RETURN(std::string xml, ctx.repo->DomainXmlById(key.vm, key.rp_id));
    return RpFileAttr(RpOf(facts), OwnerReadAccess(ctx.access), xml.size());
  }
  Status Open(NodeContext& ctx, const NodeKey& key, int flags, FileHandle* h) const override {
    RPFS_RETURN_IF_ERROR(CheckReadOnlyOpen(flags));
    RPFS_ASSIGN_OR_RETURN(h->text, ctx.repo->DomainXmlById(key.vm, key.rp_id));
    return Status::OK();
  }
};

// Not immutable: its unique bytes change as other RPs come and go.
class Info final : public GeneratedTextKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    return LoadRp(ctx, key);
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey&, const NodeFacts& facts) const override {
    const RpInfo& rp = RpOf(facts);
    return MakeAttr(S_IFREG, RpInfoAccess(ctx.access, rp), 0, rp.created_us, 1, false);
  }

 protected:
  Result<std::string> MakeText(NodeContext& ctx, const NodeKey& key) const override {
    RPFS_ASSIGN_OR_RETURN(RpInfo rp, ctx.repo->GetRpById(key.vm, key.rp_id));
    return InfoText(ctx, rp);
  }
};

}  // namespace

const NodeKindOps& RpDirKind() {
  static const RpDir kind;
  return kind;
}
const NodeKindOps& DiskKind() {
  static const Disk kind;
  return kind;
}
const NodeKindOps& DomainXmlKind() {
  static const DomainXml kind;
  return kind;
}
const NodeKindOps& InfoKind() {
  static const Info kind;
  return kind;
}

}  // namespace rpfs::fs
