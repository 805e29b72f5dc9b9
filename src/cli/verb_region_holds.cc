// rpfs region holds [R] | region release R HOLD...: the holds clones and pulls keep on region
// snapshots (docs/region.md, "Holds"), and their release by hand, for a store that is gone.
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/json_text.h"
#include "cli/region_access.h"
#include "cli/table.h"
#include "util/clock.h"

namespace rpfs::cli {
namespace {

class RegionHoldsVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_option("region", region_, "Region (default: the only one)");
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    auto session = OpenRegionSession(ctx, region_);
    if (!session.ok()) return ctx.Fail(session.status());
    auto holds = session->region->Holds();
    if (!holds.ok()) return ctx.Fail(holds.status());
    const std::string here = session->repo->StoreId();
    if (ctx.json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& h : *holds) {
        j.push_back({{"hold", JsonText(h.sid)},
                     {"snapshot", JsonText(h.name)},
                     {"held_by", JsonText(h.rp)},
                     {"vm", JsonText(h.vm)},
                     {"host", JsonText(h.host)},
                     {"store", JsonText(h.description)},
                     {"this_store", h.description == here},
                     {"since", FormatIsoUtc(h.pushed_us)}});
      }
      ctx.PrintJson(j);
      return kExitOk;
    }
    Table table({{"HOLD"}, {"SNAPSHOT"}, {"HELD BY"}, {"VM"}, {"HOST"}, {"SINCE"}});
    for (const auto& h : *holds) {
      table.Row({h.sid, h.name, h.rp + (h.description == here ? "" : " (another store)"), h.vm,
                 h.host, FormatIsoUtc(h.pushed_us)});
    }
    table.Print(ctx.out);
    return kExitOk;
  }

 private:
  std::string region_;
};

// For a hold whose store is gone for good: only that store's gc would release it.
class RegionReleaseVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_option("region", region_, "Region")->required();
    cmd->add_option("hold", holds_, "Holds to release (see `rpfs region holds`)")->required();
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    auto session = OpenRegionSession(ctx, region_);
    if (!session.ok()) return ctx.Fail(session.status());
    region::Region* region = session->region.get();
    auto known = region->Holds();
    if (!known.ok()) return ctx.Fail(known.status());
    for (const auto& hold : holds_) {  // all or nothing: every name checked first
      bool found = false;
      for (const auto& h : *known) found |= h.sid == hold;
      if (!found) {
        return ctx.Fail(Status::NotFound("region " + region->name() + ": no hold " + hold +
                                         " (see `rpfs region holds`)"));
      }
    }
    nlohmann::json j = nlohmann::json::array();
    std::string text;
    for (const auto& hold : holds_) {
      auto r = region->Release(hold);
      if (!r.ok()) return ctx.Fail(r.status());
      j.push_back({{"hold", JsonText(hold)}, {"deletes_finished", JsonTexts(r->also_finished)}});
      text += "released hold " + hold + "\n";
      for (const auto& name : r->also_finished) {
        text += "  finished the delete of snapshot " + name + ", which waited for it\n";
      }
    }
    ctx.Report(j, text);
    return kExitOk;
  }

 private:
  std::string region_;
  std::vector<std::string> holds_;
};

}  // namespace

std::unique_ptr<CliVerb> NewRegionHoldsVerb() { return std::make_unique<RegionHoldsVerb>(); }
std::unique_ptr<CliVerb> NewRegionReleaseVerb() { return std::make_unique<RegionReleaseVerb>(); }

}  // namespace rpfs::cli
