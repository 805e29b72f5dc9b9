// MBR partition tables with their EBR chains. Trusted: nothing. Checked: the 0x55AA
// signature and the boot flags (0x00/0x80) before sector 0 counts as a table; every
// partition against the end of the disk (one past it is an error entry naming it); the EBR
// chain against the extended partition's bounds, for strict forward progress (which also
// rules out loops; a link back to a visited EBR is reported as a loop) and a hop limit.
// Sectors are 512 bytes (MBRs on 4096-byte-sector disks are not recognised).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <set>

#include "guest/disk_bytes.h"
#include "guest/partitions.h"

namespace rpfs::guest {
namespace {

constexpr uint64_t kSector = 512;
constexpr int kMaxEbrHops = 256;

struct Entry {
  uint8_t boot = 0;
  uint8_t type = 0;
  uint64_t start = 0;  // sectors, relative to what the table says it is relative to
  uint64_t count = 0;  // sectors
  bool used() const { return type != 0 && count != 0; }
  bool extended() const { return type == 0x05 || type == 0x0F || type == 0x85; }
};

Entry EntryAt(std::string_view sector, int i) {
  std::string_view e = Field(sector, 446 + 16 * static_cast<size_t>(i), 16);
  return Entry{static_cast<uint8_t>(e[0]), static_cast<uint8_t>(e[4]), Le32(e, 8), Le32(e, 12)};
}

bool HasSignature(std::string_view sector) {
  return sector.size() >= 512 && static_cast<uint8_t>(sector[510]) == 0x55 &&
         static_cast<uint8_t>(sector[511]) == 0xAA;
}

std::string TypeText(uint8_t type) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", type);
  return buf;
}

Partition MakePartition(uint32_t index, uint64_t start_sector, uint64_t sectors, uint8_t type,
                        uint64_t disk_sectors) {
  Partition p{index, start_sector * kSector, sectors * kSector, TypeText(type), "", ""};
  if (start_sector + sectors > disk_sectors) {  // both < 2^33: no overflow
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "partition %u (sectors %" PRIu64 "-%" PRIu64
                  ") extends past the end of the disk (%" PRIu64 " sectors)",
                  index, start_sector, start_sector + sectors - 1, disk_sectors);
    p.error = buf;
  }
  return p;
}

// Follows the EBR chain of the extended partition [ext_start, ext_start + ext_count).
Status ReadLogicals(const ByteSource& disk, uint64_t ext_start, uint64_t ext_count,
                    uint32_t* next_index, PartitionTable* table) {
  uint64_t disk_sectors = disk.size() / kSector;
  uint64_t ext_end = std::min(ext_start + ext_count, disk_sectors);
  std::set<uint64_t> visited;
  uint64_t ebr = ext_start;
  for (int hop = 0;; ++hop) {
    if (hop == kMaxEbrHops) {
      table->error = "EBR chain longer than " + std::to_string(kMaxEbrHops) + " links";
      return Status();
    }
    if (ebr >= ext_end) {
      table->error = "EBR at sector " + std::to_string(ebr) + " lies past the end of the disk";
      return Status();
    }
    RPFS_ASSIGN_OR_RETURN(std::string sector, ReadBytes(disk, ebr * kSector, kSector));
    if (!HasSignature(sector)) {
      // An extended partition without logicals may have an empty first EBR.
      if (ebr != ext_start)
        table->error = "EBR at sector " + std::to_string(ebr) + " has no 0x55AA signature";
      return Status();
    }
    visited.insert(ebr);
    const Entry* data = nullptr;
    const Entry* link = nullptr;
    Entry entries[4];
    for (int i = 0; i < 4; ++i) {
      entries[i] = EntryAt(sector, i);
      if (!entries[i].used()) continue;
      if (entries[i].extended()) {
        if (!link) link = &entries[i];
      } else if (!data) {
        data = &entries[i];
      }
    }
    if (data) {
      table->partitions.push_back(
          MakePartition((*next_index)++, ebr + data->start, data->count, data->type, disk_sectors));
    }
    if (!link) return Status();
    uint64_t next = ext_start + link->start;
    if (next <= ebr) {
      table->error =
          (visited.count(next) ? "EBR chain loops at sector " : "EBR chain goes back to sector ") +
          std::to_string(next);
      return Status();
    }
    if (next >= ext_start + ext_count) {
      table->error = "EBR at sector " + std::to_string(ebr) +
                     " links outside the extended partition (sector " + std::to_string(next) + ")";
      return Status();
    }
    ebr = next;
  }
}

}  // namespace

Result<std::optional<PartitionTable>> ReadMbr(const ByteSource& disk) {
  using Out = std::optional<PartitionTable>;
  if (disk.size() < kSector) return Out();
  RPFS_ASSIGN_OR_RETURN(std::string sector, ReadBytes(disk, 0, kSector));
  if (!HasSignature(sector)) return Out();
  bool any = false;
  for (int i = 0; i < 4; ++i) {
    Entry e = EntryAt(sector, i);
    if (e.boot != 0 && e.boot != 0x80) return Out();
    any = any || e.used();
    if (e.used() && e.type == 0xEE) return Out(PartitionTable{"gpt-protective", {}, ""});
  }
  if (!any) return Out();
  PartitionTable table{"mbr", {}, ""};
  uint64_t disk_sectors = disk.size() / kSector;
  uint32_t next_logical = 5;
  for (int i = 0; i < 4; ++i) {
    Entry e = EntryAt(sector, i);
    if (!e.used()) continue;
    if (!e.extended()) {
      table.partitions.push_back(
          MakePartition(static_cast<uint32_t>(i + 1), e.start, e.count, e.type, disk_sectors));
    } else if (table.error.empty()) {
      RPFS_RETURN_IF_ERROR(ReadLogicals(disk, e.start, e.count, &next_logical, &table));
    }
  }
  // Linux lists primaries (1-4) before logicals (5..), whatever the slot of the extended.
  std::stable_sort(table.partitions.begin(), table.partitions.end(),
                   [](const Partition& a, const Partition& b) { return a.index < b.index; });
  return Out(std::move(table));
}

}  // namespace rpfs::guest
