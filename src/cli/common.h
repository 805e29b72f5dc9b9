// Helpers shared by several verbs: which VMs a command covers, an RP as JSON, the
// --keep-... flags of a retention policy.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "control/verbs.h"
#include "rpfs/repository.h"
#include "rpfs/status.h"

namespace rpfs::cli {

// The VM `only_vm` (NotFound if there is none), or every VM when it is empty.
Result<std::vector<VmInfo>> SelectVms(const Repository& repo, const std::string& only_vm);

// The name `only_vm` as given (not checked), or every VM's name when it is empty.
Result<std::vector<std::string>> VmNames(const Repository& repo, const std::string& only_vm);

// a / b, 0 when b is 0: the dedup and compression ratios of `du` and `metrics`.
double Ratio(uint64_t a, uint64_t b);

// An RP as `list --json`, `info --json` and `create --json` print it.
nlohmann::json RpJson(const RpInfo& rp);
// A clone as `clone-list --json`, `clone --json` and `hydrate --json` print it.
nlohmann::json CloneJson(const CloneInfo& c);
// What a command of a VM did, as the --json of the verbs that run one prints it: the VM,
// the summary line, and whichever of the RP, rollback, clone, deleted RPs and freed bytes
// the command has.
nlohmann::json OutcomeJson(const std::string& vm, const control::Outcome& o);
// A VM's disks as `vm add --json` and `vm import --json` print them.
nlohmann::json VmDisksJson(const VmInfo& vm);

// The --keep-... flags of `prune` and `policy set`.
struct PolicyFlags {
  uint32_t last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;
  std::string within;
  std::string every, at;  // the schedule (added by AddSchedule: `policy set` only)
  void Add(CLI::App* cmd);
  void AddSchedule(CLI::App* cmd);
  Result<RetentionPolicy> Policy() const;
};

}  // namespace rpfs::cli
