// The daemon's worker guard: a command that throws answers exit code 70 with its cause.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "cli/command.h"
#include "cli/daemon.h"

namespace rpfs::cli {
namespace {

using ::testing::HasSubstr;

// What RunGuarded wrote to the client's stderr, and its exit code.
std::pair<int, std::string> Guarded(const std::function<int()>& fn) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* err = ::open_memstream(&buf, &len);
  int code = RunGuarded(fn, err);
  std::fclose(err);
  std::string text(buf, len);
  std::free(buf);  // NOLINT
  return {code, text};
}

TEST(RunGuardedTest, PassesTheCommandsExitCodeThrough) {
  auto [code, err] = Guarded([] { return 3; });
  EXPECT_EQ(code, 3);
  EXPECT_EQ(err, "");
}

TEST(RunGuardedTest, StdExceptionIsExit70WithItsCause) {
  ::testing::internal::CaptureStderr();
  auto [code, err] = Guarded([]() -> int { throw std::runtime_error("invalid UTF-8 byte"); });
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, kExitInternal);
  EXPECT_EQ(err, "rpfs: internal error: invalid UTF-8 byte\n");
  EXPECT_THAT(log, HasSubstr("command-internal-error error=\"invalid UTF-8 byte\""));
}

TEST(RunGuardedTest, AnythingElseThrownIsExit70Too) {
  ::testing::internal::CaptureStderr();
  auto [code, err] = Guarded([]() -> int { throw 42; });
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, kExitInternal);
  EXPECT_EQ(err, "rpfs: internal error: unknown exception\n");
  EXPECT_THAT(log, HasSubstr("unknown exception"));
}

TEST(RunGuardedTest, NoClientStreamStillLogs) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunGuarded([]() -> int { throw std::bad_alloc(); }, nullptr), kExitInternal);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("bad_alloc"));
}

}  // namespace
}  // namespace rpfs::cli
