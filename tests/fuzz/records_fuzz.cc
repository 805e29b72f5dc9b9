// libFuzzer target for every decoder of persisted data (format/): records, extent-map
// pages and chunk bodies. Any input either fails cleanly (Corruption, never a crash or an
// out-of-bounds read) or decodes to a value whose encoding decodes to the same encoding.
// The first input byte picks the decoder.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "format/chunk_codec.h"
#include "format/page.h"
#include "format/records.h"

namespace {

template <typename Decode, typename Encode>
void RoundTrip(std::string_view in, Decode decode, Encode encode) {
  auto v = decode(in);
  if (!v.ok()) {
    if (!v.status().IsCorruption() && v.status().code() != rpfs::Status::Code::kNotSupported &&
        !v.status().IsInvalidArgument()) {  // a newer version: NotSupported
      std::abort();
    }
    return;
  }
  std::string once = encode(*v);
  auto again = decode(once);
  if (!again.ok() || encode(*again) != once) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  namespace f = rpfs::format;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);  // NOLINT
  switch (data[0] % 9) {
    case 0:
      RoundTrip(in, f::DecodeStoreConfig, f::EncodeStoreConfig);
      break;
    case 1:
      RoundTrip(in, f::DecodeVm, f::EncodeVm);
      break;
    case 2:
      RoundTrip(in, f::DecodeRp, f::EncodeRp);
      break;
    case 3:
      RoundTrip(in, f::DecodePolicy, f::EncodePolicy);
      break;
    case 4:
      RoundTrip(in, f::DecodeClone, f::EncodeClone);
      break;
    case 5:
      RoundTrip(in, f::DecodeObjectMeta, f::EncodeObjectMeta);
      break;
    case 6:
      RoundTrip(in, f::DecodeTx, f::EncodeTx);
      break;
    case 7:
      RoundTrip(
          in, [](std::string_view s) { return f::DecodePage(s, 128); }, f::EncodePage);
      break;
    case 8: {  // chunk bodies: decoding must never hand out bytes that fail the checksum
      auto raw = f::RawLength(in);
      if (!raw.ok() || *raw > (16u << 20)) return 0;
      std::vector<std::byte> out(*raw);
      f::ChunkDecoder decoder;
      rpfs::Status s = decoder.Decode(in, out);
      if (!s.ok() && !s.IsCorruption()) std::abort();
      break;
    }
  }
  return 0;
}
