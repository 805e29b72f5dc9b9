// libFuzzer target for the mount daemon's request decoder (cli/daemon_request.h): any bytes
// either fail with InvalidArgument or Corruption, or decode to a request that encodes and
// decodes back to itself.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cli/daemon_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);  // NOLINT
  auto r = rpfs::cli::DecodeRequest(bytes);
  if (!r.ok()) {
    if (!r.status().IsInvalidArgument() && !r.status().IsCorruption()) std::abort();
    if (r.status().message().empty()) std::abort();
    return 0;
  }
  auto again = rpfs::cli::DecodeRequest(rpfs::cli::EncodeRequest(*r));
  if (!again.ok() || again->args != r->args || again->cwd != r->cwd) std::abort();
  return 0;
}
