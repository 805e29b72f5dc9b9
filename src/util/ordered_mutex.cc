#include "util/ordered_mutex.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace rpfs {
namespace {

// The OrderedMutexes this thread holds, in the order taken (a handful at most).
thread_local std::vector<const OrderedMutex*> held;

void CheckOrder(const OrderedMutex& next) {
  for (const OrderedMutex* h : held) {
    if (h->rank() >= next.rank()) {
      std::fprintf(stderr,
                   "rpfs: lock order violation: taking %s (rank %d) while holding %s (rank %d)\n",
                   next.name(), next.rank(), h->name(), h->rank());
      std::abort();
    }
  }
}

}  // namespace

void OrderedMutex::lock() {
  CheckOrder(*this);
  mu_.lock();
  held.push_back(this);
}

bool OrderedMutex::try_lock() {
  if (!mu_.try_lock()) return false;
  held.push_back(this);
  return true;
}

void OrderedMutex::unlock() {
  // Not necessarily the last one taken: unique_lock lets a scope release out of order.
  auto it = std::find(held.rbegin(), held.rend(), this);
  if (it != held.rend()) held.erase(std::next(it).base());
  mu_.unlock();
}

bool OrderedMutex::HeldByThisThread() const {
  return std::find(held.begin(), held.end(), this) != held.end();
}

}  // namespace rpfs
