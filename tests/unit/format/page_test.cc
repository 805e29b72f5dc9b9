#include "format/page.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "format/records.h"
#include "support/guarded_copy.h"
#include "support/status_matchers.h"

namespace rpfs::format {
namespace {

using rpfs::testing::GuardedCopy;
using ::testing::HasSubstr;

Digest D(int i) { return Sha256(std::to_string(i)); }

TEST(PageTest, RoundTripsLevelAndEntries) {
  Page in{.level = 2, .entries = {D(1), D(2), Digest(), D(3), D(4)}};
  Result<Page> out = DecodePage(EncodePage(in), kDefaultPageFanout);
  ASSERT_OK(out);
  EXPECT_EQ(out->level, 2);
  EXPECT_EQ(out->entries, in.entries);  // an inner hole stays in place
}

TEST(PageTest, FullPageRoundTrips) {
  Page in{.level = 0, .entries = {}};
  for (uint32_t i = 0; i < kDefaultPageFanout; ++i) in.entries.push_back(D(static_cast<int>(i)));
  Result<Page> out = DecodePage(EncodePage(in), kDefaultPageFanout);
  ASSERT_OK(out);
  EXPECT_EQ(out->entries, in.entries);
}

TEST(PageTest, HasAStableEncoding) {
  Page p{.level = 3, .entries = {D(7)}};
  EXPECT_EQ(EncodePage(p), std::string("\x01\x03\x01") + std::string(D(7).View()));
}

TEST(PageTest, TrailingZeroEntriesAreNotWritten) {
  Page with_holes{.level = 1, .entries = {D(1), Digest(), D(2), Digest(), Digest()}};
  Page without{.level = 1, .entries = {D(1), Digest(), D(2)}};
  std::string enc = EncodePage(with_holes);
  EXPECT_EQ(enc, EncodePage(without));
  EXPECT_EQ(enc.size(), 3 + 3 * Digest::kSize);
  Result<Page> out = DecodePage(enc, kDefaultPageFanout);
  ASSERT_OK(out);
  EXPECT_EQ(out->entries, without.entries);
}

TEST(PageTest, AllHolePageHasNoEntries) {
  Page p{.level = 4, .entries = std::vector<Digest>(10)};
  std::string enc = EncodePage(p);
  EXPECT_EQ(enc, std::string("\x01\x04\x00", 3));
  Result<Page> out = DecodePage(enc, kDefaultPageFanout);
  ASSERT_OK(out);
  EXPECT_EQ(out->level, 4);
  EXPECT_TRUE(out->entries.empty());
}

TEST(PageTest, MoreEntriesThanFanoutIsCorruption) {
  Page p{.level = 0, .entries = {D(1), D(2), D(3), D(4), D(5)}};
  std::string enc = EncodePage(p);
  EXPECT_OK(DecodePage(enc, 5));
  Result<Page> r = DecodePage(enc, 4);
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_THAT(r.status().message(), HasSubstr("entry count"));
}

TEST(PageTest, EntryCountDisagreeingWithLengthIsCorruption) {
  std::string enc = EncodePage(Page{.level = 0, .entries = {D(1), D(2)}});
  EXPECT_TRUE(DecodePage(enc + "x", kDefaultPageFanout).status().IsCorruption());
  EXPECT_TRUE(DecodePage(enc + enc.substr(3), kDefaultPageFanout).status().IsCorruption());
  std::string huge_count = std::string("\x01\x00", 2) + std::string(9, '\xff') + "\x01";
  EXPECT_TRUE(DecodePage(huge_count, std::numeric_limits<uint32_t>::max()).status().IsCorruption());
}

TEST(PageTest, OtherVersionIsNotSupportedNamingIt) {
  std::string enc = EncodePage(Page{.level = 0, .entries = {D(1)}});
  enc[0] = 2;
  Result<Page> r = DecodePage(enc, kDefaultPageFanout);
  EXPECT_EQ(r.status().code(), Status::Code::kNotSupported);
  EXPECT_THAT(r.status().message(), HasSubstr("version 2"));
}

TEST(PageTest, EveryStrictPrefixFailsToDecode) {
  std::string enc = EncodePage(Page{.level = 1, .entries = {D(1), Digest(), D(2)}});
  for (size_t len = 0; len < enc.size(); ++len) {
    GuardedCopy in(std::string_view(enc).substr(0, len));
    Result<Page> r = DecodePage(in.view(), kDefaultPageFanout);
    EXPECT_TRUE(r.status().IsCorruption()) << len << ": " << r.status().ToString();
  }
}

TEST(TreeHeightTest, CountsLevelsAtFanoutBoundaries) {
  for (uint32_t f : {2u, 3u, 128u, 65535u}) {
    SCOPED_TRACE(f);
    const uint64_t f2 = uint64_t{f} * f;
    EXPECT_EQ(TreeHeight(0, f), 0u);
    EXPECT_EQ(TreeHeight(1, f), 1u);
    EXPECT_EQ(TreeHeight(f, f), 1u);
    EXPECT_EQ(TreeHeight(f + 1, f), 2u);
    EXPECT_EQ(TreeHeight(f2, f), 2u);
    EXPECT_EQ(TreeHeight(f2 + 1, f), 3u);
  }
}

TEST(TreeHeightTest, LargestDisksDoNotOverflow) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(TreeHeight(max, 2), 64u);
  EXPECT_EQ(TreeHeight(max, 128), 10u);  // 128^9 = 2^63 < max <= 128^10
  EXPECT_EQ(TreeHeight(max, 65535), 5u);
  EXPECT_EQ(TreeHeight(uint64_t{1} << 63, 2), 63u);
}

TEST(TreeHeightTest, RootCoversAllChunksAndOneLevelLessWouldNot) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 5000; ++i) {
    const uint32_t fanout = 2 + static_cast<uint32_t>(rng() % 300);
    const uint64_t chunks = 1 + (rng() >> (rng() % 64));
    const uint32_t h = TreeHeight(chunks, fanout);
    ASSERT_GE(h, 1u);
    // A tree of height k covers fanout^k chunks; one of height 0 covers none.
    unsigned __int128 covered = 1;
    for (uint32_t k = 0; k < h; ++k) covered *= fanout;
    const unsigned __int128 covered_below = h == 1 ? 0 : covered / fanout;
    ASSERT_GE(covered, chunks) << chunks << " chunks, fanout " << fanout;
    ASSERT_LT(covered_below, chunks) << chunks << " chunks, fanout " << fanout;
  }
}

}  // namespace
}  // namespace rpfs::format
