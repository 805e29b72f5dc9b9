#include "util/fd.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include "support/images.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"
#include "util/bytes.h"

namespace rpfs {
namespace {

using ::testing::HasSubstr;

TEST(FdTest, WriteFileAtomicThenReadSmallFileRoundTrips) {
  testing::TempDir dir;
  std::vector<std::byte> bytes = testing::PatternBytes(9, 10000);  // > one 4 KiB read
  for (const std::string& contents : {std::string(), std::string("hello\n"), std::string("a\0b", 3),
                                      std::string(AsChars(bytes))}) {
    ASSERT_OK(WriteFileAtomic(dir / "config", contents));
    Result<std::string> back = ReadSmallFile(dir / "config");
    ASSERT_OK(back);
    EXPECT_EQ(*back, contents);
  }
}

TEST(FdTest, WriteFileAtomicReplacesAndLeavesNoTempFile) {
  testing::TempDir dir;
  ASSERT_OK(WriteFileAtomic(dir / "f", std::string(5000, 'L')));
  ASSERT_OK(WriteFileAtomic(dir / "f", "short"));
  EXPECT_EQ(*ReadSmallFile(dir / "f"), "short");
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"f"});
}

TEST(FdTest, WriteFileAtomicIgnoresATempFileLeftByACrash) {
  testing::TempDir dir;
  ASSERT_OK(WriteFileAtomic(dir / "f.tmp", std::string(5000, 'X')));  // the leftover
  ASSERT_OK(WriteFileAtomic(dir / "f", "new"));
  EXPECT_EQ(*ReadSmallFile(dir / "f"), "new");
}

TEST(FdTest, WriteFileAtomicIntoMissingDirectoryIsNotFound) {
  testing::TempDir dir;
  Status s = WriteFileAtomic(dir / "no/such/dir/f", "x");
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
}

TEST(FdTest, ReadSmallFileOfMissingFileIsNotFoundNamingThePath) {
  testing::TempDir dir;
  Result<std::string> r = ReadSmallFile(dir / "absent");
  EXPECT_TRUE(r.status().IsNotFound());
  EXPECT_EQ(r.status().sys_errno(), ENOENT);
  EXPECT_THAT(r.status().message(), HasSubstr(dir / "absent"));
}

TEST(FdTest, OpenFileMapsErrnoToStatus) {
  testing::TempDir dir;
  Result<UniqueFd> missing = OpenFile(dir / "absent", O_RDONLY);
  EXPECT_TRUE(missing.status().IsNotFound());
  Result<UniqueFd> directory = OpenFile(dir.path(), O_WRONLY);
  EXPECT_EQ(directory.status().code(), Status::Code::kIsADirectory)
      << directory.status().ToString();
  EXPECT_EQ(directory.status().sys_errno(), EISDIR);
  Result<UniqueFd> exists = OpenFile(dir / "new", O_WRONLY | O_CREAT | O_EXCL);
  ASSERT_OK(exists);
  EXPECT_TRUE(OpenFile(dir / "new", O_WRONLY | O_CREAT | O_EXCL).status().IsIOError());
}

TEST(FdTest, OpenedDescriptorsAreCloseOnExec) {
  testing::TempDir dir;
  Result<UniqueFd> fd = OpenFile(dir / "f", O_RDWR | O_CREAT);
  ASSERT_OK(fd);
  EXPECT_NE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(FdTest, PwriteFullThenPreadFullRoundTripsAtAnOffset) {
  testing::TempDir dir;
  Result<UniqueFd> fd = OpenFile(dir / "f", O_RDWR | O_CREAT);
  ASSERT_OK(fd);
  std::vector<std::byte> data = testing::PatternBytes(1, 100000);
  ASSERT_OK(PwriteFull(fd->get(), data, 4096, "f"));
  std::vector<std::byte> back(data.size());
  Result<size_t> n = PreadFull(fd->get(), back, 4096, "f");
  ASSERT_OK(n);
  EXPECT_EQ(*n, data.size());
  EXPECT_EQ(back, data);
  std::vector<std::byte> hole(4096, std::byte{0xff});
  ASSERT_EQ(*PreadFull(fd->get(), hole, 0, "f"), hole.size());
  EXPECT_EQ(hole, std::vector<std::byte>(4096));  // the gap before the offset reads as zeros
}

TEST(FdTest, PreadFullStopsAtEndOfFile) {
  testing::TempDir dir;
  ASSERT_OK(WriteFileAtomic(dir / "f", "0123456789"));
  Result<UniqueFd> fd = OpenFile(dir / "f", O_RDONLY);
  ASSERT_OK(fd);
  std::vector<std::byte> buf(100);
  EXPECT_EQ(*PreadFull(fd->get(), buf, 4, "f"), 6u);
  EXPECT_EQ(AsChars(std::span(buf).first(6)), "456789");
  EXPECT_EQ(*PreadFull(fd->get(), buf, 10, "f"), 0u);
  EXPECT_EQ(*PreadFull(fd->get(), buf, 1000, "f"), 0u);
}

TEST(FdTest, WriteFullAppendsAtTheFilePosition) {
  testing::TempDir dir;
  {
    Result<UniqueFd> fd = OpenFile(dir / "f", O_WRONLY | O_CREAT | O_TRUNC);
    ASSERT_OK(fd);
    ASSERT_OK(WriteFull(fd->get(), AsBytes("abc"), "f"));
    ASSERT_OK(WriteFull(fd->get(), AsBytes("def"), "f"));
  }
  EXPECT_EQ(*ReadSmallFile(dir / "f"), "abcdef");
}

TEST(FdTest, FailedWriteNamesWhatWasWritten) {
  testing::TempDir dir;
  ASSERT_OK(WriteFileAtomic(dir / "f", "x"));
  Result<UniqueFd> fd = OpenFile(dir / "f", O_RDONLY);
  ASSERT_OK(fd);
  Status s = WriteFull(fd->get(), AsBytes("abc"), "the journal");
  EXPECT_TRUE(s.IsIOError());
  EXPECT_EQ(s.sys_errno(), EBADF);
  EXPECT_THAT(s.message(), HasSubstr("writing the journal"));
}

TEST(UniqueFdTest, ClosesOnDestructionAndTransfersOnMove) {
  testing::TempDir dir;
  Result<UniqueFd> opened = OpenFile(dir / "f", O_RDWR | O_CREAT);
  ASSERT_OK(opened);
  UniqueFd a = std::move(opened).value();
  const int raw = a.get();
  ASSERT_TRUE(a.valid());
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(b.get(), raw);
  EXPECT_NE(::fcntl(raw, F_GETFD), -1);
  b.Reset();
  EXPECT_FALSE(b.valid());
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(FsyncDirTest, SucceedsOnADirectoryAndFailsOnAMissingOne) {
  testing::TempDir dir;
  EXPECT_OK(FsyncDir(dir.path()));
  EXPECT_TRUE(FsyncDir(dir / "absent").IsNotFound());
}

}  // namespace
}  // namespace rpfs
