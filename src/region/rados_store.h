// The librados adapter: ObjectStore over one RADOS pool. The only file of rpfs that
// includes librados.
#pragma once

#include <memory>
#include <string>

#include "region/object_store.h"

namespace rpfs::region {

struct RadosTarget {
  std::string region;  // for messages
  std::string ceph_conf;
  std::string pool;
  std::string client_id = "admin";
  // Bounds every wait on the cluster (connect, monitor and OSD operations): an unreachable
  // region or a stopped OSD fails the command instead of hanging it.
  int timeout_seconds = 30;
};

// Connects and opens the pool: IOError naming the region when it cannot be reached,
// NotFound when the pool does not exist.
Result<std::unique_ptr<ObjectStore>> ConnectRados(const RadosTarget& target);

}  // namespace rpfs::region
