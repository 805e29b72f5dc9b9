#include "cli/common.h"

#include <nlohmann/json.hpp>

#include "cli/json_text.h"
#include "rp/retention.h"
#include "rp/schedule.h"
#include "util/clock.h"

namespace rpfs::cli {

Result<std::vector<VmInfo>> SelectVms(const Repository& repo, const std::string& only_vm) {
  if (only_vm.empty()) return repo.ListVms();
  RPFS_ASSIGN_OR_RETURN(VmInfo vm, repo.GetVm(only_vm));
  return std::vector<VmInfo>{std::move(vm)};
}

Result<std::vector<std::string>> VmNames(const Repository& repo, const std::string& only_vm) {
  if (!only_vm.empty()) return std::vector<std::string>{only_vm};
  RPFS_ASSIGN_OR_RETURN(std::vector<VmInfo> vms, repo.ListVms());
  std::vector<std::string> names;
  for (const auto& v : vms) names.push_back(v.name);
  return names;
}

double Ratio(uint64_t a, uint64_t b) {
  return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
}

nlohmann::json CloneJson(const CloneInfo& c) {
  nlohmann::json disks = nlohmann::json::array();
  for (const auto& d : c.disks) {
    disks.push_back({{"name", JsonText(d.name)},
                     {"size", d.size},
                     {"path", JsonText(d.path)},
                     {"hydrated_bytes", d.hydrated_bytes}});
  }
  return {{"vm", JsonText(c.vm)},   {"name", JsonText(c.name)},
          {"rp", JsonText(c.rp)},   {"created", FormatIsoUtc(c.created_us)},
          {"hydrated", c.hydrated}, {"source", JsonText(c.source)},
          {"disks", disks}};
}

nlohmann::json OutcomeJson(const std::string& vm, const control::Outcome& o) {
  nlohmann::json j = {{"vm", JsonText(vm)}, {"summary", JsonText(o.summary)}};
  if (o.rp) j["rp"] = RpJson(*o.rp);
  if (o.clone) j["clone"] = CloneJson(*o.clone);
  if (o.rollback) {
    j["rollback"] = {{"undo_rp", JsonText(o.rollback->undo_rp)},
                     {"bytes_total", o.rollback->bytes_total},
                     {"chunks_compared", o.rollback->chunks_compared},
                     {"chunks_known", o.rollback->chunks_known},
                     {"chunks_written", o.rollback->chunks_written},
                     {"bytes_written", o.rollback->bytes_written},
                     {"steps", nlohmann::json::array()}};
    for (const auto& step : o.rollback->steps) {
      j["rollback"]["steps"].push_back(
          {{"what", JsonText(step.what)}, {"time", FormatIsoUtc(step.time_us)}});
    }
  }
  if (o.drill) {
    j["drill"] = {{"ok", o.drill->ok},
                  {"reason", JsonText(o.drill->reason)},
                  {"boot_ms", o.drill->boot_us / 1000},
                  {"time", FormatIsoUtc(o.drill->time_us)},
                  {"clone", JsonText(o.drill->clone)},
                  {"domain", JsonText(o.drill->domain)},
                  {"console", JsonText(o.drill->console)},
                  {"exec_output", JsonText(o.drill->exec_output)}};
  }
  if (!o.warnings.empty()) j["warnings"] = JsonTexts(o.warnings);
  if (!o.deleted.empty()) j["deleted"] = JsonTexts(o.deleted);
  if (!o.deleted.empty() || o.prune) j["bytes_freed"] = o.bytes_freed;
  return j;
}

nlohmann::json VmDisksJson(const VmInfo& vm) {
  nlohmann::json disks = nlohmann::json::array();
  for (const auto& d : vm.disks) {
    disks.push_back(
        {{"name", JsonText(d.name)}, {"path", JsonText(d.path)}, {"format", JsonText(d.format)}});
  }
  return disks;
}

nlohmann::json RpJson(const RpInfo& rp) {
  nlohmann::json disks = nlohmann::json::array();
  for (const auto& d : rp.disks) disks.push_back({{"name", JsonText(d.name)}, {"size", d.size}});
  return {{"vm", JsonText(rp.vm)},
          {"name", JsonText(rp.name)},
          {"created", FormatIsoUtc(rp.created_us)},
          {"created_us", rp.created_us},
          {"description", JsonText(rp.description)},
          {"parent", JsonText(rp.parent)},
          {"disks", disks},
          {"memory", rp.with_memory},
          {"memory_bytes", rp.memory_bytes},
          {"domain_xml", rp.has_domain_xml},
          {"quiesced", rp.quiesced},
          {"automatic", rp.automatic},
          {"logical_bytes", rp.logical_bytes},
          {"data_bytes", rp.data_bytes},
          {"stored_bytes", rp.stored_bytes},
          {"added_bytes", rp.added_bytes},
          {"drill", rp.drill_time_us == 0 ? nlohmann::json(nullptr)
                                          : nlohmann::json{{"ok", rp.drill_ok},
                                                           {"time", FormatIsoUtc(rp.drill_time_us)},
                                                           {"boot_ms", rp.drill_boot_us / 1000},
                                                           {"reason", JsonText(rp.drill_reason)}}}};
}

void PolicyFlags::Add(CLI::App* cmd) {
  cmd->add_option("--keep-last", last, "Keep the N newest RPs");
  cmd->add_option("--keep-hourly", hourly, "Keep the newest RP of each of the last N hours");
  cmd->add_option("--keep-daily", daily, "... of each of the last N days (UTC)");
  cmd->add_option("--keep-weekly", weekly, "... of each of the last N ISO weeks");
  cmd->add_option("--keep-monthly", monthly, "... of each of the last N months");
  cmd->add_option("--keep-yearly", yearly, "... of each of the last N years");
  cmd->add_option("--keep-within", within,
                  "Keep every RP this young, relative to the newest (36h, 7d, 2w, 6m, 1y6m)");
}

void PolicyFlags::AddSchedule(CLI::App* cmd) {
  cmd->add_option("--every", every,
                  "Schedule for 'rpfs auto': one RP per period of this length (1h, 6h, 1d, 1w)");
  cmd->add_option("--at", at,
                  "Start each period at this offset, HH:MM UTC (--every 1d --at 02:00: daily "
                  "from 02:00)");
}

Result<RetentionPolicy> PolicyFlags::Policy() const {
  RetentionPolicy p;
  p.keep_last = last;
  p.keep_hourly = hourly;
  p.keep_daily = daily;
  p.keep_weekly = weekly;
  p.keep_monthly = monthly;
  p.keep_yearly = yearly;
  if (!within.empty()) {
    RPFS_ASSIGN_OR_RETURN(p.keep_within_us, rp::ParseDuration(within));
  }
  if (!at.empty() && every.empty()) {
    return Status::InvalidArgument("--at " + at + " needs --every (e.g. --every 1d --at 02:00)");
  }
  if (!every.empty()) {
    RPFS_ASSIGN_OR_RETURN(p.every_us, rp::ParseEvery(every));
    if (!at.empty()) {
      RPFS_ASSIGN_OR_RETURN(p.at_us, rp::ParseTimeOfPeriod(at));
    }
    RPFS_RETURN_IF_ERROR(rp::ValidateSchedule(p.every_us, p.at_us));
  }
  return p;
}

}  // namespace rpfs::cli
