// The control-file command language (SPEC §4), one command per write to `<vm>/.control`:
//
//   create <rp> [memory] [quiesce] [description="..."]
//   rollback <rp> [keep-current]
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
#pragma once

#include <string>
#include <string_view>

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
  kUnprotect
};

struct Command {
  Verb verb = Verb::kCreate;
  std::string rp;        // every verb but delete-clone
  std::string target;    // clone: the clone's name; rename: the new name; delete-clone: the clone
  bool memory = false;   // create
  bool quiesce = false;  // create
  std::string description;    // create
  bool keep_current = false;  // rollback
  bool define = false;        // clone

  // The command in canonical form (what `.status` shows), parseable again to the same.
  std::string ToString() const;
};

Result<Command> ParseCommand(std::string_view text);

}  // namespace rpfs::control
