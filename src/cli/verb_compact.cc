// rpfs compact
#include <cstdio>

#include "cli/command.h"
#include "cli/progress.h"

namespace rpfs::cli {
namespace {

class CompactVerb final : public CliVerb {
 public:
  void Declare(CLI::App*, Context&) override {}

  int Run(const Context& ctx) override {
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    auto before = (*repo)->Summary();
    Status s = (*repo)->Compact();
    if (!s.ok()) return ctx.Fail(s);
    auto after = (*repo)->Summary();
    if (before.ok() && after.ok()) {
      std::fprintf(ctx.out, "compacted: %s -> %s on disk\n", HumanBytes(before->disk_bytes).c_str(),
                   HumanBytes(after->disk_bytes).c_str());
    }
    return kExitOk;
  }
};

}  // namespace

std::unique_ptr<CliVerb> NewCompactVerb() { return std::make_unique<CompactVerb>(); }

}  // namespace rpfs::cli
