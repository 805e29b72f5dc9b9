// Named crash points for crash-consistency tests.
//
// When the environment variable RPFS_CRASH_AT is "<name>" or "<name>:<n>", the process
// kills itself with SIGKILL the n-th time (default 1st) it reaches CrashPoint(<name>):
// no destructors, no flushes, exactly like `kill -9`. Unset, a crash point costs one
// branch on a cached value.
#pragma once

#include <string_view>

namespace rpfs {

void CrashPoint(std::string_view name);

}  // namespace rpfs
