// rpfs vm import [-c URI] [--as NAME] [DOMAIN...]
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"
#include "virt/libvirt_hypervisor.h"

namespace rpfs::cli {
namespace {

class VmImportVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("--connect,-c", uri_, "libvirt URI")->capture_default_str();
    cmd->add_option("--as", as_, "VM name for the (single) domain; default: the domain's name");
    cmd->add_option("domain", domains_, "Domain names or UUIDs (default: every domain)");
  }

  int Run(const Context& ctx) override {
    if (!as_.empty() && domains_.size() != 1) {
      return ctx.Fail(Status::InvalidArgument("--as names one VM: give exactly one domain"));
    }
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    std::vector<std::string> wanted = domains_;
    const bool all = wanted.empty();
    if (all) {
      auto hv = virt::ConnectLibvirt(uri_);
      if (!hv.ok()) return ctx.Fail(hv.status());
      auto list = (*hv)->ListDomains();
      if (!list.ok()) return ctx.Fail(list.status());
      for (const auto& d : *list) wanted.push_back(d.uuid);
    }
    int code = kExitOk;
    nlohmann::json imported = nlohmann::json::array();
    for (const auto& d : wanted) {
      auto info = (*repo)->ImportVm(uri_, d, as_);
      if (!info.ok()) {
        // Importing everything skips domains already imported rather than failing.
        if (all && info.status().code() == Status::Code::kAlreadyExists) continue;
        code = ctx.Fail(info.status());
        continue;
      }
      imported.push_back({{"vm", JsonText(info->name)},
                          {"domain", JsonText(info->domain_uuid)},
                          {"disks", VmDisksJson(*info)}});
      if (ctx.json) continue;
      std::fprintf(ctx.out, "imported vm %s (domain %s):", info->name.c_str(),
                   info->domain_uuid.c_str());
      for (const auto& disk : info->disks) {
        std::fprintf(ctx.out, " %s=%s (%s)", disk.name.c_str(), disk.path.c_str(),
                     disk.format.c_str());
      }
      std::fprintf(ctx.out, "\n");
    }
    if (ctx.json) ctx.PrintJson(imported);
    return code;
  }

 private:
  std::string uri_ = "qemu:///system";
  std::string as_;
  std::vector<std::string> domains_;
};

}  // namespace

std::unique_ptr<CliVerb> NewVmImportVerb() { return std::make_unique<VmImportVerb>(); }

}  // namespace rpfs::cli
