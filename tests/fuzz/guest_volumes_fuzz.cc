// ScanDisk over arbitrary disk bytes: partition tables, EBR chains, GPT headers, LVM labels
// and metadata, fs magics. Must not crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "guest/volumes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rpfs::guest;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  auto vols = ScanDisk("vda", MemorySource(std::move(bytes), "vda"));
  (void)vols;
  return 0;
}
