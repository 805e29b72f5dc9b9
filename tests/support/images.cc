#include "support/images.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

namespace rpfs::testing {

std::vector<std::byte> PatternBytes(uint64_t seed, size_t n) {
  std::vector<std::byte> out(n);
  std::mt19937_64 rng(seed);
  size_t i = 0;
  while (i < n) {
    uint64_t v = rng();
    for (int b = 0; b < 8 && i < n; ++b, ++i) out[i] = static_cast<std::byte>(v >> (8 * b));
  }
  return out;
}

std::vector<std::byte> TextBytes(uint64_t seed, size_t n) {
  static const char* kWords[] = {"recovery ", "point ", "chunk ", "store ",   "disk ", "virtual ",
                                 "machine ",  "\n",     "zstd ",  "rocksdb ", "fuse ", "libvirt "};
  std::vector<std::byte> out;
  out.reserve(n);
  std::mt19937_64 rng(seed);
  while (out.size() < n) {
    const char* w = kWords[rng() % 12];
    for (const char* p = w; *p != '\0' && out.size() < n; ++p)
      out.push_back(static_cast<std::byte>(*p));
  }
  return out;
}

void MakeSparseFile(const std::string& path, uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + path);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) throw std::runtime_error("ftruncate " + path);
  ::close(fd);
}

void WriteAt(const std::string& path, uint64_t offset, const std::vector<std::byte>& data) {
  int fd = ::open(path.c_str(), O_WRONLY);
  if (fd < 0) throw std::runtime_error("cannot open " + path);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n <= 0) throw std::runtime_error("pwrite " + path);
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

std::vector<std::byte> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  if (!raw.empty()) std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

void CopyFile(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

bool FlipByteInLargestBlob(const std::string& store, std::optional<uint64_t> at) {
  std::string largest;
  uintmax_t size = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(store)) {
    if (e.path().extension() == ".blob" && e.file_size() > size) {
      size = e.file_size();
      largest = e.path().string();
    }
  }
  if (largest.empty()) return false;
  int fd = ::open(largest.c_str(), O_RDWR);
  if (fd < 0) return false;
  auto off = static_cast<off_t>(at.value_or(size / 2 + 4096));
  if (static_cast<uintmax_t>(off) >= size) return false;
  unsigned char b = 0;
  bool ok = ::pread(fd, &b, 1, off) == 1;
  b ^= 0x5a;
  ok = ok && ::pwrite(fd, &b, 1, off) == 1;
  ::close(fd);
  return ok;
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

size_t CachedPages(const std::string& path, size_t length) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + path);
  void* map = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) throw std::runtime_error("mmap " + path);
  std::vector<unsigned char> resident((length + 4095) / 4096);
  int rc = ::mincore(map, length, resident.data());
  ::munmap(map, length);
  if (rc != 0) throw std::runtime_error("mincore " + path);
  size_t n = 0;
  for (unsigned char r : resident) n += r & 1;
  return n;
}

}  // namespace rpfs::testing
