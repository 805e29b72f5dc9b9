// ExtFs: guest::GuestFs for ext2/3/4 through libext2fs, read-only, over an ExtIo channel.
//
// File data is described by MapFile from the extent tree (or the block map of ext2/3 files)
// so the daemon reads it from the volume itself; Read goes through libext2fs' file API and
// serves what only the filesystem can produce (inline data, encrypted files). Directory
// lookups go through a bounded per-directory name cache, because ext2fs_lookup scans the
// whole directory each time (no htree lookup in the library).
//
// A journal with committed transactions is replayed in memory at open (guest/jbd2.h):
// State() is then "journal replayed", and MapFile sends the blocks the replay replaced
// through Read (kInline) rather than to the original volume. Not thread-safe,
// like every GuestFs (libext2fs handles mutate on reads).
#pragma once

#include <memory>

#include "guest/guest_fs.h"

namespace rpfs::guestfs {

// Opens the ext2/3/4 filesystem on `volume`. Corruption naming the volume when its
// superblock or group descriptors do not check out; NotSupported for incompatible features
// libext2fs does not know.
Result<std::unique_ptr<guest::GuestFs>> OpenExtFs(guest::SourcePtr volume);

}  // namespace rpfs::guestfs
