// A flipped byte in stored chunk data is found by verify (naming the RP) and makes reads
// fail with an error instead of returning wrong bytes.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "repo_fixture.h"

namespace rpfs::testing {
namespace {

namespace fs = std::filesystem;

// Flips one byte in the middle of the largest blob file of the store.
void FlipByteInLargestBlob(const std::string& store) {
  std::string largest;
  uintmax_t size = 0;
  for (const auto& e : fs::recursive_directory_iterator(store)) {
    if (e.path().extension() == ".blob" && e.file_size() > size) {
      size = e.file_size();
      largest = e.path().string();
    }
  }
  ASSERT_FALSE(largest.empty()) << "no blob file in " << store;
  int fd = ::open(largest.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  off_t off = static_cast<off_t>(size / 2);
  unsigned char b;
  ASSERT_EQ(::pread(fd, &b, 1, off), 1);
  b ^= 0x5a;
  ASSERT_EQ(::pwrite(fd, &b, 1, off), 1);
  ::close(fd);
}

TEST_F(RepoTest, FlippedByteIsReportedByVerifyAndFailsExport) {
  std::string img = Path("vda.raw");
  MakeSparseFile(img, 8 << 20);
  WriteAt(img, 0, PatternBytes(1, 8 << 20));  // incompressible: stored raw
  ASSERT_TRUE(repo_->AddVm("web01", {{"vda", img, std::nullopt}}).ok());
  ASSERT_TRUE(repo_->CreateRp("web01", "daily", {}).ok());
  auto clean = repo_->Verify();
  ASSERT_TRUE(clean.ok());
  ASSERT_TRUE(clean->ok());
  repo_.reset();  // close the store before damaging it

  FlipByteInLargestBlob(store());
  Reopen();
  auto report = repo_->Verify();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->ok());
  ASSERT_FALSE(report->damaged_rps.empty());
  EXPECT_NE(report->damaged_rps[0].find("web01/daily: disk vda: chunk "), std::string::npos)
      << report->damaged_rps[0];

  std::string out = Path("out.raw");
  int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  Status s = repo_->Export("web01", "daily", "vda", fd, true);
  ::close(fd);
  EXPECT_FALSE(s.ok()) << "export returned data from a damaged chunk";
  EXPECT_NE(s.message().find("chunk"), std::string::npos) << s.ToString();

  // Random reads: every read either fails or returns exactly the original bytes.
  auto want = ReadAll(img);
  auto reader = repo_->OpenDisk("web01", "daily", "vda");
  ASSERT_TRUE(reader.ok());
  int failures = 0;
  for (uint64_t off = 0; off < want.size(); off += 64 * 1024) {
    std::vector<std::byte> buf(64 * 1024);
    auto n = (*reader)->ReadAt(off, buf);
    if (!n.ok()) {
      ++failures;
      continue;
    }
    EXPECT_TRUE(std::equal(buf.begin(), buf.end(), want.begin() + off)) << "wrong bytes at " << off;
  }
  EXPECT_GE(failures, 1);
}

}  // namespace
}  // namespace rpfs::testing
