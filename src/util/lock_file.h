// An exclusive, process-wide lock on a file, holding the owner's pid.
//
// Uses an open-file-description lock (F_OFD_SETLK), released by the kernel when the
// process dies, even on kill -9: a stale lock never needs cleaning up by hand.
#pragma once

#include <string>

#include "rpfs/status.h"
#include "util/fd.h"

namespace rpfs {

class LockFile {
 public:
  // Takes the lock or returns Busy("store <what> is in use by pid N").
  static Result<LockFile> Acquire(const std::string& path, std::string_view what);

 private:
  explicit LockFile(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace rpfs
