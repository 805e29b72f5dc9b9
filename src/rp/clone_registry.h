// CloneRegistry: the clone disks open in this process (one shared CloneDiskImpl per disk,
// whoever opens it) and the release of a clone's hold on the store once every one of its
// disks is hydrated.
//
// clones_mu (rank kRankClones, rp/lock_order.h) guards the open disks. An open holds it
// throughout, and a clone's delete holds it from its in-use check through its commit, so
// an open either comes first (the delete is Busy) or finds no record.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "format/records.h"
#include "rp/catalog.h"
#include "rp/clone_disk.h"
#include "rp/extent_map.h"
#include "rp/write_gate.h"
#include "store/store.h"
#include "util/ordered_mutex.h"

namespace rpfs::rp {

class CloneRegistry {
 public:
  CloneRegistry(store::Store* store, PageCache* pages, const Catalog* catalog, WriteGate* gate)
      : store_(store), pages_(pages), catalog_(catalog), gate_(gate) {}
  ~CloneRegistry() { WaitForReleases(); }

  // <store>/clones/<vm>/<clone>: the clone's files.
  std::string Dir(const std::string& vm, const std::string& clone) const;
  // The open disk, shared; a disk found fully hydrated at open has its clone released.
  Result<std::shared_ptr<CloneDisk>> Open(const std::string& vm, const std::string& clone,
                                          const std::string& disk);
  // Deletes clone `c` by running `commit` (which removes its record) with clones_mu held,
  // unless one of its disks is open (Busy naming the disk). write_mu must be held.
  Status DeleteUnlessOpen(const format::CloneRecord& c, const std::function<Status()>& commit);
  CloneInfo ToInfo(const format::CloneRecord& c);
  // Directories under clones/ that no record names (left by a crash between the files and
  // the record of a create, or the record and the files of a delete).
  Status RemoveOrphanDirs();
  // How clones made from elsewhere reach their chunks (Repository::SetRemoteChunksFactory).
  void SetRemoteFactory(RemoteChunksFactory factory);
  // Clone `c` (made from elsewhere) needs its source no more: tells it so
  // (RemoteChunks::Release); a failure is logged, the source's sweep releases it later.
  // May wait on the network: never call it with write_mu held.
  void ReleaseSource(const format::CloneRecord& c);
  // ReleaseSource(c) on a thread of its own: for callers that hold write_mu or serve
  // the mount, which must not wait on the network.
  void StartRelease(format::CloneRecord c);
  // Waits until the releases started in the background are done.
  void WaitForReleases();
  // The page roots a clone holds a reference to (none once hydrated).
  static std::vector<store::ObjectId> Roots(const format::CloneRecord& c);

 private:
  static std::string Key(const std::string& vm, const std::string& clone, const std::string& disk);
  std::shared_ptr<CloneDiskImpl> FindOpen(const std::string& vm, const std::string& clone,
                                          const std::string& disk);
  // A disk became hydrated: release the clone under write_mu (WriteGate chore).
  void OnHydrated(const std::string& vm, const std::string& clone);
  // Drops the clone's references once every disk is durably hydrated (write_mu held).
  void ReleaseIfHydrated(const std::string& vm, const std::string& clone);

  store::Store* const store_;
  PageCache* const pages_;
  const Catalog* const catalog_;
  WriteGate* const gate_;
  OrderedMutex mu_{kRankClones, "CloneRegistry::clones_mu"};
  std::map<std::string, std::weak_ptr<CloneDiskImpl>> open_;  // guarded by mu_; key: Key()
  RemoteChunksFactory remote_factory_;                        // guarded by mu_
  // One connection per source, shared by its clones' disks; guarded by mu_.
  std::map<std::string, std::shared_ptr<RemoteChunks>> remotes_;
  // Releases of sources (StartRelease), each on its own thread; joined once done when
  // the next one starts, so a long-lived daemon keeps none of them.
  struct Release {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex releases_mu_;         // a leaf: nothing is taken or joined under it but done ones
  std::vector<Release> releases_;  // guarded by releases_mu_
  Result<std::unique_ptr<CloneChunkSource>> SourceOf(const format::CloneRecord& c,
                                                     const format::RpStream& disk);
};

}  // namespace rpfs::rp
