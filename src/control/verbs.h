// The verb table: every command of a VM declared once, with its control-file grammar, its
// canonical text, whether it holds the VM's busy slot, and the one function that carries it
// out and writes its summary (the `result` `.status` shows). The mount's `.control` files,
// mkdir/rmdir/rename in a VM directory and the CLI all reach these functions through
// Operations::Run (operations.h), so a verb behaves and reports the same from every entry
// point. Adding a verb: its enum value (command.h), one execute function and one row here.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control/command.h"
#include "rpfs/repository.h"

namespace rpfs::control {

// What a command did: the one-line summary `.status` shows, plus what the CLI prints
// from (`rpfs create --json`, `rpfs delete`'s count). Fields a verb does not fill stay
// empty.
struct Outcome {
  std::string summary;
  std::optional<RpInfo> rp;                // create: the new RP
  std::optional<RollbackResult> rollback;  // rollback
  std::optional<CloneInfo> clone;          // clone, hydrate: the clone as it is after
  std::optional<PruneResult> prune;        // prune
  std::optional<DrillResult> drill;        // drill
  std::vector<std::string> warnings;       // create: what looks wrong (a disk that shrank)
  std::vector<std::string> deleted;        // delete: the RPs deleted, each once
  uint64_t bytes_freed = 0;                // delete, prune (dry run: would free)
};

// The path of a clone disk in the mount (what `clone ... define` gives the new domain).
// Given by the mount's owner, which knows the mount's names (fs/names.h); this layer does not.
using CloneDiskPathFn = std::function<std::string(const std::string& vm, const std::string& clone,
                                                  const std::string& disk)>;

// What an execute function may use. `clone_disk_path` is empty without a mount.
struct ExecEnv {
  Repository* repo = nullptr;
  CloneDiskPathFn clone_disk_path;
  bool allow_other = false;  // the mount lets other users (qemu) open its files
  StepFn step;               // the steps of a long command, for `.status`
};

struct VerbDef {
  Verb verb;
  const char* name;
  // The `.control` grammar: positional arguments (what each names, and the field it fills),
  // then bare-word flags and key="value" options in any order. Ignored by the parser when
  // `control_file` is false: such a verb is CLI only and `.control` refuses it.
  bool control_file;
  std::vector<std::pair<const char*, std::string Command::*>> args;
  std::vector<std::pair<const char*, bool Command::*>> flags;
  std::vector<std::pair<const char*, std::string Command::*>> keys;
  // Takes the VM's busy slot (EBUSY while another such command runs on the VM). Hydrate
  // does not: it only fills a clone's local file, as reading the clone does.
  bool exclusive;
  Result<Outcome> (*execute)(const ExecEnv& env, const std::string& vm, const Command& cmd,
                             const ProgressFn& progress);
  // The canonical text when the grammar above cannot write it (CLI-only forms); else null.
  std::string (*text)(const Command& cmd) = nullptr;
};

// Every verb, in the order of the control-file documentation.
const std::vector<VerbDef>& Verbs();
const VerbDef* DefOf(Verb verb);  // null only for a value outside the enum
// The verb called `name` (control-file verbs and CLI-only ones alike); null if none.
const VerbDef* FindVerb(std::string_view name);

// The RPs `cmd` (a delete) removes, each once, in order: all of the VM's with `all`.
Result<std::vector<std::string>> RpsToDelete(const Repository& repo, const std::string& vm,
                                             const Command& cmd);

}  // namespace rpfs::control
