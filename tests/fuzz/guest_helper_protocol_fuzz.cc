// libFuzzer target for the guest helper's wire format (guest/helper_protocol.h), which the
// daemon decodes from a possibly compromised helper: any bytes either fail with Corruption
// naming the cause, or decode to a message that encodes and decodes back to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "guest/helper_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);  // NOLINT
  (void)rpfs::guest::DecodeFrameHeader(bytes.substr(0, 4));
  auto m = rpfs::guest::DecodeMessage(bytes);
  if (!m.ok()) {
    if (!m.status().IsCorruption() || m.status().message().empty()) std::abort();
    return 0;
  }
  std::string frame = rpfs::guest::EncodeFrame(*m);
  auto again = rpfs::guest::DecodeMessage(std::string_view(frame).substr(4));
  if (!again.ok() || rpfs::guest::EncodeFrame(*again) != frame) std::abort();
  return 0;
}
