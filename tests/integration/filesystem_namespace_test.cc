// fs::Filesystem namespace operations (mkdir/rmdir/rename of RPs) and the kernel-cache
// invalidations it sends when the store changes behind the kernel's back.
#include <fcntl.h>
#include <sys/stat.h>

#include <mutex>

#include "fs/filesystem.h"
#include "repo_fixture.h"
#include "support/status_matchers.h"

namespace rpfs::testing {
namespace {

constexpr uint64_t kChunk = 64 * 1024;
// The mode mkdir(1) asks for (before the umask): the only one that makes an RP.
constexpr uint32_t kTyped = fs::Filesystem::kMkdirRpMode;

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
    ASSERT_OK(repo_->AddVm("vm", {{"vda", img_, std::nullopt}}));
    ASSERT_OK(repo_->CreateRp("vm", "rp", {}));
    fs_ = std::make_unique<fs::Filesystem>(repo_.get());
    fs_->SetKernelCache(&cache_);
    auto vm = fs_->Lookup(fs::kRootInode, "vm");
    ASSERT_OK(vm);
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
  auto made = fs_->MakeDir(vm_, "second", kTyped, "mkdir");
  ASSERT_OK(made);
  EXPECT_EQ(made->mode, static_cast<mode_t>(S_IFDIR | 0555));
  EXPECT_OK(repo_->GetRp("vm", "second"));
  ASSERT_OK(fs_->Rename(vm_, "second", vm_, "zwei"));
  EXPECT_OK(repo_->GetRp("vm", "zwei"));
  auto again = fs_->Lookup(vm_, "zwei");
  ASSERT_OK(again);
  EXPECT_EQ(again->ino, made->ino) << "an RP keeps its inode across a rename";
  ASSERT_OK(fs_->RemoveDir(vm_, "zwei"));
  EXPECT_TRUE(repo_->GetRp("vm", "zwei").status().IsNotFound());
}

TEST_F(FilesystemNamespaceTest, ErrorsAreTheCliErrorsAsErrno) {
  auto rp = fs_->Lookup(vm_, "rp");
  ASSERT_OK(rp);
  EXPECT_EQ(Errno(fs_->MakeDir(vm_, "rp", kTyped, "mkdir").status()), EEXIST);
  EXPECT_EQ(Errno(fs_->MakeDir(vm_, ".control", kTyped, "mkdir").status()), EINVAL);
  EXPECT_EQ(Errno(fs_->MakeDir(vm_, std::string(129, 'a'), kTyped, "mkdir").status()), EINVAL);
  EXPECT_EQ(Errno(fs_->MakeDir(fs::kRootInode, "newvm", kTyped, "mkdir").status()), EROFS);
  EXPECT_EQ(Errno(fs_->MakeDir(rp->ino, "sub", kTyped, "mkdir").status()), EROFS);
  EXPECT_EQ(Errno(fs_->RemoveDir(vm_, "nope")), ENOENT);
  EXPECT_EQ(Errno(fs_->RemoveDir(fs::kRootInode, "vm")), EROFS);
  EXPECT_EQ(Errno(fs_->Rename(vm_, "nope", vm_, "x")), ENOENT);
  EXPECT_EQ(Errno(fs_->Rename(vm_, "rp", vm_, ".x")), EINVAL);
  EXPECT_EQ(Errno(fs_->Rename(vm_, "rp", rp->ino, "x")), EROFS);
  ASSERT_OK(repo_->AddVm("vm2", {{"vda", img_, std::nullopt}}));
  auto vm2 = fs_->Lookup(fs::kRootInode, "vm2");
  ASSERT_OK(vm2);
  EXPECT_EQ(Errno(fs_->Rename(vm_, "rp", vm2->ino, "rp")), EPERM);
  EXPECT_TRUE(repo_->GetRp("vm2", "rp").status().IsNotFound());
  // Nothing changed.
  auto rps = repo_->ListRps("vm");
  ASSERT_OK(rps);
  ASSERT_EQ(rps->size(), 1u);
  EXPECT_EQ((*rps)[0].name, "rp");
  EXPECT_EQ(Errno(fs_->MakeDir(vm_, "rp", kTyped, "mkdir").status()), EEXIST);
}

// Copying tools (cp -r, cp -a, rsync, mv's fallback) ask mkdir for the mode of what they
// copy; only the 0777 of a typed mkdir makes an RP (docs/fuse-semantics.md).
TEST_F(FilesystemNamespaceTest, MkdirWithACopiedModeIsRefusedAndChangesNothing) {
  for (uint32_t mode : {0555u, 0500u, 0700u, 0755u, 0775u, 01777u}) {
    SCOPED_TRACE(mode);
    auto made = fs_->MakeDir(vm_, "copy", mode, "");
    EXPECT_EQ(Errno(made.status()), EPERM);
    EXPECT_NE(made.status().message().find("only a plain mkdir"), std::string::npos)
        << made.status().message();
    EXPECT_TRUE(repo_->GetRp("vm", "copy").status().IsNotFound());
  }
  std::string status = fs_->operations()->StatusText("vm");
  EXPECT_NE(status.find("command=\"mkdir copy mode=0755\""), std::string::npos) << status;
  EXPECT_NE(status.find("state=failed"), std::string::npos) << status;
  // rsync asks 0777 for the top of a tree it copies to a new name: the program decides.
  for (const char* tool : {"rsync", "cp", "mv"}) {
    auto made = fs_->MakeDir(vm_, "copy", kTyped, tool);
    EXPECT_EQ(Errno(made.status()), EPERM) << tool;
    EXPECT_NE(made.status().message().find(std::string("by ") + tool), std::string::npos)
        << made.status().message();
  }
  EXPECT_TRUE(repo_->GetRp("vm", "copy").status().IsNotFound());
  EXPECT_NE(status.find("state=failed"), std::string::npos) << status;
  // Outside a VM directory the answer stays EROFS whatever the mode.
  EXPECT_EQ(Errno(fs_->MakeDir(fs::kRootInode, "newvm", 0755, "cp").status()), EROFS);
  // The file type bits some tools pass (rsync: 040555) do not matter; 0777 does.
  ASSERT_OK(fs_->MakeDir(vm_, "typed", S_IFDIR | kTyped, "python3"));
  EXPECT_OK(repo_->GetRp("vm", "typed"));
}

TEST_F(FilesystemNamespaceTest, MoveToAnotherVmIsRefusedWithEpermAndReported) {
  ASSERT_OK(repo_->AddVm("vm2", {{"vda", img_, std::nullopt}}));
  auto vm2 = fs_->Lookup(fs::kRootInode, "vm2");
  ASSERT_OK(vm2);
  Status s = fs_->Rename(vm_, "rp", vm2->ino, "moved");
  EXPECT_EQ(Errno(s), EPERM);
  EXPECT_NE(s.message().find("cannot move to another VM (vm2)"), std::string::npos) << s.message();
  EXPECT_OK(repo_->GetRp("vm", "rp"));
  EXPECT_TRUE(repo_->GetRp("vm2", "moved").status().IsNotFound());
  std::string status = fs_->operations()->StatusText("vm");
  EXPECT_NE(status.find("command=\"mv rp to vm2/moved\""), std::string::npos) << status;
}

TEST_F(FilesystemNamespaceTest, StoreChangesInvalidateWhatTheKernelCaches) {
  auto rp = fs_->Lookup(vm_, "rp");
  ASSERT_OK(rp);
  auto info = fs_->Lookup(rp->ino, "info");
  ASSERT_OK(info);
  cache_.Take();
  const std::string v = std::to_string(vm_);

  ASSERT_OK(repo_->RenameRp("vm", "rp", "uno"));
  EXPECT_EQ(cache_.Take(),
            (std::vector<std::string>{"entry " + v + " rp", "entry " + v + " uno", "attrs " + v,
                                      "attrs " + std::to_string(info->ino)}));
  ASSERT_OK(repo_->CreateRp("vm", "dos", {}));
  EXPECT_EQ(cache_.Take(), (std::vector<std::string>{"entry " + v + " dos", "attrs " + v}));
  ASSERT_OK(repo_->DeleteRps("vm", {"dos"}));
  EXPECT_EQ(cache_.Take(), (std::vector<std::string>{"entry " + v + " dos", "attrs " + v}));
  ASSERT_OK(repo_->AddVm("vm2", {{"vda", img_, std::nullopt}}));
  EXPECT_EQ(cache_.Take(), (std::vector<std::string>{"entry 1 vm2", "attrs 1"}));

  // Detached (unmounting): nothing is sent.
  fs_->SetKernelCache(nullptr);
  ASSERT_OK(repo_->RemoveVm("vm2"));
  EXPECT_TRUE(cache_.Take().empty());
}

TEST_F(FilesystemNamespaceTest, DestroyedFilesystemStopsListening) {
  fs_.reset();
  ASSERT_OK(repo_->CreateRp("vm", "later", {}));  // must not call into a dead object
  EXPECT_TRUE(cache_.Take().empty());
}

}  // namespace
}  // namespace rpfs::testing
