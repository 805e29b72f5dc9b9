#include "format/page.h"

#include "util/coding.h"

namespace rpfs::format {
namespace {
constexpr uint8_t kPageV1 = 1;
}

std::string EncodePage(const Page& p) {
  size_t n = p.entries.size();
  while (n > 0 && p.entries[n - 1].IsZero()) --n;  // trailing holes are implicit
  std::string out;
  out.reserve(3 + n * Digest::kSize);
  Encoder e(&out);
  e.PutU8(kPageV1);
  e.PutU8(p.level);
  e.PutVarint(n);
  for (size_t i = 0; i < n; ++i) e.PutBytes(p.entries[i].View());
  return out;
}

Result<Page> DecodePage(std::string_view in, uint32_t fanout) {
  Decoder d(in, "extent-map page");
  RPFS_ASSIGN_OR_RETURN(uint8_t version, d.GetU8());
  if (version != kPageV1) {
    return Status::NotSupported("extent-map page has version " + std::to_string(version));
  }
  Page p;
  RPFS_ASSIGN_OR_RETURN(p.level, d.GetU8());
  RPFS_ASSIGN_OR_RETURN(uint64_t n, d.GetVarint());
  if (n > fanout || n * Digest::kSize != d.remaining()) {
    return Status::Corruption("extent-map page has a bad entry count");
  }
  p.entries.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    RPFS_ASSIGN_OR_RETURN(std::string_view raw, d.GetBytes(Digest::kSize));
    RPFS_ASSIGN_OR_RETURN(p.entries[i], Digest::FromBytes(raw));
  }
  return p;
}

uint32_t TreeHeight(uint64_t chunks, uint32_t fanout) {
  if (chunks == 0) return 0;
  uint32_t height = 1;
  uint64_t span = fanout;  // chunks covered by one page at the current top level
  while (span < chunks) {
    span = span > UINT64_MAX / fanout ? UINT64_MAX : span * fanout;
    ++height;
  }
  return height;
}

}  // namespace rpfs::format
