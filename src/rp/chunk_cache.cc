#include "rp/chunk_cache.h"

#include "rp/disk_reader.h"

namespace rpfs::rp {

Result<ChunkCache::Chunk> ChunkCache::Get(const Digest& id, uint32_t length) {
  {
    std::lock_guard lock(mu_);
    auto it = map_.find(id);
    if (it != map_.end()) {
      ++hits_;
      lru_.splice(lru_.begin(), lru_, it->second.second);
      return it->second.first;
    }
    ++misses_;
  }
  auto data = std::make_shared<std::vector<std::byte>>(length);
  RPFS_RETURN_IF_ERROR(ReadChunk(store_, id, *data));
  Chunk chunk = std::move(data);
  std::lock_guard lock(mu_);
  if (map_.count(id) == 0 && length <= capacity_) {
    lru_.push_front(id);
    map_.emplace(id, std::make_pair(chunk, lru_.begin()));
    bytes_ += length;
    while (bytes_ > capacity_) {
      auto victim = map_.find(lru_.back());
      bytes_ -= victim->second.first->size();
      map_.erase(victim);
      lru_.pop_back();
    }
  }
  return chunk;
}

ChunkCacheStats ChunkCache::Stats() const {
  std::lock_guard lock(mu_);
  return ChunkCacheStats{hits_, misses_, bytes_, capacity_};
}

}  // namespace rpfs::rp
