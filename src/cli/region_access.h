// Opening a region named on the command line (the store's stored RegionConfig), for the
// region verbs (verb_region*.cc, verb_push.cc, verb_pull.cc).
#pragma once

#include <memory>
#include <string>

#include "region/region.h"
#include "rpfs/repository.h"

namespace rpfs::cli {

// `name` empty: the store's only region (InvalidArgument when it has none or several).
// RPFS_REGION_TIMEOUT (seconds, default 30) bounds every wait on the cluster.
Result<std::unique_ptr<region::Region>> OpenRegion(const Repository& repo, const std::string& name);
Result<std::unique_ptr<region::Region>> OpenRegion(const RegionConfig& cfg);

// This host's name, recorded with what it pushes.
std::string HostName();

}  // namespace rpfs::cli
