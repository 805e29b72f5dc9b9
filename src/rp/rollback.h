// Rollback of one disk: rewrites a raw image so it equals an RP's disk, writing only the
// chunks whose content differs.
//
// Per chunk: where the RP and the image both hold a hole nothing is read; where the image
// holds data it is read and SHA-256-compared with the RP's chunk id (an all-zero chunk is
// the RP's hole); only a differing chunk is fetched from the store and written (or, for an
// RP hole, punched out). Windows of chunks are processed in parallel.
//
// With a KnownImage (a libvirt checkpoint's bitmap) a chunk the bitmap does not mark is
// not read at all: the image holds the base RP's chunk there, compared by id.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "format/records.h"
#include "image/image_target.h"
#include "rp/extent_map.h"
#include "rpfs/repository.h"
#include "store/store.h"
#include "util/thread_pool.h"

namespace rpfs::rp {

// What the image holds without reading it: the chunks of `base` (the RP the VM's checkpoint
// was made with, of the image's size) except in `written` (what the checkpoint's bitmap
// marks as written since).
struct KnownImage {
  const format::RpStream* base = nullptr;
  std::vector<image::Extent> written;
};

struct RollbackCounters {
  std::atomic<uint64_t> chunks_compared{0};  // read from the image and hashed
  std::atomic<uint64_t> chunks_known{0};     // judged from a KnownImage, not read
  std::atomic<uint64_t> chunks_written{0};   // differed: rewritten or punched
  std::atomic<uint64_t> bytes_written{0};
};

// Makes `target` equal to `stream` (resizing it first), then syncs it. `progress` counts
// the disk's bytes as they are covered. `known` may be null.
Status RollbackDisk(const store::Store* store, PageCache* pages, const format::RpStream& stream,
                    image::ImageTarget& target, const KnownImage* known, ThreadPool* pool,
                    RollbackCounters* counters, const ProgressFn& progress);

}  // namespace rpfs::rp
