// The qcow2 bitmaps rpfs lists and removes after a rollback (through qemu-img): only its
// own (by prefix), and clear errors for what is not a readable image. The extents a
// bitmap stored in the file marks (through qemu-nbd), and the refusal of one a running
// qemu holds.
#include "image/qcow2_bitmaps.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "support/run.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace rpfs::image {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class Qcow2BitmapsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::RunCommand({"qemu-img", "--version"}).exit_code != 0) {
      GTEST_SKIP() << "qemu-img is not installed (scripts/install-deps.sh installs qemu-utils)";
    }
    image_ = dir_ / "disk.qcow2";
    ASSERT_EQ(
        testing::RunCommand({"qemu-img", "create", "-q", "-f", "qcow2", image_, "1M"}).exit_code,
        0);
  }
  void AddBitmap(const std::string& name) {
    ASSERT_EQ(testing::RunCommand({"qemu-img", "bitmap", "--add", image_, name}).exit_code, 0);
  }

  testing::TempDir dir_;
  std::string image_;
};

TEST_F(Qcow2BitmapsTest, ListsAndRemovesOnlyTheBitmapsWithThePrefix) {
  auto none = Qcow2Bitmaps(image_, "rpfs-");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  AddBitmap("rpfs-100");
  AddBitmap("backup-tool-7");
  AddBitmap("rpfs-200");
  auto ours = Qcow2Bitmaps(image_, "rpfs-");
  ASSERT_OK(ours);
  EXPECT_THAT(*ours, ElementsAre("rpfs-100", "rpfs-200"));
  auto removed = RemoveQcow2Bitmaps(image_, "rpfs-");
  ASSERT_OK(removed);
  EXPECT_EQ(removed->size(), 2u);
  EXPECT_TRUE(Qcow2Bitmaps(image_, "rpfs-")->empty());
  auto left = Qcow2Bitmaps(image_, "");
  ASSERT_OK(left);
  EXPECT_THAT(*left, ElementsAre("backup-tool-7"));  // another tool's bitmap stays
}

TEST_F(Qcow2BitmapsTest, ARawImageHasNoneAndAMissingOneIsAnErrorNamingIt) {
  std::string raw = dir_ / "disk.raw";
  ASSERT_EQ(testing::RunCommand({"truncate", "-s", "1M", raw}).exit_code, 0);
  auto none = Qcow2Bitmaps(raw, "rpfs-");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  auto missing = Qcow2Bitmaps(dir_ / "gone.qcow2", "rpfs-");
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("gone.qcow2"));
}

TEST_F(Qcow2BitmapsTest, DirtyExtentsAreTheClustersWrittenSinceTheBitmapWasAdded) {
  ASSERT_EQ(testing::RunCommand({"qemu-io", "-c", "write -P 7 0 64k", image_}).exit_code, 0);
  AddBitmap("rpfs-1");
  // Two writes after it: 4 KiB in the third 64 KiB cluster, 64 KiB at 512 KiB.
  ASSERT_EQ(testing::RunCommand(
                {"qemu-io", "-c", "write -P 1 132k 4k", "-c", "write -P 2 512k 64k", image_})
                .exit_code,
            0);
  auto dirty = Qcow2DirtyExtents(image_, "rpfs-1");
  ASSERT_OK(dirty);
  ASSERT_EQ(dirty->size(), 2u);
  EXPECT_EQ((*dirty)[0].offset, 128u << 10);
  EXPECT_EQ((*dirty)[0].length, 64u << 10);
  EXPECT_EQ((*dirty)[1].offset, 512u << 10);
  EXPECT_EQ((*dirty)[1].length, 64u << 10);
}

TEST_F(Qcow2BitmapsTest, AMissingBitmapIsAnErrorNamingIt) {
  AddBitmap("rpfs-1");
  auto dirty = Qcow2DirtyExtents(image_, "rpfs-2");
  ASSERT_FALSE(dirty.ok());
  EXPECT_THAT(dirty.status().message(), HasSubstr("bitmap rpfs-2 of " + image_));
}

// A disabled bitmap stops recording writes: its extents would miss them, so it is refused.
TEST_F(Qcow2BitmapsTest, ADisabledBitmapIsRefused) {
  AddBitmap("rpfs-1");
  ASSERT_EQ(testing::RunCommand({"qemu-img", "bitmap", "--disable", image_, "rpfs-1"}).exit_code,
            0);
  ASSERT_EQ(testing::RunCommand({"qemu-io", "-c", "write -P 1 0 64k", image_}).exit_code, 0);
  auto dirty = Qcow2DirtyExtents(image_, "rpfs-1");
  ASSERT_FALSE(dirty.ok());
  EXPECT_THAT(dirty.status().message(), HasSubstr("bitmap rpfs-1 of " + image_));
  EXPECT_THAT(dirty.status().message(), HasSubstr("disabled"));
}

// While a qemu has the image open for writing, the file's copy of the bitmap is stale (the
// live one is in that qemu's memory) and marked in use: it must be refused, never read.
TEST_F(Qcow2BitmapsTest, ABitmapInUseByAWriterIsRefused) {
  AddBitmap("rpfs-1");
  std::string pid_file = dir_ / "nbd.pid";
  // --fork returns once the server has opened the image (and marked its bitmaps in use).
  ASSERT_EQ(testing::RunCommand({"qemu-nbd", "--fork", "--pid-file", pid_file, "-k",
                                 dir_ / "nbd.sock", "-f", "qcow2", image_})
                .exit_code,
            0);
  int pid = 0;
  std::ifstream(pid_file) >> pid;
  ASSERT_GT(pid, 0);
  auto dirty = Qcow2DirtyExtents(image_, "rpfs-1");
  ::kill(pid, SIGTERM);
  ASSERT_FALSE(dirty.ok());
  EXPECT_THAT(dirty.status().message(), HasSubstr("bitmap rpfs-1 of " + image_));
  EXPECT_THAT(dirty.status().message(), HasSubstr("inconsistent"));
}

}  // namespace
}  // namespace rpfs::image
