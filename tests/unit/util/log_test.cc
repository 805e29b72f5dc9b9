// The log: message format, RFC 3164 datagrams to a socket, the fallback file, and the
// limiter that keeps one line per burst of identical events.
#include "util/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "support/datagram_sink.h"
#include "support/temp_dir.h"

namespace rpfs::log {
namespace {

TEST(LogTest, MessageIsTheEventThenKeyValuePairs) {
  EXPECT_EQ(FormatMessage("read-failed", {{"uid", "1000"}, {"file", "web01/day1/vda.raw"}}),
            "read-failed uid=1000 file=web01/day1/vda.raw");
}

TEST(LogTest, ValuesWithSpacesQuotesOrControlBytesAreQuotedAndEscaped) {
  EXPECT_EQ(FormatMessage("e", {{"error", "chunk ab is damaged"}}),
            "e error=\"chunk ab is damaged\"");
  EXPECT_EQ(FormatMessage("e", {{"v", "a\"b\\c"}}), "e v=\"a\\\"b\\\\c\"");
  // A hostile value cannot start a new log line or forge fields.
  EXPECT_EQ(FormatMessage("e", {{"v", "x\ninjected=1"}}), "e v=\"x\\x0ainjected=1\"");
  EXPECT_EQ(FormatMessage("e", {{"v", ""}}), "e v=\"\"");
}

TEST(LogTest, LongMessagesAreCut) {
  std::string m = FormatMessage("e", {{"v", std::string(100000, 'x')}});
  EXPECT_EQ(m.size(), kMaxMessageBytes);
  EXPECT_EQ(m.substr(m.size() - 3), "...");
}

TEST(LogTest, SyslogDatagramIsRfc3164) {
  ::setenv("TZ", "UTC0", 1);
  ::tzset();
  // 2026-12-05 03:04:05 UTC; the day of month is space-padded.
  EXPECT_EQ(FormatSyslog(Severity::kError, 1796439845, 42, "read-failed uid=0"),
            "<27>Dec  5 03:04:05 rpfs[42]: read-failed uid=0");
  EXPECT_EQ(FormatSyslog(Severity::kInfo, 0, 7, "m"), "<30>Jan  1 00:00:00 rpfs[7]: m");
}

TEST(LogTest, SocketPathComesFromTheEnvironment) {
  ::unsetenv(kSocketEnv);
  EXPECT_EQ(SocketPath(), "/dev/log");
  ::setenv(kSocketEnv, "/tmp/x.sock", 1);
  EXPECT_EQ(SocketPath(), "/tmp/x.sock");
  ::unsetenv(kSocketEnv);
}

TEST(LogTest, LinesReachTheSyslogSocketOneDatagramEach) {
  testing::TempDir dir;
  testing::DatagramSink sink(dir / "log.sock");
  ASSERT_TRUE(sink.bound());
  ToSyslog(dir / "log.sock", dir / "fallback.log");
  Log(Severity::kError, "read-failed", {{"uid", "5"}, {"error", "chunk 00ff is damaged"}});
  Log(Severity::kNotice, "second", {});
  ToStderr();
  auto got = sink.Drain(1000);
  ASSERT_EQ(got.size(), 2u);
  std::string prefix = "<27>";
  EXPECT_EQ(got[0].substr(0, 4), prefix);
  std::string tail =
      "rpfs[" + std::to_string(::getpid()) + "]: read-failed uid=5 error=\"chunk 00ff is damaged\"";
  EXPECT_EQ(got[0].substr(got[0].size() - tail.size()), tail);
  EXPECT_EQ(got[1].substr(0, 4), "<29>");
  EXPECT_FALSE(std::ifstream(dir / "fallback.log").good()) << "nothing falls back";
}

TEST(LogTest, WithoutTheSocketLinesGoToTheFallbackFile) {
  testing::TempDir dir;
  ToSyslog(dir / "absent.sock", dir / "fallback.log");
  Log(Severity::kError, "read-failed", {{"uid", "5"}});
  Log(Severity::kWarning, "other", {});
  ToStderr();
  std::ifstream in(dir / "fallback.log");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  EXPECT_NE(text.find("] error: read-failed uid=5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("] warning: other\n"), std::string::npos) << text;
}

TEST(LogTest, RepeatLimiterKeepsOneLinePerWindowAndCountsTheRest) {
  RepeatLimiter limiter(1000);
  uint64_t held = 99;
  EXPECT_TRUE(limiter.Allow("a", 0, &held));
  EXPECT_EQ(held, 0u);
  EXPECT_FALSE(limiter.Allow("a", 10, &held));
  EXPECT_FALSE(limiter.Allow("a", 999, &held));
  EXPECT_TRUE(limiter.Allow("b", 10, &held)) << "another key is another event";
  EXPECT_TRUE(limiter.Allow("a", 1000, &held));
  EXPECT_EQ(held, 2u);
}

TEST(LogTest, RepeatLimiterMemoryIsBounded) {
  RepeatLimiter limiter(1000000);
  uint64_t held = 0;
  for (size_t i = 0; i < RepeatLimiter::kMaxKeys + 10; ++i) {
    EXPECT_TRUE(limiter.Allow(std::to_string(i), 0, &held));
  }
  // Full: new keys are logged (never lost) but not remembered.
  EXPECT_TRUE(limiter.Allow("new", 1, &held));
  EXPECT_TRUE(limiter.Allow("new", 2, &held));
}

}  // namespace
}  // namespace rpfs::log
