#include "util/clock.h"

#include <gtest/gtest.h>

namespace rpfs {
namespace {

TEST(ClockTest, FormatsMicrosAsIsoUtcSeconds) {
  EXPECT_EQ(FormatIsoUtc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIsoUtc(1'700'000'000'999'999), "2023-11-14T22:13:20Z");  // truncates
  EXPECT_EQ(FormatIsoUtc(951'782'400'000'000), "2000-02-29T00:00:00Z");
}

TEST(ClockTest, NowIsMicrosecondsSinceTheEpoch) {
  int64_t now = NowMicros();
  EXPECT_GT(now, int64_t{1'700'000'000} * 1'000'000);  // after 2023-11
  EXPECT_LT(now, int64_t{4'102'444'800} * 1'000'000);  // before 2100
}

}  // namespace
}  // namespace rpfs
