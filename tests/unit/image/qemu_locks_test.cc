// qemu's image locks as rpfs reads them: which bytes another open file description holds,
// what they mean, and create's check (a writer's byte 101 blocks, a reader's 100 does not).
#include "image/qemu_locks.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "support/images.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace rpfs::image {
namespace {

// Another open file description holding shared locks on `bytes`, as a qemu would.
class FakeQemu {
 public:
  FakeQemu(const std::string& path, std::initializer_list<off_t> bytes)
      : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    for (off_t b : bytes) {
      struct flock fl = {};
      fl.l_type = F_RDLCK;
      fl.l_whence = SEEK_SET;
      fl.l_start = b;
      fl.l_len = 1;
      EXPECT_EQ(::fcntl(fd_, F_OFD_SETLK, &fl), 0);
    }
  }
  ~FakeQemu() { ::close(fd_); }

 private:
  int fd_;
};

class QemuLocksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    img_ = dir_ / "disk.raw";
    testing::MakeSparseFile(img_, 1 << 20);
    fd_ = ::open(img_.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override { ::close(fd_); }
  testing::TempDir dir_;
  std::string img_;
  int fd_ = -1;
};

TEST_F(QemuLocksTest, NoHolderNothingHeld) {
  auto held = QemuLockOfOthers(fd_);
  ASSERT_OK(held);
  EXPECT_FALSE(held->has_value());
  auto writer = QemuWriterOfOthers(fd_);
  ASSERT_OK(writer);
  EXPECT_FALSE(*writer);
  EXPECT_OK(CheckNoQemuWriter("vda", img_));
}

TEST_F(QemuLocksTest, AReaderHoldsByte100AndDoesNotBlockCreate) {
  FakeQemu reader(img_, {100});
  auto held = QemuLockOfOthers(fd_);
  ASSERT_OK(held);
  ASSERT_TRUE(held->has_value());
  EXPECT_EQ(**held, 100);
  auto writer = QemuWriterOfOthers(fd_);
  ASSERT_OK(writer);
  EXPECT_FALSE(*writer);
  EXPECT_OK(CheckNoQemuWriter("vda", img_));
}

TEST_F(QemuLocksTest, AWriterBlocksCreateNamingTheImageAndTheLock) {
  FakeQemu writer(img_, {100, 101});
  Status s = CheckNoQemuWriter("vda", img_);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_NE(s.message().find("image vda (" + img_ + ") is in use by a running qemu"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("byte 101 (it uses the write permission)"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("--force"), std::string::npos) << s.message();
}

TEST_F(QemuLocksTest, OurOwnLocksAreNotOthers) {
  ASSERT_OK(TakeQemuWriterLocks(fd_, "disk"));
  auto held = QemuLockOfOthers(fd_);
  ASSERT_OK(held);
  EXPECT_FALSE(held->has_value());
}

TEST(QemuLockNamesTest, BytesAreDescribedByPermission) {
  EXPECT_EQ(DescribeQemuLock(100),
            "qemu's lock on byte 100 (it uses the consistent read permission)");
  EXPECT_EQ(DescribeQemuLock(201),
            "qemu's lock on byte 201 (it does not share the write permission)");
}

}  // namespace
}  // namespace rpfs::image
