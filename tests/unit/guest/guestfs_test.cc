// OpenGuestFs on real images built here (mke2fs -d, mkfs.vfat + mcopy, mkfs.exfat and mkntfs
// filled through their FUSE drivers, xorriso): the tree read back equals the tree put in,
// content both through Read() and through the MapFile extents read from the volume.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "guestfs/open.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace rpfs::guestfs {
namespace {

namespace fs = std::filesystem;
using guest::FileExtent;
using guest::FsType;

// A ByteSource over an image file.
class FileSource : public guest::ByteSource {
 public:
  FileSource(const std::string& path, std::string name) : name_(std::move(name)) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd_ >= 0 && ::fstat(fd_, &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
  }
  ~FileSource() override {
    if (fd_ >= 0) ::close(fd_);
  }
  uint64_t size() const override { return size_; }
  std::string name() const override { return name_; }
  Status ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    RPFS_RETURN_IF_ERROR(guest::CheckRange(offset, out.size(), size_, name_));
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n =
          ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n <= 0) return Status::IOError(name_ + ": short read");
      done += static_cast<size_t>(n);
    }
    return Status::OK();
  }

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string name_;
};

bool Sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }
bool Have(const std::string& tool) { return Sh("command -v " + tool); }

void WriteFile(const fs::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

struct TreeOptions {
  bool symlinks = false;
  bool sparse = false;
};

// The source tree every test puts into its image.
void MakeTree(const fs::path& root, TreeOptions opt) {
  fs::create_directories(root / "a/b/c");
  WriteFile(root / "a/b/c/deep.txt", "deep\n");
  WriteFile(root / "big.bin", Random(3 * 1024 * 1024 + 17, 1));
  WriteFile(root / "odd.bin", Random(12345, 2));
  WriteFile(root / "empty", "");
  WriteFile(root / "name with spaces.txt", "spaces\n");
  WriteFile(root / "h\xc3\xa9llo w\xc3\xb6rld.txt", "utf8\n");
  fs::create_directories(root / "many");
  for (int i = 0; i < 300; ++i)
    WriteFile(root / "many" / ("file" + std::to_string(i)), std::to_string(i));
  if (opt.symlinks) {
    fs::create_symlink("a/b/c/deep.txt", root / "link");
    fs::create_symlink(std::string(100, 'x') + "/long/target/past/sixty/bytes", root / "longlink");
  }
  if (opt.sparse) {
    int fd = ::open((root / "sparse.bin").c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 8 << 20), 0);
    ASSERT_EQ(::pwrite(fd, "middle", 6, 4 << 20), 6);
    ::close(fd);
  }
  fs::permissions(root / "odd.bin", fs::perms(0600));
  // Even seconds, so FAT's 2 s resolution does not round.
  Sh("find " + root.string() + " -exec touch -h -d '2024-05-06 07:08:10' {} +");
}

struct Check {
  bool modes = false;
  int64_t mtime_tolerance_s = 0;  // < 0: not compared
};

std::string ReadAll(guest::GuestFs& gfs, uint64_t ino, uint64_t size) {
  std::string data(size, '\0');
  auto got = gfs.Read(ino, 0, std::as_writable_bytes(std::span(data)));
  EXPECT_OK(got);
  if (got.ok()) {
    EXPECT_EQ(*got, size);
  }
  return data;
}

std::string ReadByExtents(guest::GuestFs& gfs, const guest::ByteSource& volume, uint64_t ino,
                          uint64_t size) {
  std::string data(size, '\0');
  auto map = gfs.MapFile(ino);
  EXPECT_OK(map);
  if (!map.ok()) return "";
  uint64_t expect = 0;
  for (const FileExtent& e : *map) {
    EXPECT_EQ(e.file_offset, expect);
    expect = e.file_offset + e.length;
    if (expect > size) return "extent past the end";
    auto out = std::as_writable_bytes(std::span(data.data() + e.file_offset, e.length));
    if (e.kind == FileExtent::Kind::kVolume) {
      EXPECT_OK(volume.ReadAt(e.volume_offset, out));
    } else if (e.kind == FileExtent::Kind::kInline) {
      auto got = gfs.Read(ino, e.file_offset, out);
      EXPECT_OK(got);
    }
  }
  EXPECT_EQ(expect, size);
  return data;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Walks the guest tree and the source tree together.
void Compare(guest::GuestFs& gfs, const guest::ByteSource& volume, const fs::path& src,
             Check check) {
  std::map<std::string, fs::path> want;
  for (auto& e : fs::recursive_directory_iterator(src)) {
    want[e.path().lexically_relative(src).string()] = e.path();
  }
  std::map<std::string, uint64_t> seen;
  std::vector<std::pair<std::string, uint64_t>> todo = {{"", gfs.RootIno()}};
  while (!todo.empty()) {
    auto [dir_path, dir] = todo.back();
    todo.pop_back();
    auto entries = gfs.ReadDir(dir);
    ASSERT_OK(entries) << dir_path;
    for (const auto& e : *entries) {
      std::string path = dir_path.empty() ? e.name : dir_path + "/" + e.name;
      seen[path] = e.ino;
      auto attr = gfs.Lookup(dir, e.name);
      ASSERT_OK(attr) << path;
      EXPECT_EQ(attr->ino, e.ino) << path;
      auto it = want.find(path);
      if (it == want.end() && path == "lost+found") continue;  // made by mke2fs
      if (it == want.end()) {
        ADD_FAILURE() << "extra entry " << path;
        continue;
      }
      struct stat st {};
      ASSERT_EQ(::lstat(it->second.c_str(), &st), 0);
      EXPECT_EQ(attr->mode & S_IFMT, st.st_mode & S_IFMT) << path;
      if (e.type != 0) {
        EXPECT_EQ(e.type, st.st_mode & S_IFMT) << path;
      }
      if (check.modes) {
        EXPECT_EQ(attr->mode, st.st_mode) << path;
      }
      if (check.mtime_tolerance_s >= 0 && !S_ISDIR(st.st_mode)) {
        int64_t diff = attr->mtime_ns / 1'000'000'000 - st.st_mtim.tv_sec;
        EXPECT_LE(std::abs(diff), check.mtime_tolerance_s) << path;
      }
      if (S_ISDIR(st.st_mode)) {
        todo.push_back({path, e.ino});
      } else if (S_ISLNK(st.st_mode)) {
        auto target = gfs.ReadLink(e.ino);
        ASSERT_OK(target) << path;
        EXPECT_EQ(*target, fs::read_symlink(it->second).string()) << path;
      } else {
        EXPECT_EQ(attr->size, static_cast<uint64_t>(st.st_size)) << path;
        std::string content = Slurp(it->second);
        EXPECT_TRUE(ReadAll(gfs, e.ino, attr->size) == content) << "Read() of " << path;
        EXPECT_TRUE(ReadByExtents(gfs, volume, e.ino, attr->size) == content)
            << "extents of " << path;
      }
    }
  }
  for (const auto& [path, p] : want) EXPECT_TRUE(seen.count(path)) << "missing " << path;
  EXPECT_TRUE(gfs.Lookup(gfs.RootIno(), "no such name").status().IsNotFound());
}

// The kernel's own view of an ext image (root and loop devices only): the same tree.
void CompareWithKernel(guest::GuestFs& gfs, const guest::ByteSource& volume, const std::string& img,
                       const fs::path& mnt) {
  if (::geteuid() != 0) return;
  fs::create_directories(mnt);
  if (!Sh("mount -o loop,ro " + img + " " + mnt.string())) return;
  Compare(gfs, volume, mnt, {true, 0});
  EXPECT_TRUE(Sh("umount " + mnt.string()));
}

bool CanFuse() { return ::geteuid() == 0 && ::access("/dev/fuse", R_OK | W_OK) == 0; }

class GuestFsTest : public ::testing::Test {
 protected:
  void Open(FsType type, guest::SourcePtr volume) {
    auto opened = OpenGuestFs(type, volume);
    ASSERT_OK(opened);
    gfs_ = std::move(*opened);
    volume_ = std::move(volume);
  }
  testing::TempDir tmp_;
  fs::path src_ = tmp_ / "src";
  std::string img_ = tmp_ / "img";
  std::unique_ptr<guest::GuestFs> gfs_;
  guest::SourcePtr volume_;
};

void MakeExt(const std::string& opts, const fs::path& src, const std::string& img, bool& ok) {
  ok = Sh("mke2fs -q -F " + opts + " -d " + src.string() + " " + img + " 32M");
}

TEST_F(GuestFsTest, Ext4DefaultAtAnOffsetMatchesTheSourceTree) {
  if (!Have("mke2fs")) GTEST_SKIP() << "no mke2fs";
  MakeTree(src_, {true, true});
  constexpr uint64_t kOffset = 3 << 20;
  ASSERT_TRUE(Sh("mke2fs -q -F -t ext4 -E offset=" + std::to_string(kOffset) + " -d " +
                 src_.string() + " " + img_ + " 32M"));
  guest::SourcePtr file = std::make_shared<FileSource>(img_, "vda");
  auto part = guest::Slice(file, kOffset, 32 << 20, "vda1");
  ASSERT_OK(part);
  Open(FsType::kExt4, *part);
  EXPECT_EQ(gfs_->State(), "ok");
  Compare(*gfs_, *volume_, src_, {true, 0});
  // The hole reads as a kZero extent, not as blocks; the big file is a few merged runs.
  auto sparse = gfs_->Lookup(gfs_->RootIno(), "sparse.bin");
  ASSERT_OK(sparse);
  auto map = gfs_->MapFile(sparse->ino);
  ASSERT_OK(map);
  ASSERT_GE(map->size(), 2u);
  EXPECT_EQ(map->front().kind, FileExtent::Kind::kZero);
  auto big = gfs_->Lookup(gfs_->RootIno(), "big.bin");
  ASSERT_OK(big);
  auto big_map = gfs_->MapFile(big->ino);
  ASSERT_OK(big_map);
  EXPECT_LE(big_map->size(), 4u);
  EXPECT_TRUE(gfs_->ReadDir(big->ino).status().code() == Status::Code::kNotADirectory);
}

TEST_F(GuestFsTest, Ext4Without64bitWithHtreeMatchesTheSourceTree) {
  if (!Have("mke2fs") || !Have("e2fsck")) GTEST_SKIP() << "no e2fsprogs";
  MakeTree(src_, {true, true});
  bool ok = false;
  MakeExt("-t ext4 -O ^64bit", src_, img_, ok);
  ASSERT_TRUE(ok);
  Sh("e2fsck -fyD " + img_);  // makes "many" a hash-indexed directory (exit 1: changed)
  Open(FsType::kExt4, std::make_shared<FileSource>(img_, "vdb"));
  Compare(*gfs_, *volume_, src_, {true, 0});
  CompareWithKernel(*gfs_, *volume_, img_, tmp_ / "mnt");
}

TEST_F(GuestFsTest, Ext2BlockMappedMatchesTheSourceTree) {
  if (!Have("mke2fs")) GTEST_SKIP() << "no mke2fs";
  MakeTree(src_, {true, true});
  bool ok = false;
  MakeExt("-t ext2", src_, img_, ok);
  ASSERT_TRUE(ok);
  Open(FsType::kExt2, std::make_shared<FileSource>(img_, "vdc"));
  Compare(*gfs_, *volume_, src_, {true, 0});
  CompareWithKernel(*gfs_, *volume_, img_, tmp_ / "mnt");
}

TEST_F(GuestFsTest, CorruptExtSuperblockIsANamedError) {
  std::string zeros(64 << 10, '\0');
  auto opened = OpenGuestFs(FsType::kExt4, guest::MemorySource(zeros, "vdz1"));
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("vdz1"), std::string::npos)
      << opened.status().ToString();
  auto tsk = OpenGuestFs(FsType::kNtfs, guest::MemorySource(zeros, "vdz2"));
  ASSERT_FALSE(tsk.ok());
  EXPECT_NE(tsk.status().message().find("vdz2"), std::string::npos) << tsk.status().ToString();
  EXPECT_TRUE(OpenGuestFs(FsType::kXfs, guest::MemorySource(zeros, "vdz3")).status().code() ==
              Status::Code::kNotSupported);
}

TEST_F(GuestFsTest, Fat32MatchesTheSourceTree) {
  if (!Have("mkfs.vfat") || !Have("mcopy")) GTEST_SKIP() << "no dosfstools/mtools";
  MakeTree(src_, {});
  ASSERT_TRUE(Sh("mkfs.vfat -F 32 -s 1 -C " + img_ + " 40960"));
  ASSERT_TRUE(Sh("MTOOLS_SKIP_CHECK=1 mcopy -s -m -i " + img_ + " " + src_.string() + "/* ::/"));
  Open(FsType::kVfat, std::make_shared<FileSource>(img_, "vdd"));
  Compare(*gfs_, *volume_, src_, {false, 2});
}

void FillThroughFuse(const std::string& mount_cmd, const fs::path& src, const fs::path& mnt,
                     bool& ok) {
  fs::create_directories(mnt);
  ok = Sh(mount_cmd + " " + mnt.string());
  if (!ok) return;
  ok = Sh("cp -r --preserve=timestamps " + src.string() + "/. " + mnt.string());
  Sh("fusermount -u " + mnt.string() + " || fusermount3 -u " + mnt.string());
}

TEST_F(GuestFsTest, ExfatMatchesTheSourceTree) {
  if (!Have("mkfs.exfat") || !Have("mount.exfat-fuse") || !CanFuse() || !Have("losetup")) {
    GTEST_SKIP() << "needs root, /dev/fuse, a loop device, exfatprogs and exfat-fuse";
  }
  MakeTree(src_, {});
  ASSERT_TRUE(Sh("truncate -s 32M " + img_ + " && mkfs.exfat " + img_));
  // exfat-fuse mounts block devices only: a loop device over the image.
  std::string loop_file = tmp_ / "loop";
  ASSERT_TRUE(Sh("{ losetup -f --show " + img_ + " > " + loop_file + "; }"));
  std::string loop = Slurp(loop_file);
  while (!loop.empty() && loop.back() == '\n') loop.pop_back();
  bool ok = false;
  FillThroughFuse("mount.exfat-fuse " + loop, src_, tmp_ / "mnt", ok);
  Sh("losetup -d " + loop);
  ASSERT_TRUE(ok);
  Open(FsType::kExfat, std::make_shared<FileSource>(img_, "vde"));
  Compare(*gfs_, *volume_, src_, {false, 2});
}

TEST_F(GuestFsTest, NtfsMatchesTheSourceTree) {
  if (!Have("mkntfs") || !Have("ntfs-3g") || !CanFuse()) {
    GTEST_SKIP() << "needs root, /dev/fuse and ntfs-3g";
  }
  MakeTree(src_, {});
  ASSERT_TRUE(Sh("truncate -s 32M " + img_ + " && mkntfs -F -Q " + img_));
  bool ok = false;
  FillThroughFuse("ntfs-3g " + img_, src_, tmp_ / "mnt", ok);
  ASSERT_TRUE(ok);
  Open(FsType::kNtfs, std::make_shared<FileSource>(img_, "vdf"));
  Compare(*gfs_, *volume_, src_, {false, 1});
}

TEST_F(GuestFsTest, Iso9660MatchesTheSourceTree) {
  if (!Have("xorriso")) GTEST_SKIP() << "no xorriso";
  MakeTree(src_, {});  // TSK 4.11 reads no Rock Ridge: no symlinks on ISO
  ASSERT_TRUE(Sh("xorriso -as mkisofs -R -J -o " + img_ + " " + src_.string()));
  Open(FsType::kIso9660, std::make_shared<FileSource>(img_, "sr0"));
  Compare(*gfs_, *volume_, src_, {false, -1});
}

}  // namespace
}  // namespace rpfs::guestfs
