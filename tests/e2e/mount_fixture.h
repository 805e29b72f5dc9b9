// Fixture for tests through a real mount: a store with VM "vm" holding RPs "one" and
// "two", mounted by the rpfs binary under test (in the background) on dir/mnt.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "cli_fixture.h"

namespace rpfs::testing {

namespace stdfs = std::filesystem;
inline constexpr uint64_t kChunk = 64 * 1024;

class MountTest : public CliTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0 || ::access("/dev/fuse", R_OK | W_OK) != 0) {
      GTEST_SKIP() << "needs root and /dev/fuse to mount";
    }
    CliTest::SetUp();
    InitWithVm();
    ASSERT_EQ(R({"create", "vm", "one"}).exit_code, 0);
    one_ = ReadAll(img_);
    WriteAt(img_, 7 * kChunk + 3, PatternBytes(20, 3 * kChunk));
    ASSERT_EQ(R({"create", "vm", "two", "--description", "second"}).exit_code, 0);
    two_ = ReadAll(img_);
    mnt_ = dir_ / "mnt";
    stdfs::create_directory(mnt_);
    Mount();
  }
  void TearDown() override {
    if (mounted_) Unmount();
  }
  void Mount() {
    auto r = R({"mount", mnt_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    mounted_ = true;
  }
  // Unmounts and waits for the daemon to have let go of the store.
  void Unmount() {
    auto r = RunCommand({"fusermount3", "-u", mnt_});
    if (r.exit_code != 0) RunCommand({"fusermount3", "-uz", mnt_});
    mounted_ = false;
    WaitForStoreLock();
  }
  std::string P(const std::string& rel) const { return mnt_ + "/" + rel; }

  // SIGKILLs the daemon and returns once it is gone (its store lock is released when the
  // process dies; waiting on the lock needs no sleep and no reaping).
  void KillDaemon() {
    auto pid_text = RunCommand({"cat", store() + "/rpfs.lock"}).out;
    pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    ASSERT_GT(pid, 1);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    WaitForStoreLock();
  }

  std::string mnt_;
  bool mounted_ = false;
  std::vector<std::byte> one_, two_;
};

}  // namespace rpfs::testing
