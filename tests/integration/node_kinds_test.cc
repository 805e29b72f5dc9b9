// Mount node kinds (src/fs/node_kind.h) through fs::Filesystem, in-process: for every kind a
// listing reports the attributes a lookup and a getattr of the same entry report, and a
// getattr of a generated text makes no text (no delete simulation, no dry-run prune).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <sys/stat.h>

#include <set>

#include "fs/filesystem.h"
#include "repo_fixture.h"
#include "support/fake_hypervisor.h"
#include "support/status_matchers.h"

namespace rpfs::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

constexpr uint64_t kDiskSize = 4ull << 20;

// A libvirt VM (so an RP has a memory state and a domain.xml) with two RPs, a clone and a
// retention policy: every kind of node has at least one entry.
class NodeKindsTest : public RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    fake_ = std::make_unique<FakeHypervisor>(Path(""));
    repo_->SetHypervisorFactory(fake_->Factory());
    MakeSparseFile(Path("web.img"), kDiskSize);
    WriteAt(Path("web.img"), 0, PatternBytes(1, 1 << 20));
    fake_->AddDomain("web", {{"vda", Path("web.img")}});
    ASSERT_OK(repo_->ImportVm(fake_->uri(), "web"));
    fake_->SetMemory(TextBytes(7, 1 << 20));
    CreateOptions with_memory;
    with_memory.memory = true;
    ASSERT_OK(repo_->CreateRp("web", "day1", with_memory));
    ASSERT_OK(repo_->CreateRp("web", "day2", {}));
    ASSERT_OK(repo_->CreateClone("web", "day1", "c"));
    RetentionPolicy keep_last;
    keep_last.keep_last = 1;
    ASSERT_OK(repo_->SetPolicy("web", keep_last));
    fs_ = std::make_unique<fs::Filesystem>(repo_.get());
  }
  void TearDown() override {
    fs_.reset();
    repo_.reset();  // before the fake hypervisor it may still use
  }

  fs::Attr Look(fs::InodeNo parent, const std::string& name) {
    auto a = fs_->Lookup(parent, name);
    EXPECT_OK(a) << "looking up " << name;
    return a.ok() ? *a : fs::Attr{};
  }
  // Reads an open file to its end, however big getattr said it was.
  std::string ReadToEnd(fs::HandleId h) {
    std::string out;
    std::vector<std::byte> buf(4096);
    for (;;) {
      auto n = fs_->Read(h, out.size(), buf);
      EXPECT_OK(n);
      if (!n.ok() || *n == 0) return out;
      out.append(reinterpret_cast<const char*>(buf.data()), *n);  // NOLINT
    }
  }

  static void ExpectSameAttr(const fs::Attr& listed, const fs::Attr& got, const std::string& p) {
    EXPECT_EQ(listed.mode, got.mode) << p;
    EXPECT_EQ(listed.size, got.size) << p;
    EXPECT_EQ(listed.nlink, got.nlink) << p;
    EXPECT_EQ(listed.immutable, got.immutable) << p;
    EXPECT_EQ(listed.mtime_us, got.mtime_us) << p;
    EXPECT_EQ(listed.uid, got.uid) << p;
    EXPECT_EQ(listed.gid, got.gid) << p;
  }

  // Lists `dir`, looks up and getattrs every entry, compares, and recurses; adds each path.
  void Walk(fs::InodeNo dir, const std::string& path, std::set<std::string>* seen) {
    auto entries = fs_->ReadDir(dir);
    ASSERT_OK(entries) << "listing " << path;
    for (const auto& e : *entries) {
      std::string p = path.empty() ? e.name : path + "/" + e.name;
      auto looked = fs_->Lookup(dir, e.name);
      ASSERT_OK(looked) << "looking up " << p;
      ExpectSameAttr(e.attr, *looked, p + " (readdir vs lookup)");
      auto got = fs_->GetAttr(looked->ino);
      ASSERT_OK(got) << "getattr of " << p;
      ExpectSameAttr(e.attr, *got, p + " (readdir vs getattr)");
      seen->insert(p);
      if (S_ISDIR(got->mode)) Walk(got->ino, p, seen);
    }
  }

  std::unique_ptr<FakeHypervisor> fake_;
  std::unique_ptr<fs::Filesystem> fs_;
};

TEST_F(NodeKindsTest, ReadDirReportsWhatLookupAndGetAttrReportForEveryKind) {
  ASSERT_OK(fs_->GetAttr(fs::kRootInode));
  std::set<std::string> seen;
  Walk(fs::kRootInode, "", &seen);
  // One path per kind of node below the root.
  EXPECT_THAT(
      seen, IsSupersetOf({"web", "web/.control", "web/.status", "web/.prune-preview", "web/day1",
                          "web/day1/vda.raw", "web/day1/memory.state", "web/day1/domain.xml",
                          "web/day1/info", "web/.clones", "web/.clones/c", "web/.clones/c/vda.raw",
                          "web/.clones/c/.status"}));
}

TEST_F(NodeKindsTest, DomainXmlReportsTheSizeOfItsText) {
  fs::Attr day1 = Look(Look(fs::kRootInode, "web").ino, "day1");
  auto entries = fs_->ReadDir(day1.ino);
  ASSERT_OK(entries);
  fs::Attr xml = Look(day1.ino, "domain.xml");
  auto h = fs_->Open(xml.ino, O_RDONLY);
  ASSERT_OK(h);
  std::string text = ReadToEnd(*h);
  fs_->Release(*h);
  EXPECT_THAT(text, HasSubstr("<domain"));
  EXPECT_EQ(xml.size, text.size());
  EXPECT_TRUE(xml.immutable);
  for (const auto& e : *entries) {
    if (e.name == "domain.xml") {
      EXPECT_EQ(e.attr.size, text.size());
    }
  }
}

TEST_F(NodeKindsTest, GeneratedTextsAreMadeAtOpenNotAtGetAttr) {
  uint64_t before = fs_->generated_texts();
  fs::Attr web = Look(fs::kRootInode, "web");
  fs::Attr day1 = Look(web.ino, "day1");
  fs::Attr clone = Look(Look(web.ino, ".clones").ino, "c");
  const std::vector<fs::Attr> texts = {Look(day1.ino, "info"), Look(web.ino, ".prune-preview"),
                                       Look(web.ino, ".status"), Look(clone.ino, ".status")};
  for (int i = 0; i < 3; i++) {
    for (const auto& t : texts) {
      auto a = fs_->GetAttr(t.ino);
      ASSERT_OK(a);
      EXPECT_EQ(a->size, 0u) << "generated texts report size 0";
      EXPECT_FALSE(fs_->UsesPageCache(t.ino)) << "so they must be read with direct_io";
    }
    ASSERT_OK(fs_->ReadDir(web.ino));
    ASSERT_OK(fs_->ReadDir(day1.ino));
    ASSERT_OK(fs_->ReadDir(clone.ino));
  }
  EXPECT_EQ(fs_->generated_texts(), before) << "a lookup, getattr or listing made a text";

  // Each open makes its text once; it reads to its end although getattr said 0 bytes.
  auto preview = fs_->Open(texts[1].ino, O_RDONLY);
  ASSERT_OK(preview);
  EXPECT_EQ(fs_->generated_texts(), before + 1);
  std::string preview_text = ReadToEnd(*preview);
  EXPECT_THAT(preview_text, HasSubstr("remove day1\n"));
  EXPECT_THAT(preview_text, HasSubstr("would_remove: 1\n"));
  auto info = fs_->Open(texts[0].ino, O_RDONLY);
  ASSERT_OK(info);
  EXPECT_EQ(fs_->generated_texts(), before + 2);
  EXPECT_THAT(ReadToEnd(*info), HasSubstr("name: day1\n"));
  EXPECT_EQ(fs_->generated_texts(), before + 2) << "reads use the text made at open";
  fs_->Release(*preview);
  fs_->Release(*info);
}

}  // namespace
}  // namespace rpfs::testing
