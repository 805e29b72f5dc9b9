// qemu's image locks (block/file-posix.c), as other processes hold them on a file.
//
// qemu holds shared OFD locks on byte 100+i of an image for every permission i it uses
// and on byte 200+i for every permission i it does not let others have; permission 0 is
// consistent read, 1 write. So a reader (`qemu-io -r`) holds byte 100, a VM or `qemu-io`
// that may write holds 101 as well. Rollback refuses any of them; create (which only
// reads) refuses a holder that may write; export refuses any of them on its output file.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "rpfs/status.h"

namespace rpfs::image {

inline constexpr off_t kQemuPermBase = 100;
inline constexpr off_t kQemuSharedBase = 200;
inline constexpr off_t kQemuPermBits = 64;
inline constexpr off_t kQemuConsistentRead = 0;  // BLK_PERM_CONSISTENT_READ
inline constexpr off_t kQemuWrite = 1;           // BLK_PERM_WRITE

// The first byte of qemu's range (100..263) that another open file description holds a
// lock on through `fd`'s file, or nullopt when there is none.
Result<std::optional<off_t>> QemuLockOfOthers(int fd);
// Whether another open file description holds byte 101: a qemu that may write the image.
Result<bool> QemuWriterOfOthers(int fd);
// "qemu's lock on byte 101 (it uses the write permission)": what a held byte means.
std::string DescribeQemuLock(off_t byte);
// Create's check of an image it reads directly: Busy, naming the image (`name`, `path`)
// and the lock, when a qemu that may write it holds it (byte 101), since a copy read
// meanwhile is torn. A path that cannot be opened passes (opening it to read reports that).
Status CheckNoQemuWriter(const std::string& name, const std::string& path);
// Takes the locks of a writer that shares nothing it uses (consistent read and write), so
// a qemu starting meanwhile stops. `label` names the file in errors.
Status TakeQemuWriterLocks(int fd, const std::string& label);

}  // namespace rpfs::image
