#include "rp/extent_map.h"

namespace rpfs::rp {

Result<std::shared_ptr<const format::Page>> PageCache::Get(const Digest& id) {
  {
    std::lock_guard lock(mu_);
    auto it = map_.find(id);
    if (it != map_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.second);
      return it->second.first;
    }
  }
  store::ObjectId oid{format::ObjectKind::kPage, id};
  RPFS_ASSIGN_OR_RETURN(std::string body, store_->GetObjectBody(oid));
  if (Sha256(body) != id) return Status::Corruption("page " + id.Hex() + " fails its checksum");
  auto page = format::DecodePage(body, store_->config().page_fanout);
  if (!page.ok()) return page.status().WithContext("page ", id.Hex());
  auto shared = std::make_shared<const format::Page>(std::move(*page));
  std::lock_guard lock(mu_);
  if (map_.count(id) == 0) {
    lru_.push_front(id);
    map_.emplace(id, std::make_pair(shared, lru_.begin()));
    while (map_.size() > capacity_) {
      map_.erase(lru_.back());
      lru_.pop_back();
    }
  }
  return std::shared_ptr<const format::Page>(shared);
}

ExtentMap::ExtentMap(PageCache* cache, uint32_t fanout, uint32_t chunk_size,
                     const format::RpStream& stream)
    : cache_(cache),
      fanout_(fanout),
      chunk_size_(chunk_size),
      size_(stream.size),
      chunks_((stream.size + chunk_size - 1) / chunk_size),
      height_(format::TreeHeight(chunks_, fanout)),
      root_(stream.root) {}

uint32_t ExtentMap::ChunkLength(uint64_t index) const {
  uint64_t start = index * chunk_size_;
  return static_cast<uint32_t>(std::min<uint64_t>(chunk_size_, size_ - start));
}

Result<Digest> ExtentMap::ChunkAt(uint64_t index) const {
  if (index >= chunks_ || root_.IsZero()) return Digest{};
  // span = chunks covered by one entry at the current level
  uint64_t span = 1;
  for (uint32_t l = 1; l < height_; ++l) span *= fanout_;
  Digest node = root_;
  for (uint32_t level = height_; level-- > 0;) {
    RPFS_ASSIGN_OR_RETURN(auto page, cache_->Get(node));
    if (page->level != level) {
      return Status::Corruption("page " + node.Hex() + " is at the wrong level of the tree");
    }
    uint64_t slot = (index / span) % fanout_;
    if (slot >= page->entries.size()) return Digest{};
    node = page->entries[slot];
    if (node.IsZero()) return node;
    span /= fanout_;
  }
  return node;
}

Result<uint64_t> ExtentMap::FindChunk(uint64_t start, bool want_data) const {
  if (start >= chunks_) return chunks_;
  if (root_.IsZero()) return want_data ? chunks_ : start;
  // visit returns the index found in the subtree of `id` (covering chunks from `first`,
  // `span` chunks per entry), or chunks_ when the subtree has none.
  std::function<Result<uint64_t>(const Digest&, uint64_t, uint64_t)> visit =
      [&](const Digest& id, uint64_t first, uint64_t span) -> Result<uint64_t> {
    RPFS_ASSIGN_OR_RETURN(auto page, cache_->Get(id));
    for (uint64_t slot = start > first ? (start - first) / span : 0; slot < fanout_; ++slot) {
      uint64_t base = first + slot * span;
      if (base >= chunks_) break;
      Digest d = slot < page->entries.size() ? page->entries[slot] : Digest{};
      if (d.IsZero()) {
        if (!want_data) return std::max(base, start);
        continue;
      }
      if (page->level == 0) {
        if (want_data) return std::max(base, start);
        continue;
      }
      RPFS_ASSIGN_OR_RETURN(uint64_t found, visit(d, base, span / fanout_));
      if (found != chunks_) return found;
    }
    return chunks_;
  };
  uint64_t span = 1;
  for (uint32_t l = 1; l < height_; ++l) span *= fanout_;
  return visit(root_, 0, span);
}

Status ExtentMap::ForEachPage(
    const std::function<bool(const Digest&, const format::Page&)>& fn) const {
  if (root_.IsZero()) return Status::OK();
  std::function<Status(const Digest&)> visit = [&](const Digest& id) -> Status {
    RPFS_ASSIGN_OR_RETURN(auto page, cache_->Get(id));
    if (!fn(id, *page) || page->level == 0) return Status::OK();
    for (const Digest& child : page->entries)
      if (!child.IsZero()) RPFS_RETURN_IF_ERROR(visit(child));
    return Status::OK();
  };
  return visit(root_);
}

Status ExtentMap::ForEachChunk(const std::function<bool(uint64_t, const Digest&)>& fn) const {
  if (root_.IsZero()) return Status::OK();
  bool stop = false;
  std::function<Status(const Digest&, uint64_t, uint64_t)> visit =
      [&](const Digest& id, uint64_t first, uint64_t span) -> Status {
    RPFS_ASSIGN_OR_RETURN(auto page, cache_->Get(id));
    for (size_t i = 0; i < page->entries.size() && !stop; ++i) {
      const Digest& d = page->entries[i];
      if (d.IsZero()) continue;
      if (page->level == 0) {
        if (!fn(first + i, d)) stop = true;
      } else {
        RPFS_RETURN_IF_ERROR(visit(d, first + i * span, span / fanout_));
      }
    }
    return Status::OK();
  };
  uint64_t span = 1;
  for (uint32_t l = 1; l < height_; ++l) span *= fanout_;
  return visit(root_, 0, span);
}

}  // namespace rpfs::rp
