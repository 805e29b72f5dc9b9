#include "fs/guest_diff.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

namespace rpfs::fs {
namespace {

using guest::FileAttr;

// Contents are compared in windows of this size: a window whose fingerprints agree is not read.
constexpr uint64_t kWindow = 1 << 20;
// A hostile filesystem may nest directories without end (or loop): deeper is an error.
constexpr int kMaxDepth = 1024;

using Entries = std::vector<std::pair<std::string, FileAttr>>;

// `f` on the filesystem of `v`, holding its mutex.
template <typename F>
auto Call(OpenVolume& v, F&& f) {
  std::lock_guard lock(v.mu);
  return f(*v.fs);
}

// Whether `a` and `b` hold the same `size` bytes: windows with equal fingerprints are not
// read; the rest are read from both and compared (counted in `*read`).
Result<bool> SameBytes(const GuestFileReader& a, const GuestFileReader& b, uint64_t size,
                       uint64_t* read) {
  std::vector<std::byte> ba, bb;
  for (uint64_t off = 0; off < size; off += kWindow) {
    uint64_t n = std::min(kWindow, size - off);
    RPFS_ASSIGN_OR_RETURN(std::string fa, a.Fingerprint(off, n));
    RPFS_ASSIGN_OR_RETURN(std::string fb, b.Fingerprint(off, n));
    if (!fa.empty() && fa == fb) continue;
    ba.resize(n);
    bb.resize(n);
    RPFS_ASSIGN_OR_RETURN(size_t ga, a.ReadAt(off, ba));
    RPFS_ASSIGN_OR_RETURN(size_t gb, b.ReadAt(off, bb));
    *read += ga + gb;
    if (ga != n || gb != n) return Status::IOError("short read comparing contents", EIO);
    if (std::memcmp(ba.data(), bb.data(), n) != 0) return false;
  }
  return true;
}

// One volume of each RP, compared tree against tree. GuestFs is not thread-safe: every call
// holds its volume's mutex, never both at once (the two may be one volume).
class TreeDiff {
 public:
  TreeDiff(std::shared_ptr<OpenVolume> from, std::shared_ptr<OpenVolume> to, GuestDiff* out)
      : from_(std::move(from)), to_(std::move(to)), out_(out) {}

  Status Run(const std::string& volume) {
    uint64_t a = Call(*from_, [](guest::GuestFs& fs) { return fs.RootIno(); });
    uint64_t b = Call(*to_, [](guest::GuestFs& fs) { return fs.RootIno(); });
    return CompareDirs(volume, a, b, 0);
  }

 private:
  // The showable entries of `dir` (OpenVolume::ListDir), sorted by name.
  static Result<Entries> List(OpenVolume& v, uint64_t dir) {
    RPFS_ASSIGN_OR_RETURN(Entries out, v.ListDir(dir));
    std::sort(out.begin(), out.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    return out;
  }

  Status CompareDirs(const std::string& path, uint64_t a, uint64_t b, int depth) {
    if (depth > kMaxDepth) return Status::Corruption(path + ": directories nested too deep");
    // A directory seen before on either side is a loop (or a hard-linked directory):
    // compared once.
    if (!seen_from_.insert(a).second || !seen_to_.insert(b).second) return Status::OK();
    RPFS_ASSIGN_OR_RETURN(Entries from, List(*from_, a));
    RPFS_ASSIGN_OR_RETURN(Entries to, List(*to_, b));
    size_t i = 0, j = 0;
    while (i < from.size() || j < to.size()) {
      int order = i == from.size() ? 1 : j == to.size() ? -1 : from[i].first.compare(to[j].first);
      if (order < 0) {
        RPFS_RETURN_IF_ERROR(ListSubtree(GuestChange::Kind::kRemoved, path + "/" + from[i].first,
                                         from[i].second, depth + 1));
        ++i;
      } else if (order > 0) {
        RPFS_RETURN_IF_ERROR(ListSubtree(GuestChange::Kind::kAdded, path + "/" + to[j].first,
                                         to[j].second, depth + 1));
        ++j;
      } else {
        RPFS_RETURN_IF_ERROR(
            CompareEntries(path + "/" + to[j].first, from[i].second, to[j].second, depth + 1));
        ++i;
        ++j;
      }
    }
    return Status::OK();
  }

  Status CompareEntries(const std::string& path, const FileAttr& a, const FileAttr& b, int depth) {
    if ((a.mode & S_IFMT) != (b.mode & S_IFMT)) {
      RPFS_RETURN_IF_ERROR(ListSubtree(GuestChange::Kind::kRemoved, path, a, depth));
      return ListSubtree(GuestChange::Kind::kAdded, path, b, depth);
    }
    GuestChange c{GuestChange::Kind::kModified, path, b.mode & S_IFMT, {}};
    if (S_ISREG(a.mode)) {
      RPFS_ASSIGN_OR_RETURN(bool same, SameContent(a, b));
      if (!same) c.what.emplace_back("content");
    } else if ((S_ISCHR(a.mode) || S_ISBLK(a.mode)) && a.rdev != b.rdev) {
      c.what.emplace_back("content");
    }
    if ((a.mode & 07777) != (b.mode & 07777)) c.what.emplace_back("mode");
    if (a.uid != b.uid || a.gid != b.gid) c.what.emplace_back("owner");
    if (S_ISLNK(a.mode)) {
      RPFS_ASSIGN_OR_RETURN(std::string ta,
                            Call(*from_, [&](auto& fs) { return fs.ReadLink(a.ino); }));
      RPFS_ASSIGN_OR_RETURN(std::string tb,
                            Call(*to_, [&](auto& fs) { return fs.ReadLink(b.ino); }));
      if (ta != tb) c.what.emplace_back("link");
    }
    if (!c.what.empty()) out_->changes.push_back(std::move(c));
    if (S_ISDIR(a.mode)) return CompareDirs(path, a.ino, b.ino, depth);
    return Status::OK();
  }

  // `path` and, for a directory, everything below it, as added (from `to_`) or removed.
  Status ListSubtree(GuestChange::Kind kind, const std::string& path, const FileAttr& attr,
                     int depth) {
    out_->changes.push_back({kind, path, attr.mode & S_IFMT, {}});
    if (!S_ISDIR(attr.mode)) return Status::OK();
    if (depth > kMaxDepth) return Status::Corruption(path + ": directories nested too deep");
    bool added = kind == GuestChange::Kind::kAdded;
    OpenVolume& v = added ? *to_ : *from_;
    if (!(added ? seen_to_ : seen_from_).insert(attr.ino).second) return Status::OK();
    RPFS_ASSIGN_OR_RETURN(Entries entries, List(v, attr.ino));
    for (const auto& [name, child] : entries) {
      RPFS_RETURN_IF_ERROR(ListSubtree(kind, path + "/" + name, child, depth + 1));
    }
    return Status::OK();
  }

  Result<bool> SameContent(const FileAttr& a, const FileAttr& b) {
    if (a.size != b.size) return false;
    RPFS_ASSIGN_OR_RETURN(auto ea, Call(*from_, [&](auto& fs) { return fs.MapFile(a.ino); }));
    RPFS_ASSIGN_OR_RETURN(auto eb, Call(*to_, [&](auto& fs) { return fs.MapFile(b.ino); }));
    GuestFileReader ra(from_, a.ino, a.size, std::move(ea));
    GuestFileReader rb(to_, b.ino, b.size, std::move(eb));
    return SameBytes(ra, rb, a.size, &out_->bytes_read);
  }

 private:
  std::shared_ptr<OpenVolume> from_, to_;
  GuestDiff* out_;
  std::set<uint64_t> seen_from_, seen_to_;
};

// A volume that is in one RP only, or whose kind changed (a tree on one side only).
void VolumeAppears(GuestChange::Kind kind, const guest::VolumeInfo& v, GuestDiff* out) {
  out->changes.push_back(
      {kind, v.name, static_cast<uint32_t>(ShowsTree(v) ? S_IFDIR : S_IFREG), {}});
}

// Two volumes of the same name: their trees compared, or their raw bytes when neither has one.
Status CompareVolume(GuestVolumes& volumes, const std::string& vm, uint64_t from_rp, uint64_t to_rp,
                     const RpVolumes& va, const RpVolumes& vb, const guest::VolumeInfo& a,
                     const guest::VolumeInfo& b, GuestDiff* out) {
  if (ShowsTree(a) != ShowsTree(b)) {
    VolumeAppears(GuestChange::Kind::kRemoved, a, out);
    VolumeAppears(GuestChange::Kind::kAdded, b, out);
    return Status::OK();
  }
  if (ShowsTree(a)) {
    RPFS_ASSIGN_OR_RETURN(auto from, volumes.Open(vm, from_rp, a.name));
    RPFS_ASSIGN_OR_RETURN(auto to, volumes.Open(vm, to_rp, b.name));
    return TreeDiff(std::move(from), std::move(to), out).Run(a.name);
  }
  guest::SourcePtr sa = va.SourceOf(a.name), sb = vb.SourceOf(b.name);
  if (sa == nullptr || sb == nullptr) {
    if (a.state != b.state)
      out->changes.push_back({GuestChange::Kind::kModified, a.name, S_IFREG, {"content"}});
    return Status::OK();
  }
  bool same = sa->size() == sb->size();
  if (same) {
    auto ra = GuestFileReader::WholeVolume(sa), rb = GuestFileReader::WholeVolume(sb);
    RPFS_ASSIGN_OR_RETURN(same, SameBytes(*ra, *rb, sa->size(), &out->bytes_read));
  }
  if (!same) out->changes.push_back({GuestChange::Kind::kModified, a.name, S_IFREG, {"content"}});
  return Status::OK();
}

// Bytes a line of text cannot show plainly (a guest name may hold any byte but '/' and NUL),
// as zfs diff writes them: backslash and three octal digits.
std::string Escaped(const std::string& path) {
  std::string out;
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace

const char* ChangeKindName(GuestChange::Kind kind) {
  switch (kind) {
    case GuestChange::Kind::kAdded:
      return "added";
    case GuestChange::Kind::kRemoved:
      return "removed";
    case GuestChange::Kind::kModified:
      return "modified";
  }
  return "modified";
}

Result<GuestDiff> DiffGuestFiles(GuestVolumes& volumes, const std::string& vm, uint64_t from_rp,
                                 uint64_t to_rp) {
  RPFS_ASSIGN_OR_RETURN(auto va, volumes.Scan(vm, from_rp));
  RPFS_ASSIGN_OR_RETURN(auto vb, volumes.Scan(vm, to_rp));
  GuestDiff out;
  for (const guest::VolumeInfo& b : vb->volumes) {
    const guest::VolumeInfo* a = va->Find(b.name);
    if (a == nullptr) {
      VolumeAppears(GuestChange::Kind::kAdded, b, &out);
      continue;
    }
    Status s = CompareVolume(volumes, vm, from_rp, to_rp, *va, *vb, *a, b, &out);
    if (!s.ok()) out.errors.push_back(b.name + ": " + s.message());
  }
  for (const guest::VolumeInfo& a : va->volumes) {
    if (vb->Find(a.name) == nullptr) VolumeAppears(GuestChange::Kind::kRemoved, a, &out);
  }
  return out;
}

std::string FormatGuestDiff(const GuestDiff& diff) {
  std::string out;
  for (const GuestChange& c : diff.changes) {
    out += c.kind == GuestChange::Kind::kAdded     ? "+ "
           : c.kind == GuestChange::Kind::kRemoved ? "- "
                                                   : "M ";
    out += Escaped(c.path);
    if (S_ISDIR(c.type)) out.push_back('/');
    if (!c.what.empty()) {
      out += " (";
      for (size_t i = 0; i < c.what.size(); ++i) out += (i ? ", " : "") + c.what[i];
      out += ")";
    }
    out.push_back('\n');
  }
  for (const std::string& e : diff.errors) out += "! " + Escaped(e) + "\n";
  return out;
}

}  // namespace rpfs::fs
