// Incremental RPs store only what changed; deletes free exactly their unique data.
#include "repo_fixture.h"
#include "support/status_matchers.h"

namespace rpfs::testing {
namespace {

constexpr uint64_t kChunk = 64 * 1024;

class SpaceTest : public RepoTest {
 protected:
  StoreSummary Summary() {
    auto s = repo_->Summary();
    EXPECT_OK(s);
    return s.ok() ? *s : StoreSummary{};
  }
};

TEST_F(SpaceTest, OnePercentChangeAddsAboutOnePercent) {
  std::string img = Path("vda.raw");
  const uint64_t chunks = 512;  // 32 MiB
  MakeSparseFile(img, chunks * kChunk);
  WriteAt(img, 0, TextBytes(1, chunks * kChunk));
  ASSERT_OK(repo_->AddVm("vm", {{"vda", img, std::nullopt}}));
  auto first = repo_->CreateRp("vm", "day1", {});
  ASSERT_OK(first);
  StoreSummary s1 = Summary();
  // Change 5 chunks (~1 %) spread over the disk.
  for (uint64_t i = 0; i < 5; ++i) WriteAt(img, (i * 100 + 3) * kChunk, TextBytes(100 + i, kChunk));
  auto second = repo_->CreateRp("vm", "day2", {});
  ASSERT_OK(second);
  StoreSummary s2 = Summary();

  EXPECT_EQ(s2.chunk_count - s1.chunk_count, 5u);
  uint64_t new_chunk_bytes = s2.chunk_stored_bytes - s1.chunk_stored_bytes;
  // The new RP's chunk data is about 1 % of the first one's (compressed the same way).
  EXPECT_LT(new_chunk_bytes, first->stored_bytes * 2 / 100);
  EXPECT_GT(new_chunk_bytes, 0u);
  // Metadata: 5 changed leaves plus the path to the root, not a map of the whole disk.
  uint64_t new_pages = s2.page_count - s1.page_count;
  EXPECT_LE(new_pages, 5u + 2u);
  EXPECT_LT(s2.page_bytes - s1.page_bytes, 40u * 1024);
  EXPECT_EQ(second->added_bytes, new_chunk_bytes + (s2.page_bytes - s1.page_bytes));
}

TEST_F(SpaceTest, MetadataOfHugeSparseDiskGrowsWithDataNotSize) {
  std::string img = Path("huge.raw");
  MakeSparseFile(img, 1ull << 40);  // 1 TiB, sparse
  for (uint64_t i = 0; i < 10; ++i) {
    WriteAt(img, i * (100ull << 30), PatternBytes(i, 1 << 20));  // 10 x 1 MiB far apart
  }
  ASSERT_OK(repo_->AddVm("big", {{"vda", img, std::nullopt}}));
  auto rp = repo_->CreateRp("big", "r1", {});
  ASSERT_OK(rp);
  StoreSummary s = Summary();
  EXPECT_EQ(rp->logical_bytes, 1ull << 40);
  EXPECT_EQ(rp->data_bytes, 10u << 20);
  // 10 leaves + at most 10 pages per upper level, a few KiB each: far below a full map
  // (16 Mi chunks x 32 bytes = 512 MiB).
  EXPECT_LT(s.page_bytes, 200u * 1024);
  auto reader = repo_->OpenDisk("big", "r1", "vda");
  ASSERT_OK(reader);
  std::vector<std::byte> buf(4096);
  ASSERT_OK((*reader)->ReadAt(3 * (100ull << 30) + 8192, buf));
  auto want = PatternBytes(3, 1 << 20);
  EXPECT_TRUE(std::equal(buf.begin(), buf.end(), want.begin() + 8192));
  ASSERT_OK((*reader)->ReadAt(50ull << 30, buf));
  EXPECT_TRUE(std::all_of(buf.begin(), buf.end(), [](std::byte b) { return b == std::byte{0}; }));
}

TEST_F(SpaceTest, SecondVmFromSameTemplateDedups) {
  std::string a = Path("template-a.raw"), b = Path("template-b.raw");
  MakeSparseFile(a, 64 * kChunk);
  WriteAt(a, 0, TextBytes(7, 64 * kChunk));
  CopyFile(a, b);
  ASSERT_OK(repo_->AddVm("web01", {{"vda", a, std::nullopt}}));
  ASSERT_OK(repo_->AddVm("web02", {{"vda", b, std::nullopt}}));
  ASSERT_OK(repo_->CreateRp("web01", "base", {}));
  StoreSummary s1 = Summary();
  auto second = repo_->CreateRp("web02", "base", {});
  ASSERT_OK(second);
  StoreSummary s2 = Summary();
  EXPECT_EQ(s2.chunk_count, s1.chunk_count);
  EXPECT_EQ(s2.page_count, s1.page_count);  // identical maps are shared too
  EXPECT_EQ(second->added_bytes, 0u);
}

TEST_F(SpaceTest, DeletingFirstMiddleAndLastKeepsOthersIdenticalAndFreesPredictedBytes) {
  std::string img = Path("vda.raw");
  MakeSparseFile(img, 48 * kChunk + 17);
  WriteAt(img, 0, TextBytes(1, 20 * kChunk));
  ASSERT_OK(repo_->AddVm("vm", {{"vda", img, std::nullopt}}));
  std::vector<std::string> names = {"r1", "r2", "r3", "r4", "r5"};
  for (size_t i = 0; i < names.size(); ++i) {
    WriteAt(img, (i * 7 + 2) * kChunk, PatternBytes(50 + i, 2 * kChunk));
    CreateAndSnapshot("vm", names[i], {{"vda", img}});
  }
  for (const char* victim : {"r3", "r1", "r5"}) {  // middle, first, last
    auto predicted = repo_->BytesFreedByDeleting("vm", {victim});
    ASSERT_OK(predicted);
    StoreSummary before = Summary();
    auto freed = repo_->DeleteRps("vm", {victim});
    ASSERT_OK(freed);
    StoreSummary after = Summary();
    EXPECT_EQ(*freed, *predicted) << victim;
    EXPECT_GT(*freed, 0u) << victim << " had unique chunks";
    EXPECT_EQ(
        before.chunk_stored_bytes + before.page_bytes - after.chunk_stored_bytes - after.page_bytes,
        *freed)
        << victim;
    EXPECT_TRUE(repo_->GetRp("vm", victim).status().IsNotFound());
    auto rps = repo_->ListRps("vm");
    ASSERT_OK(rps);
    for (const auto& rp : *rps) ExpectExportMatchesSnapshot("vm", rp.name, "vda");
  }
  // The tree stays connected: r4's parent was r3 and is now r2.
  auto r4 = repo_->GetRp("vm", "r4");
  ASSERT_OK(r4);
  EXPECT_EQ(r4->parent, "r2");
  auto verify = repo_->Verify();
  ASSERT_OK(verify);
  EXPECT_TRUE(verify->ok());
}

TEST_F(SpaceTest, SetDeletionCountsChunksSharedOnlyWithinTheSet) {
  std::string img = Path("vda.raw");
  MakeSparseFile(img, 16 * kChunk);
  WriteAt(img, 0, TextBytes(2, 4 * kChunk));
  ASSERT_OK(repo_->AddVm("vm", {{"vda", img, std::nullopt}}));
  ASSERT_OK(repo_->CreateRp("vm", "a", {}));
  WriteAt(img, 8 * kChunk, PatternBytes(3, kChunk));  // chunk shared by b and c only
  ASSERT_OK(repo_->CreateRp("vm", "b", {}));
  ASSERT_OK(repo_->CreateRp("vm", "c", {}));
  auto b = repo_->BytesFreedByDeleting("vm", {"b"});
  auto c = repo_->BytesFreedByDeleting("vm", {"c"});
  auto bc = repo_->BytesFreedByDeleting("vm", {"b", "c"});
  ASSERT_OK(b);
  ASSERT_OK(c);
  ASSERT_OK(bc);
  EXPECT_EQ(*b, 0u);  // b and c are identical: each alone frees nothing
  EXPECT_EQ(*c, 0u);
  EXPECT_GT(*bc, 60u * 1024);  // together they free the random chunk (and their pages)
  auto freed = repo_->DeleteRps("vm", {"b", "c"});
  ASSERT_OK(freed);
  EXPECT_EQ(*freed, *bc);
}

TEST_F(SpaceTest, DeleteAllThenCompactLeavesNearlyEmptyStore) {
  std::string img = Path("vda.raw");
  MakeSparseFile(img, 256 * kChunk);
  WriteAt(img, 0, PatternBytes(9, 256 * kChunk));
  ASSERT_OK(repo_->AddVm("vm", {{"vda", img, std::nullopt}}));
  ASSERT_OK(repo_->CreateRp("vm", "a", {}));
  WriteAt(img, 0, PatternBytes(10, 64 * kChunk));
  ASSERT_OK(repo_->CreateRp("vm", "b", {}));
  uint64_t full = Summary().disk_bytes;
  EXPECT_GT(full, 20u << 20);
  auto freed = repo_->DeleteRps("vm", {"a", "b"});
  ASSERT_OK(freed);
  ASSERT_OK(repo_->Compact());
  StoreSummary s = Summary();
  EXPECT_EQ(s.chunk_count, 0u);
  EXPECT_EQ(s.page_count, 0u);
  EXPECT_LT(s.disk_bytes, 1u << 20) << "store should be near-empty after delete --all + compact";
}

TEST_F(SpaceTest, RenameKeepsDataAndParentLinks) {
  std::string img = Path("vda.raw");
  MakeSparseFile(img, 8 * kChunk);
  WriteAt(img, 0, TextBytes(4, kChunk));
  ASSERT_OK(repo_->AddVm("vm", {{"vda", img, std::nullopt}}));
  CreateAndSnapshot("vm", "old", {{"vda", img}});
  ASSERT_OK(repo_->CreateRp("vm", "child", {}));
  ASSERT_OK(repo_->RenameRp("vm", "old", "new"));
  EXPECT_TRUE(repo_->GetRp("vm", "old").status().IsNotFound());
  snapshots_["vm/new/vda"] = snapshots_["vm/old/vda"];
  ExpectExportMatchesSnapshot("vm", "new", "vda");
  auto child = repo_->GetRp("vm", "child");
  ASSERT_OK(child);
  EXPECT_EQ(child->parent, "new");
  EXPECT_TRUE(repo_->RenameRp("vm", "new", "child").IsAlreadyExists());
  EXPECT_TRUE(repo_->RenameRp("vm", "nope", "x").IsNotFound());
  EXPECT_TRUE(repo_->RenameRp("vm", "new", "../x").IsInvalidArgument());
}

}  // namespace
}  // namespace rpfs::testing
