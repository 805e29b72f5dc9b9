// Partition tables (internal to the guest layer): what the MBR and GPT readers hand to
// ScanDisk. A reader never fails on bad guest bytes: what it could not trust becomes an
// error string, either on one partition (it lies past the end of the disk) or on the table
// (a looping EBR chain, a GPT whose headers are both damaged), and everything it could
// trust is still listed. Only I/O failures of the disk are errors of the call.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "guest/byte_source.h"
#include "rpfs/status.h"

namespace rpfs::guest {

struct Partition {
  uint32_t index = 0;  // GPT: slot + 1; MBR: 1-4 primaries, 5.. logicals (as Linux numbers)
  uint64_t start = 0;  // bytes
  uint64_t size = 0;   // bytes
  std::string type;    // "0x83", or the GPT type GUID in lowercase text
  std::string name;    // GPT partition name (UTF-8); "" for MBR
  std::string error;   // non-empty: this partition cannot be read (the reason)
};

struct PartitionTable {
  // "mbr", "gpt", or "gpt (backup header)" when the primary GPT header or its entry array
  // was damaged and the backup at the last LBA was used instead.
  std::string kind;
  std::vector<Partition> partitions;
  std::string error;  // non-empty: the table itself is damaged (partitions listed are kept)
};

// The MBR of `disk` with its EBR chains, when sector 0 has the 0x55AA signature and four
// plausible entries (boot flags 0x00/0x80) of which at least one is used; nullopt otherwise.
// A protective MBR (a 0xEE entry) is returned with no partitions and kind "gpt-protective".
Result<std::optional<PartitionTable>> ReadMbr(const ByteSource& disk);

// The GPT of `disk` (512- or 4096-byte sectors), nullopt when neither a primary header at
// LBA 1 nor a backup at the last LBA carries the "EFI PART" signature. `expect_gpt` (the MBR
// is protective) turns "no header at all" into a table with an error.
Result<std::optional<PartitionTable>> ReadGpt(const ByteSource& disk, bool expect_gpt);

}  // namespace rpfs::guest
