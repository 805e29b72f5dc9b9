#include "format/chunk_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "support/guarded_copy.h"
#include "support/images.h"
#include "support/status_matchers.h"
#include "util/bytes.h"

namespace rpfs::format {
namespace {

using rpfs::testing::GuardedCopy;
using rpfs::testing::PatternBytes;
using rpfs::testing::TextBytes;
using ::testing::HasSubstr;

std::string Encode(std::span<const std::byte> raw, int level = 3) {
  ChunkEncoder enc(level);
  std::string body;
  enc.Encode(raw, &body);
  return body;
}

// Decodes into a buffer of `size` bytes pre-filled with 0xAA.
Status DecodeInto(std::string_view body, size_t size, std::vector<std::byte>* out) {
  out->assign(size, std::byte{0xAA});
  ChunkDecoder dec;
  return dec.Decode(body, *out);
}

TEST(ChunkCodecTest, CompressibleDataUsesZstdAndShrinks) {
  std::vector<std::byte> raw = TextBytes(1, 64 * 1024);
  std::string body = Encode(raw);
  EXPECT_EQ(body[0], static_cast<char>(Codec::kZstd));
  EXPECT_LT(body.size(), raw.size() / 2);
  std::vector<std::byte> out;
  ASSERT_OK(DecodeInto(body, raw.size(), &out));
  EXPECT_EQ(out, raw);
}

TEST(ChunkCodecTest, AllZeroChunkCompressesToAFewBytes) {
  std::vector<std::byte> raw(64 * 1024);
  std::string body = Encode(raw);
  EXPECT_EQ(body[0], static_cast<char>(Codec::kZstd));
  EXPECT_LT(body.size(), 64u);
  std::vector<std::byte> out;
  ASSERT_OK(DecodeInto(body, raw.size(), &out));
  EXPECT_EQ(out, raw);
}

TEST(ChunkCodecTest, RandomDataIsStoredRaw) {
  std::vector<std::byte> raw = PatternBytes(2, 64 * 1024);
  std::string body = Encode(raw);
  EXPECT_EQ(body[0], static_cast<char>(Codec::kRaw));
  const size_t header = 1 + 3 + 8;  // codec, varint(65536), checksum
  ASSERT_EQ(body.size(), header + raw.size());
  EXPECT_EQ(body.substr(header), AsChars(raw));
  std::vector<std::byte> out;
  ASSERT_OK(DecodeInto(body, raw.size(), &out));
  EXPECT_EQ(out, raw);
}

// Under UBSan this currently reports memcpy(nullptr, ..., 0) in ChunkDecoder::Decode.
TEST(ChunkCodecTest, EmptyInputRoundTrips) {
  std::string body = Encode({});
  Result<uint64_t> len = RawLength(body);
  ASSERT_OK(len);
  EXPECT_EQ(*len, 0u);
  std::vector<std::byte> out;
  Status s = DecodeInto(body, 0, &out);
  EXPECT_OK(s);
}

class ChunkCodecLevelTest : public ::testing::TestWithParam<int> {};

TEST_P(ChunkCodecLevelTest, RoundTripsManySizesAndContents) {
  ChunkEncoder enc(GetParam());
  ChunkDecoder dec;  // one of each, reused across chunks as workers do
  std::string body = "stale contents that Encode must replace";
  for (size_t size : {size_t{1}, size_t{100}, size_t{4096}, size_t{65536}, size_t{1 << 20}}) {
    for (const std::vector<std::byte>& raw : {TextBytes(size, size), PatternBytes(size, size)}) {
      enc.Encode(raw, &body);
      Result<uint64_t> len = RawLength(body);
      ASSERT_OK(len);
      ASSERT_EQ(*len, size);
      std::vector<std::byte> out(size);
      Status s = dec.Decode(body, out);
      ASSERT_OK(s) << size << ": " << s.ToString();
      ASSERT_EQ(out, raw) << size;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Levels, ChunkCodecLevelTest, ::testing::Values(1, 3, -1, 19),
                         [](const auto& p) {
                           return p.param < 0 ? "minus" + std::to_string(-p.param)
                                              : std::to_string(p.param);
                         });

constexpr size_t kHeaderBytes = 1 + 2 + 8;  // codec, varint(raw length < 16384), XXH3

// Flips every byte of the body in turn (three ways) and decodes. Returns how many flips
// Decode noticed; fails the test if one ever yields OK with other bytes than `raw`.
size_t FlipsDetected(const std::vector<std::byte>& raw, const std::string& body) {
  size_t detected = 0;
  for (size_t pos = 0; pos < body.size(); ++pos) {
    for (unsigned mask : {0x01u, 0x80u, 0xffu}) {
      std::string bad = body;
      bad[pos] = static_cast<char>(static_cast<unsigned char>(bad[pos]) ^ mask);
      GuardedCopy in(bad);
      std::vector<std::byte> out;
      Status s = DecodeInto(in.view(), raw.size(), &out);
      if (!s.ok()) {
        EXPECT_TRUE(s.IsCorruption()) << s.ToString();
        ++detected;
        continue;
      }
      // zstd ignores a few bits (e.g. the frame header's unused bit), so a flip there
      // still decodes to the right bytes. The contract is "never wrong bytes".
      EXPECT_GE(pos, kHeaderBytes) << "flip 0x" << std::hex << mask << " in the header";
      EXPECT_EQ(out, raw) << "flip 0x" << std::hex << mask << " at byte " << std::dec << pos;
    }
  }
  return detected;
}

TEST(ChunkCodecTest, FlippedByteInACompressedBodyNeverYieldsWrongBytes) {
  for (uint64_t seed : {5, 6, 7}) {
    std::vector<std::byte> raw = TextBytes(seed, 2000);
    std::string body = Encode(raw);
    ASSERT_EQ(body[0], static_cast<char>(Codec::kZstd));
    const size_t flips = 3 * body.size();
    EXPECT_GT(FlipsDetected(raw, body), flips * 95 / 100) << "seed " << seed;
  }
}

TEST(ChunkCodecTest, FlippedByteAnywhereInARawBodyFails) {
  std::vector<std::byte> raw = PatternBytes(6, 200);
  std::string body = Encode(raw);
  ASSERT_EQ(body[0], static_cast<char>(Codec::kRaw));
  EXPECT_EQ(FlipsDetected(raw, body), 3 * body.size());
}

TEST(ChunkCodecTest, FlippedHeaderByteAlwaysFails) {
  for (const std::vector<std::byte>& raw : {TextBytes(12, 2000), PatternBytes(12, 2000)}) {
    std::string body = Encode(raw);
    for (size_t pos = 0; pos < kHeaderBytes; ++pos) {
      for (unsigned mask = 1; mask < 256; mask <<= 1) {
        std::string bad = body;
        bad[pos] = static_cast<char>(static_cast<unsigned char>(bad[pos]) ^ mask);
        std::vector<std::byte> out;
        EXPECT_TRUE(DecodeInto(bad, raw.size(), &out).IsCorruption()) << pos << " " << mask;
      }
    }
  }
}

TEST(ChunkCodecTest, EveryTruncationFails) {
  for (const std::vector<std::byte>& raw : {TextBytes(7, 3000), PatternBytes(7, 300)}) {
    std::string body = Encode(raw);
    for (size_t len = 0; len < body.size(); ++len) {
      GuardedCopy in(std::string_view(body).substr(0, len));
      std::vector<std::byte> out;
      EXPECT_TRUE(DecodeInto(in.view(), raw.size(), &out).IsCorruption()) << len;
    }
  }
}

TEST(ChunkCodecTest, TrailingGarbageFails) {
  for (const std::vector<std::byte>& raw : {TextBytes(8, 3000), PatternBytes(8, 300)}) {
    std::vector<std::byte> out;
    EXPECT_TRUE(DecodeInto(Encode(raw) + "x", raw.size(), &out).IsCorruption());
  }
}

TEST(ChunkCodecTest, WrongOutputSizeFailsNamingBothSizes) {
  for (const std::vector<std::byte>& raw : {TextBytes(9, 4096), PatternBytes(9, 4096)}) {
    std::string body = Encode(raw);
    for (size_t size : {size_t{0}, size_t{4095}, size_t{4097}, size_t{8192}}) {
      std::vector<std::byte> out;
      Status s = DecodeInto(body, size, &out);
      EXPECT_TRUE(s.IsCorruption()) << size;
      EXPECT_THAT(s.message(), HasSubstr("4096"));
    }
  }
}

TEST(ChunkCodecTest, RawLengthReadsTheHeaderOnly) {
  std::string body = Encode(TextBytes(10, 12345));
  Result<uint64_t> len = RawLength(body);
  ASSERT_OK(len);
  EXPECT_EQ(*len, 12345u);
  Result<uint64_t> header_only = RawLength(body.substr(0, 1 + 2 + 8));  // varint(12345) is 2 bytes
  ASSERT_OK(header_only);
  EXPECT_EQ(*header_only, 12345u);
}

TEST(ChunkCodecTest, RawLengthRejectsTruncatedHeadersAndUnknownCodecs) {
  std::string body = Encode(PatternBytes(11, 100));
  for (size_t len = 0; len < 1 + 1 + 8; ++len) {
    EXPECT_TRUE(RawLength(body.substr(0, len)).status().IsCorruption()) << len;
  }
  for (char codec : {'\x02', '\x7f', '\xff'}) {
    std::string bad = body;
    bad[0] = codec;
    Result<uint64_t> r = RawLength(bad);
    EXPECT_TRUE(r.status().IsCorruption());
    EXPECT_THAT(r.status().message(), HasSubstr("codec"));
    std::vector<std::byte> out;
    EXPECT_TRUE(DecodeInto(bad, 100, &out).IsCorruption());
  }
}

}  // namespace
}  // namespace rpfs::format
