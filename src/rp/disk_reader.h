// Reading RP disks: random access (DiskReader) and whole-disk export.
#pragma once

#include <memory>
#include <span>

#include "format/records.h"
#include "rp/extent_map.h"
#include "rpfs/repository.h"
#include "store/store.h"

namespace rpfs::rp {

// Fetches chunk `digest` and decodes it into `out` (exactly its raw length). The error
// names the chunk; a checksum mismatch is Corruption, never wrong bytes.
Status ReadChunk(const store::Store* store, const Digest& digest, std::span<std::byte> out);

class ChunkCache;

// The reader keeps pointers to `store`, `cache` and `chunks`: they must outlive it.
std::unique_ptr<DiskReader> NewDiskReader(const store::Store* store, PageCache* cache,
                                          ChunkCache* chunks, const format::RpStream& stream);

Status ExportStream(const store::Store* store, PageCache* cache, const format::RpStream& stream,
                    int fd, bool sparse, const ProgressFn& progress);

}  // namespace rpfs::rp
