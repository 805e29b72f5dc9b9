// Operations: the one executor of the commands of a VM (command.h, verbs.h). Runs them on a
// Repository, one at a time per VM, and keeps the recent history that `<vm>/.status` shows.
// Every entry point goes through Run: the mount's `.control` files, mkdir/rmdir/rename in
// a VM directory, and the CLI's mutating verbs (in the daemon while a mount serves the
// store, so they share its "busy" state and history; else on an Operations of their own).
// The command text and the result are therefore the same whichever entry point ran it.
//
// `.status` has one line per operation, oldest first, at most kHistory per VM:
//   time=2026-11-22T07:00:00Z id=3 pid=4242 state=running progress=1048576/4194304
//     percent=25 command="rollback rp1" result="" steps=""      (all on one line)
// pid is the process that asked (the writer of `.control`, the CLI client; 0 when unknown),
// so that concurrent scripts each find their own line; state is running, done or failed;
// command is Command::ToString(); result is the verb's summary when done and the full
// error message when failed; steps lists the steps of a long command so far, each with the
// time it began ("<time> <what>; ..."). Values in quotes escape " and \ with a backslash.
// Thread-safe: one mutex (mu_) guards the history, the busy set and the mount; commands
// run without it held.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "control/command.h"
#include "control/verbs.h"
#include "rpfs/repository.h"

namespace rpfs::control {

class Operations {
 public:
  static constexpr size_t kHistory = 32;

  explicit Operations(Repository* repo) : repo_(repo) {}

  // The mount these operations serve (the daemon). `clone ... define` gives the new domain
  // the clone's disks at the paths `clone_disk_path` returns, and needs `allow_other`
  // (qemu runs as its own user). Without a mount, define is refused.
  void SetMount(CloneDiskPathFn clone_disk_path, bool allow_other);

  // Runs `cmd` on `vm` and returns what it did (its summary and structured result). Busy
  // (EBUSY) while another command runs on the same VM, unless the verb does not take the
  // VM's busy slot (verbs.h); the command's own errors otherwise. `progress`, if set, is
  // told too (the CLI's progress bar).
  // `pid` is the process that asked, shown in `.status`. With `wait_s`, a command that
  // finds the VM busy waits up to that long for the VM's slot instead (`--wait`), shown
  // as `state=waiting`, and only then is Busy. `caller_gone` (optional, cheap: called
  // every 250 ms while waiting) says the caller went away: the command is then Aborted
  // and never runs.
  Result<Outcome> Run(const std::string& vm, const Command& cmd,
                      const ProgressFn& progress = nullptr, uint32_t pid = 0, uint32_t wait_s = 0,
                      const std::function<bool()>& caller_gone = nullptr);

  // Records a command that was refused before it could run (it did not parse): `text` is
  // shown shortened and with unprintable bytes escaped.
  void RecordRejected(const std::string& vm, std::string_view text, const Status& why,
                      uint32_t pid = 0);
  // The `.status` text of `vm` (empty when nothing ran since the daemon started).
  std::string StatusText(const std::string& vm) const;

 private:
  struct Entry {
    uint64_t id = 0;
    uint32_t pid = 0;
    int64_t started_us = 0;
    std::string command;
    std::string state = "running";
    uint64_t done = 0;
    uint64_t total = 0;
    std::string result;
    std::string steps;  // "<time> <what>; ..."
  };
  Entry* Find(const std::string& vm, uint64_t id);
  // Waits (mu_ held by `lock`) until `vm`'s slot is free or `wait_s` passed: true; false
  // when `caller_gone` said so first.
  bool WaitForSlot(std::unique_lock<std::mutex>& lock, const std::string& vm, uint32_t wait_s,
                   const std::function<bool()>& caller_gone);
  // Appends a new entry for `vm` (mu_ held) and returns its id.
  uint64_t AddEntry(const std::string& vm, uint32_t pid, std::string what, std::string state,
                    std::string result);

  Repository* repo_;
  mutable std::mutex mu_;
  CloneDiskPathFn clone_disk_path_;     // guarded by mu_
  bool allow_other_ = false;            // guarded by mu_
  std::set<std::string> busy_;          // guarded by mu_: VMs running an exclusive command
  std::condition_variable slot_freed_;  // a VM left busy_ (waited on with mu_)
  std::map<std::string, std::deque<Entry>> history_;  // guarded by mu_
  uint64_t next_id_ = 1;                              // guarded by mu_
};

}  // namespace rpfs::control
