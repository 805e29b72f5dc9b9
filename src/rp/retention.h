// Retention: which RPs a prune policy keeps (SPEC §5), as a pure function of the RPs'
// creation times, so it is tested exhaustively without a store.
//
// Semantics (those of restic's `forget`, documented in docs/retention.md):
//   - RPs are ordered newest first (creation time, then id);
//   - keep-last N keeps the N newest;
//   - keep-hourly/daily/weekly/monthly/yearly N keeps the newest RP of each of the N newest
//     periods (UTC hours, days, ISO 8601 weeks, months, years) that hold an RP;
//   - keep-within D keeps every RP created at most D before the newest RP;
//   - rules are independent: an RP kept by one rule still counts for the others, and an RP
//     is kept when any rule keeps it; protected RPs are always kept.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rpfs/repository.h"
#include "rpfs/status.h"

namespace rpfs::rp {

using RetentionPolicy = rpfs::RetentionPolicy;  // include/rpfs/repository.h

struct RetentionInput {
  std::string name;
  uint64_t id = 0;
  int64_t created_us = 0;
  bool is_protected = false;
  // A rollback's undo RP: --keep-last/-hourly/.../-yearly neither count nor keep it
  // (--keep-within and protection do).
  bool automatic = false;
};

struct RetentionDecision {
  std::string name;
  bool keep = false;
  std::vector<std::string> reasons;  // "last", "hourly", ..., "within", "protected"
};

// One decision per input RP, newest first.
std::vector<RetentionDecision> ApplyRetention(std::vector<RetentionInput> rps,
                                              const RetentionPolicy& policy);

// "36h", "7d", "2w", "6m" (30 days), "1y" (365 days), or a sum like "1y6m".
Result<int64_t> ParseDuration(std::string_view text);
// "7d" when exact in days, else "36h" (what ToString prints).
std::string FormatDuration(int64_t us);

}  // namespace rpfs::rp
