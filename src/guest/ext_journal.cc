// ReplayExtJournal: from an ext3/ext4 superblock to its journal inode's blocks, then the
// replay. The ext superblock, group descriptor and inode are guest data: each number is
// checked before it is used as an offset, and an inconsistency is Corruption naming it.
#include <cstring>

#include "guest/disk_endian.h"
#include "guest/ext_file_map.h"
#include "guest/jbd2.h"

namespace rpfs::guest {
namespace {

constexpr uint16_t kExtMagic = 0xEF53;
constexpr uint32_t kCompatHasJournal = 0x4;
constexpr uint32_t kIncompatRecover = 0x4;
constexpr uint32_t kIncompatJournalDev = 0x8;
constexpr uint32_t kIncompatMetaBg = 0x10;
constexpr uint32_t kIncompat64Bit = 0x80;
constexpr uint32_t kInodeExtentsFlag = 0x80000;
constexpr uint8_t kJournalBackupBlocks = 1;
// 4 Mi blocks (16 GiB at 4 KiB): far above mke2fs's largest journal, low enough that a
// hostile i_size cannot make the block map allocate gigabytes.
constexpr uint64_t kMaxJournalBlocks = uint64_t{1} << 22;

struct ExtSuperblock {
  uint32_t block_size = 0;
  uint64_t blocks = 0;
  uint32_t first_data_block = 0;
  uint32_t inodes_count = 0;
  uint32_t inodes_per_group = 0;
  uint32_t inode_size = 128;
  uint32_t desc_size = 32;
  uint32_t compat = 0;
  uint32_t incompat = 0;
  uint32_t first_meta_bg = 0;
  uint32_t journal_inum = 0;
  uint32_t journal_dev = 0;
  std::string jnl_blocks;  // 17 le32: the journal inode's i_block, i_size_high, i_size
  uint8_t jnl_backup_type = 0;
};

Status Bad(const ByteSource& v, const std::string& field, uint64_t value, const std::string& why) {
  return Status::Corruption(v.name() + ": ext superblock " + field + " = " + std::to_string(value) +
                            " " + why);
}

Result<std::string> Read(const ByteSource& v, uint64_t offset, size_t size) {
  std::string out(size, '\0');
  RPFS_RETURN_IF_ERROR(v.ReadAt(offset, std::as_writable_bytes(std::span(out))));
  return out;
}

Result<ExtSuperblock> ReadExtSuperblock(const ByteSource& v) {
  if (v.size() < 2048) return Status::InvalidArgument(v.name() + ": too small for ext");
  RPFS_ASSIGN_OR_RETURN(std::string raw, Read(v, 1024, 1024));
  if (Le16(raw, 0x38) != kExtMagic) {
    return Status::InvalidArgument(v.name() + ": not an ext2/3/4 filesystem (no magic)");
  }
  ExtSuperblock sb;
  uint32_t log_block = Le32(raw, 0x18);
  if (log_block > 6) return Bad(v, "s_log_block_size", log_block, "is above 6 (64 KiB)");
  sb.block_size = 1024u << log_block;
  sb.compat = Le32(raw, 0x5C);
  sb.incompat = Le32(raw, 0x60);
  sb.blocks = Le32(raw, 0x4);
  if (sb.incompat & kIncompat64Bit) sb.blocks |= uint64_t{Le32(raw, 0x150)} << 32;
  sb.first_data_block = Le32(raw, 0x14);
  sb.inodes_count = Le32(raw, 0x0);
  sb.inodes_per_group = Le32(raw, 0x28);
  if (sb.inodes_per_group == 0) return Bad(v, "s_inodes_per_group", 0, "is zero");
  if (Le32(raw, 0x4C) >= 1) {  // dynamic revision: inode size is stored
    sb.inode_size = Le16(raw, 0x58);
    if (sb.inode_size < 128 || sb.inode_size > sb.block_size ||
        (sb.inode_size & (sb.inode_size - 1)) != 0) {
      return Bad(v, "s_inode_size", sb.inode_size, "is not a power of two in [128, block]");
    }
  }
  if (sb.incompat & kIncompat64Bit) {
    sb.desc_size = Le16(raw, 0xFE);
    if (sb.desc_size < 32 || sb.desc_size > sb.block_size ||
        (sb.desc_size & (sb.desc_size - 1)) != 0) {
      return Bad(v, "s_desc_size", sb.desc_size, "is not a power of two in [32, block]");
    }
  }
  sb.first_meta_bg = Le32(raw, 0x104);
  sb.journal_inum = Le32(raw, 0xE0);
  sb.journal_dev = Le32(raw, 0xE4);
  sb.jnl_blocks = raw.substr(0x10C, 17 * 4);
  sb.jnl_backup_type = static_cast<uint8_t>(raw[0xFD]);
  return sb;
}

struct JournalFile {
  std::string i_block;  // 60 bytes
  uint64_t size = 0;
  bool extents = false;
};

// The journal inode through its group descriptor and the inode table.
Result<JournalFile> ReadJournalInode(const ByteSource& v, const ExtSuperblock& sb) {
  uint32_t ino = sb.journal_inum;
  if (ino == 0 || ino > sb.inodes_count) return Bad(v, "s_journal_inum", ino, "is no inode");
  uint64_t group = (ino - 1) / sb.inodes_per_group;
  uint64_t index = (ino - 1) % sb.inodes_per_group;
  uint64_t desc_offset = group * sb.desc_size;
  uint64_t desc_block_index = desc_offset / sb.block_size;
  if ((sb.incompat & kIncompatMetaBg) && desc_block_index >= sb.first_meta_bg) {
    return Status::NotSupported(v.name() + ": journal inode's group descriptor is in a meta_bg");
  }
  uint64_t desc_at =
      (sb.first_data_block + 1 + desc_block_index) * sb.block_size + desc_offset % sb.block_size;
  RPFS_ASSIGN_OR_RETURN(std::string desc, Read(v, desc_at, sb.desc_size));
  uint64_t table = Le32(desc, 0x8);
  if (sb.desc_size >= 64) table |= uint64_t{Le32(desc, 0x28)} << 32;
  if (table == 0 || table >= v.size() / sb.block_size) {
    return Status::Corruption(v.name() + ": group " + std::to_string(group) + " bg_inode_table = " +
                              std::to_string(table) + " is outside the volume");
  }
  RPFS_ASSIGN_OR_RETURN(std::string inode,
                        Read(v, table * sb.block_size + index * sb.inode_size, 128));
  JournalFile file;
  file.i_block = inode.substr(0x28, 60);
  file.size = Le32(inode, 0x4) | (uint64_t{Le32(inode, 0x6C)} << 32);
  file.extents = (Le32(inode, 0x20) & kInodeExtentsFlag) != 0;
  return file;
}

// The copy of the journal inode's block map that mke2fs/tune2fs keep in the superblock.
Result<JournalFile> JournalBackup(const ByteSource& v, const ExtSuperblock& sb) {
  if (sb.jnl_backup_type != kJournalBackupBlocks) {
    return Bad(v, "s_jnl_backup_type", sb.jnl_backup_type, "holds no journal backup");
  }
  JournalFile file;
  file.i_block = sb.jnl_blocks.substr(0, 60);
  file.size = (uint64_t{Le32(sb.jnl_blocks, 60)} << 32) | Le32(sb.jnl_blocks, 64);
  file.extents = Le16(file.i_block, 0) == 0xF30A;
  return file;
}

Result<SourcePtr> JournalSource(SourcePtr volume, const ExtSuperblock& sb,
                                const JournalFile& file) {
  uint64_t blocks = file.size / sb.block_size;
  if (blocks == 0 || blocks > kMaxJournalBlocks) {
    return Status::Corruption(volume->name() + ": journal inode i_size = " +
                              std::to_string(file.size) + " is no journal size");
  }
  std::string what = volume->name() + " journal inode " + std::to_string(sb.journal_inum);
  RPFS_ASSIGN_OR_RETURN(
      std::vector<Segment> segments,
      MapExtFileBlocks(*volume, sb.block_size, file.i_block, file.extents, blocks, what));
  std::string name = volume->name() + "-journal";
  return Mapped(std::move(volume), std::move(segments), std::move(name));
}

}  // namespace

Result<ExtReplay> ReplayExtJournal(SourcePtr ext_volume) {
  RPFS_ASSIGN_OR_RETURN(ExtSuperblock sb, ReadExtSuperblock(*ext_volume));
  ExtReplay result;
  result.volume = ext_volume;
  if (sb.incompat & kIncompatJournalDev) {
    return Status::NotSupported(ext_volume->name() + ": is an external journal device");
  }
  if (!(sb.incompat & kIncompatRecover)) return result;
  if (!(sb.compat & kCompatHasJournal)) {
    return Status::Corruption(ext_volume->name() +
                              ": ext superblock says needs_recovery but has no journal");
  }
  if (sb.journal_inum == 0) {
    return Status::NotSupported(ext_volume->name() + ": journal is on an external device (" +
                                "s_journal_dev = " + std::to_string(sb.journal_dev) + ")");
  }
  // The inode first; its superblock backup when the inode cannot be read or mapped.
  Result<SourcePtr> journal = [&]() -> Result<SourcePtr> {
    RPFS_ASSIGN_OR_RETURN(JournalFile file, ReadJournalInode(*ext_volume, sb));
    return JournalSource(ext_volume, sb, file);
  }();
  if (!journal.ok()) {
    Result<JournalFile> backup = JournalBackup(*ext_volume, sb);
    if (!backup.ok()) return journal.status();
    Result<SourcePtr> from_backup = JournalSource(ext_volume, sb, *backup);
    if (!from_backup.ok()) return journal.status();
    journal = std::move(from_backup);
  }
  RPFS_ASSIGN_OR_RETURN(JournalReplay replay, ReplayJournal(**journal, sb.block_size, sb.blocks));
  if (replay.transactions == 0) return result;
  // The replayed superblock still says needs_recovery: rpfs's readers open the result
  // read-only and never replay again, and leaving the guest's bytes untouched keeps its
  // superblock checksum valid.
  for (const auto& [block, bytes] : replay.blocks) result.replayed_blocks.push_back(block);
  result.block_size = sb.block_size;
  result.volume = WithOverlay(ext_volume, std::move(replay.blocks), sb.block_size);
  result.transactions = replay.transactions;
  result.needed = true;
  return result;
}

}  // namespace rpfs::guest
