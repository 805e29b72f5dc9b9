#include "control/operations.h"

#include "util/clock.h"

namespace rpfs::control {
namespace {

std::string Quoted(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c == '\n' ? ' ' : c);
  }
  return out + "\"";
}

std::string Bytes(uint64_t n) { return std::to_string(n) + " bytes"; }

}  // namespace

Operations::Entry* Operations::Find(const std::string& vm, uint64_t id) {
  for (auto& e : history_[vm]) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

Result<std::string> Operations::Run(const std::string& vm, const Command& cmd,
                                    const ProgressFn& progress) {
  return RunTask(
      vm, cmd.ToString(), [&](const ProgressFn& p) { return Execute(vm, cmd, p); }, progress);
}

Result<std::string> Operations::RunTask(const std::string& vm, const std::string& what,
                                        const Task& task, const ProgressFn& progress) {
  uint64_t id;
  {
    std::lock_guard lock(mu_);
    if (busy_.count(vm) != 0) {
      Status busy = Status::Busy("vm " + vm + " is busy with another operation (see its .status)");
      AddEntry(vm, what, "failed", busy.message());
      return busy;
    }
    busy_.insert(vm);
    id = AddEntry(vm, what, "running", "");
  }
  ProgressFn track = [&](uint64_t done, uint64_t total) {
    {
      std::lock_guard lock(mu_);
      if (Entry* e = Find(vm, id)) {
        e->done = done;
        e->total = total;
      }
    }
    if (progress) progress(done, total);
  };
  Result<std::string> r = task(track);
  std::lock_guard lock(mu_);
  busy_.erase(vm);
  if (Entry* e = Find(vm, id)) {
    e->state = r.ok() ? "done" : "failed";
    e->result = r.ok() ? *r : r.status().message();
    if (r.ok() && e->total > 0) e->done = e->total;
  }
  return r;
}

uint64_t Operations::AddEntry(const std::string& vm, std::string what, std::string state,
                              std::string result) {
  auto& h = history_[vm];
  Entry e;
  e.id = next_id_++;
  e.started_us = NowMicros();
  e.command = std::move(what);
  e.state = std::move(state);
  e.result = std::move(result);
  h.push_back(std::move(e));
  while (h.size() > kHistory) h.pop_front();
  return h.back().id;
}

void Operations::RecordRejected(const std::string& vm, std::string_view text, const Status& why) {
  std::string shown;
  for (char c : text.substr(0, 80)) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      static const char* kHex = "0123456789abcdef";
      shown += "\\x";
      shown.push_back(kHex[(c >> 4) & 0xf]);
      shown.push_back(kHex[c & 0xf]);
    } else {
      shown.push_back(c);
    }
  }
  if (text.size() > 80) shown += "...";
  std::lock_guard lock(mu_);
  AddEntry(vm, shown, "failed", why.message());
}

// The clone, then a domain on it; a domain that cannot be defined takes the clone with it.
Result<std::string> Operations::CloneAndDefine(const std::string& vm, const Command& cmd) {
  RPFS_ASSIGN_OR_RETURN(VmInfo info, repo_->GetVm(vm));
  if (info.kind != "libvirt") {
    return Status::InvalidArgument("vm " + vm +
                                   " is made of image files: define needs a libvirt domain");
  }
  std::string mountpoint;
  bool allow_other = false;
  {
    std::lock_guard lock(mu_);
    mountpoint = mountpoint_;
    allow_other = allow_other_;
  }
  if (mountpoint.empty()) {
    return Status::InvalidArgument(
        "define needs the mount: the new domain reads the clone through it, which fills it on "
        "first read (run 'rpfs mount -o allow_other MOUNTPOINT' first)");
  }
  if (!allow_other) {
    return Status::InvalidArgument(
        "define needs a mount that other users may open (rpfs mount -o allow_other): qemu "
        "runs as its own user");
  }
  RPFS_ASSIGN_OR_RETURN(CloneInfo c, repo_->CreateClone(vm, cmd.rp, cmd.target));
  std::map<std::string, std::string> paths;
  for (const auto& d : c.disks) {
    paths[d.name] = mountpoint + "/" + vm + "/.clones/" + cmd.target + "/" + d.name + ".raw";
  }
  auto uuid = repo_->DefineCloneDomain(vm, cmd.target, cmd.target, paths);
  if (!uuid.ok()) {
    (void)repo_->DeleteClone(vm, cmd.target);
    return uuid.status();
  }
  return "cloned " + vm + "/" + cmd.rp + " as " + cmd.target + " and defined domain " + cmd.target +
         " (" + *uuid + ") on it: virsh start " + cmd.target;
}

Result<std::string> Operations::Execute(const std::string& vm, const Command& cmd,
                                        const ProgressFn& progress) {
  const std::string where = vm + "/" + cmd.rp;
  switch (cmd.verb) {
    case Verb::kCreate: {
      CreateOptions opts;
      opts.description = cmd.description;
      opts.memory = cmd.memory;
      opts.quiesce = cmd.quiesce;
      RPFS_ASSIGN_OR_RETURN(RpInfo rp, repo_->CreateRp(vm, cmd.rp, opts, progress));
      return "created " + where + ": " + Bytes(rp.added_bytes) + " added to the store";
    }
    case Verb::kRollback: {
      RollbackOptions opts;
      opts.keep_current = cmd.keep_current;
      RPFS_ASSIGN_OR_RETURN(RollbackResult r, repo_->Rollback(vm, cmd.rp, opts, progress));
      std::string out = "rolled back " + vm + " to " + cmd.rp + ": " +
                        std::to_string(r.chunks_written) + " chunks differed, " +
                        Bytes(r.bytes_written) + " written";
      if (!r.undo_rp.empty()) out += "; the previous state is rp " + r.undo_rp;
      return out;
    }
    case Verb::kDelete: {
      RPFS_ASSIGN_OR_RETURN(uint64_t freed, repo_->DeleteRps(vm, {cmd.rp}));
      return "deleted " + where + ", freed " + Bytes(freed);
    }
    case Verb::kRename:
      RPFS_RETURN_IF_ERROR(repo_->RenameRp(vm, cmd.rp, cmd.target));
      return "renamed " + where + " to " + cmd.target;
    case Verb::kProtect:
    case Verb::kUnprotect: {
      bool on = cmd.verb == Verb::kProtect;
      RPFS_RETURN_IF_ERROR(repo_->SetProtected(vm, cmd.rp, on));
      return (on ? "protected " : "unprotected ") + where;
    }
    case Verb::kClone: {
      if (cmd.define) return CloneAndDefine(vm, cmd);
      RPFS_ASSIGN_OR_RETURN(CloneInfo c, repo_->CreateClone(vm, cmd.rp, cmd.target));
      std::string out = "cloned " + where + " as " + cmd.target + ":";
      for (const auto& d : c.disks) out += " " + d.path;
      return out;
    }
    case Verb::kDeleteClone:
      RPFS_RETURN_IF_ERROR(repo_->DeleteClone(vm, cmd.target));
      return "deleted clone " + vm + "/" + cmd.target;
  }
  return Status::InvalidArgument("unknown command");
}

std::string Operations::StatusText(const std::string& vm) const {
  std::lock_guard lock(mu_);
  auto it = history_.find(vm);
  if (it == history_.end()) return "";
  std::string out;
  for (const Entry& e : it->second) {
    uint64_t pct = e.total > 0 ? e.done * 100 / e.total : (e.state == "running" ? 0 : 100);
    out += "time=" + FormatIsoUtc(e.started_us) + " id=" + std::to_string(e.id) +
           " state=" + e.state + " progress=" + std::to_string(e.done) + "/" +
           std::to_string(e.total) + " percent=" + std::to_string(pct) +
           " command=" + Quoted(e.command) + " result=" + Quoted(e.result) + "\n";
  }
  return out;
}

}  // namespace rpfs::control
