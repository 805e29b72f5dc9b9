#include "util/crash_point.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "support/temp_dir.h"

namespace rpfs {
namespace {

// RPFS_CRASH_AT is read once per process, at the first CrashPoint call. Each test
// therefore runs its scenario in a freshly exec'd death-test child ("threadsafe" style),
// which sets the variable before its first call and never inherits a cached config.
class CrashPointDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(CrashPointDeathTest, DoesNothingWhenUnset) {
  EXPECT_EXIT(
      {
        ::unsetenv("RPFS_CRASH_AT");
        for (int i = 0; i < 5; ++i) CrashPoint("ingest.after_chunks");
        std::fprintf(stderr, "still alive\n");
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "still alive");
}

TEST_F(CrashPointDeathTest, KillsOnTheNthHitOnly) {
  EXPECT_EXIT(
      {
        ::setenv("RPFS_CRASH_AT", "ingest.after_chunks:2", 1);
        CrashPoint("ingest.after_chunks");
        std::fprintf(stderr, "survived hit 1\n");
        std::fflush(stderr);
        CrashPoint("ingest.after_chunks");
        std::fprintf(stderr, "survived hit 2\n");
        std::exit(0);
      },
      ::testing::KilledBySignal(SIGKILL), "survived hit 1\n$");
}

TEST_F(CrashPointDeathTest, KillsOnTheFirstHitWithoutACount) {
  EXPECT_EXIT(
      {
        ::setenv("RPFS_CRASH_AT", "commit", 1);
        CrashPoint("commit");
        std::fprintf(stderr, "survived hit 1\n");
        std::exit(0);
      },
      ::testing::KilledBySignal(SIGKILL), "");
}

TEST_F(CrashPointDeathTest, IgnoresOtherNames) {
  EXPECT_EXIT(
      {
        ::setenv("RPFS_CRASH_AT", "commit:1", 1);
        for (const char* name : {"commi", "commit2", "Commit", "pre-commit", ""}) {
          CrashPoint(name);
        }
        std::fprintf(stderr, "still alive\n");
        CrashPoint("commit");
        std::exit(0);
      },
      ::testing::KilledBySignal(SIGKILL), "still alive");
}

// Plays both sides of a pause point in one process: a thread runs into the point, the
// test side waits for "paused", checks the thread is held there, then sends "resume".
// Returns 0 when the point paused exactly once, where and when it should.
int PauseScenario() {
  ::alarm(30);  // a pause that never ends kills the child (SIGALRM) instead of hanging
  testing::TempDir dir;
  if (::mkfifo((dir / "paused").c_str(), 0600) != 0) return 10;
  if (::mkfifo((dir / "resume").c_str(), 0600) != 0) return 11;
  ::setenv("RPFS_PAUSE_DIR", dir.path().c_str(), 1);
  ::setenv("RPFS_PAUSE_AT", "ingest.commit", 1);

  std::atomic<int> stage{0};
  std::thread runner([&] {
    CrashPoint("ingest.before_commit");  // another name: passes
    stage = 1;
    CrashPoint("ingest.commit");  // pauses
    stage = 2;
    CrashPoint("ingest.commit");  // only the first hit pauses
    stage = 3;
  });
  int paused = ::open((dir / "paused").c_str(), O_RDONLY);  // returns once the point is there
  if (paused < 0) return 12;
  ::close(paused);
  const int stage_while_paused = stage.load();  // the runner is blocked opening "resume"
  int resume = ::open((dir / "resume").c_str(), O_WRONLY);
  if (resume < 0) return 13;
  ::close(resume);  // end of file: go on
  runner.join();
  if (stage_while_paused != 1) return 20 + stage_while_paused;
  if (stage.load() != 3) return 30;
  std::fprintf(stderr, "paused once, at the named point\n");
  return 0;
}

TEST_F(CrashPointDeathTest, PausesOnceAtTheNamedPointUntilResumed) {
  EXPECT_EXIT(std::exit(PauseScenario()), ::testing::ExitedWithCode(0),
              "paused once, at the named point");
}

}  // namespace
}  // namespace rpfs
