// Raw images and block devices, read with pread; holes found with SEEK_DATA/SEEK_HOLE.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "image/image_source.h"
#include "image/sources.h"
#include "util/direct_io.h"
#include "util/fd.h"

namespace rpfs::image {
namespace {

class RawSource final : public ImageSource {
 public:
  RawSource(std::string name, std::string path, UniqueFd fd, struct stat st, uint64_t size)
      : name_(std::move(name)),
        path_(std::move(path)),
        fd_(std::move(fd)),
        direct_(fd_.get(), O_RDONLY),
        st_(st),
        size_(size) {}

  uint64_t size() const override { return size_; }

  Result<std::vector<Extent>> DataExtents() override {
    return FileDataExtents(fd_.get(), size_, S_ISREG(st_.st_mode), Describe());
  }

  Status ReadAt(uint64_t offset, std::span<std::byte> out) override {
    // Aligned reads (ingest's whole-chunk batches) go direct: see direct_.
    RPFS_ASSIGN_OR_RETURN(size_t n, direct_.PreadFull(fd_.get(), out, offset, Describe()));
    if (n != out.size()) {
      return Status::IOError(Describe() + " shrank while being read: wanted " +
                             std::to_string(out.size()) + " bytes at offset " +
                             std::to_string(offset) + ", got " + std::to_string(n));
    }
    return Status::OK();
  }

  Status CheckUnchanged() override {
    RPFS_RETURN_IF_ERROR(CheckSameFile(path_, st_, Describe()));
    if (S_ISREG(st_.st_mode)) {
      struct stat cur;
      if (::fstat(fd_.get(), &cur) != 0) return Status::FromErrno(errno, "stat " + Describe());
      if (static_cast<uint64_t>(cur.st_size) != size_) {
        return Status::IOError(Describe() +
                               " changed size while being read: " + std::to_string(size_) + " -> " +
                               std::to_string(cur.st_size) + " bytes");
      }
    }
    return Status::OK();
  }

 private:
  std::string Describe() const { return "image " + name_ + " (" + path_ + ")"; }

  std::string name_;
  std::string path_;
  UniqueFd fd_;
  // A backup reads the whole disk once: through the page cache that costs more CPU here
  // than the disk read itself, and evicts the host's cache on the way.
  DirectIo direct_;
  struct stat st_;
  uint64_t size_;
};

}  // namespace

Result<std::vector<Extent>> FileDataExtents(int fd, uint64_t size, bool regular,
                                            const std::string& label) {
  std::vector<Extent> out;
  if (!regular) {
    if (size > 0) out.push_back({0, size});
    return out;
  }
  off_t pos = 0;
  const off_t end = static_cast<off_t>(size);
  while (pos < end) {
    off_t data = ::lseek(fd, pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // no more data
      if (errno == EINVAL) {      // filesystem without SEEK_DATA: all data
        out.push_back({static_cast<uint64_t>(pos), static_cast<uint64_t>(end - pos)});
        break;
      }
      return Status::FromErrno(errno, "finding data in " + label);
    }
    if (data >= end) break;
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return Status::FromErrno(errno, "finding holes in " + label);
    if (hole > end) hole = end;
    out.push_back({static_cast<uint64_t>(data), static_cast<uint64_t>(hole - data)});
    pos = hole;
  }
  return out;
}

Status CheckDiskSize(uint64_t size, const std::string& label) {
  if (size <= kMaxDiskBytes) return Status::OK();
  return Status::TooLarge(label + " claims " + std::to_string(size) + " bytes, more than the " +
                          std::to_string(kMaxDiskBytes) + " (1 PiB) a disk may have");
}

Status CheckSameFile(const std::string& path, const struct stat& opened, const std::string& label) {
  struct stat now;
  if (::stat(path.c_str(), &now) != 0) return Status::IOError(label + " vanished while being read");
  if (now.st_dev != opened.st_dev || now.st_ino != opened.st_ino) {
    return Status::IOError(label + " was replaced while being read");
  }
  return Status::OK();
}

Result<std::unique_ptr<ImageSource>> OpenRaw(const std::string& name, const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not hang waiting for a writer; we refuse it below.
  auto fd = OpenFile(path, O_RDONLY | O_NONBLOCK);
  if (!fd.ok()) return fd.status().WithContext("image ", name);
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
  uint64_t size = 0;
  if (S_ISREG(st.st_mode)) {
    size = static_cast<uint64_t>(st.st_size);
    ::posix_fadvise(fd->get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  } else if (S_ISBLK(st.st_mode)) {
    if (::ioctl(fd->get(), BLKGETSIZE64, &size) != 0) {
      return Status::FromErrno(errno, "size of block device " + path);
    }
  } else if (S_ISDIR(st.st_mode)) {
    return Status::IsADirectory("image " + name + " (" + path + ") is a directory");
  } else {
    const char* type = S_ISFIFO(st.st_mode)   ? "a FIFO"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a file";
    return Status::NotSupported("image " + name + " (" + path + ") is " + type +
                                ": only regular files and block devices are disk images");
  }
  RPFS_RETURN_IF_ERROR(CheckDiskSize(size, "image " + name + " (" + path + ")"));
  return std::unique_ptr<ImageSource>(
      std::make_unique<RawSource>(name, path, std::move(*fd), st, size));
}

}  // namespace rpfs::image
