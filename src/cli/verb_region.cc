// rpfs region add|list|remove: the regions a store pushes to (docs/region.md).
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/json_text.h"
#include "cli/region_access.h"
#include "cli/table.h"
#include "util/clock.h"

namespace rpfs::cli {
namespace {

class RegionAddVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_option("name", cfg_.name, "Region name")->required();
    cmd->add_option("--ceph-conf", cfg_.ceph_conf, "ceph.conf of the cluster")->required();
    cmd->add_option("--pool", cfg_.pool, "RADOS pool (default rpfs)");
    cmd->add_option("--id", cfg_.client_id, "Ceph user, without client. (default admin)");
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    int code = kExitOk;
    if (!ctx.CheckName(cfg_.name, "region name", &code)) return code;
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    cfg_.ceph_conf = ctx.Path(cfg_.ceph_conf);
    if (auto taken = (*repo)->GetRegion(cfg_.name); taken.ok()) {
      return ctx.Fail(Status::AlreadyExists("region " + cfg_.name + " already exists"));
    }
    // Reach it first, so a wrong file, pool or cluster is found now and nothing is kept.
    auto region = OpenRegion(cfg_);
    if (!region.ok()) return ctx.Fail(region.status());
    Status s = (*repo)->AddRegion(cfg_);
    if (!s.ok()) return ctx.Fail(s);
    ctx.Report({{"region", JsonText(cfg_.name)}, {"pool", JsonText(cfg_.pool)}},
               "region " + cfg_.name + " added (pool " + cfg_.pool + ")\n");
    return kExitOk;
  }

 private:
  RegionConfig cfg_;
};

class RegionListVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    auto regions = (*repo)->ListRegions();
    if (!regions.ok()) return ctx.Fail(regions.status());
    if (ctx.json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& r : *regions) {
        j.push_back({{"name", JsonText(r.name)},
                     {"ceph_conf", JsonText(r.ceph_conf)},
                     {"pool", JsonText(r.pool)},
                     {"id", JsonText(r.client_id)},
                     {"added", FormatIsoUtc(r.created_us)}});
      }
      ctx.PrintJson(j);
      return kExitOk;
    }
    Table table({{"REGION"}, {"POOL"}, {"ID"}, {"CEPH CONF"}});
    for (const auto& r : *regions) table.Row({r.name, r.pool, r.client_id, r.ceph_conf});
    table.Print(ctx.out);
    return kExitOk;
  }
};

class RegionRemoveVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_option("name", name_, "Region name")->required();
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    Status s = (*repo)->RemoveRegion(name_);
    if (!s.ok()) return ctx.Fail(s);
    ctx.Report({{"region", JsonText(name_)}},
               "region " + name_ + " removed from this store (its snapshots stay in the pool)\n");
    return kExitOk;
  }

 private:
  std::string name_;
};

}  // namespace

std::unique_ptr<CliVerb> NewRegionAddVerb() { return std::make_unique<RegionAddVerb>(); }
std::unique_ptr<CliVerb> NewRegionListVerb() { return std::make_unique<RegionListVerb>(); }
std::unique_ptr<CliVerb> NewRegionRemoveVerb() { return std::make_unique<RegionRemoveVerb>(); }

}  // namespace rpfs::cli
