// DirectIo: a file opened a second time with O_DIRECT, for the reads and writes of whole,
// aligned blocks that should bypass the page cache.
//
// On this project's machines copying bytes between user memory and the page cache costs more
// CPU than the I/O itself (~0.9 s of system time per GiB either way; docs/performance.md),
// and bulk reads and writes of disk images (a backup reading a whole disk, a clone being
// filled) would evict everything else cached for no later reader. So callers that move
// whole chunks keep their buffers aligned (AlignedBuffer) and go through here: an aligned
// transfer goes direct, anything else (a short last chunk, a header read) and the rest of a
// transfer cut short go through the caller's ordinary descriptor, and a filesystem that
// refuses direct I/O (EINVAL) turns it off for good. A read of a range the page cache holds
// any of (an image a VM just used through the host's cache) is taken from the cache: that
// copy is cheaper than the disk. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string_view>

#include "rpfs/status.h"
#include "util/fd.h"

namespace rpfs {

class DirectIo {
 public:
  // Opens the file behind `fd` again (through /proc/self/fd: the same file, even if its path
  // now names another) with O_DIRECT and `flags` (O_RDONLY or O_WRONLY). Where that fails
  // every transfer simply goes through `fd`.
  DirectIo(int fd, int flags);

  // PreadFull/PwriteFull of util/fd.h on `fd`, direct when the buffer, length and offset
  // are aligned to kDirectIoAlign.
  Result<size_t> PreadFull(int fd, std::span<std::byte> out, uint64_t offset,
                           std::string_view what);
  Status PwriteFull(int fd, std::span<const std::byte> data, uint64_t offset,
                    std::string_view what);

 private:
  // Whether this transfer may try O_DIRECT.
  bool Usable(const void* buffer, size_t length, uint64_t offset) const;
  // Whether the page cache holds any page of [offset, offset + length) of `fd`'s file
  // (cachestat, which reads nothing); false where the kernel cannot tell.
  bool AnyCached(int fd, uint64_t offset, size_t length);
  // After a direct call returned `n` (errno set when negative): the bytes it moved, or the
  // error to report. EINVAL turns direct I/O off; EINTR moves nothing.
  Result<size_t> Moved(ssize_t n, std::string_view what);

  UniqueFd direct_;
  std::atomic<bool> ok_{true};
  std::atomic<bool> cachestat_ok_{true};
};

}  // namespace rpfs
