// rpfs: the command-line entry point. Runs one subcommand and maps its result to an exit
// code (0 ok, 1 failed, 2 usage, 70 internal error).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/command.h"

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    return rpfs::cli::RunCli(args, rpfs::cli::Context{}, /*forward=*/true);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rpfs: internal error: %s\n", e.what());
    return rpfs::cli::kExitInternal;
  } catch (...) {
    std::fprintf(stderr, "rpfs: internal error: unknown exception\n");
    return rpfs::cli::kExitInternal;
  }
}
