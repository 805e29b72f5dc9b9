// What another host wrote into a region (the index summaries, manifests and their chunk
// lists) is input, not trusted state: every decoder over arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "region/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)rpfs::region::DecodeSummary(in);
  auto m = rpfs::region::DecodeManifest(in);
  if (m.ok()) {
    (void)rpfs::region::EncodeManifest(*m);
    for (size_t s = 0; s < m->streams.size(); ++s) (void)m->PartCount(s);
  }
  std::vector<rpfs::region::ChunkEntry> entries;
  (void)rpfs::region::DecodePart(in, 1u << 20, &entries);
  return 0;
}
