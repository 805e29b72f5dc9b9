// The jbd2 journal superblock and the constants of the on-disk format (kernel
// Documentation/filesystems/ext4/journal.rst). Internal to the replay.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "guest/byte_source.h"
#include "rpfs/status.h"

namespace rpfs::guest::jbd2 {

inline constexpr uint32_t kMagic = 0xC03B3998;
inline constexpr uint32_t kDescriptorBlock = 1;
inline constexpr uint32_t kCommitBlock = 2;
inline constexpr uint32_t kSuperblockV1 = 3;
inline constexpr uint32_t kSuperblockV2 = 4;
inline constexpr uint32_t kRevokeBlock = 5;

inline constexpr uint32_t kIncompatRevoke = 0x1;
inline constexpr uint32_t kIncompat64Bit = 0x2;
inline constexpr uint32_t kIncompatAsyncCommit = 0x4;
inline constexpr uint32_t kIncompatCsumV2 = 0x8;
inline constexpr uint32_t kIncompatCsumV3 = 0x10;
inline constexpr uint32_t kIncompatFastCommit = 0x20;

inline constexpr uint32_t kTagEscape = 0x1;
inline constexpr uint32_t kTagSameUuid = 0x2;
inline constexpr uint32_t kTagLast = 0x8;

inline constexpr uint8_t kChecksumCrc32c = 4;
inline constexpr uint32_t kDefaultFastCommitBlocks = 256;
inline constexpr size_t kSuperblockBytes = 1024;

// What the replay needs from the superblock, every number already checked against the
// journal's size: first <= start < log_end <= maxlen and maxlen blocks fit in the journal.
struct JournalSuperblock {
  uint32_t block_size = 0;
  uint32_t maxlen = 0;
  uint32_t first = 0;
  uint32_t log_end = 0;  // one past the last log block (maxlen minus the fast-commit area)
  uint32_t sequence = 0;
  uint32_t start = 0;  // 0: nothing to replay
  uint32_t incompat = 0;
  std::array<std::byte, 16> uuid{};

  bool csum_v2or3() const { return (incompat & (kIncompatCsumV2 | kIncompatCsumV3)) != 0; }
  bool is_64bit() const { return (incompat & kIncompat64Bit) != 0; }
  // Bytes of one descriptor tag before its optional 16-byte UUID. Without CSUM_V3 the tag
  // is {blocknr, checksum16, flags16[, blocknr_high]}, and CSUM_V2 adds two bytes more (a
  // quirk of the format that CSUM_V3 fixed by giving the tag a fixed 16 bytes).
  size_t tag_bytes() const;
};

// Reads and checks the superblock at the start of `journal`. A damaged or unknown superblock
// is Corruption (or NotSupported for an unknown incompatible feature) naming the field.
Result<JournalSuperblock> ReadJournalSuperblock(const ByteSource& journal);

}  // namespace rpfs::guest::jbd2
