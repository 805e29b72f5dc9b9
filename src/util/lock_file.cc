#include "util/lock_file.h"

#include <fcntl.h>

#include <string>

#include "util/bytes.h"

namespace rpfs {

Result<LockFile> LockFile::Acquire(const std::string& path, std::string_view what) {
  RPFS_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDWR | O_CREAT, 0644));
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_OFD_SETLK, &fl) != 0) {
    if (errno != EAGAIN && errno != EACCES) {
      return Status::FromErrno(errno, "locking " + path);
    }
    // Ask the kernel who holds it: the pid is reported for OFD locks as -1, so fall
    // back to the pid the owner wrote into the file.
    std::string owner = "another process";
    auto contents = ReadSmallFile(path);
    if (contents.ok() && !contents->empty()) {
      std::string pid = *contents;
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      owner = "pid " + pid;
    }
    return Status::Busy("store " + std::string(what) + " is in use by " + owner);
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0) return Status::FromErrno(errno, "truncating " + path);
  RPFS_RETURN_IF_ERROR(PwriteFull(fd.get(), AsBytes(pid), 0, path));
  return LockFile(std::move(fd));
}

}  // namespace rpfs
