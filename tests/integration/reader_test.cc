// DiskReader: hole/data navigation from the extent map, and the decoded-chunk cache.
#include "repo_fixture.h"
#include "support/status_matchers.h"

namespace rpfs::testing {
namespace {

constexpr uint64_t kChunk = 64 * 1024;

class ReaderTest : public RepoTest {
 protected:
  std::unique_ptr<DiskReader> Open(const std::string& rp) {
    auto r = repo_->OpenDisk("vm", rp, "vda");
    EXPECT_OK(r);
    return r.ok() ? std::move(*r) : nullptr;
  }
};

TEST_F(ReaderTest, NextDataAndNextHoleFollowTheChunksThatHoldData) {
  const uint64_t size = 40 * kChunk + 1000;
  std::string img = Path("vda.raw");
  MakeSparseFile(img, size);
  WriteAt(img, 3 * kChunk + 5, PatternBytes(1, 2 * kChunk));  // chunks 3, 4, 5
  WriteAt(img, 20 * kChunk, PatternBytes(2, 10));             // chunk 20
  WriteAt(img, 30 * kChunk, std::vector<std::byte>(kChunk));  // written zeros: a hole to rpfs
  WriteAt(img, 40 * kChunk + 10, PatternBytes(3, 10));        // the short last chunk
  ASSERT_OK(repo_->AddVm("vm", {{"vda", img, std::nullopt}}));
  ASSERT_OK(repo_->CreateRp("vm", "rp", {}));
  auto reader = Open("rp");
  ASSERT_NE(reader, nullptr);

  auto is_data = [](uint64_t chunk) {
    return chunk == 3 || chunk == 4 || chunk == 5 || chunk == 20 || chunk == 40;
  };
  // Independent model: scan chunk by chunk.
  auto model = [&](uint64_t off, bool want_data) {
    for (uint64_t c = off / kChunk; c * kChunk < size; ++c) {
      if (is_data(c) == want_data) return std::max(off, c * kChunk);
    }
    return size;
  };
  for (uint64_t off = 0; off <= size; off += kChunk / 4) {
    auto data = reader->NextData(off);
    auto hole = reader->NextHole(off);
    ASSERT_OK(data);
    ASSERT_OK(hole);
    uint64_t o = std::min(off, size);
    EXPECT_EQ(*data, off >= size ? size : model(o, true)) << "NextData(" << off << ")";
    EXPECT_EQ(*hole, off >= size ? size : model(o, false)) << "NextHole(" << off << ")";
  }
  EXPECT_EQ(*reader->NextData(size - 1), size - 1);  // inside the last (data) chunk
  EXPECT_EQ(*reader->NextHole(41 * kChunk), size);   // past the end: the implicit hole
}

// Fingerprints (rpfs diff): equal for equal bytes at the same place in the chunk grid, also
// across RPs and chunks at other offsets; different where a chunk changed; never a read.
TEST_F(ReaderTest, FingerprintsAreEqualExactlyWhereTheChunksAre) {
  std::string img = Path("vda.raw");
  MakeSparseFile(img, 16 * kChunk);
  WriteAt(img, 0, PatternBytes(1, 4 * kChunk));
  WriteAt(img, 8 * kChunk, PatternBytes(1, 4 * kChunk));  // chunks 8-11 = chunks 0-3
  ASSERT_OK(repo_->AddVm("vm", {{"vda", img, std::nullopt}}));
  ASSERT_OK(repo_->CreateRp("vm", "a", {}));
  WriteAt(img, 2 * kChunk + 100, PatternBytes(9, 10));  // chunk 2 only
  ASSERT_OK(repo_->CreateRp("vm", "b", {}));
  auto a = Open("a"), b = Open("b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto fp = [](const DiskReader& r, uint64_t off, uint64_t len) {
    auto f = r.Fingerprint(off, len);
    EXPECT_OK(f);
    return f.ok() ? *f : std::string("error");
  };
  EXPECT_FALSE(fp(*a, 0, 2 * kChunk).empty());
  EXPECT_EQ(fp(*a, 10, 2 * kChunk - 10), fp(*b, 10, 2 * kChunk - 10));   // chunks 0-2, unchanged
  EXPECT_NE(fp(*a, kChunk, 2 * kChunk), fp(*b, kChunk, 2 * kChunk));     // chunk 2 changed
  EXPECT_EQ(fp(*a, 8 * kChunk + 7, 3 * kChunk), fp(*a, 7, 3 * kChunk));  // same bytes elsewhere
  EXPECT_NE(fp(*a, 8, kChunk), fp(*a, 7, kChunk));                       // another alignment
  EXPECT_EQ(fp(*a, 5 * kChunk, kChunk), fp(*b, 6 * kChunk, kChunk));     // holes
  EXPECT_FALSE(a->Fingerprint(15 * kChunk, kChunk + 1).ok());
  EXPECT_FALSE(a->Fingerprint(17 * kChunk, 0).ok());
}

TEST_F(ReaderTest, NavigationOnHugeSparseDiskSkipsHoleSubtrees) {
  std::string img = Path("huge.raw");
  MakeSparseFile(img, 1ull << 40);
  WriteAt(img, 700ull << 30, PatternBytes(4, 1 << 20));
  ASSERT_OK(repo_->AddVm("vm", {{"vda", img, std::nullopt}}));
  ASSERT_OK(repo_->CreateRp("vm", "rp", {}));
  auto reader = Open("rp");
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(*reader->NextData(0), 700ull << 30);
  EXPECT_EQ(*reader->NextHole(700ull << 30), (700ull << 30) + (1 << 20));
  EXPECT_EQ(*reader->NextData((700ull << 30) + (1 << 20)), 1ull << 40);  // no more data
  EXPECT_EQ(*reader->NextHole(0), 0u);
}

TEST_F(ReaderTest, SmallReadsOfOneChunkDecodeItOnce) {
  std::string img = Path("vda.raw");
  MakeSparseFile(img, 8 * kChunk);
  WriteAt(img, 0, TextBytes(5, 8 * kChunk));
  ASSERT_OK(repo_->AddVm("vm", {{"vda", img, std::nullopt}}));
  ASSERT_OK(repo_->CreateRp("vm", "rp", {}));
  auto want = ReadAll(img);
  auto reader = Open("rp");
  ASSERT_NE(reader, nullptr);
  ChunkCacheStats before = repo_->CacheStats();
  std::vector<std::byte> buf(4096);
  for (uint64_t off = 2 * kChunk; off < 3 * kChunk; off += 4096) {
    ASSERT_EQ(*reader->ReadAt(off, buf), buf.size());
    ASSERT_TRUE(std::equal(buf.begin(), buf.end(), want.begin() + off));
  }
  ChunkCacheStats after = repo_->CacheStats();
  EXPECT_EQ(after.misses - before.misses, 1u);
  EXPECT_EQ(after.hits - before.hits, kChunk / 4096 - 1);
  // Whole-chunk reads bypass the cache.
  std::vector<std::byte> whole(kChunk);
  ASSERT_EQ(*reader->ReadAt(5 * kChunk, whole), whole.size());
  EXPECT_EQ(repo_->CacheStats().misses, after.misses);
}

TEST_F(ReaderTest, ChunkCacheStaysWithinItsBound) {
  std::string img = Path("vda.raw");
  const uint64_t chunks = 1200;  // 75 MiB of distinct chunks, more than the cache holds
  MakeSparseFile(img, chunks * kChunk);
  WriteAt(img, 0, PatternBytes(6, chunks * kChunk));
  ASSERT_OK(repo_->AddVm("vm", {{"vda", img, std::nullopt}}));
  ASSERT_OK(repo_->CreateRp("vm", "rp", {}));
  auto reader = Open("rp");
  ASSERT_NE(reader, nullptr);
  std::vector<std::byte> buf(512);
  for (uint64_t c = 0; c < chunks; ++c) ASSERT_OK(reader->ReadAt(c * kChunk + 100, buf));
  ChunkCacheStats s = repo_->CacheStats();
  EXPECT_LE(s.bytes, s.capacity);
  EXPECT_GT(s.bytes, s.capacity / 2);
  EXPECT_EQ(s.misses, chunks);
}

}  // namespace
}  // namespace rpfs::testing
