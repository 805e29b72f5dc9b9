// Extent-map pages: the nodes of the tree that maps a disk's chunk indices to chunks.
//
// A disk of C chunks is a tree of fanout F (StoreConfig::page_fanout). A leaf (level 0)
// lists the chunk digests of F consecutive chunk indices; a page at level L lists the
// digests of F pages of level L-1. A zero digest is a hole (an all-zero chunk, or a child
// whose whole range is holes); trailing zero entries are not written. Pages are
// content-addressed (their id is the SHA-256 of their encoding), so an RP that changed
// little shares almost every page with its parent and writes only the changed path:
// metadata per RP grows with the change, not with the disk.
//
// PERSISTED FORMAT: u8 version (1), u8 level, varint entry count, count x 32-byte digests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rpfs/status.h"
#include "util/hash.h"

namespace rpfs::format {

struct Page {
  uint8_t level = 0;
  std::vector<Digest> entries;  // entries.size() <= fanout; missing trailing entries are holes
};

std::string EncodePage(const Page& p);
Result<Page> DecodePage(std::string_view in, uint32_t fanout);

// Levels of the tree for a disk of `chunks` chunks: the root's level + 1 (0 for an empty disk).
uint32_t TreeHeight(uint64_t chunks, uint32_t fanout);

}  // namespace rpfs::format
