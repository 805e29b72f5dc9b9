// ImageTarget: a raw disk image (regular file or block device) opened to write a recovery
// point back over it (rollback), guarded the way qemu guards its images.
//
// qemu holds OFD locks on bytes 100+ (permissions it uses) and 200+ (permissions it does
// not share) of every image it has open (block/file-posix.c). Open() refuses an image on
// which another process holds any lock in that range (a running VM, qemu-img, qemu-nbd),
// and itself holds "uses and does not share consistent-read and write" locks until the
// target is closed, so qemu cannot start on the image while it is being rewritten.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "format/records.h"
#include "image/image_source.h"
#include "rpfs/status.h"
#include "util/fd.h"

struct nbd_handle;

namespace rpfs::image {

class ImageTarget {
 public:
  // `name` ("vda") is used in errors. Busy when the image is in use. A qcow2 image is
  // written through qemu-nbd (which takes qemu's locks itself).
  static Result<std::unique_ptr<ImageTarget>> Open(const std::string& name, const std::string& path,
                                                   format::DiskFormat format);

  uint64_t size() const { return size_; }
  // Makes the image `size` bytes: files are truncated or extended (sparse); a block
  // device must already be at least that large.
  Status Resize(uint64_t size);
  // Whether Resize(size) would work, changing nothing: a rollback checks every disk before
  // it writes any.
  Status CheckResize(uint64_t size) const;
  Result<std::vector<Extent>> DataExtents();
  Status ReadAt(uint64_t offset, std::span<std::byte> out);
  Status WriteAt(uint64_t offset, std::span<const std::byte> data);
  // Makes [offset, offset+length) read as zeros (writes them).
  Status Zero(uint64_t offset, uint64_t length);
  // Everything written is durable.
  Status Sync();
  const std::string& label() const { return label_; }
  ~ImageTarget();

 private:
  ImageTarget(std::string label, UniqueFd fd, bool regular, uint64_t size)
      : label_(std::move(label)), fd_(std::move(fd)), regular_(regular), size_(size) {}
  static Result<std::unique_ptr<ImageTarget>> OpenQcow2(const std::string& label,
                                                        const std::string& path);
  std::string label_;
  UniqueFd fd_;
  bool regular_;
  uint64_t size_;
  nbd_handle* nbd_ = nullptr;  // qcow2: qemu-nbd serving the image read-write
};

}  // namespace rpfs::image
