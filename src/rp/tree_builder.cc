#include "rp/tree_builder.h"

namespace rpfs::rp {

TreeBuilder::TreeBuilder(uint64_t chunks, uint32_t fanout, PageSink* sink)
    : fanout_(fanout), height_(format::TreeHeight(chunks, fanout)), sink_(sink), levels_(height_) {}

Status TreeBuilder::Add(uint64_t index, const Digest& digest) {
  ++added_;
  last_index_ = index;
  return AddAt(0, index, digest);
}

Status TreeBuilder::AddAt(uint32_t level, uint64_t index, const Digest& digest) {
  Level& l = levels_[level];
  uint64_t page_index = index / fanout_;
  if (l.open && l.page_index != page_index) RPFS_RETURN_IF_ERROR(Flush(level));
  if (!l.open) {
    l.open = true;
    l.page_index = page_index;
    l.page.level = static_cast<uint8_t>(level);
    l.page.entries.assign(fanout_, Digest{});
  }
  l.page.entries[index % fanout_] = digest;
  return Status::OK();
}

Status TreeBuilder::Flush(uint32_t level) {
  Level& l = levels_[level];
  if (!l.open) return Status::OK();
  l.open = false;
  RPFS_ASSIGN_OR_RETURN(Digest id, sink_->StorePage(l.page));
  if (level + 1 == height_) {
    root_ = id;
    return Status::OK();
  }
  return AddAt(level + 1, l.page_index, id);
}

Result<Digest> TreeBuilder::Finish() {
  for (uint32_t level = 0; level < height_; ++level) RPFS_RETURN_IF_ERROR(Flush(level));
  return root_;
}

}  // namespace rpfs::rp
