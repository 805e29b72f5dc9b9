// Shared fixture for repository integration tests: a store in a temp dir, images, and
// byte-exact comparison of exports against snapshots of the images.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "rpfs/repository.h"
#include "support/images.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace rpfs::testing {

class RepoTest : public ::testing::Test {
 protected:
  void SetUp() override { OpenNew(InitOptions{}); }

  void OpenNew(const InitOptions& opts) {
    repo_.reset();
    auto r = Repository::Init(store(), opts);
    ASSERT_OK(r);
    repo_ = std::move(*r);
  }
  void Reopen() {
    repo_.reset();
    auto r = Repository::Open(store());
    ASSERT_OK(r);
    repo_ = std::move(*r);
  }

  std::string store() const { return dir_ / "store"; }
  std::string Path(const std::string& name) const { return dir_ / name; }

  // Exports disk `disk` of vm/rp and returns its bytes.
  std::vector<std::byte> Export(const std::string& vm, const std::string& rp,
                                const std::string& disk, bool sparse = true) {
    std::string out = Path("export-" + vm + "-" + rp + "-" + disk + ".raw");
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    EXPECT_GE(fd, 0);
    Status s = repo_->Export(vm, rp, disk, fd, sparse);
    ::close(fd);
    EXPECT_OK(s);
    auto bytes = ReadAll(out);
    ::unlink(out.c_str());
    return bytes;
  }

  // Takes an RP and keeps a copy of every disk image as it was, for later comparison.
  void CreateAndSnapshot(const std::string& vm, const std::string& rp,
                         const std::vector<std::pair<std::string, std::string>>& disks) {
    auto info = repo_->CreateRp(vm, rp, CreateOptions{});
    ASSERT_OK(info);
    for (const auto& [disk, path] : disks) snapshots_[vm + "/" + rp + "/" + disk] = ReadAll(path);
  }

  void ExpectExportMatchesSnapshot(const std::string& vm, const std::string& rp,
                                   const std::string& disk) {
    const auto& want = snapshots_.at(vm + "/" + rp + "/" + disk);
    auto got = Export(vm, rp, disk);
    ASSERT_EQ(got.size(), want.size()) << vm << "/" << rp << " " << disk;
    EXPECT_TRUE(got == want) << vm << "/" << rp << " " << disk
                             << " differs from the image as it was";
  }

  TempDir dir_;
  std::unique_ptr<Repository> repo_;
  std::map<std::string, std::vector<std::byte>> snapshots_;
};

}  // namespace rpfs::testing
