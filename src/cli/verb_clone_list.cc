// rpfs clone-list [VM] [--json]
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"
#include "cli/table.h"
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
    Table table({{"VM"}, {"CLONE"}, {"FROM RP"}, {"DISK"}, {"HYDRATED", true}, {"PATH"}});
    for (const auto& c : *clones) {
      for (const auto& d : c.disks) {
        unsigned pct = d.size == 0 ? 100u : static_cast<unsigned>(d.hydrated_bytes * 100 / d.size);
        table.Row({c.vm, c.name, c.rp, d.name, std::to_string(pct) + "%", d.path});
      }
    }
    table.Print(ctx.out);
    return kExitOk;
  }

 private:
  static void PrintJson(const Context& ctx, const std::vector<CloneInfo>& clones) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& c : clones) j.push_back(CloneJson(c));
    ctx.PrintJson(j);
  }
};

}  // namespace

std::unique_ptr<CliVerb> NewCloneListVerb() { return std::make_unique<CloneListVerb>(); }

}  // namespace rpfs::cli
