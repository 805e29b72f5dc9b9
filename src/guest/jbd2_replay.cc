// ReplayJournal: the log is walked once from s_start (the scan: it stops at the first block
// that is not the next expected one of a committed transaction), remembering each committed
// transaction's tags and revoke records; then the revoke table is built and the tags are
// applied in transaction order (the revoke and replay passes). Nothing read from the
// journal is trusted: every offset is checked against the block, every block number against
// the log area, and the walk never visits more blocks than the log holds.
#include <cstring>
#include <unordered_map>
#include <vector>

#include "guest/crc32c.h"
#include "guest/disk_endian.h"
#include "guest/jbd2.h"
#include "guest/jbd2_superblock.h"

namespace rpfs::guest {
namespace {

using jbd2::JournalSuperblock;

struct Tag {
  uint64_t fs_block = 0;
  uint32_t journal_block = 0;
  uint32_t flags = 0;
  uint32_t checksum = 0;  // 16 bits only with CSUM_V2
};

struct Transaction {
  uint32_t sequence = 0;
  std::vector<Tag> tags;
};

// tid comparisons wrap around, as jbd2's sequence numbers do.
bool SequenceAtLeast(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; }

class Log {
 public:
  Log(const ByteSource& journal, const JournalSuperblock& sb) : journal_(journal), sb_(sb) {
    seed_ = Crc32c(~0u, std::span<const std::byte>(sb.uuid));
  }

  Result<std::string> Block(uint32_t block) const {
    std::string out(sb_.block_size, '\0');
    RPFS_RETURN_IF_ERROR(
        journal_.ReadAt(uint64_t{block} * sb_.block_size, std::as_writable_bytes(std::span(out))));
    return out;
  }
  uint32_t Next(uint32_t block) const { return block + 1 == sb_.log_end ? sb_.first : block + 1; }

  // A metadata block's checksum (descriptor and revoke tails, the commit's h_chksum[0]):
  // crc32c from the UUID seed over the whole block with the field zeroed.
  bool BlockChecksumOk(std::string block, size_t field) const {
    if (!sb_.csum_v2or3()) return true;
    uint32_t stored = Be32(block, field);
    StoreBe32(block, field, 0);
    return Crc32c(seed_, block) == stored;
  }
  // A data block's checksum: crc32c of the sequence number then the block as it is stored in
  // the journal (still escaped).
  bool DataChecksumOk(const Tag& tag, uint32_t sequence, std::string_view data) const {
    if (!sb_.csum_v2or3()) return true;
    std::string seq(4, '\0');
    StoreBe32(seq, 0, sequence);
    uint32_t crc = Crc32c(Crc32c(seed_, seq), data);
    if (sb_.incompat & jbd2::kIncompatCsumV3) return crc == tag.checksum;
    return (crc & 0xFFFF) == tag.checksum;
  }

  // The tags of a descriptor block, in order; their data blocks are not assigned yet.
  std::vector<Tag> Tags(std::string_view block) const {
    std::vector<Tag> tags;
    size_t end = block.size() - (sb_.csum_v2or3() ? 4 : 0);
    size_t size = sb_.tag_bytes();
    bool v3 = (sb_.incompat & jbd2::kIncompatCsumV3) != 0;
    for (size_t off = 12; off + size <= end;) {
      Tag tag;
      tag.fs_block = Be32(block, off);
      if (v3) {
        tag.flags = Be32(block, off + 4);
        if (sb_.is_64bit()) tag.fs_block |= uint64_t{Be32(block, off + 8)} << 32;
        tag.checksum = Be32(block, off + 12);
      } else {
        tag.checksum = Be16(block, off + 4);
        tag.flags = Be16(block, off + 6);
        if (sb_.is_64bit()) tag.fs_block |= uint64_t{Be32(block, off + 8)} << 32;
      }
      tags.push_back(tag);
      off += size + ((tag.flags & jbd2::kTagSameUuid) ? 0 : 16);
      if (tag.flags & jbd2::kTagLast) break;
    }
    return tags;
  }

  // The block numbers a revoke block revokes; empty when r_count is out of range.
  std::vector<uint64_t> Revoked(std::string_view block) const {
    std::vector<uint64_t> out;
    uint32_t count = Be32(block, 0xC);
    size_t limit = block.size() - (sb_.csum_v2or3() ? 4 : 0);
    if (count < 16 || count > limit) return out;
    size_t width = sb_.is_64bit() ? 8 : 4;
    for (size_t off = 16; off + width <= count; off += width) {
      out.push_back(LoadBig(block, off, static_cast<int>(width)));
    }
    return out;
  }

 private:
  const ByteSource& journal_;
  const JournalSuperblock& sb_;
  uint32_t seed_ = 0;
};

struct ScanResult {
  std::vector<Transaction> committed;
  std::unordered_map<uint64_t, uint32_t> revoked;  // fs block -> latest revoking sequence
};

// Walks the log from s_start. A transaction counts only when every descriptor and revoke
// block of it passes its checksum and its commit block is there with the right sequence and
// checksum; the first one that does not ends the log, and what follows is never replayed
// (as the kernel does without journal_async_commit; with it, too: a torn async commit is
// equally not to be trusted by a reader).
Result<ScanResult> Scan(const Log& log, const JournalSuperblock& sb) {
  ScanResult result;
  std::vector<std::pair<uint64_t, uint32_t>> pending_revokes;
  Transaction current{sb.sequence, {}};
  uint32_t block = sb.start;
  uint64_t budget = sb.log_end - sb.first;  // never go round the circle twice
  while (budget > 0) {
    RPFS_ASSIGN_OR_RETURN(std::string raw, log.Block(block));
    --budget;
    if (Be32(raw, 0) != jbd2::kMagic || Be32(raw, 8) != current.sequence) break;
    uint32_t type = Be32(raw, 4);
    if (type == jbd2::kDescriptorBlock) {
      if (!log.BlockChecksumOk(raw, raw.size() - 4)) break;
      std::vector<Tag> tags = log.Tags(raw);
      if (tags.size() > budget) break;  // data blocks beyond the log: torn transaction
      for (Tag& tag : tags) {
        block = log.Next(block);
        tag.journal_block = block;
        current.tags.push_back(tag);
      }
      budget -= tags.size();
    } else if (type == jbd2::kRevokeBlock) {
      if (!log.BlockChecksumOk(raw, raw.size() - 4)) break;
      for (uint64_t revoked : log.Revoked(raw))
        pending_revokes.emplace_back(revoked, current.sequence);
    } else if (type == jbd2::kCommitBlock) {
      if (!log.BlockChecksumOk(raw, 0x10)) break;
      for (auto [fs_block, sequence] : pending_revokes) {
        auto [it, inserted] = result.revoked.emplace(fs_block, sequence);
        if (!inserted && SequenceAtLeast(sequence, it->second)) it->second = sequence;
      }
      pending_revokes.clear();
      uint32_t next_sequence = current.sequence + 1;
      result.committed.push_back(std::move(current));
      current = Transaction{next_sequence, {}};
    } else {
      break;
    }
    block = log.Next(block);
  }
  return result;
}

}  // namespace

Result<JournalReplay> ReplayJournal(const ByteSource& journal, uint32_t fs_block_size,
                                    uint64_t fs_blocks) {
  RPFS_ASSIGN_OR_RETURN(JournalSuperblock sb, jbd2::ReadJournalSuperblock(journal));
  if (sb.block_size != fs_block_size) {
    return Status::Corruption(
        journal.name() + ": journal superblock s_blocksize = " + std::to_string(sb.block_size) +
        " differs from the filesystem's " + std::to_string(fs_block_size));
  }
  JournalReplay replay;
  if (sb.start == 0) return replay;
  Log log(journal, sb);
  RPFS_ASSIGN_OR_RETURN(ScanResult scan, Scan(log, sb));
  for (const Transaction& t : scan.committed) {
    for (const Tag& tag : t.tags) {
      auto revoke = scan.revoked.find(tag.fs_block);
      if (revoke != scan.revoked.end() && SequenceAtLeast(revoke->second, t.sequence)) continue;
      // A block outside the filesystem cannot be written home; the kernel would fail the
      // write. It is left out rather than failing the whole replay.
      if (fs_blocks != 0 && tag.fs_block >= fs_blocks) continue;
      RPFS_ASSIGN_OR_RETURN(std::string data, log.Block(tag.journal_block));
      // A data block failing its checksum is skipped, as the kernel logs and skips it: the
      // block keeps its older content, the rest of the transaction still applies.
      if (!log.DataChecksumOk(tag, t.sequence, data)) continue;
      if (tag.flags & jbd2::kTagEscape) StoreBe32(data, 0, jbd2::kMagic);
      replay.blocks[tag.fs_block] = std::move(data);
    }
  }
  replay.transactions = static_cast<uint32_t>(scan.committed.size());
  return replay;
}

}  // namespace rpfs::guest
