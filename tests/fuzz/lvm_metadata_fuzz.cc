// The LVM2 text metadata parser over arbitrary text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "guest/lvm_metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed =
      rpfs::guest::ParseLvmMetadata(std::string_view(reinterpret_cast<const char*>(data), size));
  (void)parsed;
  return 0;
}
