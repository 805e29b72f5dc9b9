// Export of every RP equals the image as it was when the RP was taken.
#include <cstdlib>

#include "repo_fixture.h"
#include "support/run.h"
#include "support/status_matchers.h"

namespace rpfs::testing {
namespace {

constexpr uint64_t kChunk = 64 * 1024;

TEST_F(RepoTest, ChainOfRpsOfSparseImageExportsByteIdentical) {
  std::string img = Path("vda.raw");
  MakeSparseFile(img, 40 * kChunk + 12345);  // not a multiple of the chunk size
  WriteAt(img, 3 * kChunk + 100, TextBytes(1, 5 * kChunk));
  WriteAt(img, 40 * kChunk, PatternBytes(2, 12345));  // data in the short last chunk
  ASSERT_OK(repo_->AddVm("vm1", {{"vda", img, std::nullopt}}));
  CreateAndSnapshot("vm1", "rp1", {{"vda", img}});
  WriteAt(img, 20 * kChunk + 7, PatternBytes(3, 3 * kChunk));  // new data in a hole
  CreateAndSnapshot("vm1", "rp2", {{"vda", img}});
  WriteAt(img, 3 * kChunk + 100, std::vector<std::byte>(5 * kChunk));  // zero old data
  CreateAndSnapshot("vm1", "rp3", {{"vda", img}});
  for (const char* rp : {"rp1", "rp2", "rp3"}) ExpectExportMatchesSnapshot("vm1", rp, "vda");
  Reopen();
  for (const char* rp : {"rp1", "rp2", "rp3"}) ExpectExportMatchesSnapshot("vm1", rp, "vda");
}

TEST_F(RepoTest, NonSparseImageAndNonSparseExport) {
  std::string img = Path("full.raw");
  MakeSparseFile(img, 0);
  auto data = PatternBytes(4, 9 * kChunk + 1);
  data.insert(data.end(), 3 * kChunk, std::byte{0});  // written zeros, not a hole
  WriteAt(img, 0, data);
  ASSERT_OK(repo_->AddVm("vm1", {{"vda", img, "raw"}}));
  CreateAndSnapshot("vm1", "a", {{"vda", img}});
  auto got = Export("vm1", "a", "vda", /*sparse=*/false);
  EXPECT_TRUE(got == data);
}

TEST_F(RepoTest, ZeroByteDiskRoundTrips) {
  std::string img = Path("empty.raw");
  MakeSparseFile(img, 0);
  ASSERT_OK(repo_->AddVm("vm1", {{"vda", img, std::nullopt}}));
  CreateAndSnapshot("vm1", "empty", {{"vda", img}});
  EXPECT_TRUE(Export("vm1", "empty", "vda").empty());
  auto info = repo_->GetRp("vm1", "empty");
  ASSERT_OK(info);
  ASSERT_EQ(info->disks.size(), 1u);
  EXPECT_EQ(info->disks[0].size, 0u);
}

TEST_F(RepoTest, MultiDiskVmKeepsDisksApart) {
  std::string a = Path("a.raw"), b = Path("b.raw");
  MakeSparseFile(a, 10 * kChunk);
  MakeSparseFile(b, 3 * kChunk + 5);
  WriteAt(a, 0, TextBytes(5, 10 * kChunk));
  WriteAt(b, 0, PatternBytes(6, 3 * kChunk + 5));
  ASSERT_OK(repo_->AddVm("vm2", {{"vda", a, std::nullopt}, {"vdb", b, std::nullopt}}));
  CreateAndSnapshot("vm2", "one", {{"vda", a}, {"vdb", b}});
  WriteAt(b, kChunk, PatternBytes(7, 100));
  CreateAndSnapshot("vm2", "two", {{"vda", a}, {"vdb", b}});
  for (const char* rp : {"one", "two"}) {
    ExpectExportMatchesSnapshot("vm2", rp, "vda");
    ExpectExportMatchesSnapshot("vm2", rp, "vdb");
  }
  auto missing = repo_->OpenDisk("vm2", "one", "vdc");
  EXPECT_TRUE(missing.status().IsNotFound());
}

TEST_F(RepoTest, DiskReaderReadsAnyRangeLikeTheImage) {
  std::string img = Path("r.raw");
  MakeSparseFile(img, 7 * kChunk + 999);
  WriteAt(img, kChunk - 10, PatternBytes(8, 2 * kChunk));
  WriteAt(img, 6 * kChunk, TextBytes(9, kChunk + 999));
  ASSERT_OK(repo_->AddVm("vm", {{"vda", img, std::nullopt}}));
  CreateAndSnapshot("vm", "rp", {{"vda", img}});
  const auto& want = snapshots_.at("vm/rp/vda");
  auto reader = repo_->OpenDisk("vm", "rp", "vda");
  ASSERT_OK(reader);
  EXPECT_EQ((*reader)->size(), want.size());
  std::srand(42);
  for (int i = 0; i < 300; ++i) {
    uint64_t off = static_cast<uint64_t>(std::rand()) % (want.size() + 100);
    size_t len = static_cast<size_t>(std::rand()) % (3 * kChunk);
    std::vector<std::byte> buf(len);
    auto n = (*reader)->ReadAt(off, buf);
    ASSERT_OK(n);
    size_t expect_n = off >= want.size() ? 0 : std::min<uint64_t>(len, want.size() - off);
    ASSERT_EQ(*n, expect_n) << "offset " << off << " len " << len;
    EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + *n, want.begin() + off)) << "offset " << off;
  }
}

TEST_F(RepoTest, Qcow2DiskIsReadThroughQemu) {
  if (RunCommand({"qemu-img", "--version"}).exit_code != 0) {
    GTEST_SKIP() << "qemu-img is not installed (scripts/install-deps.sh installs qemu-utils)";
  }
  std::string raw = Path("src.raw"), q = Path("disk.qcow2");
  // qcow2 sizes are whole 512-byte sectors (qemu-img rounds up), but not whole chunks.
  MakeSparseFile(raw, 64 * kChunk + 1024);
  WriteAt(raw, 5 * kChunk, TextBytes(10, 4 * kChunk));
  WriteAt(raw, 64 * kChunk, PatternBytes(11, 1024));
  ASSERT_EQ(RunCommand({"qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, q}).exit_code, 0);
  ASSERT_OK(repo_->AddVm("qvm", {{"vda", q, std::nullopt}}));
  auto vm = repo_->GetVm("qvm");
  ASSERT_OK(vm);
  EXPECT_EQ(vm->disks[0].format, "qcow2");
  ASSERT_OK(repo_->CreateRp("qvm", "q1", {}));
  auto got = Export("qvm", "q1", "vda");
  EXPECT_TRUE(got == ReadAll(raw)) << "qcow2 content differs from the raw source";
  // A second RP after the image changed.
  WriteAt(raw, 30 * kChunk, PatternBytes(12, kChunk));
  ASSERT_EQ(
      RunCommand({"qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, q + ".new"}).exit_code,
      0);
  ASSERT_EQ(std::rename((q + ".new").c_str(), q.c_str()), 0);
  ASSERT_OK(repo_->CreateRp("qvm", "q2", {}));
  EXPECT_TRUE(Export("qvm", "q2", "vda") == ReadAll(raw));
}

// The undo RP of a rollback reads the qcow2 that the rollback's own writer (qemu-nbd)
// holds with qemu's write lock: it must share it, not fail (found by the restore e2e test).
TEST_F(RepoTest, Qcow2RollbackWithKeepCurrentSavesTheStateFirst) {
  if (RunCommand({"qemu-img", "--version"}).exit_code != 0) {
    GTEST_SKIP() << "qemu-img is not installed (scripts/install-deps.sh installs qemu-utils)";
  }
  std::string raw = Path("src.raw"), q = Path("disk.qcow2");
  MakeSparseFile(raw, 16 * kChunk);
  WriteAt(raw, 0, TextBytes(20, 2 * kChunk));
  ASSERT_EQ(RunCommand({"qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, q}).exit_code, 0);
  ASSERT_OK(repo_->AddVm("qvm", {{"vda", q, std::nullopt}}));
  ASSERT_OK(repo_->CreateRp("qvm", "q1", {}));
  ASSERT_EQ(RunCommand({"qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 512k 64k", q}).exit_code, 0);
  ASSERT_OK(repo_->CreateRp("qvm", "changed", {}));
  const auto changed = Export("qvm", "changed", "vda");
  RollbackOptions opts;
  opts.keep_current = true;
  auto done = repo_->Rollback("qvm", "q1", opts);
  ASSERT_OK(done);
  EXPECT_EQ(done->chunks_written, 1u);
  EXPECT_TRUE(Export("qvm", done->undo_rp, "vda") == changed);
  ASSERT_OK(repo_->CreateRp("qvm", "after", {}));
  EXPECT_TRUE(Export("qvm", "after", "vda") == Export("qvm", "q1", "vda"));
}

}  // namespace
}  // namespace rpfs::testing
