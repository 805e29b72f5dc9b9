#include "cli/daemon_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/status_matchers.h"
#include "util/coding.h"

namespace rpfs::cli {
namespace {

using ::testing::HasSubstr;

Request Sample() {
  Request r;
  r.cwd = "/home/op";
  r.args = {"list", "--json", "bad\xff\xfename", "", "with \"quotes\"\n"};
  return r;
}

// A request with the right magic and the rest as given.
std::string WithMagic(const std::function<void(Encoder&)>& rest) {
  std::string out;
  Encoder e(&out);
  e.PutString(kRequestMagic);
  rest(e);
  return out;
}

TEST(DaemonRequestTest, RoundTrips) {
  auto r = DecodeRequest(EncodeRequest(Sample()));
  ASSERT_OK(r);
  EXPECT_EQ(r->cwd, Sample().cwd);
  EXPECT_EQ(r->args, Sample().args);
}

TEST(DaemonRequestTest, EmptyCwdAndNoArgumentsAreAccepted) {
  auto r = DecodeRequest(EncodeRequest(Request{}));
  ASSERT_OK(r);
  EXPECT_TRUE(r->args.empty());
  EXPECT_TRUE(r->cwd.empty());
}

TEST(DaemonRequestTest, EveryTruncationIsCorruption) {
  std::string full = EncodeRequest(Sample());
  for (size_t n = 0; n < full.size(); ++n) {
    auto r = DecodeRequest(std::string_view(full).substr(0, n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_TRUE(r.status().IsCorruption() || r.status().IsInvalidArgument())
        << r.status().ToString();
    EXPECT_THAT(r.status().message(), HasSubstr("daemon request"));
  }
}

TEST(DaemonRequestTest, TrailingBytesAreCorruption) {
  auto r = DecodeRequest(EncodeRequest(Sample()) + "x");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("daemon request has 1 unexpected trailing bytes"));
}

TEST(DaemonRequestTest, OtherMagicIsRefusedWithoutEchoingIt) {
  std::string in;
  Encoder e(&in);
  e.PutString("evil\xff\x01");
  auto r = DecodeRequest(in);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_THAT(r.status().message(), HasSubstr("another protocol version"));
  EXPECT_EQ(r.status().message().find("evil"), std::string::npos);
}

TEST(DaemonRequestTest, OversizedIsRefused) {
  Request big;
  big.args.push_back(std::string(kMaxRequest, 'a'));
  auto r = DecodeRequest(EncodeRequest(big));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_THAT(r.status().message(), HasSubstr("at most 1048576 allowed"));
}

TEST(DaemonRequestTest, HugeArgumentCountIsRefused) {
  std::string in = WithMagic([](Encoder& e) {
    e.PutString("/");
    e.PutVarint(~uint64_t{0});
    e.PutString("one");
  });
  auto r = DecodeRequest(in);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_THAT(r.status().message(), HasSubstr("arguments in 4 bytes"));
}

TEST(DaemonRequestTest, ArgumentLengthBeyondTheInputIsCorruption) {
  std::string in = WithMagic([](Encoder& e) {
    e.PutString("/");
    e.PutVarint(1);
    e.PutVarint(1000);  // length of an argument that is not there
    e.PutBytes("abc");
  });
  auto r = DecodeRequest(in);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
}

TEST(DaemonRequestTest, RelativeCwdIsRefused) {
  Request r = Sample();
  r.cwd = "relative/dir";
  auto d = DecodeRequest(EncodeRequest(r));
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(d.status().IsInvalidArgument());
  EXPECT_THAT(d.status().message(), HasSubstr("working directory is not absolute"));
}

TEST(DaemonRequestTest, NulInCwdIsRefused) {
  Request r = Sample();
  r.cwd = std::string("/tmp\0x", 6);
  auto d = DecodeRequest(EncodeRequest(r));
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("working directory contains NUL"));
}

TEST(DaemonRequestTest, NulInArgumentIsRefusedNamingIt) {
  Request r = Sample();
  r.args.push_back(std::string("a\0b", 3));
  auto d = DecodeRequest(EncodeRequest(r));
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(d.status().IsInvalidArgument());
  EXPECT_THAT(d.status().message(), HasSubstr("argument 6 contains NUL"));
}

}  // namespace
}  // namespace rpfs::cli
