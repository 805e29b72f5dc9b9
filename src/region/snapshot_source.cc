#include "region/snapshot_source.h"

#include <algorithm>
#include <cstring>

#include "format/chunk_codec.h"
#include "util/hash.h"

namespace rpfs::region {
namespace {

class SnapshotSource final : public image::ImageSource {
 public:
  SnapshotSource(ObjectStore* objects, std::string label, const ManifestStream& stream,
                 uint32_t chunk_size)
      : objects_(objects),
        label_(std::move(label) + ": stream " + stream.name),
        size_(stream.size),
        chunk_size_(chunk_size),
        chunks_(stream.chunks) {}

  uint64_t size() const override { return size_; }

  Result<std::vector<image::Extent>> DataExtents() override {
    std::vector<image::Extent> out;
    for (const auto& c : chunks_) {
      const uint64_t offset = c.index * chunk_size_;
      const uint64_t length = std::min<uint64_t>(chunk_size_, size_ - offset);
      if (!out.empty() && out.back().offset + out.back().length == offset) {
        out.back().length += length;
      } else {
        out.push_back(image::Extent{offset, length});
      }
    }
    return out;
  }

  Status ReadAt(uint64_t offset, std::span<std::byte> out) override {
    if (offset > size_ || out.size() > size_ - offset) {
      return Status::IOError(label_ + ": read beyond the end");
    }
    std::memset(out.data(), 0, out.size());
    if (out.empty()) return Status::OK();
    const uint64_t first = offset / chunk_size_;
    const uint64_t last = (offset + out.size() - 1) / chunk_size_;
    auto it = std::lower_bound(chunks_.begin(), chunks_.end(), first,
                               [](const ChunkEntry& e, uint64_t i) { return e.index < i; });
    std::vector<const ChunkEntry*> wanted;
    std::vector<std::string> oids;
    for (; it != chunks_.end() && it->index <= last; ++it) {
      wanted.push_back(&*it);
      oids.push_back(ChunkObject(it->digest));
    }
    // All in flight at once; each is checked and copied as it arrives. The first error
    // is the answer (the rest are still waited for, and ignored).
    Status failed;
    std::string raw;
    objects_->ReadEach(oids, [&](size_t i, Result<std::string> body) {
      if (failed.ok()) failed = CopyChunk(*wanted[i], body, offset, out, &raw);
    });
    return failed;
  }

  Status CheckUnchanged() override { return Status::OK(); }  // snapshots are immutable

 private:
  // Checks chunk `e`'s `body` and copies the part of it in [offset, offset + out.size()).
  Status CopyChunk(const ChunkEntry& e, const Result<std::string>& body, uint64_t offset,
                   std::span<std::byte> out, std::string* raw) const {
    if (!body.ok()) {
      return Status::IOError(label_ + ": chunk " + e.digest.Hex() + " at offset " +
                                 std::to_string(e.index * chunk_size_) + ": " +
                                 body.status().message(),
                             EIO);
    }
    Status st = CheckChunk(*body, e.digest, raw);
    const uint64_t chunk_start = e.index * chunk_size_;
    const uint64_t expect = std::min<uint64_t>(chunk_size_, size_ - chunk_start);
    if (st.ok() && raw->size() != expect) st = Status::Corruption("wrong length");
    if (!st.ok()) {
      return Status::IOError(label_ + ": chunk " + e.digest.Hex() + " at offset " +
                                 std::to_string(chunk_start) +
                                 " is damaged in the region: " + st.message(),
                             EIO);
    }
    const uint64_t from = std::max(offset, chunk_start);
    const uint64_t to = std::min(offset + out.size(), chunk_start + raw->size());
    std::memcpy(out.data() + (from - offset), raw->data() + (from - chunk_start), to - from);
    return Status::OK();
  }

  ObjectStore* objects_;
  std::string label_;
  uint64_t size_;
  uint32_t chunk_size_;
  std::vector<ChunkEntry> chunks_;  // by index
};

// SEEK_DATA/SEEK_HOLE from the chunk list; reads through a SnapshotSource.
class SnapshotDiskReader final : public DiskReader {
 public:
  SnapshotDiskReader(std::shared_ptr<void> keep, ObjectStore* objects, std::string label,
                     const ManifestStream& stream, uint32_t chunk_size)
      : keep_(std::move(keep)),
        source_(objects, std::move(label), stream, chunk_size),
        chunk_size_(chunk_size),
        chunks_(stream.chunks) {}

  uint64_t size() const override { return source_.size(); }

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    if (offset >= size()) return size_t{0};
    const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), size() - offset));
    RPFS_RETURN_IF_ERROR(source_.ReadAt(offset, out.first(n)));
    return n;
  }

  Result<uint64_t> NextData(uint64_t offset) const override {
    if (offset >= size()) return size();
    auto it = First(offset / chunk_size_);
    if (it == chunks_.end()) return size();
    return std::max(offset, it->index * chunk_size_);
  }

  Result<uint64_t> NextHole(uint64_t offset) const override {
    if (offset >= size()) return size();
    uint64_t index = offset / chunk_size_;
    auto it = First(index);
    if (it == chunks_.end() || it->index != index) return offset;  // inside a hole
    while (std::next(it) != chunks_.end() && std::next(it)->index == it->index + 1) ++it;
    return std::min(size(), (it->index + 1) * chunk_size_);
  }

 private:
  std::vector<ChunkEntry>::const_iterator First(uint64_t index) const {
    return std::lower_bound(chunks_.begin(), chunks_.end(), index,
                            [](const ChunkEntry& e, uint64_t i) { return e.index < i; });
  }

  std::shared_ptr<void> keep_;
  mutable SnapshotSource source_;  // ReadAt is safe from several threads
  uint32_t chunk_size_;
  std::vector<ChunkEntry> chunks_;
};

}  // namespace

std::unique_ptr<DiskReader> NewSnapshotDiskReader(std::shared_ptr<void> keep, ObjectStore* objects,
                                                  std::string label, const ManifestStream& stream,
                                                  uint32_t chunk_size) {
  return std::make_unique<SnapshotDiskReader>(std::move(keep), objects, std::move(label), stream,
                                              chunk_size);
}

Status CheckChunk(std::string_view body, const Digest& digest, std::string* out) {
  std::string local;
  std::string* raw = out != nullptr ? out : &local;
  RPFS_ASSIGN_OR_RETURN(uint64_t length, format::RawLength(body));
  if (length > (64u << 20)) return Status::Corruption("implausible chunk length");
  raw->resize(length);
  thread_local format::ChunkDecoder decoder;
  RPFS_RETURN_IF_ERROR(decoder.Decode(
      body, std::span<std::byte>(reinterpret_cast<std::byte*>(raw->data()), raw->size())));
  if (Sha256(*raw) != digest) return Status::Corruption("SHA-256 does not match its name");
  return Status::OK();
}

std::unique_ptr<image::ImageSource> NewSnapshotSource(ObjectStore* objects, std::string label,
                                                      const ManifestStream& stream,
                                                      uint32_t chunk_size) {
  return std::make_unique<SnapshotSource>(objects, std::move(label), stream, chunk_size);
}

}  // namespace rpfs::region
