// RunProcess: exit codes, output of both streams, and a program that is not there.
#include "util/subprocess.h"

#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace rpfs {
namespace {

TEST(SubprocessTest, TakesTheExitCodeAndBothStreams) {
  auto r = RunProcess({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_OK(r);
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_NE(r->output.find("out\n"), std::string::npos) << r->output;
  EXPECT_NE(r->output.find("err\n"), std::string::npos) << r->output;
  auto ok = RunProcess({"true"});
  ASSERT_OK(ok);
  EXPECT_EQ(ok->exit_code, 0);
  EXPECT_EQ(ok->output, "");
}

TEST(SubprocessTest, StdinIsEmptyAndASignalIsMinusOne) {
  auto r = RunProcess({"sh", "-c", "cat; kill -9 $$"});
  ASSERT_OK(r);
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->output, "");
}

TEST(SubprocessTest, AMissingProgramIsAnErrorNamingIt) {
  auto r = RunProcess({"rpfs-no-such-program-xyz"});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("rpfs-no-such-program-xyz"), std::string::npos);
  EXPECT_TRUE(RunProcess({}).status().IsInvalidArgument());
}

}  // namespace
}  // namespace rpfs
