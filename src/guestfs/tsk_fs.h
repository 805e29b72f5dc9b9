// TskFs: guest::GuestFs for FAT12/16/32, exFAT, NTFS and ISO 9660 through The Sleuth Kit,
// over a callback image reading a guest::ByteSource.
//
// The filesystem type is always given explicitly: TSK's autodetection tries every prober and
// one of them (YAFFS2) reads about the whole volume. Inode numbers are TSK metadata addresses
// (NTFS MFT entries; on FAT and exFAT, TSK's numbering of directory entries).
//
// What is shown, and why:
//  - Only allocated names; never ".", "..", or TSK's virtual entries ($OrphanFiles, $MBR,
//    $FAT1, $FAT2, and on exFAT $ALLOC_BITMAP, $UPCASE_TABLE, ... and the FAT/exFAT volume label
//    "<label> (Volume Label Entry)"), which are not in the guest's tree: a guest file of exactly
//    such a name in the root is hidden too (TSK gives no other way to tell them apart). On NTFS the
//    metadata files of the root ($MFT, $LogFile, $Extend, ...) are hidden too: Windows does not
//    show them either. NTFS DOS 8.3 names are not listed (TSK reports one name per entry, the long
//    one).
//  - FAT, exFAT, NTFS and ISO 9660 (TSK 4.11 reads no Rock Ridge) have no Unix owners or
//    modes: directories show as 0755, files as 0644, uid/gid 0 (TSK maps no NTFS owners).
//  - Times as TSK decodes them: FAT mtime to 2 s, exFAT 10 ms, NTFS 100 ns. ISO 9660 has only
//    the recording time (1 s), shown as mtime, atime and ctime. Rock Ridge symlinks, modes and
//    times are not decoded by TSK 4.11: ISO entries are files and directories only.
//  - Lookup matches names exactly (no FAT/NTFS case folding): callers take names from ReadDir.
// Not thread-safe (GuestFs contract); one TSK image cache (2 MiB) per instance.
#pragma once

#include <memory>

#include "guest/guest_fs.h"
#include "guest/volumes.h"

namespace rpfs::guestfs {

// Opens `volume` as filesystem `type` (kVfat, kExfat, kNtfs, kIso9660). NotSupported for other
// types; Corruption naming the volume when TSK cannot open it as that type.
Result<std::unique_ptr<guest::GuestFs>> OpenTskFs(guest::FsType type, guest::SourcePtr volume);

}  // namespace rpfs::guestfs
