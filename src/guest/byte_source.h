// ByteSource: random read access to an immutable run of bytes (an RP disk, a partition of it,
// a logical volume, a filesystem with its journal replayed in memory). Every guest parser
// reads through this one interface, so the same parser works on a disk in the daemon, on a
// slice of it, on a test's memory buffer, and on the far side of the helper's socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rpfs/status.h"

namespace rpfs::guest {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Fills all of `out` from `offset`. A range that does not lie inside [0, size()) is
  // InvalidArgument naming the range (guest metadata points anywhere: never read past the
  // end). Safe to call from many threads at once.
  virtual Status ReadAt(uint64_t offset, std::span<std::byte> out) const = 0;
  // What this source is, for error messages ("vda", "vda2", "vg0-root").
  virtual std::string name() const = 0;
  // What the bytes [offset, offset + length) are without reading them: equal non-empty
  // fingerprints mean equal bytes (an RP disk answers from its chunk digests, see
  // DiskReader::Fingerprint). Empty (the default) when the source cannot tell.
  virtual Result<std::string> Fingerprint(uint64_t offset, uint64_t length) const;
};

using SourcePtr = std::shared_ptr<const ByteSource>;

// One piece of a mapped source: `length` bytes at `offset` of the mapped source are the
// bytes at `base_offset` of its base (or zeros when `zero`).
struct Segment {
  uint64_t offset = 0;
  uint64_t base_offset = 0;
  uint64_t length = 0;
  bool zero = false;
};

// The bytes [offset, offset + size) of `base`, called `name`. InvalidArgument when the range
// does not fit in `base`.
Result<SourcePtr> Slice(SourcePtr base, uint64_t offset, uint64_t size, std::string name);

// A source made of `segments` of `base` (sorted, contiguous from 0, each inside `base`):
// an LVM logical volume. InvalidArgument when the segments are not that.
Result<SourcePtr> Mapped(SourcePtr base, std::vector<Segment> segments, std::string name);

// A source over bytes in memory (tests, fuzzers, small images).
SourcePtr MemorySource(std::string bytes, std::string name);

// Checks that [offset, offset + length) lies in a source of `size` bytes called `name`.
Status CheckRange(uint64_t offset, uint64_t length, uint64_t size, const std::string& name);

}  // namespace rpfs::guest
