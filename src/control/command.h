// The commands of a VM (SPEC §4): what the mount's `<vm>/.control` file accepts, one per
// write(), and what the CLI's mutating verbs build. The control-file language is
//
//   create <rp> [memory] [quiesce] [force] [description="..."]
//   rollback <rp> [keep-current] [stop [timeout=S] [force]] [start]
//   clone <rp> <clone> [define]
//   delete <rp>
//   rename <rp> <new-name>
//   delete-clone <clone>
//   protect <rp> | unprotect <rp>
//
// Tokens are separated by spaces or tabs; one trailing newline is allowed. A value with
// spaces is written key="quoted value", with \" and \\ as the only escapes. Every malformed
// command is InvalidArgument (EINVAL) naming what is wrong; nothing else is accepted. The
// one parser for the mount and the CLI (docs/control-file.md).
//
// The CLI also builds commands the control file does not accept (docs/control-file.md,
// "Commands only the CLI gives"): delete of several RPs or of all of them, prune, hydrate.
// Each verb is declared once, in control/verbs.cc.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rpfs/repository.h"
#include "rpfs/status.h"

namespace rpfs::control {

inline constexpr size_t kMaxCommandBytes = 4096;

enum class Verb {
  kCreate,
  kRollback,
  kClone,
  kDelete,
  kRename,
  kDeleteClone,
  kProtect,
  kUnprotect,
  kPrune,    // CLI only
  kHydrate,  // CLI only
  kDrill,    // CLI only
};

// One command on one VM. Fields a verb does not use stay at their defaults. Commands from
// ParseCommand have valid names; code that builds one checks the names it takes from users.
struct Command {
  Verb verb = Verb::kCreate;
  std::string rp;  // the RP: every verb but delete-clone, prune and hydrate
  // delete: more RPs after `rp` (CLI only); duplicates are deleted once.
  std::vector<std::string> more_rps;
  bool all = false;  // delete: every RP of the VM (CLI only; `rp` and `more_rps` empty)
  // clone: the clone's name; rename: the new name; delete-clone, hydrate: the clone.
  std::string target;
  bool memory = false;      // create
  bool quiesce = false;     // create
  std::string description;  // create
  // create: read images a qemu that may write holds; rollback: destroy a guest that did
  // not shut down in time
  bool force = false;
  bool keep_current = false;  // rollback
  bool stop = false;          // rollback: shut the domain down first (force: destroy it)
  bool start = false;         // rollback: start the domain afterwards
  std::string timeout;        // rollback with stop, drill: seconds the guest gets ("" = default)
  std::string expect;         // drill: the text the guest's serial console must show
  std::string exec;           // drill: a command the guest agent runs, which must exit 0
  bool define = false;        // clone
  RetentionPolicy policy;     // prune: the rules to apply
  bool dry_run = false;       // prune: only report what would go

  // The command in canonical form (what `.status` shows). For the control-file verbs it
  // parses again to the same command; CLI-only commands are written the CLI's way.
  std::string ToString() const;
  // delete: the RPs named, in order, each once (empty with `all`).
  std::vector<std::string> RpsToDelete() const;
};

// Parses one write to `.control`; only the control-file verbs are accepted.
Result<Command> ParseCommand(std::string_view text);

}  // namespace rpfs::control
