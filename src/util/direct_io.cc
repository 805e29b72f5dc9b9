#include "util/direct_io.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "util/aligned_buffer.h"

namespace rpfs {

DirectIo::DirectIo(int fd, int flags)
    : direct_(::open(("/proc/self/fd/" + std::to_string(fd)).c_str(),
                     flags | O_DIRECT | O_NONBLOCK | O_CLOEXEC)) {}

namespace {

// cachestat(2) (Linux 6.5); Debian 12's headers predate it. Same number on every
// architecture (the generic syscall table).
constexpr long kSysCachestat = 451;
struct CachestatRange {
  uint64_t off;
  uint64_t len;
};
struct Cachestat {
  uint64_t nr_cache;
  uint64_t nr_dirty;
  uint64_t nr_writeback;
  uint64_t nr_evicted;
  uint64_t nr_recently_evicted;
};

}  // namespace

bool DirectIo::AnyCached(int fd, uint64_t offset, size_t length) {
  if (!cachestat_ok_.load(std::memory_order_relaxed)) return false;
  CachestatRange range = {offset, length};
  Cachestat stat = {};
  if (::syscall(kSysCachestat, fd, &range, &stat, 0) != 0) {
    // An older kernel (ENOSYS) or a file it cannot tell about: read direct from now on.
    cachestat_ok_ = false;
    return false;
  }
  return stat.nr_cache > 0;
}

bool DirectIo::Usable(const void* buffer, size_t length, uint64_t offset) const {
  return direct_.valid() && ok_.load(std::memory_order_relaxed) &&
         IsDirectAligned(buffer, length, offset);
}

Result<size_t> DirectIo::Moved(ssize_t n, std::string_view what) {
  if (n >= 0) return static_cast<size_t>(n);
  if (errno == EINVAL) {
    ok_ = false;  // the filesystem takes no direct I/O after all
    return size_t{0};
  }
  if (errno == EINTR) return size_t{0};
  return Status::FromErrno(errno, std::string(what) + " (direct I/O)");
}

Result<size_t> DirectIo::PreadFull(int fd, std::span<std::byte> out, uint64_t offset,
                                   std::string_view what) {
  size_t done = 0;
  // A range the page cache holds some of is copied from it: cheaper than reading it from
  // the disk again (a warm rollback compare took twice as long direct).
  if (Usable(out.data(), out.size(), offset) && !AnyCached(fd, offset, out.size())) {
    RPFS_ASSIGN_OR_RETURN(
        done,
        Moved(::pread(direct_.get(), out.data(), out.size(), static_cast<off_t>(offset)), what));
    if (done == out.size()) return done;
  }
  // The rest (a short read at the end of the file, EINTR, an unaligned read) is buffered.
  RPFS_ASSIGN_OR_RETURN(
      size_t n, rpfs::PreadFull(fd, out.subspan(done), static_cast<off_t>(offset + done), what));
  return done + n;
}

Status DirectIo::PwriteFull(int fd, std::span<const std::byte> data, uint64_t offset,
                            std::string_view what) {
  size_t done = 0;
  if (Usable(data.data(), data.size(), offset)) {
    RPFS_ASSIGN_OR_RETURN(
        done,
        Moved(::pwrite(direct_.get(), data.data(), data.size(), static_cast<off_t>(offset)), what));
    if (done == data.size()) return Status::OK();
  }
  return rpfs::PwriteFull(fd, data.subspan(done), static_cast<off_t>(offset + done), what);
}

}  // namespace rpfs
