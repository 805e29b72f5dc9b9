// Hostile input reaching the daemon (docs/security-parts/limits-and-logs.md): oversized
// control writes, oversized descriptions, too many RPs per VM, and disk paths that are not
// images. Each is refused with a clear error and the daemon stays up.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "mount_fixture.h"

namespace rpfs::testing {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `n` bytes in one write(); returns the errno (0 on success).
int WriteControl(const std::string& path, size_t n, char fill) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  std::string data(n, fill);
  errno = 0;
  ssize_t w = ::write(fd, data.data(), data.size());
  int err = w < 0 ? errno : 0;
  ::close(fd);
  return err;
}

using LimitsMountTest = MountTest;

TEST_F(LimitsMountTest, ControlWritesOf1MiBAndMoreAreRefusedAndTheDaemonStaysUp) {
  for (size_t n : {size_t{1} << 20, size_t{4} << 20, size_t{16} << 20}) {
    EXPECT_EQ(WriteControl(P("vm/.control"), n, 'x'), EINVAL) << n << " bytes";
  }
  std::string status = Slurp(P("vm/.status"));
  EXPECT_NE(status.find("longer than 4096 bytes"), std::string::npos) << status;
  // Still serving: a listing and a command work.
  EXPECT_TRUE(stdfs::exists(P("vm/one/vda.raw")));
  EXPECT_EQ(WriteControl(P("vm/.control"), 0, 'x'), 0);  // an empty write does nothing
  std::ofstream(P("vm/.control")) << "create three";
  EXPECT_TRUE(stdfs::exists(P("vm/three")));
}

TEST_F(LimitsMountTest, AnOversizedDescriptionIsRefusedThroughControlAndCli) {
  std::string cmd = "create big description=\"" + std::string(2000, 'd') + "\"";
  int fd = ::open(P("vm/.control").c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_LT(::write(fd, cmd.data(), cmd.size()), 0);
  EXPECT_EQ(errno, EINVAL);
  ::close(fd);
  std::string status = Slurp(P("vm/.status"));
  EXPECT_NE(status.find("2000 bytes, at most 1024 allowed"), std::string::npos) << status;
  // Through the daemon's socket (the CLI forwards to the mount). 100 KiB: one argument
  // can be at most 128 KiB (execve); the daemon's request limit is 1 MiB.
  auto r = R({"create", "vm", "big2", "--description", std::string(100 << 10, 'd')});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("102400 bytes, at most 1024 allowed"), std::string::npos) << r.err;
  r = R({"create", "vm", "nl", "--description", "a\nparent: forged"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_FALSE(stdfs::exists(P("vm/big")));
  EXPECT_FALSE(stdfs::exists(P("vm/nl")));
}

class LimitsCliTest : public CliTest {};

TEST_F(LimitsCliTest, RpsPerVmAreLimited) {
  InitWithVm();
  std::map<std::string, std::string> env = {{"RPFS_MAX_RPS_PER_VM", "2"}};
  EXPECT_EQ(R({"create", "vm", "a"}, env).exit_code, 0);
  EXPECT_EQ(R({"create", "vm", "b"}, env).exit_code, 0);
  auto r = R({"create", "vm", "c"}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("vm vm holds 2 recovery points, the most allowed per vm (2"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(R({"delete", "vm", "a"}, env).exit_code, 0);
  EXPECT_EQ(R({"create", "vm", "c"}, env).exit_code, 0) << "room again after a delete";
}

TEST_F(LimitsCliTest, DiskPathsThatAreNotImagesAreRefusedAtCreate) {
  auto r = R({"init"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string fifo = dir_ / "disk.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  struct Case {
    std::string vm, path, want;
  };
  for (const Case& c : {Case{"f", fifo, "is a FIFO"}, Case{"c", "/dev/null", "character device"},
                        Case{"d", dir_.path(), "is a directory"}}) {
    r = R({"vm", "add", c.vm, "--disk", "vda=" + c.path});
    if (r.exit_code != 0) {  // refused at add: as good
      EXPECT_NE(r.err.find(c.path), std::string::npos) << r.err;
      continue;
    }
    r = R({"create", c.vm, "x"});
    EXPECT_NE(r.exit_code, 0) << c.path;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace rpfs::testing
