// rpfs policy show [VM] [--json]
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"

namespace rpfs::cli {
namespace {

class PolicyShowVerb final : public VmListingVerb {
 public:
  int List(const Context& ctx, Repository& repo) override {
    auto names = VmNames(repo, vm_);
    if (!names.ok()) return ctx.Fail(names.status());
    nlohmann::json j = nlohmann::json::array();
    for (const auto& n : *names) {
      auto p = repo.GetPolicy(n);
      if (!p.ok()) return ctx.Fail(p.status());
      std::string text = *p ? (*p)->ToString() : "(none)";
      j.push_back({{"vm", JsonText(n)}, {"policy", JsonText(text)}});
      if (!ctx.json) std::fprintf(ctx.out, "%-20s %s\n", n.c_str(), text.c_str());
    }
    if (ctx.json) ctx.PrintJson(j);
    return kExitOk;
  }
};

}  // namespace

std::unique_ptr<CliVerb> NewPolicyShowVerb() { return std::make_unique<PolicyShowVerb>(); }

}  // namespace rpfs::cli
