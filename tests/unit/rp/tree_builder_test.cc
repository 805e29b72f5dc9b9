// TreeBuilder builds the same tree whatever the data, stores only non-hole pages, and
// ExtentMap finds every chunk in it.
#include "rp/tree_builder.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "format/page.h"
#include "support/status_matchers.h"

namespace rpfs::rp {
namespace {

class MemorySink : public PageSink {
 public:
  Result<Digest> StorePage(const format::Page& page) override {
    std::string body = format::EncodePage(page);
    Digest id = Sha256(body);
    pages[id] = page;
    ++stores;
    return id;
  }
  // Looks up chunk `index` by walking from `root` (independent of ExtentMap).
  Digest Lookup(const Digest& root, uint64_t index, uint32_t fanout, uint32_t height) {
    Digest node = root;
    uint64_t span = 1;
    for (uint32_t l = 1; l < height; ++l) span *= fanout;
    for (uint32_t level = height; level-- > 0;) {
      if (node.IsZero()) return node;
      const auto& p = pages.at(node);
      EXPECT_EQ(p.level, level);
      uint64_t slot = (index / span) % fanout;
      node = slot < p.entries.size() ? p.entries[slot] : Digest{};
      span /= fanout;
    }
    return node;
  }
  std::map<Digest, format::Page> pages;
  int stores = 0;
};

Digest D(uint64_t v) {
  Digest d;
  for (int i = 0; i < 8; ++i) d.bytes[i] = static_cast<uint8_t>(v >> (8 * i));
  d.bytes[31] = 1;  // never zero
  return d;
}

TEST(TreeBuilderTest, EmptyDiskHasZeroRoot) {
  MemorySink sink;
  TreeBuilder b(0, 4, &sink);
  auto root = b.Finish();
  ASSERT_OK(root);
  EXPECT_TRUE(root->IsZero());
  EXPECT_EQ(sink.stores, 0);
}

TEST(TreeBuilderTest, AllHoleDiskStoresNoPage) {
  MemorySink sink;
  TreeBuilder b(1000, 4, &sink);
  auto root = b.Finish();
  ASSERT_OK(root);
  EXPECT_TRUE(root->IsZero());
  EXPECT_EQ(sink.stores, 0);
}

TEST(TreeBuilderTest, EveryChunkIsFoundAndHolesReadAsZero) {
  const uint32_t fanout = 4;
  for (uint64_t chunks : {1ull, 3ull, 4ull, 5ull, 16ull, 17ull, 64ull, 65ull, 1000ull}) {
    std::mt19937_64 rng(chunks);
    std::map<uint64_t, Digest> want;
    for (uint64_t i = 0; i < chunks; ++i)
      if (rng() % 3 == 0) want[i] = D(rng());
    MemorySink sink;
    TreeBuilder b(chunks, fanout, &sink);
    for (const auto& [i, d] : want) ASSERT_OK(b.Add(i, d));
    auto root = b.Finish();
    ASSERT_OK(root);
    uint32_t height = format::TreeHeight(chunks, fanout);
    for (uint64_t i = 0; i < chunks; ++i) {
      auto it = want.find(i);
      Digest got = sink.Lookup(*root, i, fanout, height);
      if (it == want.end()) {
        EXPECT_TRUE(got.IsZero()) << "chunks=" << chunks << " index=" << i;
      } else {
        EXPECT_EQ(got, it->second) << "chunks=" << chunks << " index=" << i;
      }
    }
  }
}

TEST(TreeBuilderTest, SparseDataStoresOnlyPathsToData) {
  const uint32_t fanout = 128;
  const uint64_t chunks = 1ull << 24;  // 1 TiB at 64 KiB
  MemorySink sink;
  TreeBuilder b(chunks, fanout, &sink);
  ASSERT_OK(b.Add(5, D(1)));
  ASSERT_OK(b.Add(chunks - 1, D(2)));
  auto root = b.Finish();
  ASSERT_OK(root);
  // Height 4: two leaves, two level-1, two level-2 pages and the root.
  EXPECT_EQ(format::TreeHeight(chunks, fanout), 4u);
  EXPECT_EQ(sink.stores, 7);
  EXPECT_EQ(sink.Lookup(*root, chunks - 1, fanout, 4), D(2));
}

TEST(TreeBuilderTest, SameContentGivesSameRoot) {
  auto build = [](uint64_t changed) {
    MemorySink sink;
    TreeBuilder b(300, 8, &sink);
    for (uint64_t i = 0; i < 300; ++i) EXPECT_OK(b.Add(i, D(i == changed ? 9999 : i)));
    return *b.Finish();
  };
  EXPECT_EQ(build(1000), build(1000));
  EXPECT_NE(build(1000), build(7));
}

}  // namespace
}  // namespace rpfs::rp
