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

namespace rpfs {
namespace {

TEST(ClockTest, ParsesWhatItFormats) {
  for (int64_t us : {int64_t{0}, int64_t{951'782'400'000'000}, int64_t{1'700'000'000'000'000}}) {
    EXPECT_EQ(ParseIsoUtc(FormatIsoUtc(us)), us);
  }
  for (const char* bad : {"", "2026-13-01T00:00:00Z", "2026-01-01 00:00:00", "2026-01-01T00:00:00",
                          "2026-01-01T00:00:00Z junk", "yesterday"}) {
    EXPECT_EQ(ParseIsoUtc(bad), std::nullopt) << bad;
  }
}

TEST(ClockTest, APinnedClockStaysUntilReleased) {
  PinClockForTesting(int64_t{1'000'000'000'000'000});
  EXPECT_EQ(NowMicros(), 1'000'000'000'000'000);
  EXPECT_EQ(NowMicros(), 1'000'000'000'000'000);
  PinClockForTesting(std::nullopt);
  EXPECT_GT(NowMicros(), int64_t{1'700'000'000} * 1'000'000);
}

}  // namespace
}  // namespace rpfs
