// The guest helper's sandbox: what a process gives up before it parses a hostile guest
// filesystem. After EnterSandbox the process can only compute, allocate memory, and talk on
// the sockets and standard streams it already holds; any other system call (open, socket,
// execve, fork, ptrace, ...) kills it with SIGSYS, which the daemon sees as a dead helper.
//
// Libraries must be initialised before (anything that opens /etc, locale or timezone files,
// loads modules or error tables): nothing can be opened afterwards. guestfs/helper_main.cc
// does that for libext2fs and The Sleuth Kit.
#pragma once

#include <sys/types.h>

#include "rpfs/status.h"

namespace rpfs::guest {

struct SandboxOptions {
  // The ids a helper started as root switches to (nobody/nogroup by default). A helper
  // started by an unprivileged daemon keeps that user's ids: it cannot change them, and the
  // seccomp filter is what confines it.
  uid_t uid = 65534;
  gid_t gid = 65534;
};

// In order: stdin and stdout to /dev/null (stderr stays for one-line diagnostics), every
// other descriptor but `socket_fd` closed, root's ids and groups dropped, no new privileges,
// not dumpable, resource limits, then the seccomp allowlist. Any failure is an error naming
// the step; the caller must exit then, never go on unconfined.
Status EnterSandbox(int socket_fd, const SandboxOptions& options = {});

}  // namespace rpfs::guest
