// ExportOutput: where an export's bytes go, written with O_DIRECT when that is possible.
//
// An export writes every byte once and never reads it back. Through the page cache each
// write is first copied into kernel memory; on this project's machines that copy cost more
// than decoding the whole RP (docs/performance.md), and it evicts everything else cached.
// So a regular file takes O_DIRECT when its filesystem allows it. Direct I/O needs the
// buffer, the length and the offset aligned to kDirectIoAlign: the caller's buffers come from
// AlignedBuffer, and the one write that cannot be aligned (the disk's last, short chunk), or
// any the filesystem refuses with EINVAL, falls back to buffered I/O for the rest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "rpfs/status.h"
#include "util/aligned_buffer.h"

namespace rpfs::rp {

class ExportOutput {
 public:
  // `fd` stays the caller's; its file status flags are given back by the destructor.
  explicit ExportOutput(int fd);
  ~ExportOutput();
  ExportOutput(const ExportOutput&) = delete;
  ExportOutput& operator=(const ExportOutput&) = delete;

  // Writes all of `data` at `offset`, or at the file position when `offset` is empty (a
  // pipe or character device cannot seek).
  Status Write(std::span<const std::byte> data, std::optional<uint64_t> offset);
  bool direct() const { return direct_; }

 private:
  void StopDirect();

  int fd_;
  int flags_;
  bool direct_ = false;
  uint64_t position_ = 0;  // where a write without an offset lands (O_DIRECT alignment)
};

}  // namespace rpfs::rp
