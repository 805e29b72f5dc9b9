// rpfs create | list | info | rename | delete | export
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/progress.h"
#include "util/clock.h"

namespace rpfs::cli {
namespace {

nlohmann::json RpJson(const RpInfo& rp) {
  nlohmann::json disks = nlohmann::json::array();
  for (const auto& d : rp.disks) disks.push_back({{"name", d.name}, {"size", d.size}});
  return {{"vm", rp.vm},
          {"name", rp.name},
          {"created", FormatIsoUtc(rp.created_us)},
          {"created_us", rp.created_us},
          {"description", rp.description},
          {"parent", rp.parent},
          {"disks", disks},
          {"memory", rp.with_memory},
          {"memory_bytes", rp.memory_bytes},
          {"domain_xml", rp.has_domain_xml},
          {"quiesced", rp.quiesced},
          {"logical_bytes", rp.logical_bytes},
          {"data_bytes", rp.data_bytes},
          {"stored_bytes", rp.stored_bytes},
          {"added_bytes", rp.added_bytes}};
}

void PrintRpTable(const Context& ctx, const std::vector<RpInfo>& rps, const std::string& current,
                  bool tree) {
  std::fprintf(ctx.out, "  %-28s %-20s %-20s %10s %10s %10s  %s\n", "RP", "CREATED", "PARENT",
               "LOGICAL", "STORED", "ADDED", "DESCRIPTION");
  auto row = [&](const RpInfo& rp, const std::string& label) {
    std::fprintf(ctx.out, "%s %-28s %-20s %-20s %10s %10s %10s  %s\n",
                 rp.name == current ? "*" : " ", label.c_str(), FormatIsoUtc(rp.created_us).c_str(),
                 rp.parent.empty() ? "-" : rp.parent.c_str(), HumanBytes(rp.logical_bytes).c_str(),
                 HumanBytes(rp.stored_bytes).c_str(), HumanBytes(rp.added_bytes).c_str(),
                 rp.description.c_str());
  };
  if (!tree) {
    for (const auto& rp : rps) row(rp, rp.name);
    return;
  }
  std::multimap<std::string, const RpInfo*> children;  // parent name -> child, creation order
  for (const auto& rp : rps) children.emplace(rp.parent, &rp);
  std::function<void(const std::string&, const std::string&)> walk =
      [&](const std::string& parent, const std::string& indent) {
        auto [begin, end] = children.equal_range(parent);
        for (auto it = begin; it != end; ++it) {
          bool last = std::next(it) == end;
          std::string label = parent.empty() ? it->second->name
                                             : indent + (last ? "`- " : "|- ") + it->second->name;
          row(*it->second, label);
          walk(it->second->name, parent.empty() ? "" : indent + (last ? "   " : "|  "));
        }
      };
  walk("", "");
}

int RunList(const Context& ctx, const std::string& only_vm, bool tree) {
  auto repo = ctx.OpenRepo();
  if (!repo.ok()) return ctx.Fail(repo.status());
  std::vector<VmInfo> vms;
  if (only_vm.empty()) {
    auto all = (*repo)->ListVms();
    if (!all.ok()) return ctx.Fail(all.status());
    vms = std::move(*all);
  } else {
    auto vm = (*repo)->GetVm(only_vm);
    if (!vm.ok()) return ctx.Fail(vm.status());
    vms.push_back(std::move(*vm));
  }
  nlohmann::json j = nlohmann::json::array();
  for (const auto& vm : vms) {
    auto rps = (*repo)->ListRps(vm.name);
    if (!rps.ok()) return ctx.Fail(rps.status());
    if (ctx.json) {
      for (const auto& rp : *rps) {
        auto e = RpJson(rp);
        e["current"] = rp.name == vm.current_rp;
        j.push_back(e);
      }
      continue;
    }
    std::fprintf(ctx.out, "%s (%zu recovery point%s)\n", vm.name.c_str(), rps->size(),
                 rps->size() == 1 ? "" : "s");
    if (!rps->empty()) PrintRpTable(ctx, *rps, vm.current_rp, tree);
  }
  if (ctx.json) ctx.PrintJson(j);
  return kExitOk;
}

int RunInfo(const Context& ctx, const std::string& vm, const std::string& name) {
  auto repo = ctx.OpenRepo();
  if (!repo.ok()) return ctx.Fail(repo.status());
  auto rp = (*repo)->GetRp(vm, name);
  if (!rp.ok()) return ctx.Fail(rp.status());
  auto unique = (*repo)->BytesFreedByDeleting(vm, {name});
  if (!unique.ok()) return ctx.Fail(unique.status());
  if (ctx.json) {
    auto j = RpJson(*rp);
    j["unique_bytes"] = *unique;
    ctx.PrintJson(j);
    return kExitOk;
  }
  std::fputs(FormatRpInfo(*rp, *unique).c_str(), ctx.out);
  return kExitOk;
}

int RunExport(const Context& ctx, const std::string& vm, const std::string& rp,
              const std::string& disk, const std::string& out_arg) {
  const std::string out = out_arg == "-" ? out_arg : ctx.Path(out_arg);
  auto repo = ctx.OpenRepo();
  if (!repo.ok()) return ctx.Fail(repo.status());
  if (out.empty() || out == "-") {
    std::fflush(ctx.out);
    const int out_fd = ::fileno(ctx.out);
    if (::isatty(out_fd) == 1) {
      return ctx.Fail(Status::InvalidArgument(
          "refusing to write a disk image to a terminal; use -o FILE or a pipe"));
    }
    ProgressBar bar(ctx.err, "export " + vm + "/" + rp + " " + disk);
    Status s = (*repo)->Export(vm, rp, disk, out_fd, /*sparse=*/false, bar.Callback());
    return s.ok() ? kExitOk : ctx.Fail(s);
  }
  // Regular files are written to a temporary name and renamed at the end, so a failed
  // export leaves nothing behind; devices are written in place.
  struct stat st;
  bool is_device = ::stat(out.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
  std::string target = is_device ? out : out + ".rpfs-partial";
  int fd = ::open(target.c_str(), is_device ? O_WRONLY : (O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC),
                  0644);
  if (fd < 0) return ctx.Fail(Status::FromErrno(errno, "cannot create " + target));
  ProgressBar bar(ctx.err, "export " + vm + "/" + rp + " " + disk);
  Status s = (*repo)->Export(vm, rp, disk, fd, /*sparse=*/!is_device, bar.Callback());
  bar.Finish();
  if (s.ok() && ::fsync(fd) != 0) s = Status::FromErrno(errno, "fsync " + target);
  ::close(fd);
  if (s.ok() && !is_device && ::rename(target.c_str(), out.c_str()) != 0) {
    s = Status::FromErrno(errno, "rename " + target + " to " + out);
  }
  if (!s.ok()) {
    if (!is_device) ::unlink(target.c_str());
    return ctx.Fail(s);
  }
  return kExitOk;
}

}  // namespace

void RegisterRpCommands(CLI::App& app, Context& ctx, Action* action) {
  {
    auto* cmd = app.add_subcommand("create", "Take a recovery point of a VM");
    auto vm = std::make_shared<std::string>();
    auto rp = std::make_shared<std::string>();
    auto desc = std::make_shared<std::string>();
    cmd->add_option("vm", *vm, "VM name")->required();
    cmd->add_option("rp", *rp, "Name of the new recovery point")->required();
    cmd->add_option("--description", *desc, "Free text kept with the RP");
    auto memory = std::make_shared<bool>(false);
    auto quiesce = std::make_shared<bool>(false);
    cmd->add_flag("--memory", *memory, "libvirt: also save the memory state");
    cmd->add_flag("--quiesce", *quiesce,
                  "libvirt: freeze the guest's filesystems at the instant (needs its agent)");
    cmd->add_flag("--json", ctx.json, "Print the new RP as JSON (with bytes read, time paused)");
    cmd->callback([&ctx, action, vm, rp, desc, memory, quiesce] {
      *action = [&ctx, vm, rp, desc, memory, quiesce] {
        int code = 0;
        if (!ctx.CheckName(*rp, "rp name", &code)) return code;
        auto repo = ctx.OpenRepo();
        if (!repo.ok()) return ctx.Fail(repo.status());
        ProgressBar bar(ctx.err, "create " + *vm + "/" + *rp);
        CreateOptions opts;
        opts.description = *desc;
        opts.memory = *memory;
        opts.quiesce = *quiesce;
        Result<RpInfo> info = Status::Aborted("not run");
        auto done = ctx.RunOp(
            **repo, *vm, "create " + *rp,
            [&](const ProgressFn& p) -> Result<std::string> {
              info = (*repo)->CreateRp(*vm, *rp, opts, p);
              if (!info.ok()) return info.status();
              return "created " + *vm + "/" + *rp;
            },
            bar.Callback());
        bar.Finish();
        if (!done.ok()) return ctx.Fail(done.status());
        if (ctx.json) {
          nlohmann::json j = RpJson(*info);
          j["read_bytes"] = info->read_bytes;
          j["paused_us"] = info->paused_us;
          ctx.PrintJson(j);
          return kExitOk;
        }
        std::fprintf(ctx.out, "created %s/%s: %s logical, %s data, %s read, %s added to the store",
                     vm->c_str(), rp->c_str(), HumanBytes(info->logical_bytes).c_str(),
                     HumanBytes(info->data_bytes).c_str(), HumanBytes(info->read_bytes).c_str(),
                     HumanBytes(info->added_bytes).c_str());
        if (info->paused_us > 0) {
          std::fprintf(ctx.out, "; guest paused %.1f ms",
                       static_cast<double>(info->paused_us) / 1e3);
        }
        std::fprintf(ctx.out, "\n");
        return kExitOk;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("list", "List recovery points");
    auto vm = std::make_shared<std::string>();
    auto tree = std::make_shared<bool>(false);
    cmd->add_option("vm", *vm, "Only this VM");
    cmd->add_flag("--tree", *tree, "Show the parent/child hierarchy");
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
    cmd->callback([&ctx, action, vm, tree] {
      *action = [&ctx, vm, tree] { return RunList(ctx, *vm, *tree); };
    });
  }
  {
    auto* cmd = app.add_subcommand("info", "Show one recovery point");
    auto vm = std::make_shared<std::string>();
    auto rp = std::make_shared<std::string>();
    cmd->add_option("vm", *vm, "VM name")->required();
    cmd->add_option("rp", *rp, "Recovery point")->required();
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
    cmd->callback(
        [&ctx, action, vm, rp] { *action = [&ctx, vm, rp] { return RunInfo(ctx, *vm, *rp); }; });
  }
  {
    auto* cmd = app.add_subcommand("rename", "Rename a recovery point");
    auto vm = std::make_shared<std::string>();
    auto from = std::make_shared<std::string>();
    auto to = std::make_shared<std::string>();
    cmd->add_option("vm", *vm, "VM name")->required();
    cmd->add_option("rp", *from, "Recovery point")->required();
    cmd->add_option("new", *to, "New name")->required();
    cmd->callback([&ctx, action, vm, from, to] {
      *action = [&ctx, vm, from, to] {
        int code = 0;
        if (!ctx.CheckName(*to, "rp name", &code)) return code;
        auto repo = ctx.OpenRepo();
        if (!repo.ok()) return ctx.Fail(repo.status());
        auto done = ctx.RunOp(**repo, *vm, "rename " + *from + " " + *to,
                              [&](const ProgressFn&) -> Result<std::string> {
                                RPFS_RETURN_IF_ERROR((*repo)->RenameRp(*vm, *from, *to));
                                return "renamed " + *from + " to " + *to;
                              });
        if (!done.ok()) return ctx.Fail(done.status());
        std::fprintf(ctx.out, "renamed %s/%s to %s\n", vm->c_str(), from->c_str(), to->c_str());
        return kExitOk;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("delete", "Delete recovery points (and free their unique data)");
    auto vm = std::make_shared<std::string>();
    auto rps = std::make_shared<std::vector<std::string>>();
    auto all = std::make_shared<bool>(false);
    auto dry = std::make_shared<bool>(false);
    cmd->add_option("vm", *vm, "VM name")->required();
    cmd->add_option("rp", *rps, "Recovery points to delete");
    cmd->add_flag("--all", *all, "Delete every recovery point of the VM");
    cmd->add_flag("--dry-run", *dry, "Only print what would be freed");
    cmd->callback([&ctx, action, vm, rps, all, dry] {
      *action = [&ctx, vm, rps, all, dry] {
        if (*all == !rps->empty()) {
          return ctx.Fail(Status::InvalidArgument("give either RP names or --all"));
        }
        auto repo = ctx.OpenRepo();
        if (!repo.ok()) return ctx.Fail(repo.status());
        std::vector<std::string> names = *rps;
        if (*all) {
          auto list = (*repo)->ListRps(*vm);
          if (!list.ok()) return ctx.Fail(list.status());
          for (const auto& r : *list) names.push_back(r.name);
        }
        if (*dry) {
          auto freed = (*repo)->BytesFreedByDeleting(*vm, names);
          if (!freed.ok()) return ctx.Fail(freed.status());
          std::fprintf(ctx.out,
                       "would delete %zu recovery point(s) of %s and free %s (%llu bytes)\n",
                       names.size(), vm->c_str(), HumanBytes(*freed).c_str(),
                       static_cast<unsigned long long>(*freed));
          return kExitOk;
        }
        uint64_t freed = 0;
        std::string what = "delete";
        for (const auto& n : names) what += " " + n;
        auto done = ctx.RunOp(**repo, *vm, what, [&](const ProgressFn&) -> Result<std::string> {
          RPFS_ASSIGN_OR_RETURN(freed, (*repo)->DeleteRps(*vm, names));
          return "deleted, freed " + std::to_string(freed) + " bytes";
        });
        if (!done.ok()) return ctx.Fail(done.status());
        std::fprintf(ctx.out, "deleted %zu recovery point(s) of %s, freed %s\n", names.size(),
                     vm->c_str(), HumanBytes(freed).c_str());
        return kExitOk;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("export", "Write a disk of a recovery point as a raw image");
    auto vm = std::make_shared<std::string>();
    auto rp = std::make_shared<std::string>();
    auto disk = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    cmd->add_option("vm", *vm, "VM name")->required();
    cmd->add_option("rp", *rp, "Recovery point")->required();
    cmd->add_option("disk", *disk, "Disk name (e.g. vda)")->required();
    cmd->add_option("-o,--output", *out, "Output file (sparse), device, or - for stdout");
    cmd->callback([&ctx, action, vm, rp, disk, out] {
      *action = [&ctx, vm, rp, disk, out] { return RunExport(ctx, *vm, *rp, *disk, *out); };
    });
  }
}

}  // namespace rpfs::cli
