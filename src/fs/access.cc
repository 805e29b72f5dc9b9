#include "fs/access.h"

#include <sys/stat.h>
#include <unistd.h>

namespace rpfs::fs {
namespace {

constexpr mode_t kReadBits = S_IRUSR | S_IRGRP | S_IROTH;

// Recorded owner uid 0 (root, or an RP made before owners were recorded) is the mount
// owner: the same user for a daemon running as root, and for one that is not, the user
// that could read the source when it made the RP.
uint32_t ShownUid(const MountAccess& m, uint32_t recorded) {
  return recorded == 0 ? m.owner_uid : recorded;
}

// The operators group, if any, may read what `a` lets its owner read: it takes the group
// (the file's own group loses its access, docs/security.md).
NodeAccess WithOperators(const MountAccess& m, NodeAccess a) {
  if (!m.operators) return a;
  a.gid = *m.operators;
  a.perm = (a.perm & ~S_IRWXG) | ((a.perm & S_IRWXU) >> 3 & (S_IRGRP | S_IXGRP));
  return a;
}

// Readable directories are searchable too (r-x), for the classes that may read.
mode_t ReadToDirBits(mode_t read_bits) { return read_bits | (read_bits >> 2); }

}  // namespace

MountAccess MountAccess::OfThisProcess(std::optional<uint32_t> operators) {
  return MountAccess{::getuid(), ::getgid(), operators};
}

NodeAccess RpDiskAccess(const MountAccess& m, const RpDiskInfo& disk) {
  NodeAccess a{ShownUid(m, disk.uid), disk.gid, static_cast<mode_t>(disk.mode & kReadBits)};
  return WithOperators(m, a);
}

NodeAccess RpDirAccess(const MountAccess& m, const RpInfo& rp) {
  if (rp.disks.empty()) return WithOperators(m, {m.owner_uid, m.owner_gid, S_IRUSR | S_IXUSR});
  const RpDiskInfo& first = rp.disks.front();
  NodeAccess a{ShownUid(m, first.uid), first.gid, kReadBits};
  for (const auto& d : rp.disks) {
    a.perm &= d.mode;
    // Disks of different owners (groups): only root, and the mount owner, reads them all.
    if (ShownUid(m, d.uid) != a.uid) {
      a.uid = m.owner_uid;
      a.perm |= S_IRUSR;
    }
    if (d.gid != a.gid) a.perm &= ~S_IRGRP;
  }
  a.perm = ReadToDirBits(a.perm & kReadBits);
  return WithOperators(m, a);
}

NodeAccess RpInfoAccess(const MountAccess& m, const RpInfo& rp) {
  NodeAccess a = RpDirAccess(m, rp);
  a.perm &= kReadBits;
  return a;
}

NodeAccess OwnerReadAccess(const MountAccess& m) {
  return WithOperators(m, {m.owner_uid, m.owner_gid, S_IRUSR});
}

NodeAccess OwnerDirAccess(const MountAccess& m) {
  NodeAccess a{m.owner_uid, m.owner_gid, S_IRWXU | S_IXGRP | S_IXOTH};
  return WithOperators(m, a);
}

NodeAccess ControlAccess(const MountAccess& m) {
  return {m.owner_uid, m.owner_gid, S_IWUSR | S_IWGRP | S_IWOTH};
}

NodeAccess CloneDiskAccess(const MountAccess& m,
                           std::optional<std::pair<uint32_t, uint32_t>> owner) {
  if (owner) return {owner->first, owner->second, S_IRUSR | S_IWUSR};
  return {m.owner_uid, m.owner_gid, S_IRUSR | S_IWUSR};
}

Status MayControl(const MountAccess& m, const Caller& caller) {
  if (caller.uid == 0 || caller.uid == m.owner_uid) return Status::OK();
  return Status::PermissionDenied("uid " + std::to_string(caller.uid) +
                                  " may not run commands here: only root and the mount's "
                                  "owner (uid " +
                                  std::to_string(m.owner_uid) + ") may (docs/security.md)");
}

NodeAccess GuestFileAccess(const MountAccess& m, const RpDiskInfo& disk, uint32_t guest_mode) {
  NodeAccess d = RpDiskAccess(m, disk);
  const bool dir = S_ISDIR(guest_mode);
  mode_t perm = 0;
  if ((d.perm & S_IRUSR) != 0) perm |= S_IRUSR | (dir ? S_IXUSR : (guest_mode & S_IXUSR));
  if ((d.perm & S_IRGRP) != 0) perm |= guest_mode & (S_IRGRP | S_IXGRP);
  if ((d.perm & S_IROTH) != 0) perm |= guest_mode & (S_IROTH | S_IXOTH);
  return {d.uid, d.gid, perm};
}

}  // namespace rpfs::fs
