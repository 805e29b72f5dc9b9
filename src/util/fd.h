// RAII file descriptors and full-length I/O helpers that retry on EINTR and short counts.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <span>
#include <string>
#include <utility>

#include "rpfs/status.h"

namespace rpfs {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing.
  int Release() { return std::exchange(fd_, -1); }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Opens `path`; the error names the path and the cause.
Result<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode = 0644);

// Reads until `out` is full or end of file; returns the bytes read.
Result<size_t> PreadFull(int fd, std::span<std::byte> out, off_t offset, std::string_view what);
// Writes all of `data` or fails.
Status PwriteFull(int fd, std::span<const std::byte> data, off_t offset, std::string_view what);
Status WriteFull(int fd, std::span<const std::byte> data, std::string_view what);

// Reads a whole (small) file.
Result<std::string> ReadSmallFile(const std::string& path);
// Writes a whole file atomically (temp file + fsync + rename + fsync of the directory).
Status WriteFileAtomic(const std::string& path, std::string_view contents);
Status FsyncDir(const std::string& dir);

}  // namespace rpfs
