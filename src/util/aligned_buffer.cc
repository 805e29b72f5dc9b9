#include "util/aligned_buffer.h"

#include <cstdlib>
#include <new>

namespace rpfs {

AlignedBuffer::AlignedBuffer(size_t size) : size_(size) {
  size_t rounded = (size + kDirectIoAlign - 1) / kDirectIoAlign * kDirectIoAlign;
  void* p = std::aligned_alloc(kDirectIoAlign, rounded == 0 ? kDirectIoAlign : rounded);
  if (p == nullptr) throw std::bad_alloc();
  data_.reset(static_cast<std::byte*>(p));
}

void AlignedBuffer::Free::operator()(std::byte* p) const { std::free(p); }

}  // namespace rpfs
