// rpfs compact
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"
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
      ctx.Report(
          {{"disk_bytes_before", before->disk_bytes}, {"disk_bytes_after", after->disk_bytes}},
          "compacted: " + HumanBytes(before->disk_bytes) + " -> " + HumanBytes(after->disk_bytes) +
              " on disk\n");
    }
    return kExitOk;
  }
};

}  // namespace

std::unique_ptr<CliVerb> NewCompactVerb() { return std::make_unique<CompactVerb>(); }

}  // namespace rpfs::cli
