// Replaying an ext3/ext4 journal (jbd2) in memory, never writing anything: an RP of a running
// VM holds an ext4 whose journal has committed transactions not yet written home; replaying
// them shows the files the guest had committed at that instant. Our own reader of the format
// in the kernel's Documentation/filesystems/ext4/journal.rst (e2fsck's is GPL): descriptor,
// commit and revoke blocks, 32/64-bit block tags, checksums v2/v3. Hostile input: fuzzed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "guest/byte_source.h"
#include "guest/guest_fs.h"
#include "rpfs/status.h"

namespace rpfs::guest {

// Filesystem block number -> its content after replay (each exactly the journal block size).
using BlockOverlay = std::map<uint64_t, std::string>;

struct JournalReplay {
  BlockOverlay blocks;
  uint32_t transactions = 0;  // committed transactions replayed
};

// Replays `journal` (the journal inode's bytes in logical order, or an external journal
// device) for a filesystem of `fs_block_size`-byte blocks. A journal with nothing to replay
// gives an empty overlay. A damaged journal superblock is Corruption naming the field; replay
// stops at the first transaction whose commit block is missing or fails its checksum, as the
// kernel does. `fs_blocks` (0: unknown) is the filesystem's size in blocks: tags pointing past
// it are left out. A data block failing its checksum is left out too (the kernel skips it).
// Fast commits (ext4 fast_commit) are not replayed: the result is the state at the last full
// commit.
Result<JournalReplay> ReplayJournal(const ByteSource& journal, uint32_t fs_block_size,
                                    uint64_t fs_blocks = 0);

// `base` with the overlay's blocks (of `block_size` bytes) read in place of its own.
// Reads may span several blocks. With an empty overlay, `base` itself.
SourcePtr WithOverlay(SourcePtr base, BlockOverlay blocks, uint32_t block_size);

struct ExtReplay {
  SourcePtr volume;           // the volume as the kernel would see it after recovery
  uint32_t transactions = 0;  // committed transactions replayed
  bool needed = false;        // false: `volume` is the input itself
  // The filesystem blocks the replay replaced (sorted), of `block_size` bytes: a reader that
  // reads file data from the original volume must not read these from it.
  std::vector<uint64_t> replayed_blocks;
  uint32_t block_size = 0;
};

// `extents` of a file with every kVolume piece that lies on a replayed block turned into
// kInline, so that it is read through the filesystem (over the replayed volume) instead.
std::vector<FileExtent> MarkReplayedExtents(std::vector<FileExtent> extents,
                                            const std::vector<uint64_t>& replayed_blocks,
                                            uint32_t block_size);

// For an ext3/ext4 volume: finds its internal journal (the journal inode, through extents or
// the block map; s_jnl_blocks when the inode cannot be read) and, when the superblock says
// needs_recovery, replays it. The result still says needs_recovery in its superblock: the
// readers never write and never look at that flag. A clean volume (needs_recovery not set, or
// no committed transaction in the log): the volume itself (needed = false). Not ext:
// InvalidArgument. An external journal is NotSupported; a damaged superblock, inode or
// journal is Corruption naming what.
Result<ExtReplay> ReplayExtJournal(SourcePtr ext_volume);

}  // namespace rpfs::guest
