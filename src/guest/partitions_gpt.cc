// GPT partition tables, 512- or 4096-byte sectors. Trusted: nothing. Checked for a header:
// the "EFI PART" signature, header_size (92..sector size), the header CRC-32 (computed with
// its CRC field zeroed), my_lba (1 for the primary, the last LBA for the backup), the entry
// size (a power of two, 128..4096), the entry array's size (at most 4 MiB) and place (inside
// the disk) and its CRC-32. A damaged primary (any of these) falls back to the backup at the
// last LBA: the table is then kind "gpt (backup header)" so `.volumes` says which copy was
// read. For each used entry (non-zero type GUID): last >= first and the partition inside the
// disk, else an error on that partition. Hybrid MBR entries are ignored: the GPT wins.
#include <cinttypes>
#include <cstdio>

#include "guest/crc32.h"
#include "guest/disk_bytes.h"
#include "guest/partitions.h"

namespace rpfs::guest {
namespace {

constexpr uint64_t kMaxEntryArray = 4 << 20;

struct Header {
  bool found = false;  // the signature is there (else: no GPT at this place)
  std::string error;   // found but damaged
  uint64_t entries_lba = 0;
  uint32_t num_entries = 0;
  uint32_t entry_size = 0;
  uint32_t entries_crc = 0;
};

std::string Where(const char* what, uint64_t lba) {
  return std::string("GPT ") + what + " header at LBA " + std::to_string(lba);
}

// The header at `lba` of a disk with `ss`-byte sectors, checked up to its entry array.
Result<Header> ReadHeader(const ByteSource& disk, uint64_t ss, uint64_t lba, const char* what) {
  Header h;
  RPFS_ASSIGN_OR_RETURN(std::optional<std::string> raw, ReadIfInside(disk, lba * ss, ss));
  if (!raw || raw->compare(0, 8, "EFI PART") != 0) return h;
  h.found = true;
  std::string& b = *raw;
  uint32_t header_size = Le32(b, 12);
  if (header_size < 92 || header_size > ss) {
    h.error = Where(what, lba) + ": header size " + std::to_string(header_size) + " is invalid";
    return h;
  }
  uint32_t crc = Le32(b, 16);
  b.replace(16, 4, 4, '\0');
  if (Crc32(std::string_view(b).substr(0, header_size)) != crc) {
    h.error = Where(what, lba) + ": header CRC mismatch";
    return h;
  }
  if (Le64(b, 24) != lba) {
    h.error = Where(what, lba) + ": it says it is at LBA " + std::to_string(Le64(b, 24));
    return h;
  }
  h.entries_lba = Le64(b, 72);
  h.num_entries = Le32(b, 80);
  h.entry_size = Le32(b, 84);
  h.entries_crc = Le32(b, 88);
  uint32_t es = h.entry_size;
  if (es < 128 || es > 4096 || (es & (es - 1)) != 0) {
    h.error = Where(what, lba) + ": entry size " + std::to_string(es) + " is invalid";
    return h;
  }
  uint64_t bytes = uint64_t{h.num_entries} * es;
  auto start = MulU64(h.entries_lba, ss);
  if (bytes > kMaxEntryArray) {
    h.error =
        Where(what, lba) + ": entry array of " + std::to_string(bytes) + " bytes is too large";
  } else if (!start || *start > disk.size() || bytes > disk.size() - *start) {
    h.error = Where(what, lba) + ": entry array at LBA " + std::to_string(h.entries_lba) +
              " lies past the end of the disk";
  }
  return h;
}

// The entries of a checked header: the array's CRC, then each used entry.
Result<std::optional<std::string>> ReadEntries(const ByteSource& disk, uint64_t ss, const Header& h,
                                               std::vector<Partition>* out) {
  using Err = std::optional<std::string>;
  RPFS_ASSIGN_OR_RETURN(std::string array,
                        ReadBytes(disk, h.entries_lba * ss, size_t{h.num_entries} * h.entry_size));
  if (Crc32(array) != h.entries_crc)
    return Err("GPT entry array at LBA " + std::to_string(h.entries_lba) + ": CRC mismatch");
  uint64_t disk_lbas = disk.size() / ss;
  for (uint32_t i = 0; i < h.num_entries; ++i) {
    std::string_view e = std::string_view(array).substr(size_t{i} * h.entry_size, h.entry_size);
    std::string_view type = e.substr(0, 16);
    if (type.find_first_not_of('\0') == std::string_view::npos) continue;
    uint64_t first = Le64(e, 32), last = Le64(e, 40);
    Partition p{i + 1, 0, 0, GuidText(type), Utf16LeToUtf8(e.substr(56, 72)), ""};
    char buf[200];
    if (last < first) {
      std::snprintf(buf, sizeof buf,
                    "partition %u ends (LBA %" PRIu64 ") before it starts (%" PRIu64 ")", p.index,
                    last, first);
      p.error = buf;
    } else if (last >= disk_lbas) {
      std::snprintf(buf, sizeof buf,
                    "partition %u (LBA %" PRIu64 "-%" PRIu64
                    ") extends past the end of the disk (%" PRIu64 " sectors of %" PRIu64 " bytes)",
                    p.index, first, last, disk_lbas, ss);
      p.error = buf;
    } else {  // last < disk_lbas: no overflow
      p.start = first * ss;
      p.size = (last - first + 1) * ss;
    }
    out->push_back(std::move(p));
  }
  return Err();
}

}  // namespace

Result<std::optional<PartitionTable>> ReadGpt(const ByteSource& disk, bool expect_gpt) {
  using Out = std::optional<PartitionTable>;
  std::string primary_error;
  bool found = false;
  std::vector<uint64_t> sizes;  // the sector sizes whose primary header is there
  for (uint64_t ss : {uint64_t{512}, uint64_t{4096}}) {
    RPFS_ASSIGN_OR_RETURN(Header h, ReadHeader(disk, ss, 1, "primary"));
    if (!h.found) continue;
    found = true;
    sizes.push_back(ss);
    if (h.error.empty()) {
      PartitionTable t{"gpt", {}, ""};
      RPFS_ASSIGN_OR_RETURN(std::optional<std::string> err,
                            ReadEntries(disk, ss, h, &t.partitions));
      if (!err) return Out(std::move(t));
      h.error = *err;
    }
    if (primary_error.empty()) primary_error = h.error;
  }
  if (sizes.empty()) sizes = {512, 4096};
  std::string backup_error;
  for (uint64_t ss : sizes) {
    uint64_t last = disk.size() / ss;
    if (last < 3) continue;  // a backup needs its own LBA after the primary's
    --last;
    RPFS_ASSIGN_OR_RETURN(Header h, ReadHeader(disk, ss, last, "backup"));
    if (!h.found) continue;
    found = true;
    if (h.error.empty()) {
      PartitionTable t{"gpt (backup header)", {}, ""};
      RPFS_ASSIGN_OR_RETURN(std::optional<std::string> err,
                            ReadEntries(disk, ss, h, &t.partitions));
      if (!err) return Out(std::move(t));
      h.error = *err;
    }
    if (backup_error.empty()) backup_error = h.error;
  }
  if (!found && !expect_gpt) return Out();
  std::string error = primary_error.empty() ? "no GPT header at LBA 1" : primary_error;
  error += backup_error.empty() ? "; no backup header at the last LBA" : "; " + backup_error;
  return Out(PartitionTable{"gpt", {}, error});
}

}  // namespace rpfs::guest
