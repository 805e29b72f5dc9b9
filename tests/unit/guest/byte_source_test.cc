#include "guest/byte_source.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/status_matchers.h"

namespace rpfs::guest {
namespace {

std::string Read(const ByteSource& s, uint64_t off, size_t n) {
  std::string out(n, '\0');
  Status st = s.ReadAt(off, std::as_writable_bytes(std::span(out.data(), n)));
  return st.ok() ? out : "ERROR: " + st.message();
}

TEST(ByteSourceTest, SliceReadsItsRangeAndRefusesPastItsEnd) {
  SourcePtr disk = MemorySource("0123456789", "vda");
  auto part = Slice(disk, 2, 5, "vda1");
  ASSERT_OK(part.status());
  EXPECT_EQ(Read(**part, 0, 5), "23456");
  EXPECT_EQ(Read(**part, 4, 2), "ERROR: vda1: read of 2 bytes at 4 is past its end (5 bytes)");
  EXPECT_FALSE(Slice(disk, 8, 3, "vda2").ok());
}

TEST(ByteSourceTest, MappedJoinsSegmentsAndZeros) {
  SourcePtr disk = MemorySource("abcdefghij", "vda");
  auto lv = Mapped(disk, {{0, 6, 3, false}, {3, 0, 2, true}, {5, 1, 2, false}}, "vg-lv");
  ASSERT_OK(lv.status());
  EXPECT_EQ((*lv)->size(), 7u);
  EXPECT_EQ(Read(**lv, 0, 7), std::string("ghi\0\0bc", 7));
  EXPECT_EQ(Read(**lv, 2, 4), std::string("i\0\0b", 4));
  EXPECT_FALSE(Mapped(disk, {{0, 8, 3, false}}, "bad").ok());  // past the base
  EXPECT_FALSE(Mapped(disk, {{1, 0, 3, false}}, "gap").ok());  // not from 0
  EXPECT_FALSE(Mapped(disk, {}, "empty").ok());
}

// A base that fingerprints a range as "<offset>+<length>" (as a disk would from its chunks).
class FingerprintedSource final : public ByteSource {
 public:
  uint64_t size() const override { return 100; }
  std::string name() const override { return "disk"; }
  Status ReadAt(uint64_t, std::span<std::byte> out) const override {
    std::fill(out.begin(), out.end(), std::byte{1});
    return Status::OK();
  }
  Result<std::string> Fingerprint(uint64_t offset, uint64_t length) const override {
    return std::to_string(offset) + "+" + std::to_string(length);
  }
};

TEST(ByteSourceTest, FingerprintsGoThroughSlicesAndMapsToTheBase) {
  SourcePtr disk = std::make_shared<FingerprintedSource>();
  auto part = Slice(disk, 10, 50, "vda1");
  ASSERT_OK(part.status());
  EXPECT_EQ(*(*part)->Fingerprint(5, 20), "15+20");
  EXPECT_FALSE((*part)->Fingerprint(40, 20).ok());  // past the slice
  auto lv = Mapped(disk, {{0, 60, 10, false}, {10, 0, 5, true}, {15, 20, 5, false}}, "vg-lv");
  ASSERT_OK(lv.status());
  auto a = (*lv)->Fingerprint(8, 10);  // 2 bytes at 68, 5 zeros, 3 bytes at 20
  ASSERT_OK(a.status());
  EXPECT_EQ(*a,
            "4|68+2"
            "2|z5"
            "4|20+3");
  EXPECT_NE(*a, *(*lv)->Fingerprint(7, 10));
  // A source that cannot tell says nothing (and nothing through a map of it either).
  SourcePtr mem = MemorySource("abcdefghij", "vda");
  EXPECT_EQ(*mem->Fingerprint(0, 10), "");
  EXPECT_FALSE(mem->Fingerprint(5, 6).ok());
  auto over_mem = Mapped(mem, {{0, 0, 4, false}}, "lv");
  ASSERT_OK(over_mem.status());
  EXPECT_EQ(*(*over_mem)->Fingerprint(0, 4), "");
}

}  // namespace
}  // namespace rpfs::guest
