// ExtentMap: chunk lookup in one stream's extent-map tree, O(tree height) per lookup,
// with a shared cache of decoded pages so sequential and repeated lookups cost no I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "format/page.h"
#include "format/records.h"
#include "rpfs/status.h"
#include "store/store.h"

namespace rpfs::rp {

// LRU cache of decoded pages, keyed by page id. Thread-safe.
class PageCache {
 public:
  PageCache(const store::Store* store, size_t capacity) : store_(store), capacity_(capacity) {}
  Result<std::shared_ptr<const format::Page>> Get(const Digest& id);

 private:
  const store::Store* store_;
  size_t capacity_;
  std::mutex mu_;
  std::list<Digest> lru_;  // front = most recent
  std::unordered_map<Digest,
                     std::pair<std::shared_ptr<const format::Page>, std::list<Digest>::iterator>,
                     DigestHash>
      map_;
};

class ExtentMap {
 public:
  ExtentMap(PageCache* cache, uint32_t fanout, uint32_t chunk_size, const format::RpStream& stream);

  uint64_t chunk_count() const { return chunks_; }
  uint32_t chunk_size() const { return chunk_size_; }
  uint64_t size() const { return size_; }
  // Bytes in chunk `index` (the last chunk may be short).
  uint32_t ChunkLength(uint64_t index) const;

  // Digest of chunk `index`; zero for a hole.
  Result<Digest> ChunkAt(uint64_t index) const;
  // The first chunk index >= `start` that holds data (want_data) or is a hole
  // (!want_data); chunk_count() when there is none. Skips hole subtrees without reading them.
  Result<uint64_t> FindChunk(uint64_t start, bool want_data) const;
  // Calls fn(index, digest) for every non-hole chunk in increasing order, skipping hole
  // subtrees; stops early when fn returns false.
  Status ForEachChunk(const std::function<bool(uint64_t, const Digest&)>& fn) const;
  // Calls fn(page id) for every page of the tree (pre-order), skipping subtrees when fn
  // returns false.
  Status ForEachPage(const std::function<bool(const Digest&, const format::Page&)>& fn) const;

 private:
  PageCache* cache_;
  uint32_t fanout_;
  uint32_t chunk_size_;
  uint64_t size_;
  uint64_t chunks_;
  uint32_t height_;
  Digest root_;
};

}  // namespace rpfs::rp
