// Operations: runs control commands (SPEC §4) on a Repository, one at a time per VM, and
// keeps the recent history that `<vm>/.status` shows. Shared by the mount's `.control`
// files and by the CLI (in the daemon, the CLI's rollback/clone/protect… run here too, so
// both see the same "busy" state and the same history).
//
// `.status` has one line per operation, oldest first, at most kHistory per VM:
//   time=2026-11-22T07:00:00Z id=3 state=running progress=1048576/4194304 percent=25
//     command="rollback rp1" result=""      (all on one line)
// state is running, done or failed; result is a summary when done and the full error
// message when failed. Values in quotes escape " and \ with a backslash.
// Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "control/command.h"
#include "rpfs/repository.h"

namespace rpfs::control {

class Operations {
 public:
  static constexpr size_t kHistory = 32;

  explicit Operations(Repository* repo) : repo_(repo) {}

  // The mount these operations serve (the daemon): `clone ... define` gives the new domain
  // the clone's disks as this mount shows them. Without it (no daemon), define is refused.
  void SetMount(std::string mountpoint, bool allow_other) {
    std::lock_guard lock(mu_);
    mountpoint_ = std::move(mountpoint);
    allow_other_ = allow_other;
  }

  // Runs `cmd` on `vm` and returns a one-line summary of what it did. Busy (EBUSY) while
  // another command runs on the same VM; the command's own errors otherwise. `progress`,
  // if set, is told too (the CLI's progress bar).
  Result<std::string> Run(const std::string& vm, const Command& cmd,
                          const ProgressFn& progress = nullptr);

  // The same for any task on `vm` (the CLI's own verbs, e.g. a delete of several RPs):
  // `what` is the command text `.status` shows; the task returns its summary.
  using Task = std::function<Result<std::string>(const ProgressFn& progress)>;
  Result<std::string> RunTask(const std::string& vm, const std::string& what, const Task& task,
                              const ProgressFn& progress = nullptr);
  // Records a command that was refused before it could run (it did not parse): `text` is
  // shown shortened and with unprintable bytes escaped.
  void RecordRejected(const std::string& vm, std::string_view text, const Status& why);
  // The `.status` text of `vm` (empty when nothing ran since the daemon started).
  std::string StatusText(const std::string& vm) const;

 private:
  struct Entry {
    uint64_t id = 0;
    int64_t started_us = 0;
    std::string command;
    std::string state = "running";
    uint64_t done = 0;
    uint64_t total = 0;
    std::string result;
  };
  Result<std::string> Execute(const std::string& vm, const Command& cmd,
                              const ProgressFn& progress);
  Entry* Find(const std::string& vm, uint64_t id);
  // Appends a new entry for `vm` (mu_ held) and returns its id.
  uint64_t AddEntry(const std::string& vm, std::string what, std::string state, std::string result);

  Result<std::string> CloneAndDefine(const std::string& vm, const Command& cmd);

  Repository* repo_;
  mutable std::mutex mu_;
  std::string mountpoint_;  // guarded by mu_
  bool allow_other_ = false;
  std::set<std::string> busy_;
  std::map<std::string, std::deque<Entry>> history_;
  uint64_t next_id_ = 1;
};

}  // namespace rpfs::control
