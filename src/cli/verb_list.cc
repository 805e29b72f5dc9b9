// rpfs list [VM] [--tree] [--json]
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "cli/table.h"
#include "util/clock.h"

namespace rpfs::cli {
namespace {

void PrintRpTable(const Context& ctx, const std::vector<RpInfo>& rps, const std::string& current,
                  bool tree) {
  // The first column marks the VM's current RP.
  Table table({{""},
               {"RP"},
               {"CREATED"},
               {"PARENT"},
               {"LOGICAL", true},
               {"STORED", true},
               {"ADDED", true},
               {"DESCRIPTION"}});
  auto row = [&](const RpInfo& rp, const std::string& label) {
    table.Row({rp.name == current ? "*" : "", label, FormatIsoUtc(rp.created_us),
               rp.parent.empty() ? "-" : rp.parent, HumanBytes(rp.logical_bytes),
               HumanBytes(rp.stored_bytes), HumanBytes(rp.added_bytes), rp.description});
  };
  if (!tree) {
    for (const auto& rp : rps) row(rp, rp.name);
    table.Print(ctx.out);
    return;
  }
  std::multimap<std::string, const RpInfo*> children;  // parent name -> child, creation order
  for (const auto& rp : rps) children.emplace(rp.parent, &rp);
  std::function<void(const std::string&, const std::string&)> walk =
      [&](const std::string& parent, const std::string& indent) {
        auto [begin, end] = children.equal_range(parent);
        for (auto it = begin; it != end; ++it) {
          bool last = std::next(it) == end;
          std::string label = parent.empty() ? it->second->name
                                             : indent + (last ? "`- " : "|- ") + it->second->name;
          row(*it->second, label);
          walk(it->second->name, parent.empty() ? "" : indent + (last ? "   " : "|  "));
        }
      };
  walk("", "");
  table.Print(ctx.out);
}

class ListVerb final : public VmListingVerb {
 public:
  void DeclareMore(CLI::App* cmd) override {
    cmd->add_flag("--tree", tree_, "Show the parent/child hierarchy");
  }

  int List(const Context& ctx, Repository& repo) override {
    auto vms = SelectVms(repo, vm_);
    if (!vms.ok()) return ctx.Fail(vms.status());
    nlohmann::json j = nlohmann::json::array();
    for (const auto& vm : *vms) {
      auto rps = repo.ListRps(vm.name);
      if (!rps.ok()) return ctx.Fail(rps.status());
      if (ctx.json) {
        for (const auto& rp : *rps) {
          auto e = RpJson(rp);
          e["current"] = rp.name == vm.current_rp;
          j.push_back(e);
        }
        continue;
      }
      std::fprintf(ctx.out, "%s (%zu recovery point%s)\n", vm.name.c_str(), rps->size(),
                   rps->size() == 1 ? "" : "s");
      if (!rps->empty()) PrintRpTable(ctx, *rps, vm.current_rp, tree_);
    }
    if (ctx.json) ctx.PrintJson(j);
    return kExitOk;
  }

 private:
  bool tree_ = false;
};

}  // namespace

std::unique_ptr<CliVerb> NewListVerb() { return std::make_unique<ListVerb>(); }

}  // namespace rpfs::cli
