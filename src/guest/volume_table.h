// The `.volumes` table (docs/guest-files.md): one line per volume, tab-separated, with a
// header line, so that both people and `cut`/`awk` read it.
#pragma once

#include <string>
#include <vector>

#include "guest/volumes.h"

namespace rpfs::guest {

// `states[i]` is the state shown for `volumes[i]` (the scan's, or the opened filesystem's).
// Empty fields are "-"; control characters in labels are shown as '?'.
std::string FormatVolumes(const std::vector<VolumeInfo>& volumes,
                          const std::vector<std::string>& states);

}  // namespace rpfs::guest
