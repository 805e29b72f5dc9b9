// A region snapshot's stream read like a disk (image::ImageSource): what a pull ingests.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "image/image_source.h"
#include "region/manifest.h"
#include "region/object_store.h"
#include "rpfs/repository.h"

namespace rpfs::region {

// Decodes a chunk body fetched from the region and checks it is the chunk `digest` names
// (the codec's XXH3, then SHA-256): Corruption otherwise. `out` receives the raw bytes.
Status CheckChunk(std::string_view body, const Digest& digest, std::string* out = nullptr);

// Reads `stream` (its chunk list loaded) through `objects`, which must outlive the source.
// Every range read fetches its chunks at once; a chunk missing or damaged is an IOError
// naming it and `label` (the snapshot), never wrong bytes.
std::unique_ptr<image::ImageSource> NewSnapshotSource(ObjectStore* objects, std::string label,
                                                      const ManifestStream& stream,
                                                      uint32_t chunk_size);

// The same stream as a DiskReader (the mount's .region/<snap>/<disk>.raw); `keep` is held
// for as long as the reader lives (what owns `objects`).
std::unique_ptr<DiskReader> NewSnapshotDiskReader(std::shared_ptr<void> keep, ObjectStore* objects,
                                                  std::string label, const ManifestStream& stream,
                                                  uint32_t chunk_size);

}  // namespace rpfs::region
