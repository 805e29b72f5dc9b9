// WithOverlay: a base source with some of its blocks replaced (the replayed journal).
#include <algorithm>
#include <cstring>

#include "guest/jbd2.h"

namespace rpfs::guest {
namespace {

class OverlaySource final : public ByteSource {
 public:
  OverlaySource(SourcePtr base, BlockOverlay blocks, uint32_t block_size)
      : base_(std::move(base)), blocks_(std::move(blocks)), block_size_(block_size) {}
  uint64_t size() const override { return base_->size(); }
  std::string name() const override { return base_->name() + "+journal"; }

  // Reads the base for the whole range, then copies each overlay block over its part: the
  // overlay is small next to a disk, and this keeps a read of many blocks one base read.
  Status ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    RPFS_RETURN_IF_ERROR(base_->ReadAt(offset, out));
    if (out.empty()) return Status();
    uint64_t end = offset + out.size();
    for (auto it = blocks_.lower_bound(offset / block_size_);
         it != blocks_.end() && it->first <= (end - 1) / block_size_; ++it) {
      uint64_t block_start = it->first * block_size_;
      uint64_t from = std::max(offset, block_start);
      uint64_t to = std::min<uint64_t>(end, block_start + it->second.size());
      if (from >= to) continue;
      std::memcpy(out.data() + (from - offset), it->second.data() + (from - block_start),
                  static_cast<size_t>(to - from));
    }
    return Status();
  }

 private:
  SourcePtr base_;
  BlockOverlay blocks_;
  uint64_t block_size_;
};

}  // namespace

SourcePtr WithOverlay(SourcePtr base, BlockOverlay blocks, uint32_t block_size) {
  if (blocks.empty() || block_size == 0) return base;
  // Blocks past the end of the base can never be read; dropping them keeps the
  // multiplication above from overflowing on hostile block numbers.
  uint64_t base_blocks = (base->size() + block_size - 1) / block_size;
  blocks.erase(blocks.lower_bound(base_blocks), blocks.end());
  return std::make_shared<OverlaySource>(std::move(base), std::move(blocks), block_size);
}

}  // namespace rpfs::guest
