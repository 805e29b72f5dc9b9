// Bad input of every kind gets a clear message naming the object and the cause, exit
// code 1 (2 for usage), and leaves the store unchanged.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "cli_fixture.h"

namespace rpfs::testing {
namespace {

class BadInputTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    InitWithVm();
    ASSERT_EQ(R({"create", "vm", "good"}).exit_code, 0);
    state_ = State();
  }
  void ExpectUnchanged() {
    EXPECT_EQ(State(), state_) << "the store changed";
    auto v = R({"verify"});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  }
  std::string state_;
};

TEST_F(BadInputTest, UnknownVmAndRp) {
  ExpectError(R({"create", "nope", "x"}), 3, {"vm nope does not exist"});
  ExpectError(R({"info", "vm", "nope"}), 3, {"rp vm/nope does not exist"});
  ExpectError(R({"export", "vm", "nope", "vda", "-o", dir_ / "o"}), 3,
              {"rp vm/nope does not exist"});
  ExpectError(R({"export", "vm", "good", "vdz", "-o", dir_ / "o"}), 3, {"has no disk vdz"});
  EXPECT_FALSE(std::filesystem::exists(dir_ / "o"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "o.rpfs-partial"));
  ExpectError(R({"delete", "vm", "good", "nope"}), 3, {"rp vm/nope does not exist"});
  ExpectError(R({"rename", "vm", "nope", "x"}), 3, {"rp vm/nope does not exist"});
  ExpectError(R({"list", "nope"}), 3, {"vm nope does not exist"});
  ExpectError(R({"vm", "remove", "nope"}), 3, {"vm nope does not exist"});
  ExpectUnchanged();
}

TEST_F(BadInputTest, DuplicateNames) {
  ExpectError(R({"create", "vm", "good"}), 4, {"rp vm/good already exists"});
  ExpectError(R({"vm", "add", "vm", "--disk", "vda=" + img_}), 4, {"vm vm already exists"});
  ExpectError(R({"vm", "add", "v2", "--disk", "vda=" + img_, "--disk", "vda=" + img_}), 2,
              {"disk vda is given twice"});
  ExpectError(R({"vm", "remove", "vm"}), 5, {"still has 1 recovery point"});
  ExpectUnchanged();
}

TEST_F(BadInputTest, InvalidNamesAreUsageErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a/b", "may not contain '/'"},        {"..", "'.' and '..' are not names"},
      {".", "'.' and '..' are not names"},   {"", "empty"},
      {".hidden", "may not start with '.'"}, {std::string(129, 'x'), "129 bytes, at most 128"},
      {"tab\there", "control characters"}};
  for (const auto& [name, why] : cases) {
    ExpectError(R({"create", "vm", name}), 2, {"invalid rp name", why});
    ExpectError(R({"rename", "vm", "good", name}), 2, {"invalid rp name", why});
    ExpectError(R({"vm", "add", name, "--disk", "vda=" + img_}), 2, {"invalid vm name", why});
  }
  EXPECT_EQ(R({"create", "vm", std::string(128, 'x')}).exit_code, 0);  // the limit itself is fine
  EXPECT_EQ(R({"delete", "vm", std::string(128, 'x')}).exit_code, 0);
  ExpectUnchanged();
}

TEST_F(BadInputTest, MissingDirectoryAndSpecialImages) {
  ExpectError(R({"vm", "add", "x", "--disk", "vda=/nonexistent/disk.img"}), 3,
              {"cannot open /nonexistent/disk.img", "No such file"});
  ExpectError(R({"vm", "add", "x", "--disk", "vda=" + dir_.path()}), 1, {"is a directory"});
  std::string fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ExpectError(R({"vm", "add", "x", "--disk", "vda=" + fifo, "--format", "vda=raw"}), 6,
              {"is a FIFO: only regular files and block devices are disk images"});
  ExpectError(R({"vm", "add", "x", "--disk", "vda=" + img_, "--format", "vda=vmdk"}), 2,
              {"unknown disk format 'vmdk'"});
  ExpectUnchanged();
}

TEST_F(BadInputTest, ImageRemovedBeforeCreate) {
  std::string moved = img_ + ".moved";
  ASSERT_EQ(::rename(img_.c_str(), moved.c_str()), 0);
  ExpectError(R({"create", "vm", "later"}), 3, {"creating rp vm/later", "cannot open " + img_});
  ASSERT_EQ(::rename(moved.c_str(), img_.c_str()), 0);
  ExpectUnchanged();
}

TEST_F(BadInputTest, ImageShrinksDuringCreate) {
  WriteAt(img_, 0, PatternBytes(7, 30 << 20));  // enough data for several batches
  PausedRun run({RpfsBinary(), "--store", store(), "create", "vm", "shrunk"}, "ingest.batch",
                dir_.path());
  run.WaitPaused();
  ASSERT_EQ(::truncate(img_.c_str(), 1 << 20), 0);
  run.Resume();
  auto r = run.Finish();
  ExpectError(r, 1, {"creating rp vm/shrunk", "image vda (" + img_ + ")"});
  EXPECT_TRUE(r.err.find("shrank") != std::string::npos ||
              r.err.find("changed size") != std::string::npos)
      << r.err;
  ExpectUnchanged();
}

TEST_F(BadInputTest, ImageVanishesDuringCreate) {
  WriteAt(img_, 0, PatternBytes(8, 30 << 20));
  PausedRun run({RpfsBinary(), "--store", store(), "create", "vm", "gone"}, "ingest.batch",
                dir_.path());
  run.WaitPaused();
  ASSERT_EQ(::unlink(img_.c_str()), 0);
  run.Resume();
  ExpectError(run.Finish(), 1, {"creating rp vm/gone", "vanished while being read"});
  ExpectUnchanged();
}

TEST_F(BadInputTest, SecondWriterIsToldWhoHoldsTheStore) {
  WriteAt(img_, 0, PatternBytes(9, 30 << 20));
  PausedRun run({RpfsBinary(), "--store", store(), "create", "vm", "slow"}, "ingest.batch",
                dir_.path());
  run.WaitPaused();
  ExpectError(R({"create", "vm", "fast"}), 5,
              {"store " + store() + " is in use by pid " + std::to_string(run.pid())});
  ExpectError(R({"delete", "vm", "good"}), 5, {"is in use by pid"});
  run.Resume();
  auto r = run.Finish();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto list = nlohmann::json::parse(R({"list", "vm", "--json"}).out);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1]["name"], "slow");
}

TEST_F(BadInputTest, NotAStoreAndMissingStore) {
  auto r = Rpfs(dir_.path(), {"list"});
  ExpectError(r, 2, {dir_.path() + " is not an rpfs store"});
  r = Rpfs(dir_ / "missing", {"list"});
  ExpectError(r, 3, {"store " + (dir_ / "missing") + " does not exist"});
  ExpectError(R({"init"}), 4, {"already exists"});
  ExpectError(Rpfs(dir_ / "s2", {"init", "--chunk-size", "1000"}), 2, {"invalid chunk size 1000"});
  ExpectError(Rpfs(dir_ / "s3", {"init", "--compression-level", "40"}), 2,
              {"invalid compression level 40"});
  ExpectUnchanged();
}

TEST_F(BadInputTest, FullFilesystemFailsCleanly) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  std::string mnt = dir_ / "small";
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=24m") != 0) {
    GTEST_SKIP() << "cannot mount tmpfs here: " << strerror(errno);
  }
  struct Unmount {
    std::string p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  std::string small = mnt + "/store";
  ASSERT_EQ(Rpfs(small, {"init"}).exit_code, 0);
  std::string big = dir_ / "big.raw";
  MakeSparseFile(big, 64 << 20);
  WriteAt(big, 0, PatternBytes(10, 64 << 20));  // incompressible, larger than the tmpfs
  ASSERT_EQ(Rpfs(small, {"vm", "add", "vm", "--disk", "vda=" + img_}).exit_code, 0);
  ASSERT_EQ(Rpfs(small, {"vm", "add", "big", "--disk", "vda=" + big}).exit_code, 0);
  ASSERT_EQ(Rpfs(small, {"create", "vm", "fits"}).exit_code, 0);
  auto r = Rpfs(small, {"create", "big", "toolarge"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("creating rp big/toolarge"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No space left"), std::string::npos) << r.err;
  // Once space is back, the store is as before: the failed RP is gone, the other intact.
  auto list = Rpfs(small, {"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto j = nlohmann::json::parse(list.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], "fits");
  std::string out = dir_ / "fits.raw";
  ASSERT_EQ(Rpfs(small, {"export", "vm", "fits", "vda", "-o", out}).exit_code, 0);
  EXPECT_TRUE(ReadAll(out) == ReadAll(img_));
  auto v = Rpfs(small, {"verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

}  // namespace
}  // namespace rpfs::testing
