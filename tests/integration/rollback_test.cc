// Repository::Rollback in-process: exact content (holes, resized images, several disks),
// only differing chunks written, refused while an image is locked the way qemu locks it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

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

// Run in a child process of its own (the pause point is read from the environment at the
// first CrashPoint of a process). Returns 0 when, with a rollback paused between its undo
// RP and its disk rewrite, a rename and a delete of the same VM commit without waiting for
// it, and the rollback then finishes. A rollback holding write_mu through the rewrite (as
// before issue 13) makes the rename wait for ever: the alarm kills the child instead.
int MutationsCommitWhileARollbackRewrites() {
  ::alarm(30);
  TempDir dir;
  if (::mkfifo((dir / "paused").c_str(), 0600) != 0) return 10;
  if (::mkfifo((dir / "resume").c_str(), 0600) != 0) return 11;
  ::setenv("RPFS_PAUSE_DIR", dir.path().c_str(), 1);
  ::setenv("RPFS_PAUSE_AT", "rollback.before_write", 1);
  auto repo = Repository::Init(dir / "store", InitOptions{});
  if (!repo.ok()) return 12;
  const std::string image = dir / "vda.raw";
  MakeSparseFile(image, 16 * kChunk);
  WriteAt(image, 0, PatternBytes(1, 4 * kChunk));
  if (!(*repo)->AddVm("vm", {{"vda", image, std::nullopt}}).ok()) return 13;
  if (!(*repo)->CreateRp("vm", "one", {}).ok()) return 14;
  const auto want = ReadAll(image);
  WriteAt(image, 0, PatternBytes(2, kChunk));
  if (!(*repo)->CreateRp("vm", "two", {}).ok()) return 15;
  if (!(*repo)->CreateRp("vm", "three", {}).ok()) return 16;

  Result<RollbackResult> rolled = Status::Aborted("not run");
  std::thread rollback([&] {
    RollbackOptions o;
    o.keep_current = true;
    rolled = (*repo)->Rollback("vm", "one", o);
  });
  int paused = ::open((dir / "paused").c_str(), O_RDONLY);  // returns once it is there
  if (paused < 0) return 17;
  ::close(paused);
  // The rollback holds the create lock now, and not write_mu.
  Status renamed = (*repo)->RenameRp("vm", "two", "deux");
  Status deleted = (*repo)->DeleteRps("vm", {"three"}).status();
  int resume = ::open((dir / "resume").c_str(), O_WRONLY);
  if (resume < 0) return 18;
  ::close(resume);
  rollback.join();
  if (!renamed.ok()) return 20;
  if (!deleted.ok()) return 21;
  if (!rolled.ok()) return 22;
  if (ReadAll(image) != want) return 23;
  auto rps = (*repo)->ListRps("vm");
  if (!rps.ok() || rps->size() != 3) return 24;  // one, deux and the undo RP
  if ((*rps)[1].name != "deux" || (*rps)[2].name != rolled->undo_rp) return 25;
  return 0;
}

TEST(RollbackLocksTest, RenameAndDeleteCommitWhileARollbackRewritesTheDisks) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(std::exit(MutationsCommitWhileARollbackRewrites()), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace rpfs::testing
