// rpfs: the command-line entry point. Runs one subcommand and maps its result to an exit
// code (cli/exit_codes.h; 70 for an internal error).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "cli/command.h"
#include "guest/helper_process.h"
#include "guestfs/helper_main.h"

int main(int argc, char** argv) {
  // The sandboxed guest-filesystem helper the daemon starts (guest/helper_client.h): checked
  // before CLI11 so it is no verb and not in --help. _Exit: nothing may run after the
  // sandbox but the serve loop.
  if (argc == 2 && std::strcmp(argv[1], "__guest-helper") == 0) {
    std::_Exit(rpfs::guestfs::GuestHelperMain(rpfs::guest::kHelperSocketFd));
  }
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
