#include "util/lock_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "support/status_matchers.h"
#include "support/temp_dir.h"
#include "util/fd.h"

namespace rpfs {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(LockFileTest, AcquireCreatesTheFileWithOurPid) {
  testing::TempDir dir;
  Result<LockFile> lock = LockFile::Acquire(dir / "LOCK", "/srv/store");
  ASSERT_OK(lock);
  Result<std::string> contents = ReadSmallFile(dir / "LOCK");
  ASSERT_OK(contents);
  EXPECT_EQ(*contents, std::to_string(::getpid()) + "\n");
}

TEST(LockFileTest, SecondAcquireInTheSameProcessIsBusyNamingOurPid) {
  testing::TempDir dir;
  Result<LockFile> first = LockFile::Acquire(dir / "LOCK", "/srv/store");
  ASSERT_OK(first);
  Result<LockFile> second = LockFile::Acquire(dir / "LOCK", "/srv/store");
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsBusy()) << second.status().ToString();
  EXPECT_THAT(
      second.status().message(),
      AllOf(HasSubstr("/srv/store"), HasSubstr("in use by pid " + std::to_string(::getpid()))));
}

TEST(LockFileTest, LockIsReleasedWhenTheHolderIsDestroyed) {
  testing::TempDir dir;
  {
    Result<LockFile> first = LockFile::Acquire(dir / "LOCK", "s");
    ASSERT_OK(first);
    ASSERT_TRUE(LockFile::Acquire(dir / "LOCK", "s").status().IsBusy());
  }
  Result<LockFile> again = LockFile::Acquire(dir / "LOCK", "s");
  EXPECT_OK(again);
}

TEST(LockFileTest, MovedLockStaysHeld) {
  testing::TempDir dir;
  std::optional<LockFile> held;
  {
    Result<LockFile> r = LockFile::Acquire(dir / "LOCK", "s");
    ASSERT_OK(r);
    held.emplace(std::move(r).value());
  }
  EXPECT_TRUE(LockFile::Acquire(dir / "LOCK", "s").status().IsBusy());
  held.reset();
  EXPECT_OK(LockFile::Acquire(dir / "LOCK", "s"));
}

TEST(LockFileTest, DifferentPathsDoNotConflict) {
  testing::TempDir dir;
  Result<LockFile> a = LockFile::Acquire(dir / "A", "a");
  Result<LockFile> b = LockFile::Acquire(dir / "B", "b");
  EXPECT_OK(a);
  EXPECT_OK(b);
}

TEST(LockFileTest, MissingDirectoryIsNotFoundNamingThePath) {
  testing::TempDir dir;
  Result<LockFile> r = LockFile::Acquire(dir / "missing/LOCK", "s");
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("missing/LOCK"));
}

// Kills and reaps a forked child, at the latest when the test returns (even on failure).
struct ChildKiller {
  pid_t pid;
  void KillAndReap() {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
  }
  ~ChildKiller() { KillAndReap(); }
};

TEST(LockFileTest, LockOfAKilledProcessIsReleasedByTheKernel) {
  testing::TempDir dir;
  const std::string path = dir / "LOCK";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    Result<LockFile> lock = LockFile::Acquire(path, "s");
    char c = lock.ok() ? 'y' : 'n';
    if (::write(ready[1], &c, 1) != 1 || c != 'y') ::_exit(2);
    for (;;) ::pause();  // hold the lock until killed
  }
  ChildKiller killer{child};
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(c, 'y');

  Result<LockFile> busy = LockFile::Acquire(path, "s");
  EXPECT_TRUE(busy.status().IsBusy());
  EXPECT_THAT(busy.status().message(), HasSubstr("in use by pid " + std::to_string(child)));

  killer.KillAndReap();
  Result<LockFile> mine = LockFile::Acquire(path, "s");
  EXPECT_OK(mine);
}

}  // namespace
}  // namespace rpfs
