#include "cli/version.h"

#include "format/chunk_codec.h"
#include "fuse/fuse_server.h"
#include "rpfs_version.h"
#include "store/store.h"
#include "virt/libvirt_hypervisor.h"

namespace rpfs::cli {

std::string VersionText() {
  return std::string("rpfs ") + RPFS_VERSION + " (" + RPFS_GIT_DESCRIBE + ")\n" + "RocksDB " +
         store::RocksDbVersion() + ", zstd " + format::ZstdVersion() + ", libfuse " +
         fuse::FuseLibraryVersion() + ", libvirt " + virt::LibvirtVersion();
}

std::string RpfsVersion() { return RPFS_VERSION; }

}  // namespace rpfs::cli
