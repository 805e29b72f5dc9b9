// The qcow2 bitmaps rpfs lists and removes after a rollback (through qemu-img): only its
// own (by prefix), and clear errors for what is not a readable image.
#include "image/qcow2_bitmaps.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace rpfs::image
