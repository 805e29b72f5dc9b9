// The table of `rpfs` verbs (registry.cc).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <vector>

#include "cli/command.h"

namespace rpfs::cli {

// Adds every verb to `app` as a subcommand (`vm add` under `vm`), owned by `verbs`; the one
// the command line names is stored in `*chosen` when it parses.
void RegisterVerbs(CLI::App& app, Context& ctx, std::vector<std::unique_ptr<CliVerb>>* verbs,
                   CliVerb** chosen);

}  // namespace rpfs::cli
