#include "format/keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "support/status_matchers.h"

namespace rpfs::format {
namespace {

using ::testing::StartsWith;

bool IsPrefix(const std::string& prefix, const std::string& key) { return key.starts_with(prefix); }

ObjectId Object(ObjectKind kind, std::string_view seed) { return {kind, Sha256(seed)}; }

constexpr uint64_t kIds[] = {0,          1,
                             2,          255,
                             256,        65535,
                             65536,      1ull << 32,
                             1ull << 56, (1ull << 63) - 1,
                             1ull << 63, std::numeric_limits<uint64_t>::max()};

TEST(KeysTest, RpKeysOfOneVmSortByIdNumerically) {
  std::vector<std::string> keys;
  for (uint64_t id : kIds) keys.push_back(RpKey("web01", id));
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size());
}

TEST(KeysTest, RpKeyHasAStableLayout) {
  EXPECT_EQ(RpKey("web01", 258), std::string("Pweb01\0\0\0\0\0\0\0\x01\x02", 15));
  EXPECT_EQ(RpNameKey("web01", "day1"), std::string("Nweb01\0day1", 11));
  EXPECT_EQ(VmKey("web01"), "Vweb01");
}

TEST(KeysTest, RpPrefixesNest) {
  for (uint64_t id : kIds) {
    std::string key = RpKey("web01", id);
    EXPECT_TRUE(IsPrefix(RpPrefix("web01"), key));
    EXPECT_TRUE(IsPrefix(AllRpPrefix(), key));
  }
  EXPECT_TRUE(IsPrefix(AllRpPrefix(), RpPrefix("web01")));
}

TEST(KeysTest, RpPrefixOfOneVmDoesNotMatchAVmWithALongerName) {
  for (uint64_t id : kIds) {
    EXPECT_FALSE(IsPrefix(RpPrefix("a"), RpKey("ab", id))) << id;
    EXPECT_FALSE(IsPrefix(RpPrefix("ab"), RpKey("a", id))) << id;
    EXPECT_FALSE(IsPrefix(RpPrefix("a"), RpKey("a-b", id))) << id;
  }
  EXPECT_FALSE(IsPrefix(RpPrefix("a"), RpPrefix("ab")));
}

TEST(KeysTest, AllRpsOfAVmSortBeforeThoseOfALongerName) {
  EXPECT_LT(RpKey("a", std::numeric_limits<uint64_t>::max()), RpKey("ab", 0));
  EXPECT_LT(RpKey("a", std::numeric_limits<uint64_t>::max()), RpKey("a b", 0));
}

TEST(KeysTest, NameKeysSeparateVmFromRpName) {
  EXPECT_NE(RpNameKey("ab", "c"), RpNameKey("a", "bc"));
  EXPECT_NE(RpNameKey("a", "bc"), RpNameKey("ab", "c"));
  EXPECT_THAT(RpNameKey("web01", "day1"), StartsWith("N"));
}

TEST(KeysTest, VmNameRoundTripsThroughItsKey) {
  for (const char* vm : {"web01", "a", "Ünïcödé", "with space"}) {
    std::string key = VmKey(vm);
    EXPECT_TRUE(IsPrefix(VmPrefix(), key));
    EXPECT_EQ(VmNameFromKey(key), vm);
  }
}

TEST(KeysTest, TxKeysRoundTripAndSortNumerically) {
  std::vector<std::string> keys;
  for (uint64_t tx : kIds) {
    std::string key = TxKey(tx);
    EXPECT_EQ(key.size(), 9u);
    EXPECT_TRUE(IsPrefix(TxPrefix(), key));
    EXPECT_EQ(TxIdFromKey(key), tx);
    keys.push_back(key);
  }
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
}

TEST(KeysTest, TxObjectKeysNestUnderTheirTxOnly) {
  ObjectId id = Object(ObjectKind::kChunk, "c");
  std::string key = TxObjectKey(7, id);
  EXPECT_TRUE(IsPrefix(TxObjectPrefix(7), key));
  EXPECT_FALSE(IsPrefix(TxObjectPrefix(6), key));
  EXPECT_FALSE(IsPrefix(TxObjectPrefix(7 + 256), key));
  EXPECT_FALSE(IsPrefix(TxPrefix(), key));  // 'U' keys are not tx records
  Result<ObjectId> back = ObjectIdFromSuffix(key);
  ASSERT_OK(back);
  EXPECT_EQ(*back, id);
}

TEST(KeysTest, GcKeysCarryTheObject) {
  ObjectId id = Object(ObjectKind::kPage, "p");
  std::string key = GcKey(id);
  EXPECT_TRUE(IsPrefix(GcPrefix(), key));
  Result<ObjectId> back = ObjectIdFromSuffix(key);
  ASSERT_OK(back);
  EXPECT_EQ(*back, id);
}

TEST(KeysTest, ObjectKeysRoundTripForBothKinds) {
  for (ObjectKind kind : {ObjectKind::kChunk, ObjectKind::kPage}) {
    ObjectId id = Object(kind, "x");
    std::string key = ObjectKey(id);
    EXPECT_EQ(key.size(), 1 + Digest::kSize);
    EXPECT_EQ(key[0], static_cast<char>(kind));
    Result<ObjectId> back = ObjectIdFromKey(key);
    ASSERT_OK(back);
    EXPECT_EQ(*back, id);
    Result<ObjectId> from_suffix = ObjectIdFromSuffix(key);
    ASSERT_OK(from_suffix);
    EXPECT_EQ(*from_suffix, id);
  }
  EXPECT_NE(ObjectKey(Object(ObjectKind::kChunk, "x")), ObjectKey(Object(ObjectKind::kPage, "x")));
}

TEST(KeysTest, ObjectIdFromKeyRejectsBadLengthsAndKinds) {
  std::string good = ObjectKey(Object(ObjectKind::kChunk, "x"));
  for (size_t len : {size_t{0}, size_t{1}, size_t{32}, size_t{34}, size_t{66}}) {
    std::string key = good;
    key.resize(len, 'c');
    EXPECT_TRUE(ObjectIdFromKey(key).status().IsCorruption()) << len;
  }
  for (char kind : {'\0', 'C', 'P', 'x', '\xff'}) {
    std::string key = good;
    key[0] = kind;
    EXPECT_TRUE(ObjectIdFromKey(key).status().IsCorruption()) << kind;
  }
}

TEST(KeysTest, ObjectIdFromSuffixRejectsShortKeysAndBadKinds) {
  std::string good = GcKey(Object(ObjectKind::kChunk, "x"));
  EXPECT_TRUE(ObjectIdFromSuffix(good.substr(2)).status().IsCorruption());  // 32 bytes
  EXPECT_TRUE(ObjectIdFromSuffix("").status().IsCorruption());
  std::string bad_kind = good;
  bad_kind[1] = 'z';
  EXPECT_TRUE(ObjectIdFromSuffix(bad_kind).status().IsCorruption());
}

TEST(KeysTest, KeyFamiliesHaveDistinctLeadingBytes) {
  ObjectId id = Object(ObjectKind::kChunk, "x");
  const std::vector<std::string> keys = {
      StoreConfigKey(), CounterKey(kCounterRpId), VmKey("v"), RpKey("v", 1), RpNameKey("v", "r"),
      TxKey(1),         TxObjectKey(1, id),       GcKey(id)};
  std::set<char> first;
  for (const std::string& k : keys) first.insert(k.at(0));
  EXPECT_EQ(first.size(), keys.size());
  EXPECT_NE(CounterKey(kCounterRpId), CounterKey(kCounterTxId));
  EXPECT_EQ(std::set<std::string>({kCfObjects, kCfChunks, kCfPages}).size(), 3u);
}

}  // namespace
}  // namespace rpfs::format

namespace rpfs::format {
namespace {

TEST(KeysTest, RpNameIndexRoundTripsAndRejectsWrongSizes) {
  auto id = DecodeRpNameIndex(EncodeRpNameIndex(0x0102030405060708ull));
  ASSERT_OK(id);
  EXPECT_EQ(*id, 0x0102030405060708ull);
  EXPECT_TRUE(DecodeRpNameIndex("1234567").status().IsCorruption());
  EXPECT_TRUE(DecodeRpNameIndex("123456789").status().IsCorruption());
}

TEST(KeysTest, DeferredRpIdComesBackFromItsKey) {
  EXPECT_EQ(DeferredRpIdFromKey(DeferredRpKey(42)), 42u);
  EXPECT_EQ(DeferredRpIdFromKey(DeferredRpPrefix() + "short"), 0u);
}

}  // namespace
}  // namespace rpfs::format
