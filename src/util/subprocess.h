// Running a helper program (qemu-img) to completion and taking what it printed.
#pragma once

#include <string>
#include <vector>

#include "rpfs/status.h"

namespace rpfs {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string output;  // stdout and stderr together, at most 4 MiB
};

// Runs argv[0] (looked up in PATH) with stdin from /dev/null and waits for it. An error
// only when it cannot be started; a program that fails is an exit_code != 0.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv);

}  // namespace rpfs
