#include "cli/region_access.h"

#include <unistd.h>

#include <cstdlib>

#include "region/rados_store.h"

namespace rpfs::cli {

Result<std::unique_ptr<region::Region>> OpenRegion(const Repository& repo,
                                                   const std::string& name) {
  RegionConfig cfg;
  if (name.empty()) {
    RPFS_ASSIGN_OR_RETURN(auto all, repo.ListRegions());
    if (all.size() != 1) {
      return Status::InvalidArgument(
          all.empty()
              ? "no region: add one with `rpfs region add NAME --ceph-conf FILE`"
              : "the store has " + std::to_string(all.size()) + " regions: name one with --region");
    }
    cfg = all[0];
  } else {
    RPFS_ASSIGN_OR_RETURN(cfg, repo.GetRegion(name));
  }
  return OpenRegion(cfg);
}

Result<std::unique_ptr<region::Region>> OpenRegion(const RegionConfig& cfg) {
  region::RadosTarget target;
  target.region = cfg.name;
  target.ceph_conf = cfg.ceph_conf;
  target.pool = cfg.pool;
  target.client_id = cfg.client_id;
  if (const char* t = std::getenv("RPFS_REGION_TIMEOUT"); t != nullptr && std::atoi(t) > 0) {
    target.timeout_seconds = std::atoi(t);
  }
  RPFS_ASSIGN_OR_RETURN(auto objects, region::ConnectRados(target));
  return std::make_unique<region::Region>(cfg.name, std::move(objects));
}

Result<RegionSession> OpenRegionSession(const Context& ctx, const std::string& name) {
  RegionSession s;
  RPFS_ASSIGN_OR_RETURN(s.repo, ctx.OpenRepo());
  RPFS_ASSIGN_OR_RETURN(s.region, OpenRegion(*s.repo, name));
  return s;
}

Result<region::Manifest> LoadSnapshot(region::Region& region, const std::string& snapshot) {
  RPFS_ASSIGN_OR_RETURN(auto summary, region.Find(snapshot));
  return region.LoadManifest(summary);
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace rpfs::cli
