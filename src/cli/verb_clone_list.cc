// rpfs clone-list [VM] [--json]
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/json_text.h"
#include "util/clock.h"

namespace rpfs::cli {
namespace {

class CloneListVerb final : public VmListingVerb {
 public:
  int List(const Context& ctx, Repository& repo) override {
    auto clones = repo.ListClones(vm_);
    if (!clones.ok()) return ctx.Fail(clones.status());
    if (ctx.json) {
      PrintJson(ctx, *clones);
      return kExitOk;
    }
    std::fprintf(ctx.out, "%-16s %-20s %-20s %-6s %9s  %s\n", "VM", "CLONE", "FROM RP", "DISK",
                 "HYDRATED", "PATH");
    for (const auto& c : *clones) {
      for (const auto& d : c.disks) {
        unsigned pct = d.size == 0 ? 100u : static_cast<unsigned>(d.hydrated_bytes * 100 / d.size);
        std::fprintf(ctx.out, "%-16s %-20s %-20s %-6s %8u%%  %s\n", c.vm.c_str(), c.name.c_str(),
                     c.rp.c_str(), d.name.c_str(), pct, d.path.c_str());
      }
    }
    return kExitOk;
  }

 private:
  static void PrintJson(const Context& ctx, const std::vector<CloneInfo>& clones) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& c : clones) {
      nlohmann::json disks = nlohmann::json::array();
      for (const auto& d : c.disks) {
        disks.push_back({{"name", JsonText(d.name)},
                         {"size", d.size},
                         {"path", JsonText(d.path)},
                         {"hydrated_bytes", d.hydrated_bytes}});
      }
      j.push_back({{"vm", JsonText(c.vm)},
                   {"name", JsonText(c.name)},
                   {"rp", JsonText(c.rp)},
                   {"created", FormatIsoUtc(c.created_us)},
                   {"hydrated", c.hydrated},
                   {"disks", disks}});
    }
    ctx.PrintJson(j);
  }
};

}  // namespace

std::unique_ptr<CliVerb> NewCloneListVerb() { return std::make_unique<CloneListVerb>(); }

}  // namespace rpfs::cli
