// The schedule `rpfs auto` follows (docs/retention.md), as a pure function of the clock and
// the VM's newest RP, so a month of runs is tested without waiting a month.
//
// Time is cut into periods of `every` (a whole number of hours), counted from Monday
// 1970-01-05 00:00 UTC and shifted by `at` ("--every 1d --at 02:00": days from 02:00 UTC to
// 02:00 UTC). An RP is due when the VM has no RP in the current period. Any RP counts, taken
// by hand or by `auto`: the schedule asks for one per period, not for one more. A host that
// was down for three days therefore takes one catch-up RP on its first run, not 72.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rpfs/repository.h"
#include "rpfs/status.h"

namespace rpfs::rp {

struct ScheduleCheck {
  bool due = false;
  int64_t period_start_us = 0;  // start of the period `now` is in
  int64_t next_due_us = 0;      // when due: now; else the start of the next period
};

// `policy.scheduled()` must hold. `newest_us`: creation time of the VM's newest RP, if any.
ScheduleCheck CheckSchedule(const RetentionPolicy& policy, std::optional<int64_t> newest_us,
                            int64_t now_us);

// --every: "1h", "6h", "1d", "1w", "1d12h" (units h, d, w only: "30m" reads as minutes to
// most people, and as months in --keep-within, so it is refused with that reason).
Result<int64_t> ParseEvery(std::string_view text);

// Validates a schedule as `policy set` takes it: every >= 1h, 0 <= at < every.
Status ValidateSchedule(int64_t every_us, int64_t at_us);

// An offset into a period as hours and minutes, "02:00" or "50:30" (a weekly period's
// Tuesday 02:30); FormatTimeOfPeriod prints it back.
Result<int64_t> ParseTimeOfPeriod(std::string_view text);
std::string FormatTimeOfPeriod(int64_t us);

}  // namespace rpfs::rp
