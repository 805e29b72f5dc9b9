// The persistent dirty bitmaps in a qcow2 image (what libvirt checkpoints leave in it),
// through qemu-img: after a rollback rpfs removes its own (named rpfs-*), which no longer
// describe the disk and would only cost space and confuse the next backup.
#pragma once

#include <string>
#include <vector>

#include "image/image_source.h"
#include "rpfs/status.h"

namespace rpfs::image {

// The names of the image's bitmaps that start with `prefix` (read with force-share).
Result<std::vector<std::string>> Qcow2Bitmaps(const std::string& path, const std::string& prefix);

// Removes those bitmaps; the image must not be open for writing by anyone (qemu's lock).
// Returns the names removed.
Result<std::vector<std::string>> RemoveQcow2Bitmaps(const std::string& path,
                                                    const std::string& prefix);

// The extents the persistent bitmap `bitmap` of the qcow2 file marks as written, read
// through `qemu-nbd --bitmap` with force-share. Fails (IOError naming the bitmap and why)
// when the file lacks the bitmap, when it is disabled (it no longer records writes), or
// when qemu marks it in use: a running qemu holds the live copy in memory, so the file's
// copy is stale until qemu stores it back (on shutdown, or when a memory save hands the
// image back while the guest is paused).
Result<std::vector<Extent>> Qcow2DirtyExtents(const std::string& path, const std::string& bitmap);

}  // namespace rpfs::image
