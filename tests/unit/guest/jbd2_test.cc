#include "guest/jbd2.h"

#include <gtest/gtest.h>

#include "jbd2_test_writer.h"
#include "support/status_matchers.h"

namespace rpfs::guest {
namespace {

using testing::JournalWriter;
using testing::TestTransaction;

constexpr uint32_t kBs = 1024;

Result<JournalReplay> Replay(JournalWriter& w) {
  auto src = MemorySource(w.Build(), "journal");
  return ReplayJournal(*src, kBs);
}

class Jbd2Flags : public ::testing::TestWithParam<uint32_t> {};

TEST_P(Jbd2Flags, ReplaysCommittedRevokesAndEscapes) {
  JournalWriter w(kBs, 64, GetParam());
  w.Start(1, 7);
  std::string magic(4, '\0');
  StoreBe32(magic, 0, jbd2::kMagic);
  w.Add(TestTransaction{{{100, "a1"}, {101, "b1"}, {102, magic + "esc"}}, {}});
  w.Add(TestTransaction{{{103, "c2"}}, {101}});  // revokes block 101 of the first
  w.Add(TestTransaction{{{100, "a3"}}, {}, /*commit=*/false});
  auto r_or = Replay(w);
  ASSERT_OK(r_or.status());
  JournalReplay r = *r_or;
  EXPECT_EQ(r.transactions, 2u);
  ASSERT_EQ(r.blocks.count(100), 1u);
  EXPECT_EQ(r.blocks[100].substr(0, 2), "a1");  // the third transaction has no commit
  EXPECT_EQ(r.blocks.count(101), 0u);
  EXPECT_EQ(r.blocks[102].substr(0, 7), magic + "esc");
  EXPECT_EQ(r.blocks[103].size(), kBs);
}

INSTANTIATE_TEST_SUITE_P(All, Jbd2Flags,
                         ::testing::Values(0u, jbd2::kIncompatRevoke | jbd2::kIncompat64Bit,
                                           jbd2::kIncompatCsumV2,
                                           jbd2::kIncompatCsumV2 | jbd2::kIncompat64Bit,
                                           jbd2::kIncompatCsumV3,
                                           jbd2::kIncompatCsumV3 | jbd2::kIncompat64Bit));

TEST(Jbd2, BadCommitChecksumEndsTheLog) {
  JournalWriter w(kBs, 64, jbd2::kIncompatCsumV3);
  w.Start(1, 1);
  w.Add(TestTransaction{{{10, "x"}}, {}});
  TestTransaction bad{{{11, "y"}}, {}};
  bad.corrupt_commit_checksum = true;
  w.Add(bad);
  w.Add(TestTransaction{{{12, "z"}}, {}});
  auto r_or = Replay(w);
  ASSERT_OK(r_or.status());
  JournalReplay r = *r_or;
  EXPECT_EQ(r.transactions, 1u);
  EXPECT_EQ(r.blocks.count(11) + r.blocks.count(12), 0u);
}

TEST(Jbd2, BadDataChecksumSkipsOnlyThatBlock) {
  JournalWriter w(kBs, 64, jbd2::kIncompatCsumV2);
  w.Start(1, 1);
  TestTransaction t{{{10, "x"}, {11, "y"}}, {}};
  t.corrupt_data_checksum_of = 0;
  w.Add(t);
  auto r_or = Replay(w);
  ASSERT_OK(r_or.status());
  JournalReplay r = *r_or;
  EXPECT_EQ(r.blocks.count(10), 0u);
  EXPECT_EQ(r.blocks.count(11), 1u);
}

TEST(Jbd2, WrapsAroundTheCircularLog) {
  JournalWriter w(kBs, 16, jbd2::kIncompatCsumV3);
  w.Start(13, 5);  // blocks 13..15 then 1..
  w.Add(TestTransaction{{{20, "p"}, {21, "q"}, {22, "r"}}, {}});
  w.Add(TestTransaction{{{23, "s"}}, {}});
  auto r_or = Replay(w);
  ASSERT_OK(r_or.status());
  JournalReplay r = *r_or;
  EXPECT_EQ(r.transactions, 2u);
  EXPECT_EQ(r.blocks[22].substr(0, 1), "r");
  EXPECT_EQ(r.blocks[23].substr(0, 1), "s");
}

TEST(Jbd2, NothingToReplayAndDamagedSuperblock) {
  JournalWriter clean(kBs, 64, 0);
  clean.SetStartZero();
  auto r_or = Replay(clean);
  ASSERT_OK(r_or.status());
  JournalReplay r = *r_or;
  EXPECT_TRUE(r.blocks.empty());
  JournalWriter w(kBs, 64, 0);
  std::string image = w.Build();
  StoreBe32(image, 0x14, 999);  // s_first past s_maxlen
  auto src = MemorySource(image, "j");
  Result<JournalReplay> bad = ReplayJournal(*src, kBs);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().ToString().find("s_first"), std::string::npos);
  EXPECT_FALSE(ReplayJournal(*MemorySource(w.Build(), "j"), 4096).ok());
}

TEST(Jbd2, OverlayReadsAcrossBlocks) {
  auto base = MemorySource(std::string(4 * kBs, 'b'), "base");
  BlockOverlay blocks;
  blocks[1] = std::string(kBs, 'o');
  blocks[99] = std::string(kBs, 'x');  // past the end: ignored
  SourcePtr v = WithOverlay(base, blocks, kBs);
  std::string out(kBs + 2, '\0');
  ASSERT_OK(v->ReadAt(kBs - 1, std::as_writable_bytes(std::span(out))));
  EXPECT_EQ(out, "b" + std::string(kBs, 'o') + "b");
}

}  // namespace
}  // namespace rpfs::guest
