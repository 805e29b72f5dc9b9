// Retention policies against an independent reference (strftime period keys, group-by)
// on synthetic two-year timelines, plus the edge cases by hand.
#include "rp/retention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <random>
#include <set>

namespace rpfs::rp {
namespace {

constexpr int64_t kHourUs = 3600ll * 1000000;
constexpr int64_t kDayUs = 24 * kHourUs;

int64_t Utc(int y, int mo, int d, int h = 12, int mi = 0) {
  struct tm tm = {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return static_cast<int64_t>(::timegm(&tm)) * 1000000;
}

std::string Key(int64_t us, const char* fmt) {
  time_t t = static_cast<time_t>(us / 1000000);
  struct tm tm;
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}

// The reference: per rule, group RPs by period, take each period's newest RP, and keep
// those of the N newest periods.
std::set<std::string> Reference(const std::vector<RetentionInput>& rps, const RetentionPolicy& p) {
  auto newer = [](const RetentionInput& a, const RetentionInput& b) {
    return a.created_us != b.created_us ? a.created_us > b.created_us : a.id > b.id;
  };
  std::vector<RetentionInput> sorted = rps;
  std::sort(sorted.begin(), sorted.end(), newer);
  std::set<std::string> keep;
  // Count-based rules see only the RPs users took, not rollbacks' automatic undo RPs.
  std::vector<RetentionInput> counted;
  for (const auto& r : sorted) {
    if (!r.automatic) counted.push_back(r);
  }
  for (size_t i = 0; i < counted.size() && i < p.keep_last; ++i) keep.insert(counted[i].name);
  auto rule = [&](uint32_t n, const char* fmt) {
    std::map<std::string, RetentionInput> newest;  // period -> its newest RP
    for (const auto& r : counted) {
      auto [it, fresh] = newest.emplace(Key(r.created_us, fmt), r);
      if (!fresh && newer(r, it->second)) it->second = r;
    }
    std::vector<RetentionInput> heads;
    for (const auto& [k, r] : newest) heads.push_back(r);
    std::sort(heads.begin(), heads.end(), newer);
    for (size_t i = 0; i < heads.size() && i < n; ++i) keep.insert(heads[i].name);
  };
  rule(p.keep_hourly, "%Y-%m-%d %H");
  rule(p.keep_daily, "%Y-%m-%d");
  rule(p.keep_weekly, "%G-W%V");
  rule(p.keep_monthly, "%Y-%m");
  rule(p.keep_yearly, "%Y");
  if (p.keep_within_us > 0 && !sorted.empty()) {
    for (const auto& r : rps) {
      if (r.created_us >= sorted[0].created_us - p.keep_within_us) keep.insert(r.name);
    }
  }
  for (const auto& r : rps) {
    if (r.is_protected) keep.insert(r.name);
  }
  return keep;
}

std::set<std::string> Kept(const std::vector<RetentionInput>& rps, const RetentionPolicy& p) {
  std::set<std::string> out;
  for (const auto& d : ApplyRetention(rps, p)) {
    if (d.keep) out.insert(d.name);
    EXPECT_EQ(d.keep, !d.reasons.empty()) << d.name;
  }
  return out;
}

// Hundreds of RPs over two years: irregular gaps, bursts of several per day, some ties.
std::vector<RetentionInput> Timeline(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<RetentionInput> out;
  int64_t t = Utc(2023, 12, 25, 3);
  uint64_t id = 1;
  while (t < Utc(2025, 12, 31)) {
    int burst = rng() % 5 == 0 ? 1 + static_cast<int>(rng() % 5) : 1;
    for (int b = 0; b < burst; ++b) {
      RetentionInput r;
      r.id = id;
      r.name = "rp" + std::to_string(id++);
      r.created_us = t + (rng() % 4 == 0 ? 0 : static_cast<int64_t>(rng() % (3 * kHourUs)));
      r.is_protected = rng() % 97 == 0;
      r.automatic = rng() % 11 == 0;
      out.push_back(r);
    }
    t += static_cast<int64_t>(rng() % (rng() % 10 == 0 ? 20 * kDayUs : 2 * kDayUs)) + kHourUs;
  }
  std::shuffle(out.begin(), out.end(), rng);  // input order must not matter
  return out;
}

TEST(RetentionTest, MatchesTheReferenceOnRandomTimelines) {
  std::mt19937_64 pick(42);
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    auto rps = Timeline(seed);
    ASSERT_GT(rps.size(), 300u);
    RetentionPolicy p;
    p.keep_last = static_cast<uint32_t>(pick() % 4);
    p.keep_hourly = static_cast<uint32_t>(pick() % 30);
    p.keep_daily = static_cast<uint32_t>(pick() % 14);
    p.keep_weekly = static_cast<uint32_t>(pick() % 10);
    p.keep_monthly = static_cast<uint32_t>(pick() % 15);
    p.keep_yearly = static_cast<uint32_t>(pick() % 3);
    p.keep_within_us = pick() % 3 == 0 ? static_cast<int64_t>(pick() % 40) * kDayUs : 0;
    EXPECT_EQ(Kept(rps, p), Reference(rps, p)) << "seed " << seed << ", " << p.ToString();
  }
}

TEST(RetentionTest, IsoWeeksAcrossYearEnds) {
  // 2020-12-31 (Thu) and 2021-01-03 (Sun) are both 2020-W53; 2024-12-30 (Mon) is 2025-W01.
  std::vector<RetentionInput> rps = {{"a", 1, Utc(2020, 12, 31)},
                                     {"b", 2, Utc(2021, 1, 3)},
                                     {"c", 3, Utc(2024, 12, 29)},
                                     {"d", 4, Utc(2024, 12, 30)},
                                     {"e", 5, Utc(2025, 1, 5, 23, 59)}};
  RetentionPolicy p;
  p.keep_weekly = 10;
  EXPECT_EQ(Kept(rps, p), (std::set<std::string>{"b", "c", "e"}));
  EXPECT_EQ(Kept(rps, p), Reference(rps, p));
}

TEST(RetentionTest, NewestOfEachPeriodAndTies) {
  std::vector<RetentionInput> rps = {{"mon-1", 1, Utc(2025, 3, 3, 8)},
                                     {"mon-2", 2, Utc(2025, 3, 3, 20)},
                                     {"tue-a", 3, Utc(2025, 3, 4, 9)},
                                     {"tue-b", 4, Utc(2025, 3, 4, 9)},  // same instant: id wins
                                     {"wed", 5, Utc(2025, 3, 5, 0, 0)}};
  RetentionPolicy p;
  p.keep_daily = 2;
  EXPECT_EQ(Kept(rps, p), (std::set<std::string>{"wed", "tue-b"}));
  p.keep_daily = 3;
  EXPECT_EQ(Kept(rps, p), (std::set<std::string>{"wed", "tue-b", "mon-2"}));
  p = {};
  p.keep_last = 2;
  EXPECT_EQ(Kept(rps, p), (std::set<std::string>{"wed", "tue-b"}));
}

TEST(RetentionTest, RulesAreIndependentAndReasonsAreListed) {
  std::vector<RetentionInput> rps = {{"jan", 1, Utc(2025, 1, 10)},
                                     {"feb", 2, Utc(2025, 2, 10)},
                                     {"mar", 3, Utc(2025, 3, 10)},
                                     {"old", 4, Utc(2024, 6, 1), true}};
  RetentionPolicy p;
  p.keep_last = 1;
  p.keep_monthly = 2;
  auto d = ApplyRetention(rps, p);
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].name, "mar");
  EXPECT_EQ(d[0].reasons, (std::vector<std::string>{"last", "monthly"}));
  EXPECT_EQ(d[1].reasons, (std::vector<std::string>{"monthly"}));
  EXPECT_FALSE(d[2].keep);
  EXPECT_EQ(d[3].reasons, (std::vector<std::string>{"protected"}));
}

TEST(RetentionTest, KeepWithinIsRelativeToTheNewestRp) {
  std::vector<RetentionInput> rps = {
      {"a", 1, Utc(2025, 1, 1)}, {"b", 2, Utc(2025, 1, 8)}, {"c", 3, Utc(2025, 1, 10)}};
  RetentionPolicy p;
  p.keep_within_us = 2 * kDayUs;
  EXPECT_EQ(Kept(rps, p), (std::set<std::string>{"b", "c"}));
  EXPECT_TRUE(Kept({}, p).empty());
}

// Three rollbacks with --keep-current left undo RPs newer than the RPs a user took: they
// do not push those out of --keep-last 2 (nor of --keep-daily), and go themselves unless a
// time rule (--keep-within) or protection keeps them.
TEST(RetentionTest, AutomaticUndoRpsNeitherCountNorAreKeptByCountRules) {
  std::vector<RetentionInput> rps = {{"mon", 1, Utc(2025, 3, 3)},
                                     {"tue", 2, Utc(2025, 3, 4)},
                                     {"wed", 3, Utc(2025, 3, 5)},
                                     {"undo-1", 4, Utc(2025, 3, 5, 13), false, true},
                                     {"undo-2", 5, Utc(2025, 3, 5, 14), false, true},
                                     {"undo-3", 6, Utc(2025, 3, 5, 15), true, true}};
  RetentionPolicy p;
  p.keep_last = 2;
  EXPECT_EQ(Kept(rps, p), (std::set<std::string>{"tue", "wed", "undo-3"}));  // undo-3: protected
  p.keep_last = 0;
  p.keep_daily = 2;
  EXPECT_EQ(Kept(rps, p), (std::set<std::string>{"tue", "wed", "undo-3"}));
  p.keep_within_us = 2 * kHourUs;  // from the newest RP, an undo RP: 13:00 onwards
  EXPECT_EQ(Kept(rps, p), (std::set<std::string>{"tue", "wed", "undo-1", "undo-2", "undo-3"}));
}

TEST(RetentionTest, Durations) {
  EXPECT_EQ(*ParseDuration("36h"), 36 * kHourUs);
  EXPECT_EQ(*ParseDuration("7d"), 7 * kDayUs);
  EXPECT_EQ(*ParseDuration("2w"), 14 * kDayUs);
  EXPECT_EQ(*ParseDuration("1y6m"), 365 * kDayUs + 180 * kDayUs);
  for (const char* bad : {"", "d", "7", "7x", "-1d", "1.5d", "0d", "9999999d"}) {
    auto r = ParseDuration(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_TRUE(r.status().IsInvalidArgument()) << bad;
    }
  }
}

}  // namespace
}  // namespace rpfs::rp
