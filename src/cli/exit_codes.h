// rpfs's exit codes: one per cause a script may want to tell apart (docs/cli.md, "Exit
// codes"). A failure's Status code picks its exit code in one table, ExitCodeFor, which
// follows the control file's errno table (fs::ToErrno) cause by cause.
#pragma once

#include "rpfs/status.h"

namespace rpfs::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;    // any other failure: I/O, a full disk, a helper
inline constexpr int kExitUsage = 2;     // bad syntax, option or name (EINVAL)
inline constexpr int kExitNotFound = 3;  // no such VM, RP, clone, disk or image (ENOENT)
inline constexpr int kExitExists = 4;    // the new name is taken (EEXIST)
inline constexpr int kExitBusy = 5;      // in use now; the same command may work later (EBUSY)
// Refused by rule whatever the timing: a protected RP, an unconfirmed rollback, a store of
// another user, something rpfs does not support (EACCES, EPERM, EROFS, EOPNOTSUPP).
inline constexpr int kExitRefused = 6;
inline constexpr int kExitDamaged = 7;  // stored data failed its checksum (EIO of corruption)
// A check ran and the RP failed it: a restore drill whose guest did not come up. Not a
// Status: the command itself worked (and stored the outcome).
inline constexpr int kExitCheckFailed = 8;
inline constexpr int kExitInternal = 70;  // a bug: an exception escaped (sysexits' EX_SOFTWARE)

// The exit code of a command that failed with `s` (kExitOk for OK).
int ExitCodeFor(const Status& s);

}  // namespace rpfs::cli
