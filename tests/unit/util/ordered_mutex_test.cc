#include "util/ordered_mutex.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

namespace rpfs {
namespace {

TEST(OrderedMutexTest, TakingRanksUpwardIsAllowed) {
  OrderedMutex outer(10, "outer");
  OrderedMutex inner(20, "inner");
  std::lock_guard a(outer);
  std::lock_guard b(inner);
  EXPECT_TRUE(outer.HeldByThisThread());
  EXPECT_TRUE(inner.HeldByThisThread());
}

TEST(OrderedMutexTest, ReleasedLocksAreNoLongerHeld) {
  OrderedMutex outer(10, "outer");
  OrderedMutex inner(20, "inner");
  {
    std::unique_lock a(outer);
    std::unique_lock b(inner);
    a.unlock();  // out of order
    EXPECT_FALSE(outer.HeldByThisThread());
    EXPECT_TRUE(inner.HeldByThisThread());
  }
  EXPECT_FALSE(inner.HeldByThisThread());
  // Nothing held now: any order is fine again.
  std::lock_guard b(inner);
}

TEST(OrderedMutexTest, HeldIsPerThread) {
  OrderedMutex m(10, "m");
  std::lock_guard a(m);
  bool seen_by_other = true;
  std::thread([&] { seen_by_other = m.HeldByThisThread(); }).join();
  EXPECT_FALSE(seen_by_other);
}

TEST(OrderedMutexDeathTest, TakingARankDownwardAbortsNamingBoth) {
  OrderedMutex outer(10, "create_mu");
  OrderedMutex inner(20, "write_mu");
  EXPECT_DEATH(
      {
        std::lock_guard b(inner);
        std::lock_guard a(outer);
      },
      "lock order violation: taking create_mu \\(rank 10\\) while holding write_mu \\(rank 20\\)");
}

TEST(OrderedMutexDeathTest, EqualRanksMayNotNest) {
  OrderedMutex one(10, "one");
  OrderedMutex two(10, "two");
  EXPECT_DEATH(
      {
        std::lock_guard a(one);
        std::lock_guard b(two);
      },
      "taking two");
}

TEST(OrderedMutexTest, TryLockIsUncheckedButCountsAsHeld) {
  OrderedMutex outer(10, "outer");
  OrderedMutex inner(20, "inner");
  std::lock_guard b(inner);
  std::unique_lock a(outer, std::try_to_lock);  // cannot deadlock: allowed
  ASSERT_TRUE(a.owns_lock());
  EXPECT_TRUE(outer.HeldByThisThread());
}

}  // namespace
}  // namespace rpfs
