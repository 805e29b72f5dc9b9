#include "util/coding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "support/guarded_copy.h"
#include "support/status_matchers.h"

namespace rpfs {
namespace {

using testing::GuardedCopy;
using ::testing::HasSubstr;

constexpr uint64_t kEdgeValues[] = {0,
                                    1,
                                    127,
                                    128,
                                    255,
                                    300,
                                    16383,
                                    16384,
                                    (uint64_t{1} << 32) - 1,
                                    uint64_t{1} << 32,
                                    (uint64_t{1} << 63) - 1,
                                    uint64_t{1} << 63,
                                    std::numeric_limits<uint64_t>::max()};

std::string Varint(uint64_t v) {
  std::string out;
  Encoder(&out).PutVarint(v);
  return out;
}

std::string SignedVarint(int64_t v) {
  std::string out;
  Encoder(&out).PutSignedVarint(v);
  return out;
}

TEST(CodingTest, VarintEdgeValuesRoundTrip) {
  for (uint64_t v : kEdgeValues) {
    SCOPED_TRACE(v);
    std::string enc = Varint(v);
    Decoder d(enc, "test");
    Result<uint64_t> got = d.GetVarint();
    ASSERT_OK(got);
    EXPECT_EQ(*got, v);
    EXPECT_TRUE(d.done());
  }
}

TEST(CodingTest, VarintUsesSevenBitsPerByte) {
  EXPECT_EQ(Varint(0), std::string(1, '\0'));
  EXPECT_EQ(Varint(127), "\x7f");
  EXPECT_EQ(Varint(128), "\x80\x01");
  EXPECT_EQ(Varint(300), "\xac\x02");
  EXPECT_EQ(Varint(16383).size(), 2u);
  EXPECT_EQ(Varint(16384).size(), 3u);
  EXPECT_EQ(Varint(uint64_t{1} << 63), std::string(9, '\x80') + "\x01");
  EXPECT_EQ(Varint(std::numeric_limits<uint64_t>::max()), std::string(9, '\xff') + "\x01");
}

TEST(CodingTest, SignedVarintUsesZigzag) {
  EXPECT_EQ(SignedVarint(0), std::string(1, '\0'));
  EXPECT_EQ(SignedVarint(-1), "\x01");
  EXPECT_EQ(SignedVarint(1), "\x02");
  EXPECT_EQ(SignedVarint(-2), "\x03");
  EXPECT_EQ(SignedVarint(-64), "\x7f");  // small negatives stay one byte
  EXPECT_EQ(SignedVarint(-65).size(), 2u);
}

TEST(CodingTest, SignedVarintRoundTripsNegativesAndExtremes) {
  const int64_t values[] = {0,
                            -1,
                            1,
                            -64,
                            64,
                            -65,
                            -300,
                            -1'000'000'000'000,
                            std::numeric_limits<int64_t>::min(),
                            std::numeric_limits<int64_t>::min() + 1,
                            std::numeric_limits<int64_t>::max()};
  for (int64_t v : values) {
    SCOPED_TRACE(v);
    std::string enc = SignedVarint(v);
    Decoder d(enc, "test");
    Result<int64_t> got = d.GetSignedVarint();
    ASSERT_OK(got);
    EXPECT_EQ(*got, v);
    EXPECT_TRUE(d.done());
  }
}

TEST(CodingTest, RandomVarintsRoundTrip) {
  std::mt19937_64 rng(42);
  std::string enc;
  Encoder e(&enc);
  std::vector<uint64_t> u;
  std::vector<int64_t> s;
  for (int i = 0; i < 2000; ++i) {
    u.push_back(rng() >> (rng() % 64));  // all magnitudes
    s.push_back(static_cast<int64_t>(rng()) >> (rng() % 64));
    e.PutVarint(u.back());
    e.PutSignedVarint(s.back());
  }
  Decoder d(enc, "test");
  for (size_t i = 0; i < u.size(); ++i) {
    Result<uint64_t> a = d.GetVarint();
    Result<int64_t> b = d.GetSignedVarint();
    ASSERT_OK(a) << i;
    ASSERT_OK(b) << i;
    ASSERT_EQ(*a, u[i]);
    ASSERT_EQ(*b, s[i]);
  }
  EXPECT_OK(d.ExpectEnd());
}

TEST(CodingTest, FixedIntegersAreLittleEndianAndRoundTrip) {
  std::string enc;
  Encoder e(&enc);
  e.PutFixed32(0x01020304);
  e.PutFixed64(0x0102030405060708);
  e.PutFixed32(std::numeric_limits<uint32_t>::max());
  e.PutFixed64(std::numeric_limits<uint64_t>::max());
  e.PutFixed32(0);
  EXPECT_EQ(enc.substr(0, 12), "\x04\x03\x02\x01\x08\x07\x06\x05\x04\x03\x02\x01");
  ASSERT_EQ(enc.size(), 4u + 8u + 4u + 8u + 4u);

  Decoder d(enc, "test");
  EXPECT_EQ(*d.GetFixed32(), 0x01020304u);
  EXPECT_EQ(*d.GetFixed64(), 0x0102030405060708u);
  EXPECT_EQ(*d.GetFixed32(), std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(*d.GetFixed64(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(*d.GetFixed32(), 0u);
  EXPECT_TRUE(d.done());
}

TEST(CodingTest, StringsRoundTripIncludingEmptyBinaryAndLong) {
  const std::string values[] = {"", "vda", std::string("a\0b\xff", 4), std::string(300, 'x')};
  std::string enc;
  Encoder e(&enc);
  for (const std::string& v : values) e.PutString(v);
  EXPECT_EQ(enc.substr(0, 1), std::string(1, '\0'));  // empty: just a zero length
  Decoder d(enc, "test");
  for (const std::string& v : values) {
    Result<std::string> got = d.GetString();
    ASSERT_OK(got);
    EXPECT_EQ(*got, v);
  }
  EXPECT_TRUE(d.done());
}

TEST(CodingTest, BytesAndU8RoundTrip) {
  std::string enc;
  Encoder e(&enc);
  e.PutU8(0);
  e.PutU8(0xff);
  e.PutBytes("raw");
  Decoder d(enc, "test");
  EXPECT_EQ(d.remaining(), 5u);
  EXPECT_EQ(*d.GetU8(), 0);
  EXPECT_EQ(*d.GetU8(), 0xff);
  EXPECT_EQ(*d.GetBytes(3), "raw");
  EXPECT_TRUE(d.done());
}

// One of every field, the way a record uses them.
std::string EncodeSample() {
  std::string out;
  Encoder e(&out);
  e.PutU8(1);
  e.PutFixed32(0xdeadbeef);
  e.PutFixed64(0x0123456789abcdef);
  e.PutVarint(std::numeric_limits<uint64_t>::max());
  e.PutSignedVarint(-12345);
  e.PutString("web01");
  e.PutBytes("12345");
  e.PutString("");
  return out;
}

Status DecodeSample(std::string_view in) {
  Decoder d(in, "sample record");
  RPFS_ASSIGN_OR_RETURN(uint8_t version, d.GetU8());
  RPFS_ASSIGN_OR_RETURN(uint32_t f32, d.GetFixed32());
  RPFS_ASSIGN_OR_RETURN(uint64_t f64, d.GetFixed64());
  RPFS_ASSIGN_OR_RETURN(uint64_t v, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(int64_t sv, d.GetSignedVarint());
  RPFS_ASSIGN_OR_RETURN(std::string s, d.GetString());
  RPFS_ASSIGN_OR_RETURN(std::string_view b, d.GetBytes(5));
  RPFS_ASSIGN_OR_RETURN(std::string empty, d.GetString());
  RPFS_RETURN_IF_ERROR(d.ExpectEnd());
  if (version != 1 || f32 != 0xdeadbeef || f64 != 0x0123456789abcdef ||
      v != std::numeric_limits<uint64_t>::max() || sv != -12345 || s != "web01" || b != "12345" ||
      !empty.empty()) {
    return Status::Aborted("decoded different values");
  }
  return Status::OK();
}

TEST(CodingTest, SampleRecordRoundTrips) {
  std::string enc = EncodeSample();
  GuardedCopy in(enc);
  Status s = DecodeSample(in.view());
  EXPECT_OK(s);
}

TEST(CodingTest, EveryTruncationFailsWithCorruptionWithoutReadingPastTheEnd) {
  std::string enc = EncodeSample();
  for (size_t len = 0; len < enc.size(); ++len) {
    SCOPED_TRACE(len);
    GuardedCopy in(std::string_view(enc).substr(0, len));  // reading past it faults
    Status s = DecodeSample(in.view());
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr("sample record"));
  }
}

TEST(CodingTest, GettersOnEmptyInputFailWithCorruption) {
  GuardedCopy empty("");
  Decoder d(empty.view(), "empty thing");
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.remaining(), 0u);
  EXPECT_TRUE(d.GetU8().status().IsCorruption());
  EXPECT_TRUE(d.GetFixed32().status().IsCorruption());
  EXPECT_TRUE(d.GetFixed64().status().IsCorruption());
  EXPECT_TRUE(d.GetVarint().status().IsCorruption());
  EXPECT_TRUE(d.GetSignedVarint().status().IsCorruption());
  EXPECT_TRUE(d.GetString().status().IsCorruption());
  EXPECT_TRUE(d.GetBytes(1).status().IsCorruption());
  EXPECT_OK(d.GetBytes(0));
  EXPECT_THAT(d.GetU8().status().message(), HasSubstr("empty thing"));
}

TEST(CodingTest, StringLongerThanItsInputIsCorruption) {
  std::string enc = Varint(6) + "abc";
  GuardedCopy in(enc);
  Decoder d(in.view(), "test");
  EXPECT_TRUE(d.GetString().status().IsCorruption());
}

TEST(CodingTest, HugeStringLengthIsCorruptionNotAnAllocation) {
  std::string enc = Varint(std::numeric_limits<uint64_t>::max()) + "abc";
  GuardedCopy in(enc);
  Decoder d(in.view(), "test");
  EXPECT_TRUE(d.GetString().status().IsCorruption());
}

TEST(CodingTest, OverlongVarintIsRejected) {
  const std::string bad[] = {
      std::string(10, '\x80') + std::string(1, '\0'),  // 11 bytes
      std::string(10, '\xff') + "\x01",                // 11 bytes
      std::string(9, '\xff') + "\x02",                 // 10 bytes, more than 64 bits
      std::string(9, '\x80') + "\x81",                 // 10th byte continues
      std::string(9, '\x80') + "\x7f",
      std::string(20, '\x80'),
  };
  for (const std::string& enc : bad) {
    SCOPED_TRACE(enc.size());
    GuardedCopy in(enc);
    Decoder d(in.view(), "test");
    Result<uint64_t> got = d.GetVarint();
    EXPECT_TRUE(got.status().IsCorruption()) << (got.ok() ? std::to_string(*got) : "");
  }
}

TEST(CodingTest, TenByteVarintWithTopBitIsAccepted) {
  GuardedCopy in(std::string(9, '\x80') + "\x01");
  Decoder d(in.view(), "test");
  Result<uint64_t> got = d.GetVarint();
  ASSERT_OK(got);
  EXPECT_EQ(*got, uint64_t{1} << 63);
}

TEST(CodingTest, ExpectEndReportsTrailingBytes) {
  std::string enc = Varint(5) + "xy";
  Decoder d(enc, "vm record");
  ASSERT_OK(d.GetVarint());
  Status s = d.ExpectEnd();
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_THAT(s.message(), HasSubstr("vm record"));
  EXPECT_THAT(s.message(), HasSubstr("2 unexpected trailing bytes"));
  ASSERT_OK(d.GetBytes(2));
  EXPECT_OK(d.ExpectEnd());
}

std::string BigEndian(uint64_t v) {
  std::string out;
  PutBigEndian64(&out, v);
  return out;
}

TEST(BigEndianTest, WritesMostSignificantByteFirstAndRoundTrips) {
  EXPECT_EQ(BigEndian(0x0102030405060708), "\x01\x02\x03\x04\x05\x06\x07\x08");
  EXPECT_EQ(BigEndian(0), std::string(8, '\0'));
  for (uint64_t v : kEdgeValues) {
    std::string enc = BigEndian(v);
    ASSERT_EQ(enc.size(), 8u);
    EXPECT_EQ(GetBigEndian64(enc), v);
  }
}

TEST(BigEndianTest, ByteOrderEqualsNumericOrder) {
  std::vector<uint64_t> values(std::begin(kEdgeValues), std::end(kEdgeValues));
  std::mt19937_64 rng(7);
  for (int i = 0; i < 500; ++i) values.push_back(rng() >> (rng() % 64));
  for (uint64_t a : values) {
    for (uint64_t b : {values[0], values[3], values[7], values[11], values[40], values[300]}) {
      int cmp = BigEndian(a).compare(BigEndian(b));  // bytewise, like RocksDB's comparator
      ASSERT_EQ(cmp < 0, a < b) << a << " vs " << b;
      ASSERT_EQ(cmp == 0, a == b) << a << " vs " << b;
    }
  }
  std::sort(values.begin(), values.end());
  std::vector<std::string> keys;
  for (uint64_t v : values) keys.push_back(BigEndian(v));
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
}

}  // namespace
}  // namespace rpfs
