// rpfs create VM RP [--description TEXT] [--memory] [--quiesce] [--force] [--json]
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"
#include "cli/progress.h"

namespace rpfs::cli {
namespace {

class CreateVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    cmd->add_option("rp", cmd_.rp, "Name of the new recovery point")->required();
    cmd->add_option("--description", cmd_.description, "Free text kept with the RP");
    cmd->add_flag("--memory", cmd_.memory, "libvirt: also save the memory state");
    cmd->add_flag("--quiesce", cmd_.quiesce,
                  "libvirt: freeze the guest's filesystems at the instant (needs its agent)");
    cmd->add_flag("--force", cmd_.force,
                  "Read image files even while a running qemu holds them for writing "
                  "(a crash-consistent copy at best)");
    cmd->add_flag("--json", ctx.json, "Print the new RP as JSON (with bytes read, time paused)");
  }

  int Run(const Context& ctx) override {
    int code = 0;
    if (!ctx.CheckName(cmd_.rp, "rp name", &code)) return code;
    cmd_.verb = control::Verb::kCreate;
    auto done = ctx.OpenAndRun(vm_, cmd_, "create " + vm_ + "/" + cmd_.rp);
    if (!done.ok()) return ctx.Fail(done.status());
    const RpInfo& info = *done->rp;
    // Taken, but worth a look (a disk that shrank): on stderr, and in the JSON.
    for (const auto& w : done->warnings) std::fprintf(ctx.err, "rpfs: warning: %s\n", w.c_str());
    if (ctx.json) {
      nlohmann::json j = RpJson(info);
      j["read_bytes"] = info.read_bytes;
      j["read_bytes_by_stream"] = info.read_bytes_by_stream;
      j["paused_us"] = info.paused_us;
      j["warnings"] = JsonTexts(done->warnings);
      ctx.PrintJson(j);
      return kExitOk;
    }
    std::fprintf(ctx.out, "created %s/%s: %s logical, %s data, %s read, %s added to the store",
                 vm_.c_str(), cmd_.rp.c_str(), HumanBytes(info.logical_bytes).c_str(),
                 HumanBytes(info.data_bytes).c_str(), HumanBytes(info.read_bytes).c_str(),
                 HumanBytes(info.added_bytes).c_str());
    if (info.paused_us > 0) {
      std::fprintf(ctx.out, "; guest paused %.1f ms", static_cast<double>(info.paused_us) / 1e3);
    }
    std::fprintf(ctx.out, "\n");
    return kExitOk;
  }

 private:
  std::string vm_;
  control::Command cmd_;
};

}  // namespace

std::unique_ptr<CliVerb> NewCreateVerb() { return std::make_unique<CreateVerb>(); }

}  // namespace rpfs::cli
