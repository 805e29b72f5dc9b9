// ReadAhead (util/read_ahead.h): a sequential reader gets the next window fetched on the
// read-ahead thread, in pieces, never past the end and never twice; a reader that jumps
// gets nothing extra; pieces a faster reader took are skipped; destruction waits for the
// fetch under way.
#include "util/read_ahead.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace rpfs {
namespace {

struct Fetched {
  std::mutex mu;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  std::set<uint64_t> Chunks() {
    std::lock_guard lock(mu);
    std::set<uint64_t> out;
    for (const auto& [a, b] : ranges) {
      for (uint64_t i = a; i <= b; ++i)
        EXPECT_TRUE(out.insert(i).second) << "chunk " << i << " twice";
    }
    return out;
  }
  std::function<void(uint64_t, uint64_t)> Fn() {
    return [this](uint64_t a, uint64_t b) {
      std::lock_guard lock(mu);
      ranges.emplace_back(a, b);
    };
  }
};

std::set<uint64_t> Range(uint64_t first, uint64_t last) {
  std::set<uint64_t> out;
  for (uint64_t i = first; i <= last; ++i) out.insert(i);
  return out;
}

TEST(ReadAheadTest, SequentialReaderGetsTheNextWindowInPieces) {
  Fetched f;
  ReadAhead ahead(f.Fn(), /*window=*/16, /*piece=*/4, /*count=*/1000);
  ahead.Reading(0, 3);
  ahead.Drain();
  EXPECT_EQ(f.Chunks(), Range(4, 19));  // the 16 chunks after the read
  {
    std::lock_guard lock(f.mu);
    ASSERT_EQ(f.ranges.size(), 4u);
    EXPECT_EQ(f.ranges[0], std::make_pair(uint64_t{4}, uint64_t{7}));
  }
  ahead.Reading(4, 7);  // tops up by one piece, nothing fetched twice
  ahead.Drain();
  EXPECT_EQ(f.Chunks(), Range(4, 23));
  ahead.Reading(12, 15);  // requests a little out of order still count as sequential
  ahead.Reading(8, 11);
  ahead.Drain();
  EXPECT_EQ(f.Chunks(), Range(4, 31));
}

TEST(ReadAheadTest, NeverPastTheEnd) {
  Fetched f;
  ReadAhead ahead(f.Fn(), 16, 4, /*count=*/10);
  ahead.Reading(0, 3);
  ahead.Drain();
  EXPECT_EQ(f.Chunks(), Range(4, 9));
  ahead.Reading(4, 9);
  ahead.Drain();
  EXPECT_EQ(f.Chunks(), Range(4, 9));
}

TEST(ReadAheadTest, AReaderThatJumpsGetsNothingExtra) {
  Fetched f;
  ReadAhead ahead(f.Fn(), 16, 4, 1000);
  ahead.Reading(500, 503);
  ahead.Reading(100, 103);
  ahead.Reading(700, 700);
  ahead.Drain();
  EXPECT_TRUE(f.Chunks().empty());
  // Once it reads on from where it is, read-ahead starts there.
  ahead.Reading(701, 704);
  ahead.Drain();
  EXPECT_EQ(f.Chunks(), Range(705, 720));
}

TEST(ReadAheadTest, DestructionWaitsForTheFetchUnderWay) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> fetching{false};
  std::atomic<bool> returned{false};
  std::thread releaser;
  {
    ReadAhead ahead(
        [&](uint64_t, uint64_t) {
          if (fetching.exchange(true)) return;  // later pieces, if any: nothing to wait for
          entered.set_value();
          released.wait();
          returned = true;
        },
        16, 4, 1000);
    ahead.Reading(0, 3);  // four pieces queued; the first one blocks
    entered.get_future().wait();
    releaser = std::thread([&] { release.set_value(); });
  }  // the destructor joins the thread: the blocked fetch has returned by now
  EXPECT_TRUE(returned) << "the read-ahead thread outlived its ReadAhead";
  releaser.join();
}

}  // namespace
}  // namespace rpfs

namespace rpfs {
namespace {

// A reader faster than the read-ahead thread: pieces it has passed are not fetched again.
TEST(ReadAheadTest, PiecesTheReaderOvertookAreSkipped) {
  std::mutex mu;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  std::promise<void> entered;
  std::atomic<bool> first{true};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ReadAhead ahead(
      [&](uint64_t a, uint64_t b) {
        if (first.exchange(false)) entered.set_value();
        released.wait();
        std::lock_guard lock(mu);
        ranges.emplace_back(a, b);
      },
      16, 4, 1000);
  ahead.Reading(0, 3);  // queues 4..19; the thread blocks in the first piece
  entered.get_future().wait();
  ahead.Reading(4, 13);  // the reader takes 4..13 itself
  release.set_value();
  ahead.Drain();
  std::lock_guard lock(mu);
  ASSERT_FALSE(ranges.empty());
  EXPECT_EQ(ranges[0], std::make_pair(uint64_t{4}, uint64_t{7}));  // already under way
  for (size_t i = 1; i < ranges.size(); ++i) {
    EXPECT_GE(ranges[i].first, 14u) << "piece " << i << " fetched what the reader took";
  }
}

}  // namespace
}  // namespace rpfs
