// libFuzzer target for the control-command parser (control/command.h): any input either
// fails cleanly or parses to a command whose canonical text parses back to itself.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control/command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  auto cmd = rpfs::control::ParseCommand(text);
  if (!cmd.ok()) {
    if (!cmd.status().IsInvalidArgument()) std::abort();  // malformed input is EINVAL only
    return 0;
  }
  std::string canonical = cmd->ToString();
  auto again = rpfs::control::ParseCommand(canonical);
  if (!again.ok() || again->ToString() != canonical || again->description != cmd->description) {
    std::abort();
  }
  return 0;
}
