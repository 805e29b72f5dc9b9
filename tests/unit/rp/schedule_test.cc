#include "rp/schedule.h"

#include <gtest/gtest.h>

#include "support/status_matchers.h"
#include "util/clock.h"

namespace rpfs::rp {
namespace {

constexpr int64_t kMin = 60ll * 1000000;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;

int64_t T(const char* iso) { return *ParseIsoUtc(iso); }

RetentionPolicy Every(int64_t every, int64_t at = 0) {
  RetentionPolicy p;
  p.every_us = every;
  p.at_us = at;
  return p;
}

TEST(ScheduleTest, AVmWithoutRpsIsDueAtOnce) {
  ScheduleCheck c = CheckSchedule(Every(kHour), std::nullopt, T("2026-12-06T14:05:00Z"));
  EXPECT_TRUE(c.due);
  EXPECT_EQ(c.period_start_us, T("2026-12-06T14:00:00Z"));
}

TEST(ScheduleTest, HourlyIsDueOncePerClockHourWhateverTheMinute) {
  RetentionPolicy p = Every(kHour);
  // Taken at 10:00:07 (the run took a while); the next run at 10:59:58 is still in hour 10.
  EXPECT_FALSE(CheckSchedule(p, T("2026-12-06T10:00:07Z"), T("2026-12-06T10:59:58Z")).due);
  ScheduleCheck c = CheckSchedule(p, T("2026-12-06T10:00:07Z"), T("2026-12-06T11:00:01Z"));
  EXPECT_TRUE(c.due);
  EXPECT_EQ(CheckSchedule(p, T("2026-12-06T10:00:07Z"), T("2026-12-06T10:30:00Z")).next_due_us,
            T("2026-12-06T11:00:00Z"));
}

TEST(ScheduleTest, DailyAtAnHourStartsItsDayThere) {
  RetentionPolicy p = Every(kDay, 2 * kHour);
  // 01:00 belongs to the day that started yesterday at 02:00.
  EXPECT_EQ(CheckSchedule(p, std::nullopt, T("2026-12-06T01:00:00Z")).period_start_us,
            T("2026-12-05T02:00:00Z"));
  // An RP taken by hand at 14:00 covers the day until tomorrow's 02:00.
  ScheduleCheck c = CheckSchedule(p, T("2026-12-06T14:00:00Z"), T("2026-12-07T01:59:00Z"));
  EXPECT_FALSE(c.due);
  EXPECT_EQ(c.next_due_us, T("2026-12-07T02:00:00Z"));
  EXPECT_TRUE(CheckSchedule(p, T("2026-12-06T14:00:00Z"), T("2026-12-07T02:00:00Z")).due);
}

TEST(ScheduleTest, WeeklyPeriodsStartOnMonday) {
  // 2026-12-07 is a Monday.
  EXPECT_EQ(CheckSchedule(Every(7 * kDay), std::nullopt, T("2026-12-10T12:00:00Z")).period_start_us,
            T("2026-12-07T00:00:00Z"));
  EXPECT_EQ(CheckSchedule(Every(7 * kDay, 50 * kHour + 30 * kMin), std::nullopt,
                          T("2026-12-10T12:00:00Z"))
                .period_start_us,
            T("2026-12-09T02:30:00Z"));  // Wednesday 02:30
}

TEST(ScheduleTest, AnOutageOfThreeDaysIsCaughtUpByOneRp) {
  RetentionPolicy p = Every(kHour);
  int64_t newest = T("2026-12-01T09:00:00Z");
  int64_t back = T("2026-12-04T09:10:00Z");
  EXPECT_TRUE(CheckSchedule(p, newest, back).due);
  EXPECT_FALSE(CheckSchedule(p, back, back + 10 * kMin).due);  // after the one catch-up RP
}

TEST(ScheduleTest, ARpFromTheFutureHoldsTheScheduleUntilItsNextPeriod) {
  ScheduleCheck c =
      CheckSchedule(Every(kHour), T("2026-12-06T18:30:00Z"), T("2026-12-06T14:00:00Z"));
  EXPECT_FALSE(c.due);
  EXPECT_EQ(c.next_due_us, T("2026-12-06T19:00:00Z"));
}

TEST(ScheduleTest, TimesBeforeTheAnchorUseFloorDivision) {
  EXPECT_EQ(CheckSchedule(Every(kDay), std::nullopt, T("1970-01-01T05:00:00Z")).period_start_us,
            T("1970-01-01T00:00:00Z"));
}

TEST(ScheduleTest, ValidationNamesTheFlag) {
  EXPECT_OK(ValidateSchedule(kHour, 0));
  EXPECT_OK(ValidateSchedule(7 * kDay, 167 * kHour));
  for (auto [every, at] : {std::pair{kHour, kHour}, {kDay, 25 * kHour}, {kDay, -kMin}}) {
    Status s = ValidateSchedule(every, at);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    EXPECT_NE(s.message().find("--at"), std::string::npos) << s.ToString();
  }
  Status s = ValidateSchedule(30 * kMin, 0);
  EXPECT_NE(s.message().find("--every"), std::string::npos) << s.ToString();
}

TEST(ScheduleTest, EveryTakesHoursDaysAndWeeksOnly) {
  EXPECT_EQ(*ParseEvery("1h"), kHour);
  EXPECT_EQ(*ParseEvery("1d12h"), 36 * kHour);
  EXPECT_EQ(*ParseEvery("1w"), 7 * kDay);
  for (const char* bad : {"30m", "1y", "", "h", "1x"}) {
    EXPECT_EQ(ParseEvery(bad).status().code(), Status::Code::kInvalidArgument) << bad;
  }
  EXPECT_NE(ParseEvery("30m").status().message().find("shorter than an hour"), std::string::npos);
}

TEST(ScheduleTest, TimeOfPeriodParsesAndPrintsBack) {
  for (const char* text : {"00:00", "02:30", "23:59", "50:05", "167:00"}) {
    Result<int64_t> t = ParseTimeOfPeriod(text);
    ASSERT_OK(t);
    EXPECT_EQ(FormatTimeOfPeriod(*t), text);
  }
  EXPECT_EQ(*ParseTimeOfPeriod("2:00"), 2 * kHour);
  for (const char* bad :
       {"", "2", "02:60", "02:5", "-1:00", " 2:00", "1000:00", "02:00Z", "a:00"}) {
    Result<int64_t> t = ParseTimeOfPeriod(bad);
    EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace rpfs::rp
