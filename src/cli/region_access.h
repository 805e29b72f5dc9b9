// Opening a region named on the command line (the store's stored RegionConfig), for the
// region verbs (verb_region*.cc, verb_push.cc, verb_pull.cc).
#pragma once

#include <memory>
#include <string>

#include "cli/command.h"
#include "region/region.h"
#include "rpfs/repository.h"

namespace rpfs::cli {

// `name` empty: the store's only region (InvalidArgument when it has none or several).
// RPFS_REGION_TIMEOUT (seconds, default 30) bounds every wait on the cluster.
Result<std::unique_ptr<region::Region>> OpenRegion(const Repository& repo, const std::string& name);
Result<std::unique_ptr<region::Region>> OpenRegion(const RegionConfig& cfg);

// The store and the region a region verb works on, opened together.
struct RegionSession {
  std::shared_ptr<Repository> repo;
  std::unique_ptr<region::Region> region;
};
Result<RegionSession> OpenRegionSession(const Context& ctx, const std::string& name);

// A published snapshot's manifest with its chunk lists (NotFound naming it).
Result<region::Manifest> LoadSnapshot(region::Region& region, const std::string& snapshot);

// This host's name, recorded with what it pushes.
std::string HostName();

}  // namespace rpfs::cli
