// TreeBuilder: builds a disk's extent-map tree bottom-up from chunk digests given in
// increasing index order, in one streaming pass with one open page per level.
//
// Only non-hole chunks are added; a page whose entries are all holes is never stored
// (its parent holds a zero digest), so a sparse 1 TiB disk costs pages only where it has
// data. Pages are handed to a PageSink, which stores them (or finds them already stored).
#pragma once

#include <cstdint>
#include <vector>

#include "format/page.h"
#include "rpfs/status.h"
#include "util/hash.h"

namespace rpfs::rp {

class PageSink {
 public:
  virtual ~PageSink() = default;
  // Stores `page` if it is not stored yet and returns its id (digest).
  virtual Result<Digest> StorePage(const format::Page& page) = 0;
};

class TreeBuilder {
 public:
  TreeBuilder(uint64_t chunks, uint32_t fanout, PageSink* sink);

  // Adds the digest of chunk `index`. Indices must increase; `digest` must not be zero.
  Status Add(uint64_t index, const Digest& digest);
  // Flushes every open page and returns the root (zero when the disk is all holes).
  Result<Digest> Finish();
  // How many chunks were added, and the last one's index (for the stream's allocated bytes).
  uint64_t added() const { return added_; }
  uint64_t last_index() const { return last_index_; }

 private:
  struct Level {
    bool open = false;
    uint64_t page_index = 0;  // which page of this level is open
    format::Page page;
  };
  Status AddAt(uint32_t level, uint64_t index, const Digest& digest);
  Status Flush(uint32_t level);

  uint32_t fanout_;
  uint32_t height_;
  PageSink* sink_;
  std::vector<Level> levels_;
  Digest root_;
  uint64_t added_ = 0;
  uint64_t last_index_ = 0;
};

}  // namespace rpfs::rp
