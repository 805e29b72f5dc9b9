// A reader with an open RP disk keeps reading correct data after the RP is deleted; the
// data is freed when the last reader closes, or at the next open if the process died.
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "repo_fixture.h"
#include "support/status_matchers.h"

namespace rpfs::testing {
namespace {

constexpr uint64_t kChunk = 64 * 1024;
constexpr uint64_t kDiskBytes = 64 * kChunk;

class DeletedWhileReadTest : public RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    img_ = Path("vda.raw");
    MakeSparseFile(img_, kDiskBytes);
    WriteAt(img_, 0, PatternBytes(1, kDiskBytes));
    ASSERT_OK(repo_->AddVm("vm", {{"vda", img_, std::nullopt}}));
    CreateAndSnapshot("vm", "rp1", {{"vda", img_}});
    WriteAt(img_, 0, PatternBytes(2, kDiskBytes));  // rp2 shares nothing with rp1
    CreateAndSnapshot("vm", "rp2", {{"vda", img_}});
  }

  uint64_t Chunks() {
    auto s = repo_->Summary();
    EXPECT_OK(s);
    return s.ok() ? s->chunk_count : 0;
  }

  std::vector<std::byte> ReadWhole(const DiskReader& r) {
    std::vector<std::byte> out(r.size());
    auto n = r.ReadAt(0, out);
    EXPECT_OK(n);
    EXPECT_EQ(n.ok() ? *n : 0, out.size());
    return out;
  }

  bool VerifyClean() {
    auto v = repo_->Verify();
    EXPECT_OK(v);
    if (v.ok()) {
      for (const auto& p : v->problems) ADD_FAILURE() << p;
    }
    return v.ok() && v->ok();
  }

  std::string img_;
};

TEST_F(DeletedWhileReadTest, OpenReaderKeepsDataUntilClosed) {
  auto reader = repo_->OpenDisk("vm", "rp1", "vda");
  ASSERT_OK(reader);
  const uint64_t before = Chunks();

  auto freed = repo_->DeleteRps("vm", {"rp1"});
  ASSERT_OK(freed);
  EXPECT_EQ(*freed, 0u) << "nothing may be freed while a reader is open";
  EXPECT_TRUE(repo_->GetRp("vm", "rp1").status().IsNotFound()) << "the RP must vanish at once";
  EXPECT_TRUE(repo_->OpenDisk("vm", "rp1", "vda").status().IsNotFound());
  EXPECT_EQ(Chunks(), before);
  EXPECT_TRUE(ReadWhole(**reader) == snapshots_.at("vm/rp1/vda"));
  EXPECT_TRUE(VerifyClean()) << "the held data still counts as referenced";

  reader->reset();  // last reader closes: the data goes
  EXPECT_EQ(Chunks(), before - 64);
  EXPECT_TRUE(VerifyClean());
  ExpectExportMatchesSnapshot("vm", "rp2", "vda");
}

TEST_F(DeletedWhileReadTest, DataOfRpWithTwoReadersGoesWithTheLast) {
  auto a = repo_->OpenDisk("vm", "rp1", "vda");
  auto b = repo_->OpenDisk("vm", "rp1", "vda");
  ASSERT_OK(a);
  ASSERT_OK(b);
  const uint64_t before = Chunks();
  ASSERT_OK(repo_->DeleteRps("vm", {"rp1"}));
  a->reset();
  EXPECT_EQ(Chunks(), before);
  EXPECT_TRUE(ReadWhole(**b) == snapshots_.at("vm/rp1/vda"));
  b->reset();
  EXPECT_EQ(Chunks(), before - 64);
}

TEST_F(DeletedWhileReadTest, ReaderClosingDuringAnotherMutationIsReleasedByIt) {
  auto reader = repo_->OpenDisk("vm", "rp1", "vda");
  ASSERT_OK(reader);
  ASSERT_OK(repo_->DeleteRps("vm", {"rp1"}));
  const uint64_t before = Chunks();
  // Close the reader while a create holds the write lock (it cannot release then); the
  // create releases the data when it finishes.
  std::thread closer([&] { reader->reset(); });
  WriteAt(img_, 0, PatternBytes(3, kChunk));
  auto rp3 = repo_->CreateRp("vm", "rp3", {});
  closer.join();
  ASSERT_OK(rp3);
  // Whichever ran first, nothing of rp1 stays once both are done.
  EXPECT_EQ(Chunks(), before - 64 + 1);
  EXPECT_TRUE(VerifyClean());
}

TEST_F(DeletedWhileReadTest, DeferredReleaseLeftByADeadProcessIsFinishedOnOpen) {
  const uint64_t before = Chunks();
  repo_.reset();
  // A child process opens the store, reads rp1, deletes it and dies with the reader open.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto repo = Repository::Open(store());
    if (!repo.ok()) ::_exit(10);
    auto reader = (*repo)->OpenDisk("vm", "rp1", "vda");
    if (!reader.ok()) ::_exit(11);
    if (!(*repo)->DeleteRps("vm", {"rp1"}).ok()) ::_exit(12);
    ::_exit(0);  // no destructor runs: the reader is still "open" when the process ends
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  Reopen();
  EXPECT_TRUE(repo_->GetRp("vm", "rp1").status().IsNotFound());
  EXPECT_EQ(Chunks(), before - 64);
  EXPECT_TRUE(VerifyClean());
  ExpectExportMatchesSnapshot("vm", "rp2", "vda");
}

TEST_F(DeletedWhileReadTest, ExportOfTheSameRpCanStillBeDeletedAfterwards) {
  ExpectExportMatchesSnapshot("vm", "rp1", "vda");
  const uint64_t before = Chunks();
  ASSERT_OK(repo_->DeleteRps("vm", {"rp1"}));
  EXPECT_EQ(Chunks(), before - 64) << "an export must not keep a pin after it returns";
}

}  // namespace
}  // namespace rpfs::testing
