// rpfs vm add | list | remove
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "virt/libvirt_hypervisor.h"

namespace rpfs::cli {
namespace {

// "vda=PATH" or "vda=PATH:qcow2"? Keep it simple and unambiguous: NAME=PATH, with the
// format probed, or --format NAME=FMT given separately.
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

}  // namespace

void RegisterVmCommands(CLI::App& app, Context& ctx, Action* action) {
  auto* vm = app.add_subcommand("vm", "Manage the VMs of the store");
  vm->require_subcommand(1);
  {
    auto* cmd = vm->add_subcommand("add", "Register a VM made of image files");
    auto name = std::make_shared<std::string>();
    auto disks = std::make_shared<std::vector<std::string>>();
    auto formats = std::make_shared<std::vector<std::string>>();
    cmd->add_option("vm", *name, "VM name")->required();
    cmd->add_option("--disk", *disks, "NAME=PATH of a disk image (repeat for more disks)")
        ->required();
    cmd->add_option("--format", *formats, "NAME=raw|qcow2 to skip format probing for a disk");
    cmd->callback([&ctx, action, name, disks, formats] {
      *action = [&ctx, name, disks, formats] {
        int code = 0;
        if (!ctx.CheckName(*name, "vm name", &code)) return code;
        std::vector<DiskSpec> specs;
        for (const auto& arg : *disks) {
          auto d = ParseDiskArg(arg);
          if (!d.ok()) return ctx.Fail(d.status());
          d->path = ctx.Path(d->path);
          if (!ctx.CheckName(d->name, "disk name", &code)) return code;
          specs.push_back(std::move(*d));
        }
        for (const auto& arg : *formats) {
          auto f = ParseDiskArg(arg);
          if (!f.ok())
            return ctx.Fail(
                Status::InvalidArgument("--format wants NAME=raw|qcow2, got '" + arg + "'"));
          bool found = false;
          for (auto& s : specs) {
            if (s.name == f->name) {
              s.format = f->path;
              found = true;
            }
          }
          if (!found)
            return ctx.Fail(Status::InvalidArgument("--format names disk " + f->name +
                                                    ", which is not given with --disk"));
        }
        auto repo = ctx.OpenRepo();
        if (!repo.ok()) return ctx.Fail(repo.status());
        Status s = (*repo)->AddVm(*name, specs);
        if (!s.ok()) return ctx.Fail(s);
        auto info = (*repo)->GetVm(*name);
        std::fprintf(ctx.out, "added vm %s:", name->c_str());
        if (info.ok()) {
          for (const auto& d : info->disks)
            std::fprintf(ctx.out, " %s=%s (%s)", d.name.c_str(), d.path.c_str(), d.format.c_str());
        }
        std::fprintf(ctx.out, "\n");
        return kExitOk;
      };
    });
  }
  {
    auto* cmd = vm->add_subcommand("import", "Register libvirt domains as VMs");
    auto uri = std::make_shared<std::string>("qemu:///system");
    auto as = std::make_shared<std::string>();
    auto domains = std::make_shared<std::vector<std::string>>();
    cmd->add_option("--connect,-c", *uri, "libvirt URI")->capture_default_str();
    cmd->add_option("--as", *as, "VM name for the (single) domain; default: the domain's name");
    cmd->add_option("domain", *domains, "Domain names or UUIDs (default: every domain)");
    cmd->callback([&ctx, action, uri, as, domains] {
      *action = [&ctx, uri, as, domains] {
        if (!as->empty() && domains->size() != 1) {
          return ctx.Fail(Status::InvalidArgument("--as names one VM: give exactly one domain"));
        }
        auto repo = ctx.OpenRepo();
        if (!repo.ok()) return ctx.Fail(repo.status());
        std::vector<std::string> wanted = *domains;
        bool all = wanted.empty();
        if (all) {
          auto hv = virt::ConnectLibvirt(*uri);
          if (!hv.ok()) return ctx.Fail(hv.status());
          auto list = (*hv)->ListDomains();
          if (!list.ok()) return ctx.Fail(list.status());
          for (const auto& d : *list) wanted.push_back(d.uuid);
        }
        int code = kExitOk;
        for (const auto& d : wanted) {
          auto info = (*repo)->ImportVm(*uri, d, *as);
          if (!info.ok()) {
            // Importing everything skips domains already imported rather than failing.
            if (all && info.status().code() == Status::Code::kAlreadyExists) continue;
            code = ctx.Fail(info.status());
            continue;
          }
          std::fprintf(ctx.out, "imported vm %s (domain %s):", info->name.c_str(),
                       info->domain_uuid.c_str());
          for (const auto& disk : info->disks) {
            std::fprintf(ctx.out, " %s=%s (%s)", disk.name.c_str(), disk.path.c_str(),
                         disk.format.c_str());
          }
          std::fprintf(ctx.out, "\n");
        }
        return code;
      };
    });
  }
  {
    auto* cmd = vm->add_subcommand("list", "List the VMs");
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
    cmd->callback([&ctx, action] {
      *action = [&ctx] {
        auto repo = ctx.OpenRepo();
        if (!repo.ok()) return ctx.Fail(repo.status());
        auto vms = (*repo)->ListVms();
        if (!vms.ok()) return ctx.Fail(vms.status());
        if (ctx.json) {
          nlohmann::json j = nlohmann::json::array();
          for (const auto& v : *vms) {
            auto state = (*repo)->VmState(v.name);
            nlohmann::json disks = nlohmann::json::array();
            for (const auto& d : v.disks)
              disks.push_back({{"name", d.name}, {"path", d.path}, {"format", d.format}});
            j.push_back({{"name", v.name},
                         {"kind", v.kind},
                         {"state", state.ok() ? *state : "unknown"},
                         {"domain_uuid", v.domain_uuid},
                         {"libvirt_uri", v.libvirt_uri},
                         {"disks", disks},
                         {"current_rp", v.current_rp},
                         {"rp_count", v.rp_count}});
          }
          ctx.PrintJson(j);
          return kExitOk;
        }
        std::fprintf(ctx.out, "%-20s %-12s %-12s %5s %-20s %s\n", "VM", "KIND", "STATE", "RPS",
                     "CURRENT", "DISKS");
        for (const auto& v : *vms) {
          std::string disks;
          for (const auto& d : v.disks) disks += (disks.empty() ? "" : " ") + d.name + "=" + d.path;
          // A libvirt that does not answer must not hide the store's VMs.
          auto state = (*repo)->VmState(v.name);
          std::fprintf(ctx.out, "%-20s %-12s %-12s %5zu %-20s %s\n", v.name.c_str(), v.kind.c_str(),
                       state.ok() ? state->c_str() : "unknown", v.rp_count,
                       v.current_rp.empty() ? "-" : v.current_rp.c_str(), disks.c_str());
          if (!state.ok()) std::fprintf(ctx.err, "rpfs: %s\n", state.status().message().c_str());
        }
        return kExitOk;
      };
    });
  }
  {
    auto* cmd = vm->add_subcommand("remove", "Forget a VM that has no recovery points");
    auto name = std::make_shared<std::string>();
    cmd->add_option("vm", *name, "VM name")->required();
    cmd->callback([&ctx, action, name] {
      *action = [&ctx, name] {
        auto repo = ctx.OpenRepo();
        if (!repo.ok()) return ctx.Fail(repo.status());
        Status s = (*repo)->RemoveVm(*name);
        if (!s.ok()) return ctx.Fail(s);
        std::fprintf(ctx.out, "removed vm %s\n", name->c_str());
        return kExitOk;
      };
    });
  }
}

}  // namespace rpfs::cli
