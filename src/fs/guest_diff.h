// The guest files that differ between two RPs of one VM (`rpfs diff`, `files/.diff-from/`;
// docs/guest-files.md), like `zfs diff` and `borg diff`.
//
// Both trees are walked through the guest filesystems (metadata only). A regular file of the
// same size is compared piece by piece: a piece whose extents lie on chunks with the same
// digests in both RPs is equal without being read (GuestFileReader::Fingerprint); only the
// other pieces are read and compared. An unchanged file costs its metadata, nothing more.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fs/guest_volumes.h"
#include "rpfs/status.h"

namespace rpfs::fs {

struct GuestChange {
  enum class Kind : uint8_t { kAdded, kRemoved, kModified };
  Kind kind = Kind::kModified;
  std::string path;   // as under files/: "vda1/etc/hosts"; a volume alone: "vda2"
  uint32_t type = 0;  // S_IFMT bits (of the new entry; of the old one when removed)
  // kModified: what changed, in this order: "content", "mode", "owner", "link".
  std::vector<std::string> what;
};

struct GuestDiff {
  std::vector<GuestChange> changes;  // in path order of each volume, volumes in disk order
  // Volumes that could not be compared, each "vda2: <reason>" (the rest still is).
  std::vector<std::string> errors;
  uint64_t bytes_read = 0;  // file bytes read to compare contents (both sides)
};

// The changes from RP `from_rp` to RP `to_rp` of `vm`.
Result<GuestDiff> DiffGuestFiles(GuestVolumes& volumes, const std::string& vm, uint64_t from_rp,
                                 uint64_t to_rp);

// One line per change: "+ path", "- path", "M path (content, mode)"; directories end in
// '/'; then one line per error: "! vda2: reason".
std::string FormatGuestDiff(const GuestDiff& diff);

const char* ChangeKindName(GuestChange::Kind kind);  // "added", "removed", "modified"

}  // namespace rpfs::fs
