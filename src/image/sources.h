// Constructors of the ImageSource implementations (internal to the image layer).
#pragma once

#include <sys/stat.h>

#include "image/image_source.h"

struct nbd_handle;

namespace rpfs::image {

// Helpers over a connected libnbd handle (thread-safe, as libnbd handles are); `label`
// names the image in errors.
std::string NbdErrorText();
Result<std::vector<Extent>> NbdDataExtents(nbd_handle* h, uint64_t size, const std::string& label);
Status NbdRead(nbd_handle* h, uint64_t offset, std::span<std::byte> out, const std::string& label);
Status NbdWrite(nbd_handle* h, uint64_t offset, std::span<const std::byte> data,
                const std::string& label);
Status NbdZero(nbd_handle* h, uint64_t offset, uint64_t length, const std::string& label);
Status NbdFlush(nbd_handle* h, const std::string& label);
// Walks the block status of `context` over [0, size) and returns the extents whose flags
// `wanted` accepts, merged.
Result<std::vector<Extent>> NbdStatusExtents(nbd_handle* h, uint64_t size, const char* context,
                                             bool (*wanted)(uint32_t flags),
                                             const std::string& label);
bool NbdIsDirty(uint32_t flags);  // a qemu:dirty-bitmap:* flag word: written since

// qemu-nbd's --image-opts for a qcow2 file opened with force-share (read while another
// process holds qemu's write lock). qemu-nbd 7.2 has no --force-share flag; the block
// layer's option does the same.
std::string SharedQcow2ImageOpts(const std::string& path);

Result<std::unique_ptr<ImageSource>> OpenRaw(const std::string& name, const std::string& path);
Result<std::unique_ptr<ImageSource>> OpenQcow2(const std::string& name, const std::string& path,
                                               bool share_writes);

// The data extents of an open file of `size` bytes (SEEK_DATA/SEEK_HOLE); for anything
// but a regular file, all of it. `label` names the image in errors.
Result<std::vector<Extent>> FileDataExtents(int fd, uint64_t size, bool regular,
                                            const std::string& label);

// IOError unless `path` still names the file `opened` describes (not removed, not replaced).
// `label` names the image in the message.
Status CheckSameFile(const std::string& path, const struct stat& opened, const std::string& label);

}  // namespace rpfs::image
