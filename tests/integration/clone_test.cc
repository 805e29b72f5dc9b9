// Clones in-process: instant creation, copy-on-read, writes, hydration, durability of
// acknowledged writes across a dead process, and the clone's hold on its RP's data.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "repo_fixture.h"
#include "support/status_matchers.h"

namespace rpfs::testing {
namespace {

constexpr uint64_t kChunk = 64 * 1024;
constexpr uint64_t kDiskBytes = 64 * kChunk + 1000;  // a short last chunk

class CloneTest : public RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    img_ = Path("vda.raw");
    MakeSparseFile(img_, kDiskBytes);
    WriteAt(img_, 0, PatternBytes(1, 10 * kChunk));            // data
    WriteAt(img_, 30 * kChunk + 7, TextBytes(2, 5 * kChunk));  // unaligned data
    WriteAt(img_, kDiskBytes - 500, PatternBytes(3, 500));     // in the short chunk
    ASSERT_OK(repo_->AddVm("vm", {{"vda", img_, std::nullopt}}));
    CreateAndSnapshot("vm", "rp", {{"vda", img_}});
    want_ = snapshots_.at("vm/rp/vda");
  }

  std::shared_ptr<CloneDisk> Open(const std::string& clone = "c") {
    auto d = repo_->OpenCloneDisk("vm", clone, "vda");
    EXPECT_OK(d);
    return d.ok() ? *d : nullptr;
  }
  std::vector<std::byte> Read(CloneDisk& d, uint64_t off, size_t n) {
    std::vector<std::byte> out(n);
    auto got = d.ReadAt(off, out);
    EXPECT_OK(got);
    out.resize(got.ok() ? *got : 0);
    return out;
  }
  uint64_t Chunks() {
    auto s = repo_->Summary();
    return s.ok() ? s->chunk_count : 0;
  }
  void ExpectVerifyClean() {
    auto v = repo_->Verify();
    ASSERT_OK(v);
    for (const auto& p : v->problems) ADD_FAILURE() << p;
  }

  std::string img_;
  std::vector<std::byte> want_;
};

TEST_F(CloneTest, ReadsEqualTheRpBeforeDuringAndAfterHydration) {
  auto info = repo_->CreateClone("vm", "rp", "c");
  ASSERT_OK(info);
  ASSERT_EQ(info->disks.size(), 1u);
  EXPECT_EQ(info->disks[0].hydrated_bytes, 0u);
  EXPECT_FALSE(info->hydrated);
  auto d = Open();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->size(), kDiskBytes);
  // Partial, unaligned and boundary-crossing reads.
  for (auto [off, n] : std::vector<std::pair<uint64_t, size_t>>{
           {0, 10}, {kChunk - 5, 10}, {30 * kChunk + 3, 3 * kChunk}, {kDiskBytes - 700, 2000}}) {
    auto got = Read(*d, off, n);
    size_t expect = std::min<uint64_t>(n, kDiskBytes - off);
    ASSERT_EQ(got.size(), expect);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), want_.begin() + static_cast<long>(off)))
        << "offset " << off;
  }
  EXPECT_GT(d->hydrated_bytes(), 0u);
  EXPECT_FALSE(d->hydrated());
  EXPECT_TRUE(Read(*d, 0, kDiskBytes) == want_);  // a full sequential read hydrates it
  EXPECT_TRUE(d->hydrated());
  EXPECT_EQ(d->hydrated_bytes(), kDiskBytes);
  auto after = repo_->GetClone("vm", "c");
  ASSERT_OK(after);
  EXPECT_TRUE(after->hydrated);
  // The local file is a plain raw image now.
  EXPECT_TRUE(ReadAll(after->disks[0].path) == want_);
  ExpectVerifyClean();
}

TEST_F(CloneTest, RandomReadsAndWritesAlwaysReadBackTheModel) {
  ASSERT_OK(repo_->CreateClone("vm", "rp", "c"));
  auto d = Open();
  ASSERT_TRUE(d);
  std::vector<std::byte> model = want_;
  const uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (int op = 0; op < 4000; ++op) {
    uint64_t off = rng() % kDiskBytes;
    size_t n = 1 + rng() % (rng() % 4 == 0 ? 3 * kChunk : 4096);
    n = std::min<uint64_t>(n, kDiskBytes - off);
    switch (rng() % 5) {
      case 0:
      case 1: {
        std::vector<std::byte> data(n);
        for (auto& b : data) b = static_cast<std::byte>(rng());
        auto w = d->WriteAt(off, data);
        ASSERT_OK(w) << "op " << op << ": " << w.status().ToString();
        std::copy(data.begin(), data.end(), model.begin() + static_cast<long>(off));
        break;
      }
      case 2:
        if (rng() % 50 == 0) {
          ASSERT_OK(d->Flush());
        }
        [[fallthrough]];
      default: {
        auto got = Read(*d, off, n);
        ASSERT_EQ(got.size(), n) << "op " << op;
        ASSERT_TRUE(std::equal(got.begin(), got.end(), model.begin() + static_cast<long>(off)))
            << "op " << op << ": read at " << off << " len " << n << " differs from the model";
      }
    }
  }
  EXPECT_TRUE(Read(*d, 0, kDiskBytes) == model);
  ASSERT_OK(d->Flush());
  EXPECT_TRUE(ReadAll(repo_->GetClone("vm", "c")->disks[0].path) == model);
  EXPECT_EQ(d->WriteAt(kDiskBytes - 1, std::vector<std::byte>(2)).status().code(),
            Status::Code::kTooLarge);
}

TEST_F(CloneTest, ConcurrentReadersAndWritersOfOneCloneAgree) {
  ASSERT_OK(repo_->CreateClone("vm", "rp", "c"));
  auto d = Open();
  ASSERT_TRUE(d);
  // Writers own disjoint chunk-aligned regions (known content); readers read anywhere
  // else and must see the RP; all fill chunks concurrently.
  constexpr int kWriters = 2, kReaders = 6;
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      auto data = PatternBytes(100 + t, 2 * kChunk + 100);
      uint64_t at = (50 + 5 * t) * kChunk + 7;
      if (!d->WriteAt(at, data).ok()) ++bad;
      std::vector<std::byte> back(data.size());
      if (!d->ReadAt(at, back).ok() || back != data) ++bad;
    });
  }
  for (int t = 0; t < kReaders; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      std::vector<std::byte> buf(3 * kChunk);
      for (int i = 0; i < 100; ++i) {
        uint64_t off = rng() % (45 * kChunk);
        auto n = d->ReadAt(off, buf);
        if (!n.ok() || !std::equal(buf.begin(), buf.begin() + static_cast<long>(*n),
                                   want_.begin() + static_cast<long>(off))) {
          ++bad;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  ASSERT_OK(repo_->HydrateClone("vm", "c"));
  EXPECT_TRUE(d->hydrated());
}

TEST_F(CloneTest, CloneOutlivesItsRpAndReleasesTheDataWhenHydratedOrDeleted) {
  ASSERT_OK(repo_->CreateClone("vm", "rp", "c"));
  ASSERT_OK(repo_->CreateClone("vm", "rp", "c2"));
  const uint64_t chunks = Chunks();
  auto predicted = repo_->BytesFreedByDeleting("vm", {"rp"});
  ASSERT_OK(predicted);
  EXPECT_EQ(*predicted, 0u) << "unique bytes of an RP its clones still need";
  auto freed = repo_->DeleteRps("vm", {"rp"});
  ASSERT_OK(freed);
  EXPECT_EQ(*freed, 0u);
  EXPECT_EQ(Chunks(), chunks) << "the clones still need the data";
  ExpectVerifyClean();
  {
    auto d = Open();
    EXPECT_TRUE(Read(*d, 0, kDiskBytes) == want_);
  }
  EXPECT_EQ(Chunks(), chunks) << "c2 still needs it";
  ASSERT_OK(repo_->HydrateClone("vm", "c2"));
  EXPECT_EQ(Chunks(), 0u) << "both hydrated: the store holds nothing";
  ExpectVerifyClean();
  EXPECT_TRUE(ReadAll(repo_->GetClone("vm", "c2")->disks[0].path) == want_);
  ASSERT_OK(repo_->DeleteClone("vm", "c"));
  ASSERT_OK(repo_->DeleteClone("vm", "c2"));
  ExpectVerifyClean();
}

TEST_F(CloneTest, DeletingAnUnhydratedCloneFreesWhatOnlyItHeld) {
  ASSERT_OK(repo_->CreateClone("vm", "rp", "c"));
  ASSERT_OK(repo_->DeleteRps("vm", {"rp"}));
  EXPECT_GT(Chunks(), 0u);
  {
    auto d = Open();
    EXPECT_TRUE(repo_->DeleteClone("vm", "c").IsBusy()) << "open clones are not deleted";
  }
  EXPECT_TRUE(repo_->RemoveVm("vm").IsBusy()) << "a vm with clones stays";
  ASSERT_OK(repo_->DeleteClone("vm", "c"));
  EXPECT_EQ(Chunks(), 0u);
  EXPECT_FALSE(std::filesystem::exists(store() + "/clones/vm/c"));
  EXPECT_OK(repo_->RemoveVm("vm"));
  ExpectVerifyClean();
}

TEST_F(CloneTest, ErrorsNameTheCauseAndChangeNothing) {
  EXPECT_TRUE(repo_->CreateClone("vm", "nope", "c").status().IsNotFound());
  EXPECT_TRUE(repo_->CreateClone("novm", "rp", "c").status().IsNotFound());
  EXPECT_TRUE(repo_->CreateClone("vm", "rp", ".x").status().IsInvalidArgument());
  EXPECT_TRUE(repo_->CreateClone("vm", "rp", "a/b").status().IsInvalidArgument());
  ASSERT_OK(repo_->CreateClone("vm", "rp", "c"));
  auto dup = repo_->CreateClone("vm", "rp", "c");
  EXPECT_TRUE(dup.status().IsAlreadyExists()) << dup.status().ToString();
  EXPECT_TRUE(repo_->DeleteClone("vm", "nope").IsNotFound());
  EXPECT_TRUE(repo_->OpenCloneDisk("vm", "c", "vdz").status().IsNotFound());
  auto list = repo_->ListClones("vm");
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), 1u);
  ExpectVerifyClean();
}

TEST_F(CloneTest, AcknowledgedWritesAndFlushedFillsSurviveADeadProcess) {
  ASSERT_OK(repo_->CreateClone("vm", "rp", "c"));
  repo_.reset();
  const auto acked = PatternBytes(77, 3 * kChunk + 11);
  const uint64_t acked_at = 20 * kChunk + 5;
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto repo = Repository::Open(store());
    if (!repo.ok()) ::_exit(10);
    auto d = (*repo)->OpenCloneDisk("vm", "c", "vda");
    if (!d.ok()) ::_exit(11);
    std::vector<std::byte> buf(8 * kChunk);
    if (!(*d)->ReadAt(0, buf).ok()) ::_exit(12);  // fills chunks 0-7
    if (!(*d)->WriteAt(acked_at, acked).ok()) ::_exit(13);
    if (!(*d)->Flush().ok()) ::_exit(14);  // acknowledged
    std::vector<std::byte> junk(kChunk, std::byte{0x5a});
    if (!(*d)->WriteAt(40 * kChunk, junk).ok()) ::_exit(15);  // not acknowledged
    ::_exit(0);                                               // dies without closing anything
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  Reopen();
  auto d = Open();
  ASSERT_TRUE(d);
  EXPECT_GE(d->hydrated_bytes(), 8 * kChunk) << "flushed fills are kept: hydration resumes";
  auto got = Read(*d, 0, kDiskBytes);
  std::vector<std::byte> expect = want_;
  std::copy(acked.begin(), acked.end(), expect.begin() + static_cast<long>(acked_at));
  // The unacknowledged write reached the file (the process died, the page cache did not)
  // but no bit vouches for it: the chunk is fetched again and its stale bytes punched out.
  for (uint64_t i = 0; i < kDiskBytes; ++i) {
    ASSERT_EQ(got[i], expect[i]) << "byte " << i;
  }
  ExpectVerifyClean();
}

}  // namespace
}  // namespace rpfs::testing
