// Ingest: turns a disk image into an extent-map tree inside a WriteTx.
//
// Pipeline per disk: read data extents (holes skipped) in batches while the previous
// batch is processed; per chunk, in parallel: zero test, SHA-256, lookup, and zstd for
// chunks the store lacks; then, in order: write new chunks, feed the TreeBuilder. Only
// new chunks and new pages are written, and every reference they add is staged in the
// tx's Mutation, so nothing is visible until the commit.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "format/records.h"
#include "image/image_source.h"
#include "rp/extent_map.h"
#include "rpfs/repository.h"
#include "store/store.h"
#include "util/thread_pool.h"

namespace rpfs::rp {

// State shared by all disks of one RP being created.
struct IngestContext {
  const store::Store* store = nullptr;
  store::WriteTx* tx = nullptr;
  store::Mutation* mutation = nullptr;  // reference changes, applied at commit
  ThreadPool* pool = nullptr;

  std::unordered_map<Digest, uint64_t, DigestHash> tx_chunks;  // written in this tx -> stored size
  std::unordered_set<Digest, DigestHash> tx_pages;
  std::unordered_set<Digest, DigestHash> counted;  // chunks already in this RP's statistics

  uint64_t data_bytes = 0;    // raw bytes of distinct chunks referenced
  uint64_t stored_bytes = 0;  // stored bytes of those chunks
  uint64_t added_bytes = 0;   // bytes of new objects written
  uint64_t bytes_read = 0;
  std::map<std::string, uint64_t> bytes_read_by_stream;  // disk or memory stream -> bytes

  ProgressFn progress;
  uint64_t progress_total = 0;
};

// Reads `source` and returns the stream (size and root) of disk `name`. Without `base`,
// every data extent is read. With `base` (the previous point's extent map of this disk, of
// the same size) and `changed` (what was written since that point, from a dirty bitmap),
// only the chunks overlapping `changed` are read; every other chunk is the base's.
Result<format::RpStream> IngestDisk(IngestContext& ctx, const std::string& name,
                                    image::ImageSource& source, const ExtentMap* base = nullptr,
                                    const std::vector<image::Extent>* changed = nullptr);

}  // namespace rpfs::rp
