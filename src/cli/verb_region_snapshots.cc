// rpfs region snapshots|delete|verify|gc: what a region holds (docs/region.md).
#include <map>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/json_text.h"
#include "cli/progress.h"
#include "cli/region_access.h"
#include "cli/table.h"
#include "region/remote_chunks.h"
#include "rp/retention.h"
#include "util/clock.h"

namespace rpfs::cli {
namespace {

nlohmann::json SummaryJson(const region::Summary& s) {
  return {{"name", JsonText(s.name)},
          {"host", JsonText(s.host)},
          {"vm", JsonText(s.vm)},
          {"rp", JsonText(s.rp)},
          {"description", JsonText(s.description)},
          {"rp_created", FormatIsoUtc(s.rp_created_us)},
          {"pushed", FormatIsoUtc(s.pushed_us)},
          {"logical_bytes", s.logical_bytes},
          {"chunks", s.chunks},
          {"disks", JsonTexts(s.disks)},
          {"memory", s.memory}};
}

class RegionSnapshotsVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_option("region", region_, "Region (default: the only one)");
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    auto session = OpenRegionSession(ctx, region_);
    if (!session.ok()) return ctx.Fail(session.status());
    region::Region* region = session->region.get();
    auto snaps = region->Snapshots();
    if (!snaps.ok()) return ctx.Fail(snaps.status());
    if (ctx.json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& s : *snaps) j.push_back(SummaryJson(s));
      ctx.PrintJson(j);
      return kExitOk;
    }
    Table table({{"SNAPSHOT"}, {"VM"}, {"RP"}, {"HOST"}, {"PUSHED"}, {"SIZE", true}});
    for (const auto& s : *snaps) {
      table.Row(
          {s.name, s.vm, s.rp, s.host, FormatIsoUtc(s.pushed_us), HumanBytes(s.logical_bytes)});
    }
    table.Print(ctx.out);
    return kExitOk;
  }

 private:
  std::string region_;
};

class RegionDeleteVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_option("region", region_, "Region")->required();
    cmd->add_option("snapshot", snapshots_, "Snapshots to delete")->required();
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    auto session = OpenRegionSession(ctx, region_);
    if (!session.ok()) return ctx.Fail(session.status());
    region::Region* region = session->region.get();
    nlohmann::json j = nlohmann::json::array();
    std::string text;
    for (const auto& name : snapshots_) {
      auto r = region->Delete(name);
      if (!r.ok()) return ctx.Fail(r.status());
      j.push_back({{"snapshot", JsonText(name)},
                   {"references_dropped", r->chunks_released},
                   {"references_moved", r->references_moved},
                   {"chunks_removed", r->chunks_removed},
                   {"waiting_for", JsonText(r->waiting_for)},
                   {"also_finished", JsonTexts(r->also_finished)}});
      text += "deleted snapshot " + name + " from region " + region_ + " (" +
              std::to_string(r->chunks_removed) + " chunks no longer referenced removed)\n";
      if (!r->waiting_for.empty()) {
        text += "  its chunks stay until " + r->waiting_for +
                " is done (a push, a delete or a clone not yet hydrated, based on it); that "
                "one, or `rpfs region gc`, frees them\n";
      }
      for (const auto& base : r->also_finished) {
        text += "  also finished the delete of " + base + ", which waited for it\n";
      }
    }
    ctx.Report(j, text);
    return kExitOk;
  }

 private:
  std::string region_;
  std::vector<std::string> snapshots_;
};

class RegionVerifyVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_option("region", region_, "Region (default: the only one)");
    cmd->add_option("--sample", sample_, "Re-hash only this percentage of the chunks")
        ->check(CLI::Range(0, 100));
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    auto session = OpenRegionSession(ctx, region_);
    if (!session.ok()) return ctx.Fail(session.status());
    region::Region* region = session->region.get();
    auto r = region->Verify(sample_);
    if (!r.ok()) return ctx.Fail(r.status());
    std::string text =
        "region " + region->name() + ": " + std::to_string(r->snapshots) + " snapshots, " +
        std::to_string(r->chunks) + " chunks referenced, " + std::to_string(r->chunks_hashed) +
        " re-hashed: " + (r->ok() ? "ok" : std::to_string(r->problems.size()) + " problems") + "\n";
    for (const auto& p : r->problems) text += "  " + p + "\n";
    ctx.Report({{"region", JsonText(region->name())},
                {"snapshots", r->snapshots},
                {"chunks", r->chunks},
                {"chunks_hashed", r->chunks_hashed},
                {"problems", JsonTexts(r->problems)},
                {"ok", r->ok()}},
               text);
    return r->ok() ? kExitOk : kExitDamaged;
  }

 private:
  std::string region_;
  uint32_t sample_ = 100;
};

// Which holds this store's gc releases: its own (same store id, whatever the host is
// called now) whose clone is hydrated (recorded so, or every disk present: a crash came
// before the record said so), and those no clone names any more (its release failed, or a
// `clone` died before it recorded the clone) once older than the grace: a clone being
// made right now names its hold only when its record is written.
region::ReleasableFn HoldsToRelease(const std::vector<CloneInfo>& clones, std::string store,
                                    int64_t grace_us) {
  std::map<std::string, bool> done;  // by the id of the hold the clone names
  for (const auto& c : clones) {
    const std::string hold = region::HoldOfCloneSource(c.source);
    if (hold.empty()) continue;
    bool present = true;
    for (const auto& d : c.disks) present &= d.hydrated_bytes == d.size;
    done[hold] = c.hydrated || present;
  }
  const int64_t dead_before = NowMicros() - grace_us;
  return
      [done = std::move(done), store = std::move(store), dead_before](const region::Summary& hold) {
        if (hold.description != store) return false;  // another store's: its own gc decides
        auto it = done.find(hold.sid);
        if (it != done.end()) return it->second;
        return hold.pushed_us < dead_before;
      };
}

class RegionGcVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_option("region", region_, "Region (default: the only one)");
    cmd->add_option("--grace", grace_,
                    "A push begun longer ago than this is dead, and so is a hold of this store "
                    "that no clone names (default 1d; e.g. 6h, 0h)");
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    // "0h" (or "0"): every push in progress is dead, e.g. right after a host is known gone.
    const bool zero = !grace_.empty() && grace_.find_first_not_of("0hdwmy") == std::string::npos &&
                      grace_.find_first_not_of('0') != 0;
    auto grace = zero ? Result<int64_t>(int64_t{0}) : rp::ParseDuration(grace_);
    if (!grace.ok()) return ctx.Fail(grace.status().WithContext("--grace"));
    auto session = OpenRegionSession(ctx, region_);
    if (!session.ok()) return ctx.Fail(session.status());
    region::Region* region = session->region.get();
    // Without this store's clones, no hold can be judged: none is released, the rest goes on.
    region::ReleasableFn releasable;
    std::string unjudged;
    if (auto clones = session->repo->ListClones(""); clones.ok()) {
      releasable = HoldsToRelease(*clones, session->repo->StoreId(), *grace);
    } else {
      unjudged = "no hold released: this store's clones cannot be listed (" +
                 clones.status().ToString() + ")";
    }
    auto r = region->Gc(*grace, releasable);
    if (!r.ok()) return ctx.Fail(r.status());
    if (!unjudged.empty()) r->warnings.insert(r->warnings.begin(), unjudged);
    std::string text;
    for (const auto& h : r->holds_released) text += "released the hold of " + h + "\n";
    for (const auto& n : r->finished) text += "removed unfinished snapshot " + n + "\n";
    for (const auto& w : r->warnings) text += "warning: " + w + "\n";
    text += "region " + region->name() + ": " + std::to_string(r->chunks_removed) +
            " chunks removed, " + std::to_string(r->stale_references) + " stale references and " +
            std::to_string(r->manifests_removed) + " stray manifest objects dropped\n";
    ctx.Report({{"region", JsonText(region->name())},
                {"holds_released", JsonTexts(r->holds_released)},
                {"finished", JsonTexts(r->finished)},
                {"warnings", JsonTexts(r->warnings)},
                {"chunks_removed", r->chunks_removed},
                {"stale_references", r->stale_references},
                {"manifest_objects_removed", r->manifests_removed}},
               text);
    return kExitOk;
  }

 private:
  std::string region_;
  std::string grace_ = "1d";
};

}  // namespace

std::unique_ptr<CliVerb> NewRegionSnapshotsVerb() {
  return std::make_unique<RegionSnapshotsVerb>();
}
std::unique_ptr<CliVerb> NewRegionDeleteVerb() { return std::make_unique<RegionDeleteVerb>(); }
std::unique_ptr<CliVerb> NewRegionVerifyVerb() { return std::make_unique<RegionVerifyVerb>(); }
std::unique_ptr<CliVerb> NewRegionGcVerb() { return std::make_unique<RegionGcVerb>(); }

}  // namespace rpfs::cli
