// fs::Filesystem namespace operations (mkdir/rmdir/rename of RPs) and the kernel-cache
// invalidations it sends when the store changes behind the kernel's back.
#include <fcntl.h>
#include <sys/stat.h>

#include <mutex>

#include "fs/filesystem.h"
#include "repo_fixture.h"

namespace rpfs::testing {
namespace {

constexpr uint64_t kChunk = 64 * 1024;

// Records what the Filesystem asks the kernel to forget.
class RecordingCache : public fs::KernelCache {
 public:
  void InvalidateEntry(fs::InodeNo parent, const std::string& name) override {
    std::lock_guard lock(mu_);
    log_.push_back("entry " + std::to_string(parent) + " " + name);
  }
  void InvalidateAttrs(fs::InodeNo ino) override {
    std::lock_guard lock(mu_);
    log_.push_back("attrs " + std::to_string(ino));
  }
  std::vector<std::string> Take() {
    std::lock_guard lock(mu_);
    return std::exchange(log_, {});
  }

 private:
  std::mutex mu_;
  std::vector<std::string> log_;
};

class FilesystemNamespaceTest : public RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    img_ = Path("vda.raw");
    MakeSparseFile(img_, 8 * kChunk);
    WriteAt(img_, 0, TextBytes(1, 2 * kChunk));
    ASSERT_TRUE(repo_->AddVm("vm", {{"vda", img_, std::nullopt}}).ok());
    ASSERT_TRUE(repo_->CreateRp("vm", "rp", {}).ok());
    fs_ = std::make_unique<fs::Filesystem>(repo_.get());
    fs_->SetKernelCache(&cache_);
    auto vm = fs_->Lookup(fs::kRootInode, "vm");
    ASSERT_TRUE(vm.ok());
    vm_ = vm->ino;
  }
  void TearDown() override { fs_.reset(); }
  int Errno(const Status& s) { return fs::ToErrno(s); }

  std::string img_;
  RecordingCache cache_;
  std::unique_ptr<fs::Filesystem> fs_;
  fs::InodeNo vm_ = 0;
};

TEST_F(FilesystemNamespaceTest, MkdirRenameRmdirManageRps) {
  auto made = fs_->MakeDir(vm_, "second");
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->mode, static_cast<mode_t>(S_IFDIR | 0555));
  EXPECT_TRUE(repo_->GetRp("vm", "second").ok());
  ASSERT_TRUE(fs_->Rename(vm_, "second", vm_, "zwei").ok());
  EXPECT_TRUE(repo_->GetRp("vm", "zwei").ok());
  auto again = fs_->Lookup(vm_, "zwei");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ino, made->ino) << "an RP keeps its inode across a rename";
  ASSERT_TRUE(fs_->RemoveDir(vm_, "zwei").ok());
  EXPECT_TRUE(repo_->GetRp("vm", "zwei").status().IsNotFound());
}

TEST_F(FilesystemNamespaceTest, ErrorsAreTheCliErrorsAsErrno) {
  auto rp = fs_->Lookup(vm_, "rp");
  ASSERT_TRUE(rp.ok());
  EXPECT_EQ(Errno(fs_->MakeDir(vm_, "rp").status()), EEXIST);
  EXPECT_EQ(Errno(fs_->MakeDir(vm_, ".control").status()), EINVAL);
  EXPECT_EQ(Errno(fs_->MakeDir(vm_, std::string(129, 'a')).status()), EINVAL);
  EXPECT_EQ(Errno(fs_->MakeDir(fs::kRootInode, "newvm").status()), EROFS);
  EXPECT_EQ(Errno(fs_->MakeDir(rp->ino, "sub").status()), EROFS);
  EXPECT_EQ(Errno(fs_->RemoveDir(vm_, "nope")), ENOENT);
  EXPECT_EQ(Errno(fs_->RemoveDir(fs::kRootInode, "vm")), EROFS);
  EXPECT_EQ(Errno(fs_->Rename(vm_, "nope", vm_, "x")), ENOENT);
  EXPECT_EQ(Errno(fs_->Rename(vm_, "rp", vm_, ".x")), EINVAL);
  EXPECT_EQ(Errno(fs_->Rename(vm_, "rp", rp->ino, "x")), EROFS);
  ASSERT_TRUE(repo_->AddVm("vm2", {{"vda", img_, std::nullopt}}).ok());
  auto vm2 = fs_->Lookup(fs::kRootInode, "vm2");
  ASSERT_TRUE(vm2.ok());
  EXPECT_EQ(Errno(fs_->Rename(vm_, "rp", vm2->ino, "rp")), EXDEV);
  // Nothing changed.
  auto rps = repo_->ListRps("vm");
  ASSERT_TRUE(rps.ok());
  ASSERT_EQ(rps->size(), 1u);
  EXPECT_EQ((*rps)[0].name, "rp");
  EXPECT_EQ(Errno(fs_->MakeDir(vm_, "rp").status()), EEXIST);
}

TEST_F(FilesystemNamespaceTest, StoreChangesInvalidateWhatTheKernelCaches) {
  auto rp = fs_->Lookup(vm_, "rp");
  ASSERT_TRUE(rp.ok());
  auto info = fs_->Lookup(rp->ino, "info");
  ASSERT_TRUE(info.ok());
  cache_.Take();
  const std::string v = std::to_string(vm_);

  ASSERT_TRUE(repo_->RenameRp("vm", "rp", "uno").ok());
  EXPECT_EQ(cache_.Take(),
            (std::vector<std::string>{"entry " + v + " rp", "entry " + v + " uno", "attrs " + v,
                                      "attrs " + std::to_string(info->ino)}));
  ASSERT_TRUE(repo_->CreateRp("vm", "dos", {}).ok());
  EXPECT_EQ(cache_.Take(), (std::vector<std::string>{"entry " + v + " dos", "attrs " + v}));
  ASSERT_TRUE(repo_->DeleteRps("vm", {"dos"}).ok());
  EXPECT_EQ(cache_.Take(), (std::vector<std::string>{"entry " + v + " dos", "attrs " + v}));
  ASSERT_TRUE(repo_->AddVm("vm2", {{"vda", img_, std::nullopt}}).ok());
  EXPECT_EQ(cache_.Take(), (std::vector<std::string>{"entry 1 vm2", "attrs 1"}));

  // Detached (unmounting): nothing is sent.
  fs_->SetKernelCache(nullptr);
  ASSERT_TRUE(repo_->RemoveVm("vm2").ok());
  EXPECT_TRUE(cache_.Take().empty());
}

TEST_F(FilesystemNamespaceTest, DestroyedFilesystemStopsListening) {
  fs_.reset();
  ASSERT_TRUE(repo_->CreateRp("vm", "later", {}).ok());  // must not call into a dead object
  EXPECT_TRUE(cache_.Take().empty());
}

}  // namespace
}  // namespace rpfs::testing
