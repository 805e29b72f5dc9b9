// rpfs clone | clone-list | clone-delete | hydrate
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/progress.h"
#include "util/clock.h"

namespace rpfs::cli {
namespace {

int RunCloneList(const Context& ctx, const std::string& vm) {
  auto repo = ctx.OpenRepo();
  if (!repo.ok()) return ctx.Fail(repo.status());
  auto clones = (*repo)->ListClones(vm);
  if (!clones.ok()) return ctx.Fail(clones.status());
  if (ctx.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& c : *clones) {
      nlohmann::json disks = nlohmann::json::array();
      for (const auto& d : c.disks) {
        disks.push_back({{"name", d.name},
                         {"size", d.size},
                         {"path", d.path},
                         {"hydrated_bytes", d.hydrated_bytes}});
      }
      j.push_back({{"vm", c.vm},
                   {"name", c.name},
                   {"rp", c.rp},
                   {"created", FormatIsoUtc(c.created_us)},
                   {"hydrated", c.hydrated},
                   {"disks", disks}});
    }
    ctx.PrintJson(j);
    return kExitOk;
  }
  std::fprintf(ctx.out, "%-16s %-20s %-20s %-6s %9s  %s\n", "VM", "CLONE", "FROM RP", "DISK",
               "HYDRATED", "PATH");
  for (const auto& c : *clones) {
    for (const auto& d : c.disks) {
      unsigned pct = d.size == 0 ? 100u : static_cast<unsigned>(d.hydrated_bytes * 100 / d.size);
      std::fprintf(ctx.out, "%-16s %-20s %-20s %-6s %8u%%  %s\n", c.vm.c_str(), c.name.c_str(),
                   c.rp.c_str(), d.name.c_str(), pct, d.path.c_str());
    }
  }
  return kExitOk;
}

}  // namespace

void RegisterCloneCommands(CLI::App& app, Context& ctx, Action* action) {
  {
    auto* cmd = app.add_subcommand("clone", "Make writable disks from a recovery point, at once");
    auto vm = std::make_shared<std::string>();
    auto rp = std::make_shared<std::string>();
    auto clone = std::make_shared<std::string>();
    auto define = std::make_shared<bool>(false);
    cmd->add_option("vm", *vm, "VM name")->required();
    cmd->add_option("rp", *rp, "Recovery point")->required();
    cmd->add_option("clone", *clone, "Name of the new clone")->required();
    cmd->add_flag("--define", *define, "Also define a libvirt domain on the clone's disks");
    cmd->callback([&ctx, action, vm, rp, clone, define] {
      *action = [&ctx, vm, rp, clone, define] {
        int code = 0;
        if (!ctx.CheckName(*clone, "clone name", &code)) return code;
        control::Command c;
        c.verb = control::Verb::kClone;
        c.rp = *rp;
        c.target = *clone;
        c.define = *define;
        return ctx.RunControlVerb(*vm, c);
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("clone-list", "List clones, their hydration and their files");
    auto vm = std::make_shared<std::string>();
    cmd->add_option("vm", *vm, "Only this VM");
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
    cmd->callback([&ctx, action, vm] { *action = [&ctx, vm] { return RunCloneList(ctx, *vm); }; });
  }
  {
    auto* cmd = app.add_subcommand("clone-delete", "Delete a clone and its files");
    auto vm = std::make_shared<std::string>();
    auto clone = std::make_shared<std::string>();
    cmd->add_option("vm", *vm, "VM name")->required();
    cmd->add_option("clone", *clone, "Clone")->required();
    cmd->callback([&ctx, action, vm, clone] {
      *action = [&ctx, vm, clone] {
        control::Command c;
        c.verb = control::Verb::kDeleteClone;
        c.target = *clone;
        return ctx.RunControlVerb(*vm, c);
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("hydrate", "Fetch every chunk of a clone not yet local");
    auto vm = std::make_shared<std::string>();
    auto clone = std::make_shared<std::string>();
    cmd->add_option("vm", *vm, "VM name")->required();
    cmd->add_option("clone", *clone, "Clone")->required();
    cmd->callback([&ctx, action, vm, clone] {
      *action = [&ctx, vm, clone] {
        auto repo = ctx.OpenRepo();
        if (!repo.ok()) return ctx.Fail(repo.status());
        ProgressBar bar(ctx.err, "hydrate " + *vm + "/" + *clone);
        Status s = (*repo)->HydrateClone(*vm, *clone, bar.Callback());
        bar.Finish();
        if (!s.ok()) return ctx.Fail(s);
        auto info = (*repo)->GetClone(*vm, *clone);
        if (!info.ok()) return ctx.Fail(info.status());
        std::fprintf(ctx.out, "hydrated clone %s/%s%s:", vm->c_str(), clone->c_str(),
                     info->hydrated ? "" : " (still needs the store: a disk is not complete)");
        for (const auto& d : info->disks) std::fprintf(ctx.out, " %s", d.path.c_str());
        std::fprintf(ctx.out, "\n");
        return info->hydrated ? kExitOk : kExitFailed;
      };
    });
  }
}

}  // namespace rpfs::cli
