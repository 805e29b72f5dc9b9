// rpfs verify [--json]
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/json_text.h"
#include "cli/progress.h"

namespace rpfs::cli {
namespace {

class VerifyVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    ProgressBar bar(ctx.err, "verify");
    auto result = (*repo)->Verify(bar.Callback());
    bar.Finish();
    if (!result.ok()) return ctx.Fail(result.status());
    if (ctx.json) {
      nlohmann::json j = {{"ok", result->ok()},
                          {"objects", result->objects},
                          {"bytes_hashed", result->bytes_hashed},
                          {"problems", JsonTexts(result->problems)},
                          {"damaged_rps", JsonTexts(result->damaged_rps)}};
      ctx.PrintJson(j);
    } else {
      for (const auto& p : result->problems) std::fprintf(ctx.err, "damaged: %s\n", p.c_str());
      for (const auto& r : result->damaged_rps)
        std::fprintf(ctx.err, "damaged rp: %s\n", r.c_str());
      std::fprintf(ctx.out, "verified %llu objects, %s hashed: %s\n",
                   static_cast<unsigned long long>(result->objects),
                   HumanBytes(result->bytes_hashed).c_str(), result->ok() ? "ok" : "DAMAGED");
    }
    return result->ok() ? kExitOk : kExitDamaged;
  }
};

}  // namespace

std::unique_ptr<CliVerb> NewVerifyVerb() { return std::make_unique<VerifyVerb>(); }

}  // namespace rpfs::cli
