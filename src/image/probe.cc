#include <fcntl.h>
#include <sys/stat.h>

#include "image/image_source.h"
#include "util/fd.h"

namespace rpfs::image {

Result<format::DiskFormat> ProbeFormat(const std::string& path) {
  // Non-blocking, so a FIFO does not hang here; OpenImage then refuses it by type.
  RPFS_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY | O_NONBLOCK));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
    return format::DiskFormat::kRaw;
  }
  std::byte magic[4];
  RPFS_ASSIGN_OR_RETURN(size_t n, PreadFull(fd.get(), magic, 0, path));
  // qcow2 files start with "QFI\xfb"; only detection, qemu does the interpreting.
  if (n == 4 && magic[0] == std::byte{'Q'} && magic[1] == std::byte{'F'} &&
      magic[2] == std::byte{'I'} && magic[3] == std::byte{0xfb}) {
    return format::DiskFormat::kQcow2;
  }
  return format::DiskFormat::kRaw;
}

}  // namespace rpfs::image
