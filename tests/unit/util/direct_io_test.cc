// DirectIo: aligned transfers bypass the page cache, except reads of a range the cache holds
// some of; unaligned transfers, and the rest of a short one, go through the
// caller's descriptor; the second descriptor is the same file even after its path changed.
#include "util/direct_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "support/images.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"
#include "util/aligned_buffer.h"

namespace rpfs {
namespace {

constexpr size_t kFile = 1 << 20;

class DirectIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_ / "f.raw";
    want_ = testing::PatternBytes(9, kFile);
    testing::MakeSparseFile(path_, kFile);
    testing::WriteAt(path_, 0, want_);
    UniqueFd probe(::open(path_.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC));
    if (!probe.valid()) GTEST_SKIP() << "the filesystem of " << dir_.path() << " has no O_DIRECT";
    auto fd = OpenFile(path_, O_RDWR | O_CLOEXEC);
    ASSERT_OK(fd);
    fd_ = std::move(*fd);
    Uncache();
  }
  void Uncache() {
    ASSERT_EQ(::fdatasync(fd_.get()), 0);
    ASSERT_EQ(::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_DONTNEED), 0);
    ASSERT_EQ(testing::CachedPages(path_, kFile), 0u) << "could not empty the page cache";
  }
  bool Matches(const std::byte* got, size_t n, uint64_t offset) {
    return std::equal(got, got + n, want_.begin() + static_cast<long>(offset));
  }

  testing::TempDir dir_;
  std::string path_;
  std::vector<std::byte> want_;
  UniqueFd fd_;
};

TEST_F(DirectIoTest, AlignedReadsBypassTheCacheAndTakeWhatItHolds) {
  DirectIo io(fd_.get(), O_RDONLY);
  AlignedBuffer buf(kFile / 2);
  auto n = io.PreadFull(fd_.get(), std::span(buf.data(), buf.size()), 0, "f");
  ASSERT_OK(n);
  EXPECT_EQ(*n, buf.size());
  EXPECT_TRUE(Matches(buf.data(), buf.size(), 0));
  EXPECT_EQ(testing::CachedPages(path_, kFile), 0u) << "an aligned read went through the cache";

  // A range the cache holds some of (its first 4 KiB) is read through the cache.
  std::vector<std::byte> head(4096);
  ASSERT_EQ(::pread(fd_.get(), head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  const size_t cached_before = testing::CachedPages(path_, kFile);
  n = io.PreadFull(fd_.get(), std::span(buf.data(), buf.size()), 0, "f");
  ASSERT_OK(n);
  EXPECT_TRUE(Matches(buf.data(), buf.size(), 0));
  EXPECT_GE(testing::CachedPages(path_, kFile), buf.size() / 4096)
      << "a range partly cached was read direct (cached before: " << cached_before << ")";
}

TEST_F(DirectIoTest, UnalignedReadsAndShortReadsAreBuffered) {
  DirectIo io(fd_.get(), O_RDONLY);
  std::vector<std::byte> odd(10000);
  auto n = io.PreadFull(fd_.get(), odd, 4097, "f");
  ASSERT_OK(n);
  EXPECT_EQ(*n, odd.size());
  EXPECT_TRUE(Matches(odd.data(), odd.size(), 4097));
  EXPECT_GT(testing::CachedPages(path_, kFile), 0u);

  // Past the end: what there is, aligned or not.
  AlignedBuffer buf(64 * 1024);
  n = io.PreadFull(fd_.get(), std::span(buf.data(), buf.size()), kFile - 8192, "f");
  ASSERT_OK(n);
  EXPECT_EQ(*n, 8192u);
  EXPECT_TRUE(Matches(buf.data(), 8192, kFile - 8192));
}

TEST_F(DirectIoTest, AlignedWritesBypassTheCacheOthersDoNot) {
  DirectIo io(fd_.get(), O_WRONLY);
  AlignedBuffer buf(128 * 1024);
  std::fill(buf.data(), buf.data() + buf.size(), std::byte{0x5a});
  ASSERT_OK(io.PwriteFull(fd_.get(), std::span<const std::byte>(buf.data(), buf.size()), 256 * 1024,
                          "f"));
  EXPECT_EQ(testing::CachedPages(path_, kFile), 0u) << "an aligned write went through the cache";
  std::vector<std::byte> odd(100, std::byte{0x11});
  ASSERT_OK(io.PwriteFull(fd_.get(), odd, 7, "f"));
  EXPECT_GT(testing::CachedPages(path_, kFile), 0u);
  auto all = testing::ReadAll(path_);
  for (size_t k = 0; k < kFile; ++k) {
    std::byte expect = want_[k];
    if (k >= 256 * 1024 && k < 384 * 1024) expect = std::byte{0x5a};
    if (k >= 7 && k < 107) expect = std::byte{0x11};
    ASSERT_EQ(all[k], expect) << "byte " << k;
  }
}

TEST_F(DirectIoTest, TheDirectDescriptorIsTheSameFileEvenWhenThePathIsReplaced) {
  DirectIo io(fd_.get(), O_RDONLY);
  std::filesystem::remove(path_);
  testing::MakeSparseFile(path_, kFile);  // another file, all zeros, at the same path
  AlignedBuffer buf(64 * 1024);
  auto n = io.PreadFull(fd_.get(), std::span(buf.data(), buf.size()), 0, "f");
  ASSERT_OK(n);
  EXPECT_TRUE(Matches(buf.data(), buf.size(), 0)) << "read the new file, not the opened one";
}

TEST_F(DirectIoTest, WithoutADirectDescriptorEverythingIsBuffered) {
  DirectIo io(-1, O_RDONLY);  // as where the filesystem refuses O_DIRECT
  AlignedBuffer buf(64 * 1024);
  auto n = io.PreadFull(fd_.get(), std::span(buf.data(), buf.size()), 0, "f");
  ASSERT_OK(n);
  EXPECT_TRUE(Matches(buf.data(), buf.size(), 0));
  EXPECT_GT(testing::CachedPages(path_, kFile), 0u);
}

}  // namespace
}  // namespace rpfs
