// Raw image sources on their own: data extents from SEEK_DATA/SEEK_HOLE, reads, and the
// check that an image did not change while it was read.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>

#include "image/image_source.h"
#include "support/images.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"
#include "util/aligned_buffer.h"
#include "util/fd.h"

namespace rpfs::image {
namespace {

constexpr uint64_t kSize = 8 << 20;

TEST(RawSourceTest, DataExtentsCoverTheDataAndSkipLargeHoles) {
  testing::TempDir dir;
  const std::string img = dir / "disk.raw";
  testing::MakeSparseFile(img, kSize);
  testing::WriteAt(img, 1 << 20, testing::PatternBytes(1, 64 * 1024));
  testing::WriteAt(img, 6 << 20, testing::PatternBytes(2, 64 * 1024));
  auto src = OpenImage("vda", img, format::DiskFormat::kRaw);
  ASSERT_OK(src);
  EXPECT_EQ((*src)->size(), kSize);
  auto extents = (*src)->DataExtents();
  ASSERT_OK(extents);
  uint64_t covered = 0;
  bool has_first = false, has_second = false;
  for (const Extent& e : *extents) {
    covered += e.length;
    has_first |= e.offset <= (1u << 20) && e.offset + e.length >= (1u << 20) + 65536;
    has_second |= e.offset <= (6u << 20) && e.offset + e.length >= (6u << 20) + 65536;
  }
  EXPECT_TRUE(has_first);
  EXPECT_TRUE(has_second);
  EXPECT_LT(covered, kSize / 2) << "holes were not skipped";

  std::vector<std::byte> got(64 * 1024);
  ASSERT_OK((*src)->ReadAt(6 << 20, got));
  EXPECT_EQ(got, testing::PatternBytes(2, 64 * 1024));
}

// Aligned reads (ingest's whole-chunk batches) bypass the page cache; any other read, and
// the rest of a read cut short, goes through it; both return the file's bytes.
TEST(RawSourceTest, AlignedReadsAreDirectOthersBufferedAndBothRight) {
  testing::TempDir dir;
  const std::string img = dir / "disk.raw";
  const auto want = testing::PatternBytes(3, 1 << 20);
  testing::MakeSparseFile(img, 1 << 20);
  testing::WriteAt(img, 0, want);
  {
    UniqueFd probe(::open(img.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC));
    if (!probe.valid()) GTEST_SKIP() << "the filesystem of " << dir.path() << " has no O_DIRECT";
  }
  ::sync();
  auto drop = OpenFile(img, O_RDONLY | O_CLOEXEC);
  ASSERT_OK(drop);
  ASSERT_EQ(::posix_fadvise(drop->get(), 0, 0, POSIX_FADV_DONTNEED), 0);
  ASSERT_EQ(testing::CachedPages(img, 1 << 20), 0u)
      << "could not empty the page cache of the image";

  auto src = OpenImage("vda", img, format::DiskFormat::kRaw);
  ASSERT_OK(src);
  AlignedBuffer buf(512 * 1024);
  ASSERT_OK((*src)->ReadAt(256 * 1024, std::span(buf.data(), buf.size())));
  EXPECT_TRUE(std::equal(buf.data(), buf.data() + buf.size(), want.begin() + 256 * 1024));
  EXPECT_EQ(testing::CachedPages(img, 1 << 20), 0u)
      << "an aligned read went through the page cache";

  std::vector<std::byte> odd(10000);  // neither the length nor the offset aligned
  ASSERT_OK((*src)->ReadAt(12345, odd));
  EXPECT_TRUE(std::equal(odd.begin(), odd.end(), want.begin() + 12345));
  EXPECT_GT(testing::CachedPages(img, 1 << 20), 0u) << "an unaligned read cannot be direct";
}

TEST(RawSourceTest, AnImageThatShrankIsAnErrorOnTheDirectPathToo) {
  testing::TempDir dir;
  const std::string img = dir / "disk.raw";
  testing::MakeSparseFile(img, 1 << 20);
  testing::WriteAt(img, 0, testing::PatternBytes(4, 1 << 20));
  auto src = OpenImage("vda", img, format::DiskFormat::kRaw);
  ASSERT_OK(src);
  ASSERT_EQ(::truncate(img.c_str(), 4096 + 100), 0);
  AlignedBuffer buf(64 * 1024);
  Status s = (*src)->ReadAt(0, std::span(buf.data(), buf.size()));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("shrank"), std::string::npos) << s.ToString();
}

TEST(RawSourceTest, AnImageReplacedWhileReadIsReportedChanged) {
  testing::TempDir dir;
  const std::string img = dir / "disk.raw";
  testing::MakeSparseFile(img, kSize);
  auto src = OpenImage("vda", img, format::DiskFormat::kRaw);
  ASSERT_OK(src);
  EXPECT_OK((*src)->CheckUnchanged());
  std::filesystem::remove(img);
  testing::MakeSparseFile(img, kSize);  // another inode at the same path
  EXPECT_FALSE((*src)->CheckUnchanged().ok());
}

TEST(RawSourceTest, ADirectoryIsNotAnImage) {
  testing::TempDir dir;
  auto src = OpenImage("vda", dir.path(), format::DiskFormat::kRaw);
  EXPECT_EQ(src.status().code(), Status::Code::kIsADirectory) << src.status().ToString();
  EXPECT_NE(src.status().message().find(dir.path()), std::string::npos);
}

}  // namespace
}  // namespace rpfs::image

namespace rpfs::image {
namespace {

TEST(RawSourceTest, AFifoIsRefusedWithoutBlocking) {
  testing::TempDir dir;
  const std::string fifo = dir / "disk.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto src = OpenImage("vda", fifo, format::DiskFormat::kRaw);  // no writer: must not hang
  EXPECT_EQ(src.status().code(), Status::Code::kNotSupported) << src.status().ToString();
  EXPECT_NE(src.status().message().find("is a FIFO"), std::string::npos) << src.status().ToString();
  auto fmt = ProbeFormat(fifo);
  ASSERT_OK(fmt);
  EXPECT_EQ(*fmt, format::DiskFormat::kRaw);
}

TEST(RawSourceTest, ACharacterDeviceIsRefused) {
  auto src = OpenImage("vda", "/dev/null", format::DiskFormat::kRaw);
  EXPECT_EQ(src.status().code(), Status::Code::kNotSupported) << src.status().ToString();
  EXPECT_NE(src.status().message().find("is a character device"), std::string::npos);
}

TEST(RawSourceTest, ASymlinkIsFollowedToTheImage) {
  testing::TempDir dir;
  const std::string img = dir / "disk.raw";
  testing::MakeSparseFile(img, kSize);
  ASSERT_EQ(::symlink(img.c_str(), (dir / "link.raw").c_str()), 0);
  auto src = OpenImage("vda", dir / "link.raw", format::DiskFormat::kRaw);
  ASSERT_OK(src);
  EXPECT_EQ((*src)->size(), kSize);
}

TEST(RawSourceTest, SizesAboveTheMaximumAreRefused) {
  EXPECT_OK(CheckDiskSize(kMaxDiskBytes, "image vda"));
  Status s = CheckDiskSize(1ull << 63, "image vda (/dev/huge)");
  EXPECT_EQ(s.code(), Status::Code::kTooLarge);
  EXPECT_NE(s.message().find("image vda (/dev/huge) claims 9223372036854775808 bytes"),
            std::string::npos)
      << s.ToString();
  EXPECT_EQ(CheckDiskSize(UINT64_MAX, "x").code(), Status::Code::kTooLarge);
}

// tmpfs allows sparse files up to 2^63 - 1 bytes: a real file that claims nearly 2^63.
TEST(RawSourceTest, AFileOfNearly2To63BytesIsRefusedWhenOpened) {
  const std::string path = "/dev/shm/rpfs-huge-" + std::to_string(::getpid());
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) GTEST_SKIP() << "no /dev/shm";
  int rc = ::ftruncate(fd, INT64_MAX);
  ::close(fd);
  if (rc != 0) {
    ::unlink(path.c_str());
    GTEST_SKIP() << "this tmpfs does not take a 2^63 - 1 byte file";
  }
  auto src = OpenImage("vda", path, format::DiskFormat::kRaw);
  ::unlink(path.c_str());
  EXPECT_EQ(src.status().code(), Status::Code::kTooLarge) << src.status().ToString();
}

}  // namespace
}  // namespace rpfs::image
