// ImageSource: random-access reading of a VM disk image (raw file, block device, or qcow2
// through qemu-nbd + libnbd), with the map of where data is so holes are never read.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "format/records.h"
#include "rpfs/status.h"

namespace rpfs::image {

// A byte range that may hold data; everything outside the listed extents reads as zeros.
struct Extent {
  uint64_t offset = 0;
  uint64_t length = 0;
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  // Logical size of the disk in bytes, fixed when the image was opened.
  virtual uint64_t size() const = 0;
  // The data extents in increasing order (holes and known-zero ranges left out).
  virtual Result<std::vector<Extent>> DataExtents() = 0;
  // Fills `out` from `offset`; the range must lie within size(). A short read (the image
  // shrank) is an IOError naming the image. Safe to call from several threads.
  virtual Status ReadAt(uint64_t offset, std::span<std::byte> out) = 0;
  // IOError when the image at the path changed identity or size since it was opened
  // (replaced, removed, truncated, grown): the copy just taken may not be consistent.
  virtual Status CheckUnchanged() = 0;
};

// Opens the image at `path`; `name` ("vda") is used in error messages.
Result<std::unique_ptr<ImageSource>> OpenImage(const std::string& name, const std::string& path,
                                               format::DiskFormat format);

// Recognises qcow2 by its magic number; everything else is raw.
Result<format::DiskFormat> ProbeFormat(const std::string& path);

}  // namespace rpfs::image
