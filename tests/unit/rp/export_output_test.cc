// ExportOutput writes a regular file with O_DIRECT while it can, falls back to the page
// cache for a write that cannot be aligned (the disk's short last chunk) for the rest of
// the export, gives the caller's fd its flags back, and writes pipes sequentially.
#include "rp/export_output.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace rpfs::rp {
namespace {

AlignedBuffer Filled(size_t size, char c) {
  AlignedBuffer b(size);
  std::memset(b.data(), c, size);
  return b;
}

std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ExportOutputTest, AlignedWritesGoDirectAndAShortTailFallsBackToThePageCache) {
  testing::TempDir dir;
  std::string path = dir / "out.raw";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  {
    ExportOutput out(fd);
    if (!out.direct()) GTEST_SKIP() << "the filesystem of " << dir.path() << " has no O_DIRECT";
    AlignedBuffer a = Filled(2 * kDirectIoAlign, 'a');
    ASSERT_OK(out.Write(std::span(a.data(), a.size()), kDirectIoAlign));
    EXPECT_TRUE(out.direct());
    AlignedBuffer b = Filled(100, 'b');  // the short last chunk
    ASSERT_OK(out.Write(std::span(b.data(), b.size()), 3 * kDirectIoAlign));
    EXPECT_FALSE(out.direct());
    ASSERT_OK(out.Write(std::span(a.data(), kDirectIoAlign), 0));  // buffered from now on
  }
  EXPECT_EQ(::fcntl(fd, F_GETFL) & O_DIRECT, 0) << "the caller's flags were not given back";
  ::close(fd);
  std::string want = std::string(kDirectIoAlign, 'a') + std::string(2 * kDirectIoAlign, 'a') +
                     std::string(100, 'b');
  EXPECT_EQ(Contents(path), want);
}

TEST(ExportOutputTest, SequentialWritesKeepTheirOrder) {
  testing::TempDir dir;
  std::string path = dir / "seq.raw";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  {
    ExportOutput out(fd);
    AlignedBuffer a = Filled(kDirectIoAlign, 'x');
    AlignedBuffer b = Filled(10, 'y');
    ASSERT_OK(out.Write(std::span(a.data(), a.size()), std::nullopt));
    ASSERT_OK(out.Write(std::span(b.data(), b.size()), std::nullopt));
    ASSERT_OK(out.Write(std::span(a.data(), 5), std::nullopt));
  }
  ::close(fd);
  EXPECT_EQ(Contents(path), std::string(kDirectIoAlign, 'x') + "yyyyyyyyyy" + "xxxxx");
}

TEST(ExportOutputTest, APipeIsWrittenInOrderWithoutDirectIo) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  {
    ExportOutput out(p[1]);
    EXPECT_FALSE(out.direct());
    AlignedBuffer a = Filled(kDirectIoAlign, 'p');
    ASSERT_OK(out.Write(std::span(a.data(), a.size()), std::nullopt));
  }
  ::close(p[1]);
  std::string got(2 * kDirectIoAlign, '\0');
  ssize_t n = ::read(p[0], got.data(), got.size());
  ::close(p[0]);
  ASSERT_EQ(n, static_cast<ssize_t>(kDirectIoAlign));
  EXPECT_EQ(got.substr(0, kDirectIoAlign), std::string(kDirectIoAlign, 'p'));
}

TEST(ExportOutputTest, AFailedWriteNamesTheOutput) {
  testing::TempDir dir;
  std::string path = dir / "ro.raw";
  ::close(::open(path.c_str(), O_WRONLY | O_CREAT, 0644));
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  Status s;
  {
    ExportOutput out(fd);
    AlignedBuffer a = Filled(kDirectIoAlign, 'z');
    s = out.Write(std::span(a.data(), a.size()), 0);
  }
  ::close(fd);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("export output"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace rpfs::rp
