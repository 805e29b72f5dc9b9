#include "util/hash.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <unordered_set>
#include <vector>

#include "support/images.h"
#include "support/status_matchers.h"

namespace rpfs {
namespace {

constexpr char kSha256Abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kSha256Empty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kSha256TwoBlocks[] =
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";

Digest CountingDigest() {
  Digest d;
  for (size_t i = 0; i < Digest::kSize; ++i) d.bytes[i] = static_cast<uint8_t>(i);
  return d;
}

TEST(Sha256Test, MatchesKnownVectors) {
  EXPECT_EQ(Sha256(std::string_view("abc")).Hex(), kSha256Abc);
  EXPECT_EQ(Sha256(std::string_view("")).Hex(), kSha256Empty);
  EXPECT_EQ(
      Sha256(std::string_view("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).Hex(),
      kSha256TwoBlocks);
}

TEST(Sha256Test, ByteAndCharOverloadsAgree) {
  std::vector<std::byte> data = testing::PatternBytes(3, 10000);
  EXPECT_EQ(Sha256(std::span<const std::byte>(data)), Sha256(AsChars(data)));
}

TEST(Sha256Test, OneChangedByteChangesTheDigest) {
  std::vector<std::byte> data = testing::PatternBytes(4, 4096);
  Digest before = Sha256(data);
  data[2000] ^= std::byte{1};
  EXPECT_NE(Sha256(data), before);
}

TEST(Xxh3Test, IsXxh3SixtyFourBit) {
  EXPECT_EQ(Xxh3({}), 0x2D06800538D394C2u);  // XXH3_64bits of no bytes, seed 0
}

TEST(Xxh3Test, OneChangedByteChangesTheChecksum) {
  std::vector<std::byte> data = testing::PatternBytes(5, 65536);
  uint64_t before = Xxh3(data);
  EXPECT_EQ(Xxh3(data), before);
  data.back() ^= std::byte{0x80};
  EXPECT_NE(Xxh3(data), before);
}

TEST(DigestTest, DefaultIsZeroAndAnyNonZeroByteIsNot) {
  EXPECT_TRUE(Digest().IsZero());
  for (size_t i = 0; i < Digest::kSize; ++i) {
    Digest d;
    d.bytes[i] = 0x01;
    EXPECT_FALSE(d.IsZero()) << i;
  }
  EXPECT_FALSE(Sha256(std::string_view("")).IsZero());
}

TEST(DigestTest, HexIsLowercaseTwoDigitsPerByte) {
  EXPECT_EQ(CountingDigest().Hex(),
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  EXPECT_EQ(Digest().Hex(), std::string(64, '0'));
}

TEST(DigestTest, FromHexRoundTripsAndAcceptsUppercase) {
  Digest d = Sha256(std::string_view("abc"));
  Result<Digest> lower = Digest::FromHex(d.Hex());
  ASSERT_OK(lower);
  EXPECT_EQ(*lower, d);
  Result<Digest> upper =
      Digest::FromHex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
  ASSERT_OK(upper);
  EXPECT_EQ(*upper, d);
}

TEST(DigestTest, FromHexRejectsBadLengthsAndDigits) {
  const std::string good(kSha256Abc);
  EXPECT_TRUE(Digest::FromHex("").status().IsInvalidArgument());
  EXPECT_TRUE(Digest::FromHex(good.substr(0, 63)).status().IsInvalidArgument());
  EXPECT_TRUE(Digest::FromHex(good + "0").status().IsInvalidArgument());
  for (size_t pos : {size_t{0}, size_t{1}, size_t{31}, size_t{63}}) {
    for (char bad : {'g', 'G', ' ', '-', 'x', '\0'}) {
      std::string hex = good;
      hex[pos] = bad;
      EXPECT_TRUE(Digest::FromHex(hex).status().IsInvalidArgument()) << pos << " " << bad;
    }
  }
}

TEST(DigestTest, FromBytesRoundTripsAndRequiresExactly32Bytes) {
  Digest d = CountingDigest();
  Result<Digest> back = Digest::FromBytes(d.View());
  ASSERT_OK(back);
  EXPECT_EQ(*back, d);
  EXPECT_EQ(d.View().size(), Digest::kSize);
  for (size_t n : {size_t{0}, size_t{31}, size_t{33}, size_t{64}}) {
    Result<Digest> r = Digest::FromBytes(std::string(n, 'a'));
    EXPECT_TRUE(r.status().IsCorruption()) << n;
    EXPECT_THAT(r.status().message(), ::testing::HasSubstr(std::to_string(n) + " bytes"));
  }
}

TEST(DigestTest, OrdersBytewiseAndHashesEqualDigestsEqually) {
  Digest a, b;
  a.bytes[0] = 1;
  b.bytes[31] = 0xff;
  EXPECT_LT(b, a);  // the first byte decides
  EXPECT_EQ(DigestHash()(Sha256(std::string_view("x"))),
            DigestHash()(Sha256(std::string_view("x"))));
  std::unordered_set<Digest, DigestHash> set = {a, b, a, Sha256(std::string_view("x"))};
  EXPECT_EQ(set.size(), 3u);
}

TEST(IsAllZeroTest, EmptyAndAllZeroBuffersAreZero) {
  EXPECT_TRUE(IsAllZero({}));
  for (size_t n :
       {size_t{1}, size_t{7}, size_t{63}, size_t{64}, size_t{65}, size_t{200}, size_t{65536}}) {
    std::vector<std::byte> zeros(n);
    EXPECT_TRUE(IsAllZero(zeros)) << n;
  }
}

TEST(IsAllZeroTest, FindsANonZeroByteAtEveryPosition) {
  constexpr size_t kLen = 200;
  for (std::byte value : {std::byte{0x01}, std::byte{0x80}, std::byte{0xff}}) {
    for (size_t pos = 0; pos < kLen; ++pos) {
      std::vector<std::byte> buf(kLen);
      buf[pos] = value;
      ASSERT_FALSE(IsAllZero(buf)) << "position " << pos;
    }
  }
}

TEST(IsAllZeroTest, FindsANonZeroByteFromUnalignedStarts) {
  std::vector<std::byte> buf(256 + 8);
  for (size_t start = 1; start < 8; ++start) {
    for (size_t pos = 0; pos < 200; ++pos) {
      std::fill(buf.begin(), buf.end(), std::byte{0});
      buf[start + pos] = std::byte{0x10};
      ASSERT_FALSE(IsAllZero(std::span<const std::byte>(buf).subspan(start, 200)))
          << "start " << start << " position " << pos;
      // A non-zero byte just outside the span does not count.
      std::fill(buf.begin(), buf.end(), std::byte{0});
      buf[start - 1] = std::byte{1};
      buf[start + 200] = std::byte{1};
      ASSERT_TRUE(IsAllZero(std::span<const std::byte>(buf).subspan(start, 200)));
    }
  }
}

}  // namespace
}  // namespace rpfs
