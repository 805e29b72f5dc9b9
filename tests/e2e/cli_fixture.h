// Fixture for tests that drive the rpfs binary: a temp dir with a store and an image.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "support/images.h"
#include "support/run.h"
#include "support/temp_dir.h"

namespace rpfs::testing {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    img_ = dir_ / "vda.raw";
    MakeSparseFile(img_, 32 << 20);
    WriteAt(img_, 0, TextBytes(1, 4 << 20));
    WriteAt(img_, 20 << 20, PatternBytes(2, 4 << 20));
  }

  std::string store() const { return dir_ / "store"; }

  RunResult R(const std::vector<std::string>& args,
              const std::map<std::string, std::string>& env = {}) {
    return Rpfs(store(), args, env);
  }

  void InitWithVm() {
    auto r = R({"init"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = R({"vm", "add", "vm", "--disk", "vda=" + img_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Returns once no process holds the store's lock (takes and drops it; no polling).
  void WaitForStoreLock() {
    int fd = ::open((store() + "/rpfs.lock").c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    ASSERT_EQ(::fcntl(fd, F_OFD_SETLKW, &fl), 0) << strerror(errno);
    ::close(fd);
  }

  // The store's observable state: RP list and VM list as JSON.
  std::string State() {
    auto a = R({"list", "--json"});
    auto b = R({"vm", "list", "--json"});
    return a.out + b.out + std::to_string(a.exit_code) + std::to_string(b.exit_code);
  }

  TempDir dir_;
  std::string img_;
};

// Asserts that `r` failed with `code` and that stderr contains every one of `parts`.
inline void ExpectError(const RunResult& r, int code, const std::vector<std::string>& parts) {
  EXPECT_EQ(r.exit_code, code) << "stderr: " << r.err;
  for (const auto& p : parts)
    EXPECT_NE(r.err.find(p), std::string::npos) << "stderr lacks '" << p << "': " << r.err;
}

}  // namespace rpfs::testing
