#include "rp/schedule.h"

#include <cstdio>
#include <string>

#include "rp/retention.h"

namespace rpfs::rp {
namespace {

constexpr int64_t kMinuteUs = 60ll * 1000000;
constexpr int64_t kHourUs = 60 * kMinuteUs;
// Monday 1970-01-05 00:00 UTC: weekly periods start on Mondays, like ISO weeks.
constexpr int64_t kEpochMondayUs = 4 * 24 * kHourUs;

// The index of the period holding `t` (floor division: correct before the anchor too).
int64_t PeriodIndex(const RetentionPolicy& p, int64_t t_us) {
  int64_t since = t_us - kEpochMondayUs - p.at_us;
  int64_t q = since / p.every_us;
  return since % p.every_us < 0 ? q - 1 : q;
}

int64_t PeriodStart(const RetentionPolicy& p, int64_t index) {
  return kEpochMondayUs + p.at_us + index * p.every_us;
}

}  // namespace

ScheduleCheck CheckSchedule(const RetentionPolicy& policy, std::optional<int64_t> newest_us,
                            int64_t now_us) {
  ScheduleCheck out;
  int64_t now_index = PeriodIndex(policy, now_us);
  out.period_start_us = PeriodStart(policy, now_index);
  if (!newest_us || PeriodIndex(policy, *newest_us) < now_index) {
    out.due = true;
    out.next_due_us = now_us;
    return out;
  }
  // The newest RP is in this period (or later, should the clock have gone back).
  out.next_due_us = PeriodStart(policy, PeriodIndex(policy, *newest_us) + 1);
  return out;
}

Result<int64_t> ParseEvery(std::string_view text) {
  if (text.find_first_of("my") != std::string_view::npos) {
    return Status::InvalidArgument("invalid --every '" + std::string(text) +
                                   "': use hours, days or weeks (1h, 6h, 1d, 1w); periods "
                                   "shorter than an hour or in months are not supported");
  }
  return ParseDuration(text);
}

Status ValidateSchedule(int64_t every_us, int64_t at_us) {
  if (every_us < kHourUs || every_us % kHourUs != 0) {
    return Status::InvalidArgument("--every must be a whole number of hours, at least 1h");
  }
  if (at_us < 0 || at_us >= every_us) {
    return Status::InvalidArgument("--at " + FormatTimeOfPeriod(at_us) +
                                   " is not within a period of --every (it must be less)");
  }
  return Status::OK();
}

Result<int64_t> ParseTimeOfPeriod(std::string_view text) {
  // HH:MM with 1 to 3 digits of hours (a weekly period has 168).
  size_t colon = text.find(':');
  auto digits = [](std::string_view d) {
    return !d.empty() && d.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (colon == std::string_view::npos || colon > 3 || !digits(text.substr(0, colon)) ||
      text.size() != colon + 3 || !digits(text.substr(colon + 1)) ||
      std::stoi(std::string(text.substr(colon + 1))) >= 60) {
    return Status::InvalidArgument("invalid time '" + std::string(text) +
                                   "': use HH:MM (UTC, from the start of each period)");
  }
  int64_t hours = std::stoi(std::string(text.substr(0, colon)));
  int64_t minutes = std::stoi(std::string(text.substr(colon + 1)));
  return hours * kHourUs + minutes * kMinuteUs;
}

std::string FormatTimeOfPeriod(int64_t us) {
  int64_t minutes = us / kMinuteUs;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(minutes / 60),
                static_cast<long long>(minutes % 60));
  return buf;
}

}  // namespace rpfs::rp
