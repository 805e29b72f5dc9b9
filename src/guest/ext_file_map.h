// Where an ext2/3/4 file's blocks are on its volume, from the inode's 60-byte i_block: an
// extent tree or the classic direct/indirect block map. Used to find the journal inode's
// blocks before any other ext code runs (the journal must be replayed before the
// filesystem libraries see the volume).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "guest/byte_source.h"
#include "rpfs/status.h"

namespace rpfs::guest {

// Segments (for Mapped) covering the file's first `file_blocks` blocks of `block_size`
// bytes, in logical order; holes and uninitialized extents read as zeros. Every block
// number, tree depth, entry count and node is checked: a pointer outside `volume`, a
// loop, overlapping extents or a tree deeper than 5 is Corruption naming `what`.
Result<std::vector<Segment>> MapExtFileBlocks(const ByteSource& volume, uint32_t block_size,
                                              std::string_view i_block, bool extents,
                                              uint64_t file_blocks, const std::string& what);

}  // namespace rpfs::guest
