// rpfs vm list [--json]
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/json_text.h"

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
    std::fprintf(ctx.out, "%-20s %-12s %-12s %5s %-20s %s\n", "VM", "KIND", "STATE", "RPS",
                 "CURRENT", "DISKS");
    for (const auto& v : *vms) {
      std::string disks;
      for (const auto& d : v.disks) disks += (disks.empty() ? "" : " ") + d.name + "=" + d.path;
      // A libvirt that does not answer must not hide the store's VMs.
      auto state = (*repo)->VmState(v.name);
      std::fprintf(ctx.out, "%-20s %-12s %-12s %5zu %-20s %s\n", v.name.c_str(), v.kind.c_str(),
                   state.ok() ? state->c_str() : "unknown", v.rp_count,
                   v.current_rp.empty() ? "-" : v.current_rp.c_str(), disks.c_str());
      if (!state.ok()) std::fprintf(ctx.err, "rpfs: %s\n", state.status().message().c_str());
    }
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
