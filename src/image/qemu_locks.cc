#include "image/qemu_locks.h"

#include <fcntl.h>

#include <cerrno>

#include "util/fd.h"

namespace rpfs::image {
namespace {

Status LockByte(int fd, off_t byte) {
  struct flock fl = {};
  fl.l_type = F_RDLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  if (::fcntl(fd, F_OFD_SETLK, &fl) != 0) return Status::FromErrno(errno, "lock");
  return Status::OK();
}

// The first lock of another open file description over [start, start+len), if any.
Result<std::optional<off_t>> FirstLockOfOthers(int fd, off_t start, off_t len) {
  struct flock fl = {};
  fl.l_type = F_WRLCK;  // conflicts with every lock but ours
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  if (::fcntl(fd, F_OFD_GETLK, &fl) != 0) return Status::FromErrno(errno, "F_OFD_GETLK");
  if (fl.l_type == F_UNLCK) return std::optional<off_t>();
  return std::optional<off_t>(fl.l_start < start ? start : fl.l_start);
}

const char* PermName(off_t perm) {
  switch (perm) {
    case 0:
      return "consistent read";
    case 1:
      return "write";
    case 2:
      return "write unchanged";
    case 3:
      return "resize";
    default:
      return "a permission";
  }
}

}  // namespace

Result<std::optional<off_t>> QemuLockOfOthers(int fd) {
  return FirstLockOfOthers(fd, kQemuPermBase, kQemuSharedBase + kQemuPermBits - kQemuPermBase);
}

Result<bool> QemuWriterOfOthers(int fd) {
  RPFS_ASSIGN_OR_RETURN(auto held, FirstLockOfOthers(fd, kQemuPermBase + kQemuWrite, 1));
  return held.has_value();
}

std::string DescribeQemuLock(off_t byte) {
  std::string what;
  if (byte >= kQemuSharedBase) {
    what = std::string("it does not share the ") + PermName(byte - kQemuSharedBase) + " permission";
  } else {
    what = std::string("it uses the ") + PermName(byte - kQemuPermBase) + " permission";
  }
  return "qemu's lock on byte " + std::to_string(byte) + " (" + what + ")";
}

Status CheckNoQemuWriter(const std::string& name, const std::string& path) {
  auto fd = OpenFile(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (!fd.ok()) return Status::OK();
  RPFS_ASSIGN_OR_RETURN(bool writer, QemuWriterOfOthers(fd->get()));
  if (!writer) return Status::OK();
  return Status::Busy("image " + name + " (" + path + ") is in use by a running qemu that may " +
                      "write it (it holds " + DescribeQemuLock(kQemuPermBase + kQemuWrite) +
                      "): a copy read now may be torn; shut the VM down first, or use --force " +
                      "(control file: force) to take a crash-consistent copy knowingly");
}

Status TakeQemuWriterLocks(int fd, const std::string& label) {
  for (off_t perm : {kQemuConsistentRead, kQemuWrite}) {
    RPFS_RETURN_IF_ERROR(LockByte(fd, kQemuPermBase + perm).WithContext("locking ", label));
    RPFS_RETURN_IF_ERROR(LockByte(fd, kQemuSharedBase + perm).WithContext("locking ", label));
  }
  return Status::OK();
}

}  // namespace rpfs::image
