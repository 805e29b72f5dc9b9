// The persistent dirty bitmaps in a qcow2 image (what libvirt checkpoints leave in it),
// through qemu-img: after a rollback rpfs removes its own (named rpfs-*), which no longer
// describe the disk and would only cost space and confuse the next backup.
#pragma once

#include <string>
#include <vector>

#include "rpfs/status.h"

namespace rpfs::image {

// The names of the image's bitmaps that start with `prefix` (read with force-share).
Result<std::vector<std::string>> Qcow2Bitmaps(const std::string& path, const std::string& prefix);

// Removes those bitmaps; the image must not be open for writing by anyone (qemu's lock).
// Returns the names removed.
Result<std::vector<std::string>> RemoveQcow2Bitmaps(const std::string& path,
                                                    const std::string& prefix);

}  // namespace rpfs::image
