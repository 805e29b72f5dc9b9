// rpfs vm add VM --disk NAME=PATH... [--format NAME=raw|qcow2]...
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"

namespace rpfs::cli {
namespace {

// NAME=PATH, with the format probed, or given separately with --format NAME=FMT.
Result<DiskSpec> ParseDiskArg(const std::string& arg) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size()) {
    return Status::InvalidArgument(
        "--disk wants NAME=PATH (e.g. vda=/var/lib/images/web01.img), got '" + arg + "'");
  }
  DiskSpec d;
  d.name = arg.substr(0, eq);
  d.path = arg.substr(eq + 1);
  return d;
}

class VmAddVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", name_, "VM name")->required();
    cmd->add_option("--disk", disks_, "NAME=PATH of a disk image (repeat for more disks)")
        ->required();
    cmd->add_option("--format", formats_, "NAME=raw|qcow2 to skip format probing for a disk");
  }

  int Run(const Context& ctx) override {
    int code = 0;
    if (!ctx.CheckName(name_, "vm name", &code)) return code;
    std::vector<DiskSpec> specs;
    for (const auto& arg : disks_) {
      auto d = ParseDiskArg(arg);
      if (!d.ok()) return ctx.Fail(d.status());
      d->path = ctx.Path(d->path);
      if (!ctx.CheckName(d->name, "disk name", &code)) return code;
      specs.push_back(std::move(*d));
    }
    Status formats = ApplyFormats(&specs);
    if (!formats.ok()) return ctx.Fail(formats);
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    Status s = (*repo)->AddVm(name_, specs);
    if (!s.ok()) return ctx.Fail(s);
    auto info = (*repo)->GetVm(name_);
    std::string text = "added vm " + name_ + ":";
    if (info.ok()) {
      for (const auto& d : info->disks) text += " " + d.name + "=" + d.path + " (" + d.format + ")";
    }
    ctx.Report({{"vm", JsonText(name_)},
                {"disks", info.ok() ? VmDisksJson(*info) : nlohmann::json::array()}},
               text + "\n");
    return kExitOk;
  }

 private:
  Status ApplyFormats(std::vector<DiskSpec>* specs) const {
    for (const auto& arg : formats_) {
      auto f = ParseDiskArg(arg);
      if (!f.ok())
        return Status::InvalidArgument("--format wants NAME=raw|qcow2, got '" + arg + "'");
      bool found = false;
      for (auto& s : *specs) {
        if (s.name == f->name) {
          s.format = f->path;
          found = true;
        }
      }
      if (!found) {
        return Status::InvalidArgument("--format names disk " + f->name +
                                       ", which is not given with --disk");
      }
    }
    return Status::OK();
  }

  std::string name_;
  std::vector<std::string> disks_;
  std::vector<std::string> formats_;
};

}  // namespace

std::unique_ptr<CliVerb> NewVmAddVerb() { return std::make_unique<VmAddVerb>(); }

}  // namespace rpfs::cli
