#include "rp/retention.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include "rp/schedule.h"

namespace rpfs::rp {
namespace {

using Days = std::chrono::sys_days;

struct Civil {
  int64_t hour_index;  // hours since the epoch
  Days day;
};

Civil ToCivil(int64_t created_us) {
  using namespace std::chrono;
  auto t = sys_time<microseconds>(microseconds(created_us));
  auto day = floor<days>(t);
  auto hours_since = floor<hours>(t).time_since_epoch().count();
  return {hours_since, day};
}

// Period keys: equal for RPs in the same period.
int64_t HourKey(int64_t us) { return ToCivil(us).hour_index; }
int64_t DayKey(int64_t us) { return ToCivil(us).day.time_since_epoch().count(); }
int64_t MonthKey(int64_t us) {
  std::chrono::year_month_day ymd(ToCivil(us).day);
  return static_cast<int>(ymd.year()) * 12 + static_cast<unsigned>(ymd.month());
}
int64_t YearKey(int64_t us) {
  return static_cast<int>(std::chrono::year_month_day(ToCivil(us).day).year());
}
// ISO 8601 week: the week (Monday to Sunday) is numbered in the year of its Thursday.
int64_t WeekKey(int64_t us) {
  using namespace std::chrono;
  Days d = ToCivil(us).day;
  unsigned iso_wd = weekday(d).iso_encoding();  // Monday 1 .. Sunday 7
  Days thursday = d - days(iso_wd - 1) + days(3);
  year y = year_month_day(thursday).year();
  Days jan1 = sys_days(y / January / 1);
  int64_t week = (thursday - jan1).count() / 7 + 1;
  return static_cast<int>(y) * 100 + week;
}

}  // namespace

}  // namespace rpfs::rp

namespace rpfs {

bool RetentionPolicy::empty() const {
  return keep_last == 0 && keep_hourly == 0 && keep_daily == 0 && keep_weekly == 0 &&
         keep_monthly == 0 && keep_yearly == 0 && keep_within_us == 0;
}

std::string RetentionPolicy::ToString() const {
  std::string out;
  auto add = [&](const std::string& flag, const std::string& value) {
    out += (out.empty() ? "" : " ") + flag + " " + value;
  };
  if (every_us > 0) add("--every", rp::FormatDuration(every_us));
  if (every_us > 0 && at_us > 0) add("--at", rp::FormatTimeOfPeriod(at_us));
  auto add_rule = [&](const char* flag, uint32_t n) {
    if (n > 0) add(flag, std::to_string(n));
  };
  add_rule("--keep-last", keep_last);
  add_rule("--keep-hourly", keep_hourly);
  add_rule("--keep-daily", keep_daily);
  add_rule("--keep-weekly", keep_weekly);
  add_rule("--keep-monthly", keep_monthly);
  add_rule("--keep-yearly", keep_yearly);
  if (keep_within_us > 0) add("--keep-within", rp::FormatDuration(keep_within_us));
  return out.empty() ? "(none)" : out;
}

}  // namespace rpfs

namespace rpfs::rp {

std::vector<RetentionDecision> ApplyRetention(std::vector<RetentionInput> rps,
                                              const RetentionPolicy& p) {
  std::sort(rps.begin(), rps.end(), [](const RetentionInput& a, const RetentionInput& b) {
    return a.created_us != b.created_us ? a.created_us > b.created_us : a.id > b.id;
  });
  std::vector<RetentionDecision> out(rps.size());
  for (size_t i = 0; i < rps.size(); ++i) out[i].name = rps[i].name;
  auto keep = [&](size_t i, const char* why) {
    out[i].keep = true;
    out[i].reasons.push_back(why);
  };
  // Count-based rules skip the automatic undo RPs of rollbacks: a few rollbacks must not
  // push the RPs a user took out of --keep-last N.
  for (size_t i = 0, kept = 0; i < rps.size() && kept < p.keep_last; ++i) {
    if (rps[i].automatic) continue;
    keep(i, "last");
    ++kept;
  }
  auto bucket_rule = [&](uint32_t n, const char* why, const std::function<int64_t(int64_t)>& key) {
    if (n == 0) return;
    uint32_t kept = 0;
    bool have_last = false;
    int64_t last = 0;
    for (size_t i = 0; i < rps.size() && kept < n; ++i) {
      if (rps[i].automatic) continue;
      int64_t k = key(rps[i].created_us);
      if (have_last && k == last) continue;  // an older RP of a period already kept
      have_last = true;
      last = k;
      keep(i, why);
      ++kept;
    }
  };
  bucket_rule(p.keep_hourly, "hourly", HourKey);
  bucket_rule(p.keep_daily, "daily", DayKey);
  bucket_rule(p.keep_weekly, "weekly", WeekKey);
  bucket_rule(p.keep_monthly, "monthly", MonthKey);
  bucket_rule(p.keep_yearly, "yearly", YearKey);
  if (p.keep_within_us > 0 && !rps.empty()) {
    for (size_t i = 0; i < rps.size(); ++i) {
      if (rps[i].created_us >= rps[0].created_us - p.keep_within_us) keep(i, "within");
    }
  }
  for (size_t i = 0; i < rps.size(); ++i) {
    if (rps[i].is_protected) keep(i, "protected");
  }
  return out;
}

std::string FormatDuration(int64_t us) {
  constexpr int64_t kHour = 3600ll * 1000000;
  int64_t h = us / kHour;
  if (h > 0 && h % 24 == 0) return std::to_string(h / 24) + "d";
  return std::to_string(h) + "h";
}

Result<int64_t> ParseDuration(std::string_view text) {
  constexpr int64_t kHour = 3600ll * 1000000;
  if (text.empty()) return Status::InvalidArgument("empty duration (e.g. 7d, 36h, 2w, 6m, 1y)");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == start || i == text.size() || i - start > 6) {
      return Status::InvalidArgument("invalid duration '" + std::string(text) +
                                     "': use a number and a unit h, d, w, m or y (e.g. 7d, 1y6m)");
    }
    int64_t n = std::stoll(std::string(text.substr(start, i - start)));
    int64_t unit;
    switch (text[i]) {
      case 'h':
        unit = kHour;
        break;
      case 'd':
        unit = 24 * kHour;
        break;
      case 'w':
        unit = 7 * 24 * kHour;
        break;
      case 'm':
        unit = 30 * 24 * kHour;
        break;
      case 'y':
        unit = 365 * 24 * kHour;
        break;
      default:
        return Status::InvalidArgument("invalid duration '" + std::string(text) +
                                       "': unknown unit '" + std::string(1, text[i]) +
                                       "' (h, d, w, m, y)");
    }
    total += n * unit;
    ++i;
  }
  if (total <= 0) return Status::InvalidArgument("duration '" + std::string(text) + "' is zero");
  return total;
}

}  // namespace rpfs::rp
