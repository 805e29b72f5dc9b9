#include "guest/lvm_label.h"

#include "guest/crc32.h"
#include "guest/disk_bytes.h"
#include "guest/lvm_metadata.h"

namespace rpfs::guest {
namespace {

constexpr size_t kSector = 512;
constexpr std::string_view kMdaMagic = " LVM2 x[5A%r0N*>";

// The metadata text of the area at `start` (`size` bytes), or an error in `out->error`.
Status ReadMetadataArea(const ByteSource& pv, uint64_t start, uint64_t size, LvmPvLabel* out) {
  std::string where = "LVM2 metadata area at byte " + std::to_string(start);
  RPFS_ASSIGN_OR_RETURN(std::optional<std::string> hdr, ReadIfInside(pv, start, kSector));
  if (!hdr || size < kSector || size > pv.size() - start) {
    out->error = where + " lies past the end of the PV";
    return Status();
  }
  if (LvmCrc(std::string_view(*hdr).substr(4)) != Le32(*hdr, 0) ||
      Field(*hdr, 4, 16) != kMdaMagic || Le32(*hdr, 20) != 1) {
    out->error = where + ": bad header (checksum, magic or version)";
    return Status();
  }
  uint64_t text_at = Le64(*hdr, 40), text_size = Le64(*hdr, 48);
  uint32_t checksum = Le32(*hdr, 56), flags = Le32(*hdr, 60);
  if (text_at == 0 || (flags & 1)) return Status();  // no metadata yet, or an ignored area
  if (text_at < kSector || text_at >= size || text_size > size - kSector ||
      text_size > kMaxLvmMetadata) {
    out->error = where + ": metadata text (" + std::to_string(text_size) + " bytes at " +
                 std::to_string(text_at) + ") does not fit in the area";
    return Status();
  }
  // A circular buffer after the header: the text may wrap to just after the header.
  uint64_t first = std::min(text_size, size - text_at);
  RPFS_ASSIGN_OR_RETURN(std::string text, ReadBytes(pv, start + text_at, first));
  if (first < text_size) {
    RPFS_ASSIGN_OR_RETURN(std::string rest, ReadBytes(pv, start + kSector, text_size - first));
    text += rest;
  }
  if (LvmCrc(text) != checksum) {
    out->error = where + ": metadata checksum mismatch";
    return Status();
  }
  while (!text.empty() && text.back() == '\0') text.pop_back();
  out->metadata = std::move(text);
  return Status();
}

}  // namespace

Result<LvmPvLabel> ReadLvmPvLabel(const ByteSource& pv) {
  LvmPvLabel out;
  std::string head;
  RPFS_ASSIGN_OR_RETURN(head, ReadBytes(pv, 0, std::min<uint64_t>(pv.size(), 4 * kSector)));
  for (size_t sector = 0; sector < 4; ++sector) {
    std::string_view label = Field(head, sector * kSector, kSector);
    if (Field(label, 0, 8) != "LABELONE") continue;
    std::string where = "LVM2 label in sector " + std::to_string(sector);
    if (Le64(label, 8) != sector || LvmCrc(label.substr(20)) != Le32(label, 16) ||
        Field(label, 24, 8) != "LVM2 001") {
      out.error = where + ": bad sector number, checksum or type";
      return out;
    }
    // The PV header: uuid[32], device size, then two lists of {offset, size} ending in
    // {0, 0}: data areas, then metadata areas. All inside the label sector.
    size_t pos = Le32(label, 20);
    if (pos < 32 || pos + 40 > kSector) {
      out.error = where + ": PV header offset " + std::to_string(pos) + " is invalid";
      return out;
    }
    out.id = std::string(label.substr(pos, 32));
    pos += 40;
    for (int list = 0; list < 2; ++list) {
      for (;;) {
        if (pos + 16 > kSector) {
          out.error = where + ": PV header area list runs past the label sector";
          return out;
        }
        uint64_t offset = Le64(label, pos), size = Le64(label, pos + 8);
        pos += 16;
        if (offset == 0) break;
        if (list == 1 && out.metadata.empty()) {
          RPFS_RETURN_IF_ERROR(ReadMetadataArea(pv, offset, size, &out));
        }
      }
    }
    if (!out.metadata.empty()) out.error.clear();  // a second area was good
    return out;
  }
  out.error = "no LVM2 label in sectors 0-3";
  return out;
}

}  // namespace rpfs::guest
