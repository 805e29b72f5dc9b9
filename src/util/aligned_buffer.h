// AlignedBuffer: bytes aligned for direct I/O (O_DIRECT wants the buffer, the length and the
// offset aligned to the device's logical block; 4096 covers every device rpfs writes to).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace rpfs {

inline constexpr size_t kDirectIoAlign = 4096;

// Whether a read or write of `length` bytes at `offset` from or into `buffer` may use O_DIRECT.
inline bool IsDirectAligned(const void* buffer, size_t length, uint64_t offset) {
  return reinterpret_cast<uintptr_t>(buffer) % kDirectIoAlign == 0 &&
         length % kDirectIoAlign == 0 && offset % kDirectIoAlign == 0;
}

// `size` bytes aligned to kDirectIoAlign, not initialised.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t size);
  std::byte* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(std::byte* p) const;
  };
  std::unique_ptr<std::byte, Free> data_;
  size_t size_ = 0;
};

}  // namespace rpfs
