// Node kinds of the guest's own files (docs/guest-files.md): <vm>/<rp>/files/ with its
// `.volumes` table, `<volume>.raw` slices and `<volume>/` trees, and every node below a
// volume root. Everything here is immutable (an RP never changes), so the kernel may cache
// names, attributes and pages for long. What the guest filesystem says comes from the
// sandboxed helper through ctx.volumes; file data is read from the extents it gives.
#include <sys/stat.h>

#include <cassert>

#include "fs/node_kind.h"
#include "guest/volume_table.h"

namespace rpfs::fs {
namespace {

using guest::FileAttr;

// The disk a volume lies on; the RP's first disk if the volume is gone (never for a
// volume the scan listed: its `disk` is one of the RP's).
const RpDiskInfo& DiskOf(const RpInfo& rp, const guest::VolumeInfo* v) {
  for (const auto& d : rp.disks) {
    if (v != nullptr && d.name == v->disk) return d;
  }
  static const RpDiskInfo kNone;
  return rp.disks.empty() ? kNone : rp.disks.front();
}

// Whether a volume has a `<volume>.raw` slice: partitions and LVs do; a whole disk does not
// (it would be `<disk>.raw` again).
bool HasRawSlice(const RpVolumes& vols, const guest::VolumeInfo& v) {
  return v.table != "none" && vols.SourceOf(v.name) != nullptr;
}

Result<const guest::VolumeInfo*> FindVolume(NodeContext& ctx, const NodeKey& key,
                                            std::shared_ptr<const RpVolumes>* keep) {
  RPFS_ASSIGN_OR_RETURN(*keep, ctx.volumes.Scan(key.vm, key.rp_id));
  const guest::VolumeInfo* v = (*keep)->Find(key.volume);
  if (v == nullptr) return Status::NotFound("no volume " + key.volume);
  return v;
}

NodeKey VolumeKey(const NodeKey& dir, NodeKind kind, const std::string& volume) {
  NodeKey key = ChildKey(dir, kind);
  key.volume = volume;
  key.guest_ino = 0;
  return key;
}

NodeKey GuestKey(const NodeKey& dir, uint64_t ino) {
  NodeKey key = ChildKey(dir, NodeKind::kGuestNode);
  key.guest_ino = ino;
  return key;
}

Attr GuestAttr(NodeContext& ctx, const RpInfo& rp, const guest::VolumeInfo* v, const FileAttr& g) {
  NodeAccess a = GuestFileAccess(ctx.access, DiskOf(rp, v), g.mode);
  int64_t us = g.mtime_ns / 1000;
  if (g.mtime_ns % 1000 < 0) --us;  // floor: times before 1970
  // Devices, FIFOs and sockets keep their type but never a device number: the host's
  // devices are not the guest's (the number is in the xattr user.rpfs.guest_rdev).
  Attr attr = MakeAttr(g.mode & S_IFMT, a, S_ISREG(g.mode) || S_ISLNK(g.mode) ? g.size : 0, us,
                       g.nlink == 0 ? 1 : g.nlink, true);
  attr.mtime_extra_ns = static_cast<uint32_t>(g.mtime_ns - us * 1000);
  return attr;
}

// The entries of guest directory `ino` of the volume `dir` belongs to, each with its
// attributes (a listing shows what a getattr would). An entry whose inode is damaged is left
// out rather than failing the whole listing; an I/O error (the helper died or timed out)
// fails it: an empty or partial listing would look like the truth.
Result<std::vector<ChildNode>> ListGuestDir(NodeContext& ctx, const NodeKey& dir, uint64_t ino) {
  RPFS_ASSIGN_OR_RETURN(NodeFacts rp, LoadRp(ctx, dir));
  RPFS_ASSIGN_OR_RETURN(auto vol, ctx.volumes.Open(dir.vm, dir.rp_id, dir.volume));
  RPFS_ASSIGN_OR_RETURN(auto entries, vol->ListDir(ino));
  std::vector<ChildNode> out;
  out.reserve(entries.size());
  for (auto& [name, attr] : entries) {
    NodeFacts facts{rp.rp, nullptr, std::make_shared<const FileAttr>(attr)};
    out.push_back({std::move(name), GuestKey(dir, attr.ino), std::move(facts)});
  }
  return out;
}

Result<NodeKey> LookupGuest(NodeContext& ctx, const NodeKey& dir, std::optional<uint64_t> ino,
                            const std::string& name) {
  RPFS_ASSIGN_OR_RETURN(auto vol, ctx.volumes.Open(dir.vm, dir.rp_id, dir.volume));
  uint64_t parent;
  if (ino) {
    parent = *ino;
  } else {
    std::lock_guard lock(vol->mu);
    parent = vol->fs->RootIno();
  }
  RPFS_ASSIGN_OR_RETURN(FileAttr a, vol->Lookup(parent, name));
  return GuestKey(dir, a.ino);
}

// <vm>/<rp>/files
class FilesDir final : public DirectoryKind {
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
    if (name == kVolumesFile) return ChildKey(dir, NodeKind::kVolumesText);
    if (name == kDiffFromDir) return ChildKey(dir, NodeKind::kDiffFromDir);
    std::string raw = DiskFromFileName(name);
    if (!raw.empty()) return VolumeKey(dir, NodeKind::kVolumeRaw, raw);
    return VolumeKey(dir, NodeKind::kVolumeDir, name);
  }
  Result<std::vector<ChildNode>> ListChildren(NodeContext& ctx, const NodeKey& dir) const override {
    RPFS_ASSIGN_OR_RETURN(NodeFacts facts, LoadRp(ctx, dir));
    RPFS_ASSIGN_OR_RETURN(auto vols, ctx.volumes.Scan(dir.vm, dir.rp_id));
    std::vector<ChildNode> out{{kVolumesFile, ChildKey(dir, NodeKind::kVolumesText), facts},
                               {kDiffFromDir, ChildKey(dir, NodeKind::kDiffFromDir), facts}};
    for (size_t i = 0; i < vols->volumes.size(); ++i) {
      const guest::VolumeInfo& v = vols->volumes[i];
      if (vols->sources[i] == nullptr) continue;
      if (HasRawSlice(*vols, v)) {
        out.push_back({VolumeRawName(v.name), VolumeKey(dir, NodeKind::kVolumeRaw, v.name), facts});
      }
      if (ShowsTree(v)) {
        out.push_back({v.name, VolumeKey(dir, NodeKind::kVolumeDir, v.name), facts});
      }
    }
    return out;
  }
  bool UsesPageCache() const override { return true; }  // its listing never changes
};

// files/.volumes: one line per volume; opening it opens every volume with a tree, so that
// its state says whether the filesystem opened and whether its journal was replayed.
class VolumesText final : public GeneratedTextKind {
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
    RPFS_ASSIGN_OR_RETURN(auto vols, ctx.volumes.Scan(key.vm, key.rp_id));
    std::vector<std::string> states;
    for (const auto& v : vols->volumes) states.push_back(StateOf(ctx, key, v));
    return guest::FormatVolumes(vols->volumes, states);
  }

 private:
  static std::string StateOf(NodeContext& ctx, const NodeKey& key, const guest::VolumeInfo& v) {
    if (v.state != "ok" || !guest::SupportsTree(v.fs.type)) return v.state;
    auto vol = ctx.volumes.Open(key.vm, key.rp_id, v.name);
    if (!vol.ok()) return "error: " + vol.status().message();
    std::lock_guard lock((*vol)->mu);
    return (*vol)->fs->State();
  }
};

// files/<volume>.raw: the volume's bytes, read-only, as its disk allows.
class VolumeRaw final : public FileKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    RPFS_ASSIGN_OR_RETURN(NodeFacts facts, LoadRp(ctx, key));
    std::shared_ptr<const RpVolumes> keep;
    RPFS_ASSIGN_OR_RETURN(const guest::VolumeInfo* v, FindVolume(ctx, key, &keep));
    if (!HasRawSlice(*keep, *v)) return Status::NotFound("no raw slice of " + key.volume);
    return facts;
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey& key, const NodeFacts& facts) const override {
    std::shared_ptr<const RpVolumes> keep;
    RPFS_ASSIGN_OR_RETURN(const guest::VolumeInfo* v, FindVolume(ctx, key, &keep));
    const RpInfo& rp = RpOf(facts);
    return MakeAttr(S_IFREG, RpDiskAccess(ctx.access, DiskOf(rp, v)), v->size, rp.created_us, 1,
                    true);
  }
  Status Open(NodeContext& ctx, const NodeKey& key, int flags, FileHandle* h) const override {
    RPFS_RETURN_IF_ERROR(CheckReadOnlyOpen(flags));
    RPFS_ASSIGN_OR_RETURN(auto vols, ctx.volumes.Scan(key.vm, key.rp_id));
    const guest::VolumeInfo* v = vols->Find(key.volume);
    if (v == nullptr || !HasRawSlice(*vols, *v)) return Status::NotFound("no volume " + key.volume);
    guest::SourcePtr src = vols->SourceOf(key.volume);
    h->guest = GuestFileReader::WholeVolume(std::move(src));
    return Status::OK();
  }
  bool UsesPageCache() const override { return true; }
};

// files/<volume>: the root of a guest filesystem. Its attributes are the RP directory's, so
// that listing files/ opens no filesystem; looking inside opens it (EIO if it does not).
class VolumeDir final : public DirectoryKind {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    RPFS_ASSIGN_OR_RETURN(NodeFacts facts, LoadRp(ctx, key));
    std::shared_ptr<const RpVolumes> keep;
    RPFS_ASSIGN_OR_RETURN(const guest::VolumeInfo* v, FindVolume(ctx, key, &keep));
    if (!ShowsTree(*v)) {
      return Status::NotFound("no files in volume " + key.volume);
    }
    return facts;
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey&, const NodeFacts& facts) const override {
    const RpInfo& rp = RpOf(facts);
    return MakeAttr(S_IFDIR, RpDirAccess(ctx.access, rp), 0, rp.created_us, 2, true);
  }
  Result<NodeKey> LookupChild(NodeContext& ctx, const NodeKey& dir,
                              const std::string& name) const override {
    return LookupGuest(ctx, dir, std::nullopt, name);
  }
  Result<std::vector<ChildNode>> ListChildren(NodeContext& ctx, const NodeKey& dir) const override {
    RPFS_ASSIGN_OR_RETURN(auto vol, ctx.volumes.Open(dir.vm, dir.rp_id, dir.volume));
    uint64_t root;
    {
      std::lock_guard lock(vol->mu);
      root = vol->fs->RootIno();
    }
    return ListGuestDir(ctx, dir, root);
  }
  bool UsesPageCache() const override { return true; }
};

// A file or directory inside a guest filesystem.
class GuestNode final : public NodeKindOps {
 public:
  Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const override {
    RPFS_ASSIGN_OR_RETURN(NodeFacts facts, LoadRp(ctx, key));
    RPFS_ASSIGN_OR_RETURN(auto vol, ctx.volumes.Open(key.vm, key.rp_id, key.volume));
    RPFS_ASSIGN_OR_RETURN(FileAttr a, vol->GetAttr(key.guest_ino));
    facts.guest = std::make_shared<const FileAttr>(a);
    return facts;
  }
  Result<Attr> AttrOf(NodeContext& ctx, const NodeKey& key, const NodeFacts& facts) const override {
    assert(facts.guest != nullptr);
    std::shared_ptr<const RpVolumes> keep;
    RPFS_ASSIGN_OR_RETURN(const guest::VolumeInfo* v, FindVolume(ctx, key, &keep));
    return GuestAttr(ctx, RpOf(facts), v, *facts.guest);
  }
  Result<NodeKey> LookupChild(NodeContext& ctx, const NodeKey& dir,
                              const std::string& name) const override {
    return LookupGuest(ctx, dir, dir.guest_ino, name);
  }
  Result<std::vector<ChildNode>> ListChildren(NodeContext& ctx, const NodeKey& dir) const override {
    return ListGuestDir(ctx, dir, dir.guest_ino);
  }
  Status Open(NodeContext& ctx, const NodeKey& key, int flags, FileHandle* h) const override {
    RPFS_RETURN_IF_ERROR(CheckReadOnlyOpen(flags));
    RPFS_ASSIGN_OR_RETURN(auto vol, ctx.volumes.Open(key.vm, key.rp_id, key.volume));
    RPFS_ASSIGN_OR_RETURN(FileAttr a, vol->GetAttr(key.guest_ino));
    if (S_ISDIR(a.mode)) return Status::IsADirectory(key.volume + ": is a directory");
    if (!S_ISREG(a.mode)) return Status::NotSupported(key.volume + ": not a regular file");
    RPFS_ASSIGN_OR_RETURN(std::vector<guest::FileExtent> extents, vol->MapFile(a.ino));
    h->guest = std::make_shared<GuestFileReader>(vol, a.ino, a.size, std::move(extents));
    return Status::OK();
  }
  Result<std::string> ReadLink(NodeContext& ctx, const NodeKey& key) const override {
    RPFS_ASSIGN_OR_RETURN(auto vol, ctx.volumes.Open(key.vm, key.rp_id, key.volume));
    std::lock_guard lock(vol->mu);
    return vol->fs->ReadLink(key.guest_ino);
  }
  // The guest's own owner, mode and inode number, which the mount does not show as such.
  Result<std::vector<std::pair<std::string, std::string>>> Xattrs(
      NodeContext& ctx, const NodeKey& key) const override {
    RPFS_ASSIGN_OR_RETURN(NodeFacts facts, Load(ctx, key));
    const FileAttr& a = *facts.guest;
    char mode[16];
    std::snprintf(mode, sizeof mode, "%o", a.mode);
    return std::vector<std::pair<std::string, std::string>>{
        {"user.rpfs.guest_uid", std::to_string(a.uid)},
        {"user.rpfs.guest_gid", std::to_string(a.gid)},
        {"user.rpfs.guest_ino", std::to_string(a.ino)},
        {"user.rpfs.guest_mode", mode},
        {"user.rpfs.guest_rdev", std::to_string(a.rdev)},
    };
  }
  bool UsesPageCache() const override { return true; }
};

}  // namespace

const NodeKindOps& FilesDirKind() {
  static const FilesDir kind;
  return kind;
}
const NodeKindOps& VolumesTextKind() {
  static const VolumesText kind;
  return kind;
}
const NodeKindOps& VolumeRawKind() {
  static const VolumeRaw kind;
  return kind;
}
const NodeKindOps& VolumeDirKind() {
  static const VolumeDir kind;
  return kind;
}
const NodeKindOps& GuestNodeKind() {
  static const GuestNode kind;
  return kind;
}

}  // namespace rpfs::fs
