#include "control/operations.h"

#include <chrono>
#include <exception>

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

}  // namespace

Operations::Entry* Operations::Find(const std::string& vm, uint64_t id) {
  for (auto& e : history_[vm]) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

void Operations::SetMount(CloneDiskPathFn clone_disk_path, bool allow_other) {
  std::lock_guard lock(mu_);
  clone_disk_path_ = std::move(clone_disk_path);
  allow_other_ = allow_other;
}

Result<Outcome> Operations::Run(const std::string& vm, const Command& cmd,
                                const ProgressFn& progress, uint32_t pid, uint32_t wait_s,
                                const std::function<bool()>& caller_gone) {
  const VerbDef* def = DefOf(cmd.verb);
  if (def == nullptr) return Status::InvalidArgument("unknown command");
  ExecEnv env;
  env.repo = repo_;
  uint64_t id;
  {
    std::unique_lock lock(mu_);
    // A command that waits for the VM shows in .status as waiting (queued), and its entry
    // then becomes the command's own.
    std::optional<uint64_t> waiting;
    bool abandoned = false;
    if (def->exclusive && wait_s > 0 && busy_.count(vm) != 0) {
      waiting = AddEntry(vm, pid, cmd.ToString(), "waiting", "");
      abandoned = !WaitForSlot(lock, vm, wait_s, caller_gone);
    }
    // The entry of a command that does not run.
    auto refuse = [&](const Status& why) {
      Entry* e = waiting ? Find(vm, *waiting) : nullptr;
      if (e == nullptr) {
        AddEntry(vm, pid, cmd.ToString(), "failed", why.message());
      } else {
        e->state = "failed";
        e->result = why.message();
      }
      return why;
    };
    if (abandoned) {
      return refuse(Status::Aborted("the caller went away (Ctrl-C?) while it waited for vm " + vm +
                                    ": not run"));
    }
    if (def->exclusive && busy_.count(vm) != 0) {
      return refuse(Status::Busy("vm " + vm + " is busy with another operation (see its .status)" +
                                 (wait_s > 0 ? "; waited " + std::to_string(wait_s) + " s" : "")));
    }
    if (def->exclusive) busy_.insert(vm);
    Entry* e = waiting ? Find(vm, *waiting) : nullptr;
    if (e != nullptr) {
      e->state = "running";
      e->started_us = NowMicros();
      id = e->id;
    } else {
      id = AddEntry(vm, pid, cmd.ToString(), "running", "");
    }
    env.clone_disk_path = clone_disk_path_;
    env.allow_other = allow_other_;
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
  env.step = [&](const std::string& what) {
    std::lock_guard lock(mu_);
    if (Entry* e = Find(vm, id)) {
      e->steps += (e->steps.empty() ? "" : "; ") + FormatIsoUtc(NowMicros()) + " " + what;
    }
  };
  Result<Outcome> r = Status::Aborted("not run");
  // Library code does not throw, but allocation or a caller's progress function may: the
  // command then fails and, above all, gives its VM's busy slot back (else every later
  // command on the VM would be EBUSY until the daemon restarts).
  try {
    r = def->execute(env, vm, cmd, track);
  } catch (const std::exception& e) {
    r = Status::IOError("internal error running \"" + cmd.ToString() + "\" on vm " + vm + ": " +
                        e.what());
  } catch (...) {
    r = Status::IOError("internal error running \"" + cmd.ToString() + "\" on vm " + vm);
  }
  std::lock_guard lock(mu_);
  if (def->exclusive) {
    busy_.erase(vm);
    slot_freed_.notify_all();
  }
  if (Entry* e = Find(vm, id)) {
    e->state = r.ok() ? "done" : "failed";
    e->result = r.ok() ? r->summary : r.status().message();
    if (r.ok() && e->total > 0) e->done = e->total;
  }
  return r;
}

bool Operations::WaitForSlot(std::unique_lock<std::mutex>& lock, const std::string& vm,
                             uint32_t wait_s, const std::function<bool()>& caller_gone) {
  // Woken when a slot frees; also every 250 ms when someone can tell whether the caller
  // is still there: a command nobody waits for any more (the CLI was interrupted) must not
  // run later, when the VM frees, as if it had been asked for then.
  constexpr auto kCallerCheck = std::chrono::milliseconds(250);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  while (busy_.count(vm) != 0) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return true;
    if (caller_gone && caller_gone()) return false;
    slot_freed_.wait_until(lock, caller_gone ? std::min(deadline, now + kCallerCheck) : deadline);
  }
  return true;
}

uint64_t Operations::AddEntry(const std::string& vm, uint32_t pid, std::string what,
                              std::string state, std::string result) {
  auto& h = history_[vm];
  Entry e;
  e.id = next_id_++;
  e.pid = pid;
  e.started_us = NowMicros();
  e.command = std::move(what);
  e.state = std::move(state);
  e.result = std::move(result);
  h.push_back(std::move(e));
  while (h.size() > kHistory) h.pop_front();
  return h.back().id;
}

void Operations::RecordRejected(const std::string& vm, std::string_view text, const Status& why,
                                uint32_t pid) {
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
  AddEntry(vm, pid, shown, "failed", why.message());
}

std::string Operations::StatusText(const std::string& vm) const {
  std::lock_guard lock(mu_);
  auto it = history_.find(vm);
  if (it == history_.end()) return "";
  std::string out;
  for (const Entry& e : it->second) {
    const bool ended = e.state == "done" || e.state == "failed";
    uint64_t pct = e.total > 0 ? e.done * 100 / e.total : (ended ? 100 : 0);
    out += "time=" + FormatIsoUtc(e.started_us) + " id=" + std::to_string(e.id) +
           " pid=" + std::to_string(e.pid) + " state=" + e.state +
           " progress=" + std::to_string(e.done) + "/" + std::to_string(e.total) +
           " percent=" + std::to_string(pct) + " command=" + Quoted(e.command) +
           " result=" + Quoted(e.result) + " steps=" + Quoted(e.steps) + "\n";
  }
  return out;
}

}  // namespace rpfs::control
