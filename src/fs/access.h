// Who may do what in the mount (docs/security.md). The kernel enforces it: the mount uses
// `default_permissions`, so every node's owner, group and mode, all made here, are the
// whole read policy. In short:
//   - an RP's disk file takes the owner, group and read bits of the file it was read from
//     (recorded when the RP was made), never wider; its directory and `info` no wider
//     than its disks; memory.state and domain.xml the mount owner's only;
//   - the directories the mount owner controls (the root, VM directories, `.clones`, clone
//     directories) let others pass through but not list;
//   - clone disks are 0600, owned by whom the clone is for (chown, as libvirt does);
//   - an operators group, if configured, may also read and list everything but clone disks.
// Writes are the mount owner's (and root's): the kernel refuses mkdir/rmdir/rename to
// others (no write bit on a VM directory), and `.control` refuses their commands itself
// (MayControl) so that the refusal is recorded in `.status`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "rpfs/repository.h"

namespace rpfs::fs {

// Who the caller of a request is (FUSE gives it with every request).
struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t pid = 0;  // the calling thread as the kernel names it (0 from another pid namespace)
};

struct MountAccess {
  uint32_t owner_uid = 0;  // the mount's owner: the daemon's user
  uint32_t owner_gid = 0;
  std::optional<uint32_t> operators;  // a group that may read every RP (mount -o group=)

  // The daemon's own user, with `operators` if given.
  static MountAccess OfThisProcess(std::optional<uint32_t> operators = std::nullopt);
};

// Owner, group and permission bits (no file type) of one node.
struct NodeAccess {
  uint32_t uid = 0;
  uint32_t gid = 0;
  mode_t perm = 0;
};

// An RP's disk file: its source's owner and group, and its read bits only.
NodeAccess RpDiskAccess(const MountAccess& m, const RpDiskInfo& disk);
// An RP's directory: a class (owner, group, others) may read and enter it only if it may
// read every disk of the RP.
NodeAccess RpDirAccess(const MountAccess& m, const RpInfo& rp);
// An RP's `info`: as its directory, without the search bits.
NodeAccess RpInfoAccess(const MountAccess& m, const RpInfo& rp);
// memory.state, domain.xml and the generated texts of a VM (.status, .prune-preview, a
// clone's .status): the mount owner's (and the operators') to read.
NodeAccess OwnerReadAccess(const MountAccess& m);
// The root, a VM directory, `.clones`, a clone directory: the owner's; others pass through.
NodeAccess OwnerDirAccess(const MountAccess& m);
// `.control`: anyone may open it for writing; MayControl decides whose commands run.
NodeAccess ControlAccess(const MountAccess& m);
// A clone disk: 0600, owned by `owner` when it was given one (chown), else the mount's owner.
NodeAccess CloneDiskAccess(const MountAccess& m,
                           std::optional<std::pair<uint32_t, uint32_t>> owner);

// A guest file on `disk` whose guest mode is `guest_mode` (the guest's uids mean nothing on
// the host): owned as the disk file is; a class that may read the disk sees the guest's read
// and search bits, and the disk's owner always reads (it may read every byte of the disk
// anyway). Never a write, set-id or sticky bit: never wider than the disk.
NodeAccess GuestFileAccess(const MountAccess& m, const RpDiskInfo& disk, uint32_t guest_mode);

// OK when `caller` may run commands on the VMs of this mount (root and the mount's owner);
// else PermissionDenied naming the caller and the rule.
Status MayControl(const MountAccess& m, const Caller& caller);

}  // namespace rpfs::fs
