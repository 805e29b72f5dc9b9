// rpfs verify [--sample PCT] [--json]
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
    cmd->add_option("--sample", sample_,
                    "Re-hash only this percentage of the chunks, a different share each run "
                    "(references and refcounts are always checked in full)")
        ->check(CLI::Range(1, 100));
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    ProgressBar bar(ctx.err, "verify");
    auto result = (*repo)->Verify(bar.Callback(), sample_);
    bar.Finish();
    if (!result.ok()) return ctx.Fail(result.status());
    if (ctx.json) {
      nlohmann::json j = {{"ok", result->ok()},
                          {"objects", result->objects},
                          {"bytes_hashed", result->bytes_hashed},
                          {"sample_percent", sample_},
                          {"chunks_skipped", result->chunks_skipped},
                          {"problems", JsonTexts(result->problems)},
                          {"damaged_rps", JsonTexts(result->damaged_rps)}};
      ctx.PrintJson(j);
    } else {
      for (const auto& p : result->problems) std::fprintf(ctx.err, "damaged: %s\n", p.c_str());
      for (const auto& r : result->damaged_rps)
        std::fprintf(ctx.err, "damaged rp: %s\n", r.c_str());
      std::string sample;
      if (sample_ < 100) {
        sample = " (a " + std::to_string(sample_) +
                 " % sample: " + std::to_string(result->chunks_skipped) + " chunks not read)";
      }
      std::fprintf(ctx.out, "verified %llu objects, %s hashed%s: %s\n",
                   static_cast<unsigned long long>(result->objects),
                   HumanBytes(result->bytes_hashed).c_str(), sample.c_str(),
                   result->ok() ? "ok" : "DAMAGED");
    }
    return result->ok() ? kExitOk : kExitDamaged;
  }

 private:
  uint32_t sample_ = 100;
};

}  // namespace

std::unique_ptr<CliVerb> NewVerifyVerb() { return std::make_unique<VerifyVerb>(); }

}  // namespace rpfs::cli
