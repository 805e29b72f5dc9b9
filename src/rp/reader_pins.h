// ReaderPins: which RPs have open readers, so that deleting one keeps its data until the
// last reader closes (a process reading `<rp>/vda.raw` through the mount keeps getting the
// right bytes even if the RP is deleted meanwhile, like an unlinked but open file).
//
// The delete itself is immediate (the RP vanishes from every listing in the same commit);
// only the release of its root references is deferred, recorded under a 'D' key so that a
// crash in between loses nothing: the next open finishes the release. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

#include "rp/lock_order.h"
#include "util/ordered_mutex.h"

namespace rpfs::rp {

class ReaderPins {
 public:
  void Acquire(uint64_t rp_id);
  // Drops one reader. True when it was the last reader of an RP whose delete was
  // deferred: that RP is now releasable (see TakeReleasable).
  bool Release(uint64_t rp_id);
  // A delete holds this from its first DeferIfPinned through its commit, so no reader
  // can pin an RP between the check and the commit (Acquire waits, then finds it gone).
  class DeleteScope {
   public:
    explicit DeleteScope(ReaderPins* pins) : pins_(pins), lock_(pins->mu_) {}
    // True when `rp_id` has readers, in which case the release of its data is deferred
    // until the last one closes.
    bool DeferIfPinned(uint64_t rp_id);
    // The deferring delete did not commit: forget the deferral.
    void CancelDeferred(uint64_t rp_id);

   private:
    ReaderPins* pins_;
    std::unique_lock<OrderedMutex> lock_;
  };
  bool HasReleasable() const;
  std::vector<uint64_t> TakeReleasable();
  size_t readers(uint64_t rp_id) const;

 private:
  mutable OrderedMutex mu_{kRankPins, "ReaderPins::mu_"};
  std::unordered_map<uint64_t, uint32_t> readers_;
  std::set<uint64_t> deferred_;
  std::vector<uint64_t> releasable_;
};

}  // namespace rpfs::rp
