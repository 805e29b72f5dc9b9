// rpfs vm list [--json]
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/json_text.h"
#include "cli/table.h"

namespace rpfs::cli {
namespace {

class VmListVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    auto vms = (*repo)->ListVms();
    if (!vms.ok()) return ctx.Fail(vms.status());
    if (ctx.json) {
      PrintJson(ctx, **repo, *vms);
      return kExitOk;
    }
    Table table({{"VM"}, {"KIND"}, {"STATE"}, {"RPS", true}, {"CURRENT"}, {"DISKS"}});
    for (const auto& v : *vms) {
      std::string disks;
      for (const auto& d : v.disks) disks += (disks.empty() ? "" : " ") + d.name + "=" + d.path;
      // A libvirt that does not answer must not hide the store's VMs.
      auto state = (*repo)->VmState(v.name);
      table.Row({v.name, v.kind, state.ok() ? *state : "unknown", std::to_string(v.rp_count),
                 v.current_rp.empty() ? "-" : v.current_rp, disks});
      if (!state.ok()) std::fprintf(ctx.err, "rpfs: %s\n", state.status().message().c_str());
    }
    table.Print(ctx.out);
    return kExitOk;
  }

 private:
  static void PrintJson(const Context& ctx, Repository& repo, const std::vector<VmInfo>& vms) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& v : vms) {
      auto state = repo.VmState(v.name);
      nlohmann::json disks = nlohmann::json::array();
      for (const auto& d : v.disks)
        disks.push_back({{"name", JsonText(d.name)},
                         {"path", JsonText(d.path)},
                         {"format", JsonText(d.format)}});
      j.push_back({{"name", JsonText(v.name)},
                   {"kind", JsonText(v.kind)},
                   {"state", JsonText(state.ok() ? *state : "unknown")},
                   {"domain_uuid", JsonText(v.domain_uuid)},
                   {"libvirt_uri", JsonText(v.libvirt_uri)},
                   {"disks", disks},
                   {"current_rp", JsonText(v.current_rp)},
                   {"rp_count", v.rp_count}});
    }
    ctx.PrintJson(j);
  }
};

}  // namespace

std::unique_ptr<CliVerb> NewVmListVerb() { return std::make_unique<VmListVerb>(); }

}  // namespace rpfs::cli
