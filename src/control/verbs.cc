#include "control/verbs.h"

#include <map>
#include <set>

#include "util/clock.h"

namespace rpfs::control {
namespace {

std::string Bytes(uint64_t n) { return std::to_string(n) + " bytes"; }

// The outcome of a verb that has nothing to tell but its summary.
Outcome SummaryOnly(std::string summary) {
  Outcome out;
  out.summary = std::move(summary);
  return out;
}

// The disks of the new RP `rp` that are smaller than in the VM's previous RP: a shrunk
// disk usually means lost data (a resize gone wrong), and a rollback to the older RP will
// need the image grown back (docs/restore.md).
std::vector<std::string> ShrunkDisks(const Repository& repo, const RpInfo& rp) {
  std::vector<std::string> out;
  auto rps = repo.ListRps(rp.vm);
  if (!rps.ok()) return out;
  const RpInfo* previous = nullptr;
  for (const auto& r : *rps) {
    if (r.id == rp.id || r.id > rp.id) continue;  // ids grow with creation
    if (previous == nullptr || r.id > previous->id) previous = &r;
  }
  if (previous == nullptr) return out;
  for (const auto& d : rp.disks) {
    for (const auto& before : previous->disks) {
      if (before.name == d.name && d.size < before.size) {
        out.push_back("disk " + d.name + " shrank from " + Bytes(before.size) + " to " +
                      Bytes(d.size) + " since rp " + previous->name);
      }
    }
  }
  return out;
}

Result<Outcome> Create(const ExecEnv& env, const std::string& vm, const Command& cmd,
                       const ProgressFn& progress) {
  CreateOptions opts;
  opts.description = cmd.description;
  opts.memory = cmd.memory;
  opts.quiesce = cmd.quiesce;
  opts.force = cmd.force;
  Outcome out;
  RPFS_ASSIGN_OR_RETURN(out.rp, env.repo->CreateRp(vm, cmd.rp, opts, progress));
  out.summary =
      "created " + vm + "/" + cmd.rp + ": " + Bytes(out.rp->added_bytes) + " added to the store";
  out.warnings = ShrunkDisks(*env.repo, *out.rp);
  for (const auto& w : out.warnings) out.summary += "; warning: " + w;
  return out;
}

// Seconds, 0..86400: a whole number, as `timeout=` and `--timeout` take it.
Result<uint32_t> ParseTimeout(const std::string& verb, const std::string& text) {
  uint32_t v = 0;
  bool ok = !text.empty() && text.size() <= 5;
  for (char c : text) {
    if (c < '0' || c > '9') ok = false;
    if (ok) v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (!ok || v > 86400) {
    return Status::InvalidArgument(verb + ": timeout \"" + text +
                                   "\" is not a number of seconds from 0 to 86400");
  }
  return v;
}

Result<Outcome> Rollback(const ExecEnv& env, const std::string& vm, const Command& cmd,
                         const ProgressFn& progress) {
  RollbackOptions opts;
  opts.keep_current = cmd.keep_current;
  opts.stop = cmd.stop;
  opts.start = cmd.start;
  opts.force = cmd.force;
  opts.on_step = env.step;
  if (!cmd.timeout.empty()) {
    RPFS_ASSIGN_OR_RETURN(opts.stop_timeout_s, ParseTimeout("rollback", cmd.timeout));
  }
  if ((cmd.force || !cmd.timeout.empty()) && !cmd.stop) {
    return Status::InvalidArgument(
        "rollback: force and timeout go with stop (they say how long "
        "the guest gets to shut down and what happens after)");
  }
  Outcome out;
  RPFS_ASSIGN_OR_RETURN(out.rollback, env.repo->Rollback(vm, cmd.rp, opts, progress));
  const RollbackResult& r = *out.rollback;
  out.summary = "rolled back " + vm + " to " + cmd.rp + ": " + std::to_string(r.chunks_written) +
                " chunks differed, " + Bytes(r.bytes_written) + " written";
  if (r.chunks_known > 0) {
    out.summary += " (" + std::to_string(r.chunks_compared) + " chunks read to compare, " +
                   std::to_string(r.chunks_known) + " known from the checkpoint's bitmap)";
  }
  if (!r.undo_rp.empty()) out.summary += "; the previous state is rp " + r.undo_rp;
  for (size_t i = 0; i < r.steps.size(); ++i) {
    out.summary += (i == 0 ? "; domain: " : ", ") + r.steps[i].what;
  }
  return out;
}

// `clone ... define`: the clone, then a domain on its disks as the mount shows them (qemu
// reads them through the mount, which fills them on first read). A domain that cannot be
// defined takes the clone with it.
Result<Outcome> CloneAndDefine(const ExecEnv& env, const std::string& vm, const Command& cmd) {
  RPFS_ASSIGN_OR_RETURN(VmInfo info, env.repo->GetVm(vm));
  if (info.kind != "libvirt") {
    return Status::InvalidArgument("vm " + vm +
                                   " is made of image files: define needs a libvirt domain");
  }
  if (!env.clone_disk_path) {
    return Status::InvalidArgument(
        "define needs the mount: the new domain reads the clone through it, which fills it on "
        "first read (run 'rpfs mount -o allow_other MOUNTPOINT' first)");
  }
  if (!env.allow_other) {
    return Status::InvalidArgument(
        "define needs a mount that other users may open (rpfs mount -o allow_other): qemu "
        "runs as its own user");
  }
  Outcome out;
  RPFS_ASSIGN_OR_RETURN(out.clone, env.repo->CreateClone(vm, cmd.rp, cmd.target));
  std::map<std::string, std::string> paths;
  for (const auto& d : out.clone->disks) {
    paths[d.name] = env.clone_disk_path(vm, cmd.target, d.name);
  }
  auto uuid = env.repo->DefineCloneDomain(vm, cmd.target, cmd.target, paths);
  if (!uuid.ok()) {
    (void)env.repo->DeleteClone(vm, cmd.target);
    return uuid.status();
  }
  out.summary = "cloned " + vm + "/" + cmd.rp + " as " + cmd.target + " and defined domain " +
                cmd.target + " (" + *uuid + ") on it: virsh start " + cmd.target;
  return out;
}

Result<Outcome> Clone(const ExecEnv& env, const std::string& vm, const Command& cmd,
                      const ProgressFn&) {
  RPFS_RETURN_IF_ERROR(CheckNotDrillCloneName(cmd.target));
  if (cmd.define) return CloneAndDefine(env, vm, cmd);
  Outcome out;
  RPFS_ASSIGN_OR_RETURN(out.clone, env.repo->CreateClone(vm, cmd.rp, cmd.target));
  out.summary = "cloned " + vm + "/" + cmd.rp + " as " + cmd.target + ":";
  for (const auto& d : out.clone->disks) out.summary += " " + d.path;
  return out;
}

Result<Outcome> Delete(const ExecEnv& env, const std::string& vm, const Command& cmd,
                       const ProgressFn&) {
  Outcome out;
  RPFS_ASSIGN_OR_RETURN(out.deleted, RpsToDelete(*env.repo, vm, cmd));
  RPFS_ASSIGN_OR_RETURN(out.bytes_freed, env.repo->DeleteRps(vm, out.deleted));
  std::string names;
  for (const auto& rp : out.deleted) names += (names.empty() ? "" : " ") + vm + "/" + rp;
  if (names.empty()) names = "no recovery point of " + vm;
  out.summary = "deleted " + names + ", freed " + Bytes(out.bytes_freed);
  return out;
}

Result<Outcome> Rename(const ExecEnv& env, const std::string& vm, const Command& cmd,
                       const ProgressFn&) {
  RPFS_RETURN_IF_ERROR(env.repo->RenameRp(vm, cmd.rp, cmd.target));
  return SummaryOnly("renamed " + vm + "/" + cmd.rp + " to " + cmd.target);
}

Result<Outcome> DeleteClone(const ExecEnv& env, const std::string& vm, const Command& cmd,
                            const ProgressFn&) {
  RPFS_RETURN_IF_ERROR(env.repo->DeleteClone(vm, cmd.target));
  return SummaryOnly("deleted clone " + vm + "/" + cmd.target);
}

Result<Outcome> Protect(const ExecEnv& env, const std::string& vm, const Command& cmd,
                        const ProgressFn&) {
  const bool on = cmd.verb == Verb::kProtect;
  RPFS_RETURN_IF_ERROR(env.repo->SetProtected(vm, cmd.rp, on));
  return SummaryOnly((on ? "protected " : "unprotected ") + vm + "/" + cmd.rp);
}

Result<Outcome> Prune(const ExecEnv& env, const std::string& vm, const Command& cmd,
                      const ProgressFn&) {
  Outcome out;
  RPFS_ASSIGN_OR_RETURN(out.prune, env.repo->Prune(vm, cmd.policy, cmd.dry_run));
  out.bytes_freed = out.prune->bytes_freed;
  size_t removed = 0;
  for (const auto& e : out.prune->entries) removed += e.keep ? 0 : 1;
  out.summary = std::string(cmd.dry_run ? "would remove " : "removed ") + std::to_string(removed) +
                " of " + std::to_string(out.prune->entries.size()) + " recovery point(s) of " + vm +
                (cmd.dry_run ? " and free " : ", freed ") + Bytes(out.bytes_freed);
  return out;
}

Result<Outcome> Hydrate(const ExecEnv& env, const std::string& vm, const Command& cmd,
                        const ProgressFn& progress) {
  RPFS_RETURN_IF_ERROR(env.repo->HydrateClone(vm, cmd.target, progress));
  Outcome out;
  RPFS_ASSIGN_OR_RETURN(out.clone, env.repo->GetClone(vm, cmd.target));
  out.summary = "hydrated clone " + vm + "/" + cmd.target +
                (out.clone->hydrated ? "" : " (still needs the store: a disk is not complete)") +
                ":";
  for (const auto& d : out.clone->disks) out.summary += " " + d.path;
  return out;
}

// A restore drill (docs/restore.md). With a mount that qemu may open (allow_other), the
// drill's domain reads the clone through it, filled on first read; else the clone is
// hydrated first.
Result<Outcome> Drill(const ExecEnv& env, const std::string& vm, const Command& cmd,
                      const ProgressFn&) {
  DrillOptions opts;
  if (!cmd.timeout.empty()) {
    RPFS_ASSIGN_OR_RETURN(opts.timeout_s, ParseTimeout("drill", cmd.timeout));
  }
  opts.expect = cmd.expect;
  opts.exec = cmd.exec;
  opts.on_step = env.step;
  if (env.clone_disk_path && env.allow_other) {
    opts.disk_path = [&](const std::string& clone, const std::string& disk) {
      return env.clone_disk_path(vm, clone, disk);
    };
  }
  Outcome out;
  RPFS_ASSIGN_OR_RETURN(out.drill, env.repo->Drill(vm, cmd.rp, opts));
  const DrillResult& d = *out.drill;
  out.summary = "drill of " + vm + "/" + cmd.rp + ": " +
                (d.ok ? "ok, booted in " + FormatSeconds(static_cast<int64_t>(d.boot_us)) + " (" +
                            d.reason + ")"
                      : "failed: " + d.reason);
  return out;
}

std::string DeleteText(const Command& cmd) {
  if (cmd.all) return "delete --all";
  std::string out = "delete";
  for (const auto& rp : cmd.RpsToDelete()) out += " " + rp;
  return out;
}

std::string PruneText(const Command& cmd) {
  return std::string(cmd.dry_run ? "prune --dry-run " : "prune ") + cmd.policy.ToString();
}

constexpr auto kRp = std::pair{"rp name", &Command::rp};

}  // namespace

const std::vector<VerbDef>& Verbs() {
  static const std::vector<VerbDef> verbs = {
      {Verb::kCreate,
       "create",
       true,
       {kRp},
       {{"memory", &Command::memory}, {"quiesce", &Command::quiesce}, {"force", &Command::force}},
       {{"description", &Command::description}},
       true,
       Create},
      {Verb::kRollback,
       "rollback",
       true,
       {kRp},
       {{"keep-current", &Command::keep_current},
        {"stop", &Command::stop},
        {"start", &Command::start},
        {"force", &Command::force}},
       {{"timeout", &Command::timeout}},
       true,
       Rollback},
      {Verb::kClone,
       "clone",
       true,
       {kRp, {"clone name", &Command::target}},
       {{"define", &Command::define}},
       {},
       true,
       Clone},
      {Verb::kDelete, "delete", true, {kRp}, {}, {}, true, Delete, DeleteText},
      {Verb::kRename,
       "rename",
       true,
       {kRp, {"new rp name", &Command::target}},
       {},
       {},
       true,
       Rename},
      {Verb::kDeleteClone,
       "delete-clone",
       true,
       {{"clone name", &Command::target}},
       {},
       {},
       true,
       DeleteClone},
      {Verb::kProtect, "protect", true, {kRp}, {}, {}, true, Protect},
      {Verb::kUnprotect, "unprotect", true, {kRp}, {}, {}, true, Protect},
      {Verb::kPrune, "prune", false, {}, {}, {}, true, Prune, PruneText},
      {Verb::kHydrate,
       "hydrate",
       false,
       {{"clone name", &Command::target}},
       {},
       {},
       false,
       Hydrate},
      {Verb::kDrill,
       "drill",
       false,
       {kRp},
       {},
       {{"timeout", &Command::timeout}, {"expect", &Command::expect}, {"exec", &Command::exec}},
       false,
       Drill},
  };
  return verbs;
}

const VerbDef* DefOf(Verb verb) {
  for (const auto& d : Verbs()) {
    if (d.verb == verb) return &d;
  }
  return nullptr;
}

const VerbDef* FindVerb(std::string_view name) {
  for (const auto& d : Verbs()) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

Result<std::vector<std::string>> RpsToDelete(const Repository& repo, const std::string& vm,
                                             const Command& cmd) {
  if (!cmd.all) return cmd.RpsToDelete();
  RPFS_ASSIGN_OR_RETURN(std::vector<RpInfo> rps, repo.ListRps(vm));
  std::vector<std::string> names;
  for (const auto& rp : rps) names.push_back(rp.name);
  return names;
}

}  // namespace rpfs::control
