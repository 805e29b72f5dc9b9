#include "rp/export_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "util/fd.h"

namespace rpfs::rp {
namespace {

bool IsAligned(uint64_t v) { return v % kDirectIoAlign == 0; }

}  // namespace

ExportOutput::ExportOutput(int fd) : fd_(fd), flags_(::fcntl(fd, F_GETFL)) {
  struct stat st;
  if (flags_ < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
  // Refused by filesystems without direct I/O: the export then stays buffered.
  direct_ = ::fcntl(fd, F_SETFL, flags_ | O_DIRECT) == 0;
  if (direct_) {
    off_t pos = ::lseek(fd, 0, SEEK_CUR);
    if (pos < 0 || !IsAligned(static_cast<uint64_t>(pos))) StopDirect();
    position_ = pos < 0 ? 0 : static_cast<uint64_t>(pos);
  }
}

ExportOutput::~ExportOutput() { StopDirect(); }

void ExportOutput::StopDirect() {
  if (direct_) (void)::fcntl(fd_, F_SETFL, flags_);
  direct_ = false;
}

Status ExportOutput::Write(std::span<const std::byte> data, std::optional<uint64_t> offset) {
  uint64_t at = offset.value_or(position_);
  if (direct_ && !(IsAligned(reinterpret_cast<uintptr_t>(data.data())) && IsAligned(data.size()) &&
                   IsAligned(at))) {
    StopDirect();
  }
  if (direct_) {
    // One attempt with O_DIRECT; whatever it did not write goes through the page cache.
    ssize_t n = offset ? ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(at))
                       : ::write(fd_, data.data(), data.size());
    if (n < 0 && errno != EINVAL && errno != EINTR) {
      return Status::FromErrno(errno, "export output");
    }
    size_t done = n > 0 ? static_cast<size_t>(n) : 0;
    if (done < data.size()) StopDirect();
    data = data.subspan(done);
    at += done;
  }
  position_ = at + data.size();
  if (data.empty()) return Status::OK();
  return offset ? PwriteFull(fd_, data, static_cast<off_t>(at), "export output")
                : WriteFull(fd_, data, "export output");
}

}  // namespace rpfs::rp
