#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <vector>

namespace rpfs {
namespace {

// Runs fn over [0, n) and returns how often each index was visited.
std::vector<int> VisitCounts(ThreadPool& pool, size_t n) {
  std::vector<std::atomic<int>> counts(n);
  pool.ParallelFor(n, [&](size_t i) { counts.at(i).fetch_add(1); });
  std::vector<int> out;
  for (auto& c : counts) out.push_back(c.load());
  return out;
}

class ThreadPoolCoverageTest : public ::testing::TestWithParam<std::tuple<size_t, size_t>> {};

TEST_P(ThreadPoolCoverageTest, VisitsEachIndexExactlyOnce) {
  auto [workers, n] = GetParam();
  ThreadPool pool(workers);
  EXPECT_EQ(VisitCounts(pool, n), std::vector<int>(n, 1));
}

TEST_P(ThreadPoolCoverageTest, RepeatedCallsEachVisitEveryIndexOnce) {
  auto [workers, n] = GetParam();
  ThreadPool pool(workers);
  for (int round = 0; round < 20; ++round) {
    ASSERT_EQ(VisitCounts(pool, n), std::vector<int>(n, 1)) << "round " << round;
  }
}

INSTANTIATE_TEST_SUITE_P(WorkersAndSizes, ThreadPoolCoverageTest,
                         ::testing::Combine(::testing::Values(0, 3), ::testing::Values(0, 1, 1000)),
                         [](const auto& p) {
                           return std::to_string(std::get<0>(p.param)) + "workers_n" +
                                  std::to_string(std::get<1>(p.param));
                         });

TEST(ThreadPoolTest, CallsOfDifferentSizesOnOnePoolDoNotMix) {
  ThreadPool pool(3);
  for (size_t n : {1000, 0, 1, 7, 3, 1000, 2, 0, 500}) {
    ASSERT_EQ(VisitCounts(pool, n), std::vector<int>(n, 1)) << n;
  }
}

TEST(ThreadPoolTest, WorkIsDoneBeforeParallelForReturns) {
  ThreadPool pool(3);
  std::atomic<size_t> done{0};
  pool.ParallelFor(2000, [&](size_t i) {
    volatile uint64_t x = i;
    for (int k = 0; k < 1000; ++k) x = x * 31 + 7;  // a little work per index
    done.fetch_add(1);
  });
  EXPECT_EQ(done.load(), 2000u);
}

TEST(ThreadPoolTest, ZeroWorkersRunsEverythingOnTheCaller) {
  ThreadPool pool(0);
  std::set<std::thread::id> ids;
  pool.ParallelFor(100, [&](size_t) { ids.insert(std::this_thread::get_id()); });
  EXPECT_EQ(ids, std::set<std::thread::id>{std::this_thread::get_id()});
}

// Runs a ParallelFor of `ways` indices in which each index waits until all `ways` are
// running. True when they all met, on `ways` distinct threads, within `timeout` (which
// only bounds a failure: a pool that works never waits for it).
bool AllWaysMeet(ThreadPool& pool, size_t ways, std::chrono::milliseconds timeout) {
  std::mutex mu;
  std::condition_variable cv;
  size_t arrived = 0;
  size_t met = 0;
  std::set<std::thread::id> ids;
  pool.ParallelFor(ways, [&](size_t) {
    std::unique_lock lock(mu);
    ids.insert(std::this_thread::get_id());
    ++arrived;
    cv.notify_all();
    if (cv.wait_for(lock, timeout, [&] { return arrived == ways; })) ++met;
  });
  return met == ways && ids.size() == ways;
}

TEST(ThreadPoolTest, RunsWorkersPlusCallerAtOnce) {
  ThreadPool pool(3);
  EXPECT_TRUE(AllWaysMeet(pool, 4, std::chrono::seconds(20)));
  EXPECT_TRUE(AllWaysMeet(pool, 4, std::chrono::seconds(20)));
}

// A worker that starts after the first ParallelFor was issued must still take part in it.
TEST(ThreadPoolTest, FirstCallRunsOnEveryWorker) {
  ThreadPool pool(3);
  EXPECT_TRUE(AllWaysMeet(pool, 4, std::chrono::seconds(5)));
}

TEST(ThreadPoolTest, IdlePoolShutsDown) {
  for (int i = 0; i < 10; ++i) {
    ThreadPool pool(4);  // destroyed without ever being used: must join, not hang
  }
  SUCCEED();
}

TEST(ThreadPoolTest, DefaultWorkersLeavesOneHardwareThreadForTheCaller) {
  unsigned hw = std::thread::hardware_concurrency();
  EXPECT_EQ(ThreadPool::DefaultWorkers(), hw > 1 ? hw - 1 : 0);
}

}  // namespace
}  // namespace rpfs
