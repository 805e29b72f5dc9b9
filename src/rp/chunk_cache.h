// ChunkCache: a bounded LRU of decoded chunks, keyed by chunk id, shared by every reader
// of a repository. Immutable content-addressed data: an entry never goes stale.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "rpfs/repository.h"
#include "store/store.h"
#include "util/hash.h"

namespace rpfs::rp {

class ChunkCache {
 public:
  using Chunk = std::shared_ptr<const std::vector<std::byte>>;

  ChunkCache(const store::Store* store, uint64_t capacity_bytes)
      : store_(store), capacity_(capacity_bytes) {}

  // The decoded chunk `id` of `length` bytes, from the cache or decoded now (and cached).
  // Thread-safe; two threads missing the same chunk at once may both decode it.
  Result<Chunk> Get(const Digest& id, uint32_t length);
  ChunkCacheStats Stats() const;

 private:
  const store::Store* store_;
  uint64_t capacity_;
  mutable std::mutex mu_;
  std::list<Digest> lru_;  // front = most recent
  std::unordered_map<Digest, std::pair<Chunk, std::list<Digest>::iterator>, DigestHash> map_;
  uint64_t bytes_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace rpfs::rp
