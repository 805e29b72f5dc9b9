// Raw image sources on their own: data extents from SEEK_DATA/SEEK_HOLE, reads, and the
// check that an image did not change while it was read.
#include <gtest/gtest.h>

#include <filesystem>

#include "image/image_source.h"
#include "support/images.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

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
