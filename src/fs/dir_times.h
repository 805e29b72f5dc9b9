// DirTimes: the mtime of the directories whose entries change (the root, each VM directory
// and its `.clones`), so that `ls -lt`, `find -newer` and backup tools see when something
// changed rather than 1970. An RP directory shows its creation time and needs none of this.
//
// A directory starts from the newest entry it holds when first asked (the newest RP of a VM,
// the newest clone, the newest of all for the root), then follows every change this daemon
// sees (Filesystem::OnStoreChange: while the store is mounted every command runs in the
// daemon). Not persisted: a deletion before the mount started is not reflected.
// Thread-safe; never fails (a store error leaves the time at 0, asked again next time).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "rpfs/repository.h"

namespace rpfs::fs {

class DirTimes {
 public:
  explicit DirTimes(Repository* repo) : repo_(repo) {}
  int64_t Root();
  int64_t Vm(const std::string& vm);
  int64_t Clones(const std::string& vm);  // the VM's time while it has no clone
  // A change made at `now_us`.
  void Changed(const StoreChange& c, int64_t now_us);

 private:
  Repository* repo_;
  std::mutex mu_;  // guards the members below; never held while reading the store
  std::optional<int64_t> root_;
  std::map<std::string, int64_t> vms_;
  std::map<std::string, int64_t> clones_;
};

}  // namespace rpfs::fs
