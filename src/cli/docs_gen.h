// Man pages and bash completion made from the CLI definition itself (`rpfs __docs`), so
// they cannot drift from --help: the build runs it and installs what it writes.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/command.h"

namespace rpfs::cli {

// `__docs man DIR`: rpfs-<verb>.1 for every verb and rpfs.8 into DIR.
// `__docs bash [FILE]`: the bash completion script, on ctx.out or into FILE.
// `app` is the fully registered command line of RunCli.
int GenerateDocs(CLI::App& app, const std::vector<std::string>& args, const Context& ctx);

}  // namespace rpfs::cli
