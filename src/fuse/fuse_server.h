// The libfuse3 low-level adapter: an op table of thin callbacks over fs::Filesystem, and
// the session that serves a mount point. The only code that includes libfuse.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fs/filesystem.h"
#include "rpfs/status.h"

namespace rpfs::fuse {

struct MountOptions {
  std::string mountpoint;
  std::vector<std::string> options;  // -o values, e.g. "allow_other"
  bool debug = false;
};

// Mounts `fs` and serves it with a multi-threaded loop until unmounted (fusermount3 -u,
// umount) or SIGINT/SIGTERM/SIGHUP. `ready` is called once the mount answers requests.
Status Serve(fs::Filesystem* fs, const MountOptions& opts, const std::function<void()>& ready);

// The libfuse library this process runs with ("3.14.0"), for `rpfs --version`.
std::string FuseLibraryVersion();

}  // namespace rpfs::fuse
