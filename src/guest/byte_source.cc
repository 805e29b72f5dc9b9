#include "guest/byte_source.h"

#include <algorithm>
#include <cstring>

namespace rpfs::guest {
namespace {

class SliceSource final : public ByteSource {
 public:
  SliceSource(SourcePtr base, uint64_t offset, uint64_t size, std::string name)
      : base_(std::move(base)), offset_(offset), size_(size), name_(std::move(name)) {}
  uint64_t size() const override { return size_; }
  std::string name() const override { return name_; }
  Status ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    RPFS_RETURN_IF_ERROR(CheckRange(offset, out.size(), size_, name_));
    return base_->ReadAt(offset_ + offset, out);
  }
  Result<std::string> Fingerprint(uint64_t offset, uint64_t length) const override {
    RPFS_RETURN_IF_ERROR(CheckRange(offset, length, size_, name_));
    return base_->Fingerprint(offset_ + offset, length);
  }

 private:
  SourcePtr base_;
  uint64_t offset_;
  uint64_t size_;
  std::string name_;
};

class MappedSource final : public ByteSource {
 public:
  MappedSource(SourcePtr base, std::vector<Segment> segments, uint64_t size, std::string name)
      : base_(std::move(base)),
        segments_(std::move(segments)),
        size_(size),
        name_(std::move(name)) {}
  uint64_t size() const override { return size_; }
  std::string name() const override { return name_; }
  Status ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    RPFS_RETURN_IF_ERROR(CheckRange(offset, out.size(), size_, name_));
    // The last segment starting at or before `offset`, then forward through the segments.
    auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                               [](uint64_t o, const Segment& s) { return o < s.offset; });
    --it;
    size_t done = 0;
    while (done < out.size()) {
      uint64_t pos = offset + done;
      uint64_t in_seg = pos - it->offset;
      size_t n = static_cast<size_t>(std::min<uint64_t>(it->length - in_seg, out.size() - done));
      auto piece = out.subspan(done, n);
      if (it->zero) {
        std::memset(piece.data(), 0, n);
      } else {
        RPFS_RETURN_IF_ERROR(base_->ReadAt(it->base_offset + in_seg, piece));
      }
      done += n;
      ++it;
    }
    return Status();
  }
  // The segments' pieces in order; empty as soon as one piece of the base cannot tell.
  Result<std::string> Fingerprint(uint64_t offset, uint64_t length) const override {
    RPFS_RETURN_IF_ERROR(CheckRange(offset, length, size_, name_));
    std::string out;
    if (length == 0) return out;
    auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                               [](uint64_t o, const Segment& s) { return o < s.offset; });
    --it;
    for (uint64_t done = 0; done < length; ++it) {
      uint64_t in_seg = offset + done - it->offset;
      uint64_t n = std::min<uint64_t>(it->length - in_seg, length - done);
      std::string piece = "z" + std::to_string(n);
      if (!it->zero) {
        RPFS_ASSIGN_OR_RETURN(piece, base_->Fingerprint(it->base_offset + in_seg, n));
        if (piece.empty()) return piece;
      }
      out += std::to_string(piece.size()) + "|" + piece;
      done += n;
    }
    return out;
  }

 private:
  SourcePtr base_;
  std::vector<Segment> segments_;
  uint64_t size_;
  std::string name_;
};

class InMemorySource final : public ByteSource {
 public:
  InMemorySource(std::string bytes, std::string name)
      : bytes_(std::move(bytes)), name_(std::move(name)) {}
  uint64_t size() const override { return bytes_.size(); }
  std::string name() const override { return name_; }
  Status ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    RPFS_RETURN_IF_ERROR(CheckRange(offset, out.size(), bytes_.size(), name_));
    std::memcpy(out.data(), bytes_.data() + offset, out.size());
    return Status();
  }

 private:
  std::string bytes_;
  std::string name_;
};

}  // namespace

Status CheckRange(uint64_t offset, uint64_t length, uint64_t size, const std::string& name) {
  if (offset > size || length > size - offset) {
    return Status::InvalidArgument(name + ": read of " + std::to_string(length) + " bytes at " +
                                   std::to_string(offset) + " is past its end (" +
                                   std::to_string(size) + " bytes)");
  }
  return Status();
}

Result<std::string> ByteSource::Fingerprint(uint64_t offset, uint64_t length) const {
  RPFS_RETURN_IF_ERROR(CheckRange(offset, length, size(), name()));
  return std::string();
}

Result<SourcePtr> Slice(SourcePtr base, uint64_t offset, uint64_t size, std::string name) {
  RPFS_RETURN_IF_ERROR(CheckRange(offset, size, base->size(), base->name()));
  return SourcePtr(std::make_shared<SliceSource>(std::move(base), offset, size, std::move(name)));
}

Result<SourcePtr> Mapped(SourcePtr base, std::vector<Segment> segments, std::string name) {
  uint64_t next = 0;
  for (const Segment& s : segments) {
    if (s.offset != next || s.length == 0) {
      return Status::InvalidArgument(name + ": segments are not contiguous at " +
                                     std::to_string(next));
    }
    if (!s.zero) RPFS_RETURN_IF_ERROR(CheckRange(s.base_offset, s.length, base->size(), name));
    next += s.length;
  }
  if (segments.empty()) return Status::InvalidArgument(name + ": no segments");
  return SourcePtr(
      std::make_shared<MappedSource>(std::move(base), std::move(segments), next, std::move(name)));
}

SourcePtr MemorySource(std::string bytes, std::string name) {
  return std::make_shared<InMemorySource>(std::move(bytes), std::move(name));
}

}  // namespace rpfs::guest
