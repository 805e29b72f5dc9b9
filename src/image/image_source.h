// ImageSource: random-access reading of a VM disk image (raw file, block device, or qcow2
// through qemu-nbd + libnbd), with the map of where data is so holes are never read.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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

// The largest disk accepted (1 PiB). Offsets, chunk indices, `offset + length + chunk`
// sums, off_t casts and the sum over a VM's disks then never overflow; a device or NBD
// export that claims more (up to 2^64 - 1) is refused when it is opened.
inline constexpr uint64_t kMaxDiskBytes = 1ull << 50;

// TooLarge naming `label` when `size` exceeds kMaxDiskBytes.
Status CheckDiskSize(uint64_t size, const std::string& label);

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
  // For an incremental source (an NBD export with a dirty bitmap): the extents written since
  // the checkpoint it was made from; everything else equals the previous point. nullopt
  // when the source does not know (read everything).
  virtual Result<std::optional<std::vector<Extent>>> ChangedExtents() {
    return std::optional<std::vector<Extent>>();
  }
};

// Opens the image at `path`; `name` ("vda") is used in error messages. `share_writes`
// opens a qcow2 even while another process holds qemu's write lock on it (qemu-nbd
// --force-share): a create with `force`, or the undo RP of a rollback, whose own writer
// holds that lock.
Result<std::unique_ptr<ImageSource>> OpenImage(const std::string& name, const std::string& path,
                                               format::DiskFormat format,
                                               bool share_writes = false);

// An export of an NBD server on a unix socket (the pull-mode backup job libvirt runs for a
// domain). With a `dirty_context` ("qemu:dirty-bitmap:backup-vda"), ChangedExtents() lists
// the extents that context marks dirty. `name` is used in error messages.
Result<std::unique_ptr<ImageSource>> OpenNbdExport(const std::string& name,
                                                   const std::string& socket,
                                                   const std::string& export_name,
                                                   const std::string& dirty_context);

// The owner, group and permission bits of the file at `path` (symlinks followed: the file
// that is read), which an RP's disk file in the mount takes (docs/security.md). `name`
// ("vda") is used in error messages.
Result<format::StreamAccess> AccessOf(const std::string& name, const std::string& path);

// Recognises qcow2 by its magic number; everything else is raw.
Result<format::DiskFormat> ProbeFormat(const std::string& path);

}  // namespace rpfs::image
