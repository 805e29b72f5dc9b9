#include "guest/jbd2_superblock.h"

#include <cstring>

#include "guest/crc32c.h"
#include "guest/disk_endian.h"

namespace rpfs::guest::jbd2 {
namespace {

constexpr uint32_t kKnownIncompat = kIncompatRevoke | kIncompat64Bit | kIncompatAsyncCommit |
                                    kIncompatCsumV2 | kIncompatCsumV3 | kIncompatFastCommit;

Status Bad(const ByteSource& journal, const std::string& field, uint64_t value,
           const std::string& why) {
  return Status::Corruption(journal.name() + ": journal superblock " + field + " = " +
                            std::to_string(value) + " " + why);
}

}  // namespace

size_t JournalSuperblock::tag_bytes() const {
  if (incompat & kIncompatCsumV3) return 16;
  size_t bytes = 12;
  if (incompat & kIncompatCsumV2) bytes += 2;
  return is_64bit() ? bytes : bytes - 4;
}

Result<JournalSuperblock> ReadJournalSuperblock(const ByteSource& journal) {
  std::string raw(kSuperblockBytes, '\0');
  if (journal.size() < kSuperblockBytes) {
    return Status::Corruption(journal.name() + ": journal too small for its superblock (" +
                              std::to_string(journal.size()) + " bytes)");
  }
  RPFS_RETURN_IF_ERROR(journal.ReadAt(0, std::as_writable_bytes(std::span(raw))));
  if (Be32(raw, 0) != kMagic) return Bad(journal, "h_magic", Be32(raw, 0), "is not jbd2's");
  uint32_t type = Be32(raw, 4);
  if (type != kSuperblockV1 && type != kSuperblockV2) {
    return Bad(journal, "h_blocktype", type, "is not a superblock (3 or 4)");
  }
  JournalSuperblock sb;
  sb.block_size = Be32(raw, 0xC);
  sb.maxlen = Be32(raw, 0x10);
  sb.first = Be32(raw, 0x14);
  sb.sequence = Be32(raw, 0x18);
  sb.start = Be32(raw, 0x1C);
  if (sb.block_size < kSuperblockBytes || sb.block_size > 65536 ||
      (sb.block_size & (sb.block_size - 1)) != 0) {
    return Bad(journal, "s_blocksize", sb.block_size, "is not a power of two in [1024, 65536]");
  }
  if (uint64_t{sb.maxlen} * sb.block_size > journal.size()) {
    return Bad(journal, "s_maxlen", sb.maxlen,
               "blocks exceed the journal's " + std::to_string(journal.size()) + " bytes");
  }
  if (sb.first == 0 || sb.first >= sb.maxlen) {
    return Bad(journal, "s_first", sb.first, "is not inside [1, s_maxlen)");
  }
  sb.log_end = sb.maxlen;
  if (type == kSuperblockV2) {
    sb.incompat = Be32(raw, 0x28);
    std::memcpy(sb.uuid.data(), raw.data() + 0x30, 16);
    if (sb.incompat & ~kKnownIncompat) {
      return Status::NotSupported(journal.name() + ": journal has unknown incompatible features " +
                                  std::to_string(sb.incompat & ~kKnownIncompat));
    }
    if (sb.csum_v2or3()) {
      uint8_t type_byte = static_cast<uint8_t>(raw[0x50]);
      if (type_byte != kChecksumCrc32c) {
        return Bad(journal, "s_checksum_type", type_byte, "is not crc32c (4)");
      }
      uint32_t stored = Be32(raw, 0xFC);
      StoreBe32(raw, 0xFC, 0);
      if (Crc32c(~0u, raw) != stored) {
        return Bad(journal, "s_checksum", stored, "does not match the superblock");
      }
    }
    // Full commits live in [s_first, maxlen - fast-commit blocks); the fast-commit area
    // after them is not replayed (see ReplayJournal).
    if (sb.incompat & kIncompatFastCommit) {
      uint32_t fc = Be32(raw, 0x54);
      if (fc == 0) fc = kDefaultFastCommitBlocks;
      if (fc >= sb.maxlen - sb.first) {
        return Bad(journal, "s_num_fc_blks", fc, "leaves no room for the log");
      }
      sb.log_end = sb.maxlen - fc;
    }
  }
  if (sb.start != 0 && (sb.start < sb.first || sb.start >= sb.log_end)) {
    return Bad(journal, "s_start", sb.start, "is outside the log area");
  }
  return sb;
}

}  // namespace rpfs::guest::jbd2
