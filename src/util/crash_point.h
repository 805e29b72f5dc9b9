// Named crash and pause points for crash-consistency and concurrency tests.
//
// RPFS_CRASH_AT="<name>" or "<name>:<n>": the process kills itself with SIGKILL the n-th
// time (default 1st) it reaches CrashPoint(<name>): no destructors, no flushes, exactly
// like `kill -9`.
//
// RPFS_PAUSE_AT="<name>" with RPFS_PAUSE_DIR=<dir>: the first time the process reaches
// CrashPoint(<name>) it opens the FIFO <dir>/paused for writing (blocking until the test
// opens it for reading: "I am here"), then opens <dir>/resume for reading (blocking until
// the test opens it for writing: "go on"). Tests synchronise on FIFOs, never on sleeps.
//
// Unset, a point costs one branch on a cached value.
#pragma once

#include <string_view>

namespace rpfs {

void CrashPoint(std::string_view name);

}  // namespace rpfs
