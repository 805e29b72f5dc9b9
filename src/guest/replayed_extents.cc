#include <algorithm>

#include "guest/jbd2.h"

namespace rpfs::guest {

std::vector<FileExtent> MarkReplayedExtents(std::vector<FileExtent> extents,
                                            const std::vector<uint64_t>& replayed_blocks,
                                            uint32_t block_size) {
  if (replayed_blocks.empty() || block_size == 0) return extents;
  std::vector<FileExtent> out;
  out.reserve(extents.size());
  for (const FileExtent& e : extents) {
    if (e.kind != FileExtent::Kind::kVolume) {
      out.push_back(e);
      continue;
    }
    // Walk the extent, cutting it at every replayed block it covers.
    uint64_t pos = 0;  // bytes of `e` already emitted
    auto it = std::lower_bound(replayed_blocks.begin(), replayed_blocks.end(),
                               e.volume_offset / block_size);
    while (pos < e.length) {
      uint64_t vol = e.volume_offset + pos;
      uint64_t next_replayed = it == replayed_blocks.end() ? UINT64_MAX : *it * block_size;
      FileExtent piece = e;
      piece.file_offset = e.file_offset + pos;
      piece.volume_offset = vol;
      if (next_replayed <= vol) {  // inside a replayed block: through the filesystem
        uint64_t end = (*it + 1) * block_size;
        piece.length = std::min(end - vol, e.length - pos);
        piece.kind = FileExtent::Kind::kInline;
        ++it;
      } else {
        piece.length = std::min(next_replayed - vol, e.length - pos);
      }
      if (!out.empty() && out.back().kind == piece.kind &&
          out.back().file_offset + out.back().length == piece.file_offset &&
          (piece.kind == FileExtent::Kind::kInline ||
           out.back().volume_offset + out.back().length == piece.volume_offset)) {
        out.back().length += piece.length;
      } else {
        out.push_back(piece);
      }
      pos += piece.length;
    }
  }
  return out;
}

}  // namespace rpfs::guest
