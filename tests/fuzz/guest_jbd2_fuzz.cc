// ReplayJournal on arbitrary bytes: must return a Status, never crash or read out of range.
#include <cstddef>
#include <cstdint>
#include <string>

#include "guest/jbd2.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto src = rpfs::guest::MemorySource(std::string(reinterpret_cast<const char*>(data), size), "j");
  (void)rpfs::guest::ReplayJournal(*src, 1024, 1 << 20);
  return 0;
}
