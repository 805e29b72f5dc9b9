// Repository::Rollback in-process: exact content (holes, resized images, several disks),
// only differing chunks written, refused while an image is locked the way qemu locks it.
#include <fcntl.h>
#include <unistd.h>

#include "repo_fixture.h"
#include "support/status_matchers.h"

namespace rpfs::testing {
namespace {

constexpr uint64_t kChunk = 64 * 1024;

class RollbackTest : public RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    a_ = Path("vda.raw");
    b_ = Path("vdb.raw");
    MakeSparseFile(a_, 40 * kChunk);
    WriteAt(a_, 0, PatternBytes(1, 8 * kChunk));
    MakeSparseFile(b_, 10 * kChunk + 300);
    WriteAt(b_, 2 * kChunk, TextBytes(2, 3 * kChunk));
    ASSERT_OK(repo_->AddVm("vm", {{"vda", a_, std::nullopt}, {"vdb", b_, std::nullopt}}));
    CreateAndSnapshot("vm", "rp", {{"vda", a_}, {"vdb", b_}});
  }
  Result<RollbackResult> Rollback(bool keep = false) {
    RollbackOptions o;
    o.keep_current = keep;
    return repo_->Rollback("vm", "rp", o);
  }
  void ExpectBothAsRp() {
    EXPECT_TRUE(ReadAll(a_) == snapshots_.at("vm/rp/vda"));
    EXPECT_TRUE(ReadAll(b_) == snapshots_.at("vm/rp/vdb"));
  }
  std::string a_, b_;
};

TEST_F(RollbackTest, WritesOnlyTheChunksThatDiffer) {
  WriteAt(a_, 3 * kChunk + 1, PatternBytes(9, 10));    // one chunk
  WriteAt(a_, 20 * kChunk, PatternBytes(10, kChunk));  // data where the RP has a hole
  WriteAt(b_, 10 * kChunk + 10, PatternBytes(11, 5));  // the short last chunk
  auto r = Rollback();
  ASSERT_OK(r);
  ExpectBothAsRp();
  EXPECT_EQ(r->chunks_written, 3u);
  EXPECT_EQ(r->bytes_written, 2 * kChunk + 300);
  EXPECT_EQ(r->bytes_total, 50 * kChunk + 300);
  // Only chunks holding data in the image or the RP were read: 8 + 3 + the two new ones.
  EXPECT_EQ(r->chunks_compared, 8u + 1 + 3 + 1);
  auto again = Rollback();
  ASSERT_OK(again);
  EXPECT_EQ(again->chunks_written, 0u);
}

TEST_F(RollbackTest, ResizedImagesGetTheirSizeBack) {
  WriteAt(a_, 40 * kChunk, PatternBytes(12, 3 * kChunk));  // grew
  ASSERT_EQ(::truncate(b_.c_str(), 3 * kChunk), 0);        // shrank
  ASSERT_OK(Rollback());
  ExpectBothAsRp();
}

TEST_F(RollbackTest, KeepCurrentSavesTheStateFirstAndNamesDoNotClash) {
  WriteAt(a_, 0, PatternBytes(13, kChunk));
  auto changed = ReadAll(a_);
  auto first = Rollback(true);
  ASSERT_OK(first);
  ExpectBothAsRp();
  ASSERT_FALSE(first->undo_rp.empty());
  auto undo = repo_->GetRp("vm", first->undo_rp);
  ASSERT_OK(undo);
  EXPECT_EQ(undo->parent, "rp");
  snapshots_["vm/" + first->undo_rp + "/vda"] = changed;
  ExpectExportMatchesSnapshot("vm", first->undo_rp, "vda");
  auto second = Rollback(true);  // very likely the same second: a suffix keeps it apart
  ASSERT_OK(second);
  EXPECT_NE(second->undo_rp, first->undo_rp);
  auto vm = repo_->GetVm("vm");
  ASSERT_OK(vm);
  EXPECT_EQ(vm->current_rp, "rp");
}

TEST_F(RollbackTest, ImageLockedLikeQemuDoesIsRefusedAndUntouched) {
  WriteAt(b_, 0, PatternBytes(14, 100));
  auto before_a = ReadAll(a_);
  auto before_b = ReadAll(b_);
  int fd = ::open(b_.c_str(), O_RDONLY);  // a second disk holds the lock: nothing is written
  ASSERT_GE(fd, 0);
  struct flock fl = {};
  fl.l_type = F_RDLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 100;  // qemu: "uses consistent read"
  fl.l_len = 1;
  ASSERT_EQ(::fcntl(fd, F_OFD_SETLK, &fl), 0);
  WriteAt(a_, 0, PatternBytes(15, 10));
  before_a = ReadAll(a_);
  auto r = Rollback(true);
  ::close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsBusy()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("image vdb"), std::string::npos) << r.status().message();
  EXPECT_TRUE(ReadAll(a_) == before_a);
  EXPECT_TRUE(ReadAll(b_) == before_b);
  auto rps = repo_->ListRps("vm");
  ASSERT_OK(rps);
  EXPECT_EQ(rps->size(), 1u) << "no undo RP is taken when the rollback cannot run";
  EXPECT_OK(Rollback()) << "the lock is gone";
  ExpectBothAsRp();
}

TEST_F(RollbackTest, MissingImageOrRpIsAClearErrorAndChangesNothing) {
  EXPECT_TRUE(repo_->Rollback("vm", "nope", {}).status().IsNotFound());
  EXPECT_TRUE(repo_->Rollback("novm", "rp", {}).status().IsNotFound());
  ASSERT_EQ(::unlink(b_.c_str()), 0);
  auto before_a = ReadAll(a_);
  auto r = Rollback();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("vdb"), std::string::npos) << r.status().message();
  EXPECT_TRUE(ReadAll(a_) == before_a);
}

}  // namespace
}  // namespace rpfs::testing
