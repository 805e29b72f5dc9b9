#include "guest/byte_source.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace rpfs::guest
