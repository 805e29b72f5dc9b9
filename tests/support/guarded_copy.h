// GuardedCopy: bytes placed so that they end exactly where an inaccessible page begins.
// A decoder that reads even one byte past the end of its input crashes the test instead
// of passing by luck, without needing a sanitizer build.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace rpfs::testing {

class GuardedCopy {
 public:
  explicit GuardedCopy(std::string_view data) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t data_pages = (data.size() + page - 1) / page;
    length_ = (data_pages + 1) * page;
    void* p = ::mmap(nullptr, length_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("GuardedCopy: mmap failed");
    base_ = static_cast<char*>(p);
    char* guard = base_ + data_pages * page;
    if (::mprotect(guard, page, PROT_NONE) != 0) {
      ::munmap(base_, length_);
      throw std::runtime_error("GuardedCopy: mprotect failed");
    }
    char* start = guard - data.size();
    if (!data.empty()) std::memcpy(start, data.data(), data.size());
    view_ = std::string_view(start, data.size());
  }
  ~GuardedCopy() { ::munmap(base_, length_); }
  GuardedCopy(const GuardedCopy&) = delete;
  GuardedCopy& operator=(const GuardedCopy&) = delete;

  std::string_view view() const { return view_; }

 private:
  char* base_ = nullptr;
  size_t length_ = 0;
  std::string_view view_;
};

}  // namespace rpfs::testing
