// A region's chunks as the rp layer's RemoteChunks: what clones made from a region snapshot
// read on first access (Repository::CreateRemoteClone).
#pragma once

#include <memory>
#include <string>

#include "region/region.h"
#include "rpfs/repository.h"

namespace rpfs::region {

// "region:<region>:<snapshot>[/<hold>]": the source recorded with a clone of a region
// snapshot, with the id of the hold it took on the snapshot (Region::Hold).
std::string CloneSource(const std::string& region, const std::string& snapshot,
                        const std::string& hold);
// The hold's id in such a source; "" when it names none (a clone made before holds).
std::string HoldOfCloneSource(const std::string& source);
// The region's name in such a source; InvalidArgument for anything else.
Result<std::string> RegionOfCloneSource(const std::string& source);

// Reads chunks through `region` (owned); each is checked against its SHA-256.
std::shared_ptr<RemoteChunks> NewRegionChunks(std::unique_ptr<Region> region);
// The Reads of `chunks` (made by NewRegionChunks) now waiting for a chunk that a Prefetch
// is fetching: what a test waits for to know a reader is blocked there.
size_t ReadsWaitingForPrefetch(const RemoteChunks& chunks);

// The disks of `manifest` as CreateRemoteClone takes them (the memory state is left out).
std::vector<RemoteDisk> RemoteDisksOf(const Manifest& manifest);

}  // namespace rpfs::region
