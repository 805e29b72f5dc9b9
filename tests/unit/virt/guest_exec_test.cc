// The guest agent's guest-exec-status replies as rpfs reads them: exit code, signal, and
// the base64 output qemu-ga sends (padding included), and a clear error for a bad reply.
#include "virt/guest_exec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace rpfs::virt {
namespace {

using ::testing::HasSubstr;

TEST(GuestExecTest, AnExitedCommandGivesItsCodeAndItsDecodedOutput) {
  // "hello\n" and "oops\n" as qemu-ga encodes them (with '=' padding).
  auto r = ParseExecStatus(
      R"({"return":{"exitcode":7,"out-data":"aGVsbG8K","err-data":"b29wcwo=","exited":true}})");
  ASSERT_OK(r);
  EXPECT_TRUE(r->exited);
  EXPECT_EQ(r->exit_code, 7);
  EXPECT_EQ(r->signal, 0);
  EXPECT_EQ(r->out, "hello\n");
  EXPECT_EQ(r->err, "oops\n");
}

TEST(GuestExecTest, OutputOfEveryLengthDecodesExactly) {
  // 1, 2 and 3 bytes: two '=', one '=', none.
  auto one = ParseExecStatus(R"({"return":{"exited":true,"exitcode":0,"out-data":"YQ=="}})");
  auto two = ParseExecStatus(R"({"return":{"exited":true,"exitcode":0,"out-data":"YWI="}})");
  auto three = ParseExecStatus(R"({"return":{"exited":true,"exitcode":0,"out-data":"YWJj"}})");
  ASSERT_OK(one);
  ASSERT_OK(two);
  ASSERT_OK(three);
  EXPECT_EQ(one->out, "a");
  EXPECT_EQ(two->out, "ab");
  EXPECT_EQ(three->out, "abc");
}

TEST(GuestExecTest, ARunningOrKilledCommandIsSaidSo) {
  auto running = ParseExecStatus(R"({"return":{"exited":false}})");
  ASSERT_OK(running);
  EXPECT_FALSE(running->exited);
  auto killed = ParseExecStatus(R"({"return":{"exited":true,"signal":9}})");
  ASSERT_OK(killed);
  EXPECT_TRUE(killed->exited);
  EXPECT_EQ(killed->signal, 9);
}

TEST(GuestExecTest, AReplyThatIsNotAStatusIsAnErrorQuotingIt) {
  // The last two say the command ended but not how (or with a code no int holds): never a
  // pass.
  for (const char* bad :
       {"", "not json", "[]", R"({"error":{"class":"GenericError"}})", R"({"return":3})",
        R"({"return":{"exited":true}})", R"({"return":{"exited":true,"exitcode":4294967296}})"}) {
    auto r = ParseExecStatus(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("guest-exec-status")) << bad;
  }
  auto garbled = ParseExecStatus(R"({"return":{"exited":true,"exitcode":0,"out-data":"@@@@"}})");
  ASSERT_OK(garbled);  // the exit status still counts; the output says it is unreadable
  EXPECT_EQ(garbled->out, "(output not valid base64)");
}

}  // namespace
}  // namespace rpfs::virt
