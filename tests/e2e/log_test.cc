// The background mount logs to syslog: a damaged chunk read through the mount gives the
// reader EIO and exactly one datagram naming the chunk, the RP and disk, and the reader's
// uid, sent to the socket RPFS_LOG_SOCKET names (here a stand-in bound by the test).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "cli_fixture.h"
#include "support/datagram_sink.h"
#include "util/hash.h"

namespace rpfs::testing {
namespace {

namespace stdfs = std::filesystem;
constexpr size_t kChunk = 64 * 1024;

class LogTest : public CliTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0 || ::access("/dev/fuse", R_OK | W_OK) != 0) {
      GTEST_SKIP() << "needs root and /dev/fuse to mount";
    }
    // One data chunk of incompressible bytes: the store's one blob holds just its body.
    img_ = dir_ / "one.raw";
    MakeSparseFile(img_, 1 << 20);
    chunk_ = PatternBytes(77, kChunk);
    WriteAt(img_, 0, chunk_);
    InitWithVm();
    auto r = R({"create", "vm", "day1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void TearDown() override {
    if (mounted_) {
      RunCommand({"fusermount3", "-u", mnt_});
      WaitForStoreLock();
    }
  }

  // Flips a byte in the middle of every blob file: the chunk's body.
  void DamageTheChunk() {
    int flipped = 0;
    for (const auto& e : stdfs::recursive_directory_iterator(store())) {
      if (e.path().extension() != ".blob") continue;
      int fd = ::open(e.path().c_str(), O_RDWR | O_CLOEXEC);
      ASSERT_GE(fd, 0);
      off_t off = static_cast<off_t>(stdfs::file_size(e.path()) / 2);
      unsigned char b = 0;
      ASSERT_EQ(::pread(fd, &b, 1, off), 1);
      b ^= 0x5a;
      ASSERT_EQ(::pwrite(fd, &b, 1, off), 1);
      ::close(fd);
      ++flipped;
    }
    ASSERT_GT(flipped, 0) << "no blob file in the store";
  }

  std::vector<std::byte> chunk_;
  std::string mnt_;
  bool mounted_ = false;
};

TEST_F(LogTest, ADamagedChunkReadInTheBackgroundIsOneSyslogLineNamingChunkRpAndUid) {
  DamageTheChunk();
  DatagramSink sink(dir_ / "log.sock");
  ASSERT_TRUE(sink.bound());
  mnt_ = dir_ / "mnt";
  stdfs::create_directory(mnt_);
  auto r = R({"mount", mnt_}, {{"RPFS_LOG_SOCKET", dir_ / "log.sock"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  mounted_ = true;
  EXPECT_EQ(r.err, "") << "the socket exists: no fallback notice";
  sink.Drain(2000);  // the "mounted" line

  int fd = ::open((mnt_ + "/vm/day1/vda.raw").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  std::vector<std::byte> buf(kChunk);
  errno = 0;
  EXPECT_LT(::pread(fd, buf.data(), buf.size(), 0), 0);
  EXPECT_EQ(errno, EIO);
  ::close(fd);

  const std::string hex = Sha256(std::span<const std::byte>(chunk_)).Hex();
  const std::string uid = "uid=" + std::to_string(::getuid());
  int naming = 0;
  std::string all;
  for (const auto& d : sink.Drain(2000)) {
    all += d + "\n";
    if (d.find(hex) == std::string::npos) continue;
    ++naming;
    EXPECT_EQ(d.substr(0, 4), "<27>") << d;  // daemon.err
    EXPECT_NE(d.find(" rpfs["), std::string::npos) << d;
    EXPECT_NE(d.find(uid), std::string::npos) << d;
    EXPECT_NE(d.find("vm/day1 disk vda"), std::string::npos) << d;
    EXPECT_NE(d.find("errno=EIO"), std::string::npos) << d;
  }
  EXPECT_EQ(naming, 1) << all;
}

TEST_F(LogTest, WithoutTheSocketTheMountSaysWhereItLogsAndWritesThere) {
  DamageTheChunk();
  mnt_ = dir_ / "mnt";
  stdfs::create_directory(mnt_);
  auto r = R({"mount", mnt_, "--log-socket", dir_ / "absent.sock"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  mounted_ = true;
  EXPECT_NE(r.err.find("logs to " + store() + "/rpfs.log"), std::string::npos) << r.err;
  int fd = ::open((mnt_ + "/vm/day1/vda.raw").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::vector<std::byte> buf(kChunk);
  EXPECT_LT(::pread(fd, buf.data(), buf.size(), 0), 0);
  ::close(fd);
  auto log = RunCommand({"cat", store() + "/rpfs.log"});
  EXPECT_NE(log.out.find(Sha256(std::span<const std::byte>(chunk_)).Hex()), std::string::npos)
      << log.out;
}

}  // namespace
}  // namespace rpfs::testing
