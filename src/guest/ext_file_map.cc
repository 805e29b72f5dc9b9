#include "guest/ext_file_map.h"

#include <algorithm>

#include "guest/disk_endian.h"

namespace rpfs::guest {
namespace {

constexpr uint16_t kExtentMagic = 0xF30A;
constexpr int kMaxExtentDepth = 5;
constexpr uint32_t kUninitLen = 32768;

struct Run {
  uint64_t logical = 0;
  uint64_t physical = 0;  // 0 with zero = true
  uint64_t count = 0;
  bool zero = false;
};

class Mapper {
 public:
  Mapper(const ByteSource& volume, uint32_t block_size, uint64_t file_blocks, std::string what)
      : volume_(volume),
        block_size_(block_size),
        volume_blocks_(volume.size() / block_size),
        file_blocks_(file_blocks),
        // Each tree node or indirect block that matters maps at least one block of the file;
        // more reads than that means a loop or a hostile tree.
        read_budget_(file_blocks + 16),
        what_(std::move(what)) {}

  Status Fail(const std::string& why) const { return Status::Corruption(what_ + ": " + why); }

  Result<std::string> ReadBlock(uint64_t block) {
    if (block == 0 || block >= volume_blocks_) {
      return Fail("block " + std::to_string(block) + " is outside the volume");
    }
    if (read_budget_-- == 0) return Fail("more mapping blocks than the file has blocks");
    std::string out(block_size_, '\0');
    RPFS_RETURN_IF_ERROR(
        volume_.ReadAt(block * block_size_, std::as_writable_bytes(std::span(out))));
    return out;
  }

  Status Add(uint64_t logical, uint64_t physical, uint64_t count, bool zero) {
    if (logical >= file_blocks_ || count == 0) return Status();
    count = std::min(count, file_blocks_ - logical);
    if (!zero &&
        (physical == 0 || physical >= volume_blocks_ || count > volume_blocks_ - physical)) {
      return Fail("blocks " + std::to_string(physical) + "+" + std::to_string(count) +
                  " are outside the volume");
    }
    if (!runs_.empty() && !zero && !runs_.back().zero &&
        runs_.back().logical + runs_.back().count == logical &&
        runs_.back().physical + runs_.back().count == physical) {
      runs_.back().count += count;
    } else {
      runs_.push_back(Run{logical, zero ? 0 : physical, count, zero});
    }
    return Status();
  }

  // One extent tree node (the inode's i_block or a block) whose header must state
  // `expected_depth` (any, for the root): each level down is one less, so no loop.
  Status ExtentNode(std::string_view node, int expected_depth) {
    if (Le16(node, 0) != kExtentMagic) return Fail("extent header magic missing");
    uint16_t entries = Le16(node, 2);
    uint16_t depth = Le16(node, 6);
    if (expected_depth >= 0 && depth != expected_depth) {
      return Fail("extent node depth " + std::to_string(depth) + " where " +
                  std::to_string(expected_depth) + " was expected");
    }
    if (depth > kMaxExtentDepth) return Fail("extent tree deeper than 5");
    if (12 + size_t{entries} * 12 > node.size()) {
      return Fail("extent node claims " + std::to_string(entries) + " entries");
    }
    for (size_t i = 0; i < entries; ++i) {
      size_t e = 12 + i * 12;
      uint64_t logical = Le32(node, e);
      if (depth == 0) {
        uint32_t len = Le16(node, e + 4);
        bool uninit = len > kUninitLen;
        if (uninit) len -= kUninitLen;
        uint64_t start = (uint64_t{Le16(node, e + 6)} << 32) | Le32(node, e + 8);
        RPFS_RETURN_IF_ERROR(Add(logical, start, len, uninit));
      } else {
        if (logical >= file_blocks_) continue;
        uint64_t child = (uint64_t{Le16(node, e + 8)} << 32) | Le32(node, e + 4);
        RPFS_ASSIGN_OR_RETURN(std::string block, ReadBlock(child));
        RPFS_RETURN_IF_ERROR(ExtentNode(block, depth - 1));
      }
    }
    return Status();
  }

  // One block-map pointer at `level` (0: a data block, 1..3: indirect) covering the file's
  // blocks from `*logical`; advances `*logical` past what it covers.
  Status MapPointer(uint32_t pointer, int level, uint64_t* logical) {
    uint64_t per_block = block_size_ / 4;
    uint64_t span = 1;
    for (int i = 0; i < level; ++i) span *= per_block;
    if (*logical >= file_blocks_) return Status();
    if (pointer == 0 || level == 0) {
      if (pointer != 0) RPFS_RETURN_IF_ERROR(Add(*logical, pointer, 1, false));
      *logical += span;  // a hole: zeros are filled in by Segments()
      return Status();
    }
    RPFS_ASSIGN_OR_RETURN(std::string block, ReadBlock(pointer));
    for (uint64_t i = 0; i < per_block && *logical < file_blocks_; ++i) {
      RPFS_RETURN_IF_ERROR(MapPointer(Le32(block, i * 4), level - 1, logical));
    }
    return Status();
  }

  Result<std::vector<Segment>> Segments() {
    std::sort(runs_.begin(), runs_.end(),
              [](const Run& a, const Run& b) { return a.logical < b.logical; });
    std::vector<Segment> out;
    uint64_t next = 0;
    auto push = [&](uint64_t logical, uint64_t physical, uint64_t count, bool zero) {
      out.push_back(
          Segment{logical * block_size_, physical * block_size_, count * block_size_, zero});
    };
    for (const Run& run : runs_) {
      if (run.logical < next) return Fail("extents overlap at block " + std::to_string(next));
      if (run.logical > next) push(next, 0, run.logical - next, true);
      push(run.logical, run.physical, run.count, run.zero);
      next = run.logical + run.count;
    }
    if (next < file_blocks_) push(next, 0, file_blocks_ - next, true);
    return out;
  }

 private:
  const ByteSource& volume_;
  uint64_t block_size_;
  uint64_t volume_blocks_;
  uint64_t file_blocks_;
  uint64_t read_budget_;
  std::string what_;
  std::vector<Run> runs_;
};

}  // namespace

Result<std::vector<Segment>> MapExtFileBlocks(const ByteSource& volume, uint32_t block_size,
                                              std::string_view i_block, bool extents,
                                              uint64_t file_blocks, const std::string& what) {
  if (i_block.size() != 60) return Status::InvalidArgument(what + ": i_block is not 60 bytes");
  if (file_blocks == 0) return Status::Corruption(what + ": the file is empty");
  Mapper mapper(volume, block_size, file_blocks, what);
  if (extents) {
    RPFS_RETURN_IF_ERROR(mapper.ExtentNode(i_block, -1));
  } else {
    uint64_t logical = 0;
    for (int i = 0; i < 15; ++i) {
      int level = i < 12 ? 0 : i - 11;
      RPFS_RETURN_IF_ERROR(mapper.MapPointer(Le32(i_block, i * 4), level, &logical));
    }
  }
  return mapper.Segments();
}

}  // namespace rpfs::guest
