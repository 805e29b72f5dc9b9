// AlignedBuffer: bytes aligned for direct I/O (O_DIRECT wants the buffer, the length and the
// offset aligned to the device's logical block; 4096 covers every device rpfs writes to).
#pragma once

#include <cstddef>
#include <memory>

namespace rpfs {

inline constexpr size_t kDirectIoAlign = 4096;

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
