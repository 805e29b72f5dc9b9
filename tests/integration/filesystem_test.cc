// fs::Filesystem in-process (no kernel): names, lookup counts, errno mapping, reads.
#include "fs/filesystem.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "repo_fixture.h"
#include "support/status_matchers.h"

namespace rpfs::testing {
namespace {

constexpr uint64_t kChunk = 64 * 1024;

class FilesystemTest : public RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    img_ = Path("vda.raw");
    MakeSparseFile(img_, 10 * kChunk + 7);
    WriteAt(img_, kChunk, TextBytes(1, 3 * kChunk));
    ASSERT_OK(repo_->AddVm("vm", {{"vda", img_, std::nullopt}}));
    ASSERT_OK(repo_->CreateRp("vm", "rp", {}));
    fs_ = std::make_unique<fs::Filesystem>(repo_.get());
  }
  fs::Attr Look(fs::InodeNo parent, const std::string& name) {
    auto a = fs_->Lookup(parent, name);
    EXPECT_OK(a) << name << ": " << a.status().ToString();
    return a.ok() ? *a : fs::Attr{};
  }
  std::string img_;
  std::unique_ptr<fs::Filesystem> fs_;
};

TEST_F(FilesystemTest, LookupsAreCountedAndForgottenNodesGoAway) {
  size_t base = fs_->inode_count();
  fs::Attr vm = Look(fs::kRootInode, "vm");
  fs::Attr vm2 = Look(fs::kRootInode, "vm");
  EXPECT_EQ(vm.ino, vm2.ino);
  fs::Attr rp = Look(vm.ino, "rp");
  fs::Attr disk = Look(rp.ino, "vda.raw");
  EXPECT_EQ(disk.size, 10 * kChunk + 7);
  EXPECT_EQ(disk.mode, static_cast<mode_t>(S_IFREG | 0444));
  EXPECT_TRUE(disk.immutable);
  EXPECT_EQ(fs_->inode_count(), base + 3);
  fs_->Forget(disk.ino, 1);
  fs_->Forget(rp.ino, 1);
  fs_->Forget(vm.ino, 1);
  EXPECT_EQ(fs_->inode_count(), base + 1);  // vm was looked up twice
  fs_->Forget(vm.ino, 1);
  EXPECT_EQ(fs_->inode_count(), base);
  EXPECT_EQ(fs::ToErrno(fs_->GetAttr(vm.ino).status()), ESTALE);
  // A failed lookup leaves no node behind.
  EXPECT_EQ(fs::ToErrno(fs_->Lookup(fs::kRootInode, "nope").status()), ENOENT);
  EXPECT_EQ(fs_->inode_count(), base);
}

// The root, a VM directory and its .clones show when their entries last changed: the newest
// RP (or clone) at first, then every change; never 1970.
TEST_F(FilesystemTest, DirectoryTimesFollowTheNewestEntryAndEveryChange) {
  auto rp = repo_->GetRp("vm", "rp");
  ASSERT_OK(rp);
  fs::Attr vm = Look(fs::kRootInode, "vm");
  EXPECT_EQ(vm.mtime_us, rp->created_us);
  auto root = fs_->GetAttr(fs::kRootInode);
  ASSERT_OK(root);
  EXPECT_EQ(root->mtime_us, rp->created_us);
  EXPECT_EQ(Look(vm.ino, ".clones").mtime_us, rp->created_us);  // no clone yet: the VM's

  ASSERT_OK(repo_->CreateRp("vm", "rp2", {}));
  auto rp2 = repo_->GetRp("vm", "rp2");
  ASSERT_OK(rp2);
  auto after_create = fs_->GetAttr(vm.ino);
  ASSERT_OK(after_create);
  EXPECT_GE(after_create->mtime_us, rp2->created_us);

  ASSERT_OK(repo_->DeleteRps("vm", {"rp2"}).status());
  auto after_delete = fs_->GetAttr(vm.ino);
  ASSERT_OK(after_delete);
  EXPECT_GT(after_delete->mtime_us, rp->created_us);  // the delete, not the newest RP left
  EXPECT_GE(after_delete->mtime_us, after_create->mtime_us);
  auto root_after = fs_->GetAttr(fs::kRootInode);
  ASSERT_OK(root_after);
  EXPECT_GE(root_after->mtime_us, after_delete->mtime_us);
}

TEST_F(FilesystemTest, ErrnoForBadNamesAndAccess) {
  fs::Attr vm = Look(fs::kRootInode, "vm");
  fs::Attr rp = Look(vm.ino, "rp");
  fs::Attr disk = Look(rp.ino, "vda.raw");
  EXPECT_EQ(fs::ToErrno(fs_->Lookup(vm.ino, ".snapshots").status()), ENOENT);
  EXPECT_EQ(fs::ToErrno(fs_->Lookup(vm.ino, "..").status()), ENOENT);
  EXPECT_EQ(fs::ToErrno(fs_->Lookup(rp.ino, "vda").status()), ENOENT);
  EXPECT_EQ(fs::ToErrno(fs_->Lookup(disk.ino, "x").status()), ENOTDIR);
  EXPECT_EQ(fs::ToErrno(fs_->Open(disk.ino, O_WRONLY).status()), EROFS);
  EXPECT_EQ(fs::ToErrno(fs_->Open(disk.ino, O_RDONLY | O_TRUNC).status()), EROFS);
  EXPECT_EQ(fs::ToErrno(fs_->Open(rp.ino, O_RDONLY).status()), EISDIR);
  EXPECT_EQ(fs::ToErrno(fs_->Read(12345, 0, {}).status()), EBADF);
  EXPECT_EQ(fs::ToErrno(Status::NoSpace("x")), ENOSPC);
  EXPECT_EQ(fs::ToErrno(Status::Busy("x")), EBUSY);
  EXPECT_EQ(fs::ToErrno(Status::Corruption("x")), EIO);
  EXPECT_EQ(fs::ToErrno(Status::AlreadyExists("x")), EEXIST);
  EXPECT_EQ(fs::ToErrno(Status::InvalidArgument("x")), EINVAL);
}

TEST_F(FilesystemTest, ReadsDirectoriesFilesAndInfo) {
  auto root = fs_->ReadDir(fs::kRootInode);
  ASSERT_OK(root);
  ASSERT_EQ(root->size(), 1u);
  EXPECT_EQ((*root)[0].name, "vm");
  fs::Attr vm = Look(fs::kRootInode, "vm");
  fs::Attr rp = Look(vm.ino, "rp");
  auto files = fs_->ReadDir(rp.ino);
  ASSERT_OK(files);
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0].name, "vda.raw");
  EXPECT_EQ((*files)[1].name, "info");
  EXPECT_EQ((*files)[2].name, "files");  // the guest's files (guest_files_test.cc)

  fs::Attr disk = Look(rp.ino, "vda.raw");
  auto h = fs_->Open(disk.ino, O_RDONLY);
  ASSERT_OK(h);
  auto want = ReadAll(img_);
  std::vector<std::byte> buf(want.size() + 100);
  auto n = fs_->Read(*h, 0, buf);
  ASSERT_OK(n);
  ASSERT_EQ(*n, want.size());
  EXPECT_TRUE(std::equal(want.begin(), want.end(), buf.begin()));
  EXPECT_EQ(*fs_->Seek(*h, 0, SEEK_DATA), kChunk);
  EXPECT_EQ(*fs_->Seek(*h, kChunk, SEEK_HOLE), 4 * kChunk);
  EXPECT_EQ(fs::ToErrno(fs_->Seek(*h, 5 * kChunk, SEEK_DATA).status()), ENXIO);
  EXPECT_EQ(fs_->open_handles(), 1u);
  fs_->Release(*h);
  EXPECT_EQ(fs_->open_handles(), 0u);

  fs::Attr info = Look(rp.ino, "info");
  auto ih = fs_->Open(info.ino, O_RDONLY);
  ASSERT_OK(ih);
  EXPECT_EQ(info.size, 0u);  // a generated text: made at open, read with direct_io
  std::vector<std::byte> text(4096);
  auto got = fs_->Read(*ih, 0, text);
  ASSERT_OK(got);
  std::string s(reinterpret_cast<const char*>(text.data()), *got);
  EXPECT_EQ(s.rfind("name: rp\nvm: vm\n", 0), 0u) << s;
  fs_->Release(*ih);
}

TEST_F(FilesystemTest, RpDirectoryKeepsItsInodeAcrossRenameAndVanishesOnDelete) {
  fs::Attr vm = Look(fs::kRootInode, "vm");
  fs::Attr rp = Look(vm.ino, "rp");
  ASSERT_OK(repo_->RenameRp("vm", "rp", "renamed"));
  fs::Attr again = Look(vm.ino, "renamed");
  EXPECT_EQ(again.ino, rp.ino);
  EXPECT_EQ(fs::ToErrno(fs_->Lookup(vm.ino, "rp").status()), ENOENT);
  ASSERT_OK(repo_->DeleteRps("vm", {"renamed"}));
  EXPECT_EQ(fs::ToErrno(fs_->GetAttr(rp.ino).status()), ENOENT);
}

}  // namespace
}  // namespace rpfs::testing

namespace rpfs::testing {
namespace {

TEST_F(FilesystemTest, ConcurrentLookupAndForgetLeaveNoNodeBehind) {
  size_t base = fs_->inode_count();
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        auto vm = fs_->Lookup(fs::kRootInode, "vm");
        if (!vm.ok()) {
          ++errors;
          continue;
        }
        auto rp = fs_->Lookup(vm->ino, "rp");
        if (rp.ok()) {
          auto disk = fs_->Lookup(rp->ino, "vda.raw");
          if (disk.ok()) fs_->Forget(disk->ino, 1);
          fs_->Forget(rp->ino, 1);
        } else {
          ++errors;
        }
        fs_->Forget(vm->ino, 1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(fs_->inode_count(), base);
}

}  // namespace
}  // namespace rpfs::testing
