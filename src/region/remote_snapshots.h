// The store's regions as the rp layer's RemoteSnapshots: what the mount's `.region/` shows.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "region/region.h"
#include "rpfs/repository.h"

namespace rpfs::region {

// Opens region `name` (the CLI's OpenRegion: the librados adapter is linked there).
using RegionOpener = std::function<Result<std::unique_ptr<Region>>(const std::string& name)>;

// Snapshots of every region `repo` knows (which must outlive the result). With one region
// they are shown by name, with several as "<region>:<snapshot>". Listings are kept for
// kListSeconds, so a walk of `.region/` asks the cluster once. A region that cannot be
// reached is left out of the listing (and logged), the others stay.
std::shared_ptr<RemoteSnapshots> NewRegionSnapshots(const Repository* repo, RegionOpener open);
inline constexpr int kListSeconds = 5;

}  // namespace rpfs::region
