// guestfs: the adapters of the guest-filesystem libraries (libext2fs for ext2/3/4, The Sleuth
// Kit for FAT, exFAT, NTFS and ISO 9660), each behind guest::GuestFs. Only the sandboxed
// helper process links this layer's code into a running path: the daemon never parses a
// guest filesystem itself.
#pragma once

#include <memory>

#include "guest/guest_fs.h"
#include "guest/volumes.h"

namespace rpfs::guestfs {

// Opens the filesystem of type `type` on `volume` read-only. NotSupported naming the type
// when no adapter takes it; Corruption naming the structure when it does not open.
Result<std::unique_ptr<guest::GuestFs>> OpenGuestFs(guest::FsType type, guest::SourcePtr volume);

}  // namespace rpfs::guestfs
