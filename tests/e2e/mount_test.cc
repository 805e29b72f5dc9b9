// The mount through /dev/fuse: layout, byte parity, read-only errors, seek, df, loop
// mounts, concurrent readers, and recovery from a killed daemon.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "mount_fixture.h"

namespace rpfs::testing {
namespace {

TEST_F(MountTest, MountJsonNamesTheMountAndTheDaemon) {
  Unmount();
  auto r = R({"mount", mnt_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  mounted_ = true;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["mountpoint"], mnt_);
  EXPECT_EQ(j["store"], store());
  const std::string lock_pid = RunCommand({"cat", store() + "/rpfs.lock"}).out;
  EXPECT_EQ(std::to_string(j["pid"].get<int>()) + "\n", lock_pid) << "the daemon holds the store";
}

TEST_F(MountTest, LayoutAndAttributes) {
  std::set<std::string> rps;
  for (const auto& e : stdfs::directory_iterator(P("vm"))) rps.insert(e.path().filename());
  EXPECT_EQ(rps, (std::set<std::string>{".clones", ".control", ".prune-preview", ".status", "one",
                                        "two"}));
  std::set<std::string> files;
  for (const auto& e : stdfs::directory_iterator(P("vm/two"))) files.insert(e.path().filename());
  EXPECT_EQ(files, (std::set<std::string>{"vda.raw", "info", "files"}));
  struct stat st;
  ASSERT_EQ(::stat(P("vm/two/vda.raw").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), two_.size());
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  std::ifstream in(P("vm/two/info"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("name: two\n"), std::string::npos) << text;
  EXPECT_NE(text.find("description: second\n"), std::string::npos) << text;
  EXPECT_NE(text.find("parent: one\n"), std::string::npos) << text;
  struct stat dir;
  ASSERT_EQ(::stat(P("vm/two").c_str(), &dir), 0);
  EXPECT_GT(dir.st_mtime, 1700000000);  // the RP's creation time, not 1970
}

TEST_F(MountTest, ImagesReadByteIdenticalSequentiallyAndAtRandom) {
  EXPECT_TRUE(ReadAll(P("vm/one/vda.raw")) == one_);
  EXPECT_TRUE(ReadAll(P("vm/two/vda.raw")) == two_);
  int fd = ::open(P("vm/two/vda.raw").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 500; ++i) {
    uint64_t off = rng() % (two_.size() + 1000);
    size_t len = 1 + rng() % (3 * kChunk);
    std::vector<std::byte> buf(len);
    ssize_t n = ::pread(fd, buf.data(), len, static_cast<off_t>(off));
    ASSERT_GE(n, 0);
    size_t want = off >= two_.size() ? 0 : std::min<uint64_t>(len, two_.size() - off);
    ASSERT_EQ(static_cast<size_t>(n), want) << "offset " << off;
    ASSERT_TRUE(std::equal(buf.begin(), buf.begin() + n, two_.begin() + static_cast<long>(off)))
        << "offset " << off << " len " << len;
  }
  ::close(fd);
}

TEST_F(MountTest, EverythingIsReadOnlyAndUnknownNamesAreMissing) {
  auto expect_errno = [](int rc, int err, const char* what) {
    EXPECT_EQ(rc, -1) << what;
    EXPECT_EQ(errno, err) << what << ": " << strerror(errno);
  };
  expect_errno(::open(P("vm/two/vda.raw").c_str(), O_WRONLY), EROFS, "open for write");
  expect_errno(::open(P("vm/two/new").c_str(), O_WRONLY | O_CREAT, 0644), EROFS, "create");
  // mkdir/rmdir/mv make, delete and rename RPs in a VM directory, and nothing elsewhere.
  expect_errno(::mkdir(P("vm/one/sub").c_str(), 0755), EROFS, "mkdir in an rp");
  expect_errno(::mkdir(P("newvm").c_str(), 0755), EROFS, "mkdir at the root");
  expect_errno(::rmdir(P("vm").c_str()), EROFS, "rmdir of a vm");
  expect_errno(::unlink(P("vm/one/vda.raw").c_str()), EROFS, "unlink");
  expect_errno(::rename(P("vm/one/info").c_str(), P("vm/one/x").c_str()), EROFS, "rename a file");
  expect_errno(::rename(P("vm/one").c_str(), P("vm/two/x").c_str()), EROFS, "move into an rp");
  expect_errno(::chmod(P("vm/one/vda.raw").c_str(), 0666), EROFS, "chmod");
  expect_errno(::truncate(P("vm/one/vda.raw").c_str(), 0), EROFS, "truncate");
  struct stat st;
  expect_errno(::stat(P("nope").c_str(), &st), ENOENT, "unknown vm");
  expect_errno(::stat(P("vm/nope").c_str(), &st), ENOENT, "unknown rp");
  expect_errno(::stat(P("vm/one/vdz.raw").c_str(), &st), ENOENT, "unknown disk");
  expect_errno(::stat(P("vm/one/vda.raw/x").c_str(), &st), ENOTDIR, "file as dir");
  expect_errno(::stat(P("vm/.hidden").c_str(), &st), ENOENT, "dot name");
}

TEST_F(MountTest, StandardToolsSeeANormalReadOnlyTree) {
  auto ls = RunCommand({"ls", "-l", P("vm/two")});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find("-r--r--r--"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("vda.raw"), std::string::npos) << ls.out;
  auto st = RunCommand({"stat", "-c", "%s %a %F", P("vm/two/vda.raw")});
  EXPECT_EQ(st.out, std::to_string(two_.size()) + " 444 regular file\n");
  auto find = RunCommand({"find", P("vm"), "-type", "f"});
  ASSERT_EQ(find.exit_code, 0) << find.err;
  std::set<std::string> files;
  std::stringstream lines(find.out);
  for (std::string line; std::getline(lines, line);) files.insert(line.substr(mnt_.size() + 1));
  EXPECT_EQ(files,
            (std::set<std::string>{"vm/.control", "vm/.prune-preview", "vm/.status",
                                   "vm/one/vda.raw", "vm/one/info", "vm/two/vda.raw", "vm/two/info",
                                   "vm/one/files/.volumes", "vm/two/files/.volumes"}));
  auto du = RunCommand({"du", "-sb", P("vm/two")});
  ASSERT_EQ(du.exit_code, 0) << du.err;
  EXPECT_GE(std::stoull(du.out), two_.size());
  // st_blocks counts the image's data, not its holes (8 MiB of 32), so du, cp and rsync -S
  // see what a sparse source file would show.
  auto blocks = RunCommand({"stat", "-c", "%b %B", P("vm/two/vda.raw")});
  EXPECT_EQ(blocks.out, std::to_string((8 << 20) / 512) + " 512\n");
  std::string copy = dir_ / "copy";
  auto cp = RunCommand({"cp", "-r", P("vm/two"), copy});
  ASSERT_EQ(cp.exit_code, 0) << cp.err;
  EXPECT_TRUE(ReadAll(copy + "/vda.raw") == two_);
  std::ifstream info(copy + "/info");
  std::string first;
  std::getline(info, first);
  EXPECT_EQ(first, "name: two");
  auto touch = RunCommand({"touch", P("vm/two/vda.raw")});
  EXPECT_NE(touch.exit_code, 0);
  EXPECT_NE(touch.err.find("Read-only file system"), std::string::npos) << touch.err;
}

TEST_F(MountTest, SeekDataAndHoleFollowTheImage) {
  int fd = ::open(P("vm/one/vda.raw").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  // The fixture image: data at [0, 4 MiB) and [20 MiB, 24 MiB) of 32 MiB.
  EXPECT_EQ(::lseek(fd, 0, SEEK_DATA), 0);
  EXPECT_EQ(::lseek(fd, 0, SEEK_HOLE), 4 << 20);
  EXPECT_EQ(::lseek(fd, 5 << 20, SEEK_DATA), 20 << 20);
  EXPECT_EQ(::lseek(fd, 20 << 20, SEEK_HOLE), 24 << 20);
  errno = 0;
  EXPECT_EQ(::lseek(fd, 25 << 20, SEEK_DATA), -1);
  EXPECT_EQ(errno, ENXIO);
  ::close(fd);
}

TEST_F(MountTest, DfShowsTheStore) {
  struct statvfs v;
  ASSERT_EQ(::statvfs(mnt_.c_str(), &v), 0);
  uint64_t used = (v.f_blocks - v.f_bfree) * v.f_frsize;
  EXPECT_GT(used, 1u << 20);  // the store holds several MiB
  EXPECT_LT(used, DirBytes(store()) + (1u << 20));
}

TEST_F(MountTest, SixteenConcurrentReadersGetCorrectData) {
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      const auto& want = t % 2 ? two_ : one_;
      int fd = ::open(P(t % 2 ? "vm/two/vda.raw" : "vm/one/vda.raw").c_str(), O_RDONLY);
      if (fd < 0) {
        ++bad;
        return;
      }
      std::mt19937_64 rng(t);
      std::vector<std::byte> buf(128 * 1024);
      for (int i = 0; i < 200; ++i) {
        uint64_t off = rng() % (want.size() - buf.size());
        ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(off));
        if (n != static_cast<ssize_t>(buf.size()) ||
            !std::equal(buf.begin(), buf.end(), want.begin() + static_cast<long>(off))) {
          ++bad;
        }
      }
      ::close(fd);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(MountTest, RpImageLoopMountsReadOnly) {
  // Make an RP of an ext4 image with files, then loop-mount it from the rpfs mount.
  Unmount();
  std::string root = dir_ / "rootfs";
  stdfs::create_directories(root + "/etc");
  std::ofstream(root + "/etc/hostname") << "web01\n";
  auto blob = PatternBytes(30, 300000);
  std::ofstream(root + "/blob", std::ios::binary)
      .write(reinterpret_cast<const char*>(blob.data()), static_cast<long>(blob.size()));
  std::string ext4 = dir_ / "ext4.img";
  MakeSparseFile(ext4, 64 << 20);
  ASSERT_EQ(RunCommand({"mkfs.ext4", "-q", "-F", "-d", root, ext4}).exit_code, 0);
  ASSERT_EQ(R({"vm", "add", "fsvm", "--disk", "vda=" + ext4}).exit_code, 0);
  ASSERT_EQ(R({"create", "fsvm", "snap"}).exit_code, 0);
  Mount();
  std::string loop = dir_ / "loop";
  stdfs::create_directory(loop);
  auto m = RunCommand({"mount", "-o", "loop,ro", P("fsvm/snap/vda.raw"), loop});
  if (m.exit_code != 0) GTEST_SKIP() << "loop devices unavailable: " << m.err;
  struct LazyUmount {  // never leave the loop mount behind, even when an assertion fails
    std::string dir;
    ~LazyUmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } guard{loop};
  std::string line;
  {
    std::ifstream host(loop + "/etc/hostname");
    std::getline(host, line);
  }
  EXPECT_EQ(line, "web01");
  EXPECT_TRUE(ReadAll(loop + "/blob") == blob);
  EXPECT_EQ(RunCommand({"umount", loop}).exit_code, 0);
}

// A VM with two disks, one fully allocated and of an odd size, one sparse with data near
// its end, read through the mount by dd (1 MiB requests) for two RPs: each equals its source.
TEST_F(MountTest, MultiDiskVmReadsByteIdenticalThroughDd) {
  std::string full = dir_ / "full.raw", sparse = dir_ / "sparse.raw";
  {
    auto bytes = PatternBytes(91, (9 << 20) + 12345);  // no holes at all
    std::ofstream(full, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
  }
  MakeSparseFile(sparse, 48 << 20);
  WriteAt(sparse, (48 << 20) - 3 * kChunk - 7, PatternBytes(92, 2 * kChunk));
  ASSERT_EQ(
      R({"vm", "add", "two-disks", "--disk", "vda=" + full, "--disk", "vdb=" + sparse}).exit_code,
      0);
  ASSERT_EQ(R({"create", "two-disks", "a"}).exit_code, 0);
  std::map<std::string, std::vector<std::byte>> want{{"a/vda", ReadAll(full)},
                                                     {"a/vdb", ReadAll(sparse)}};
  WriteAt(full, 5 * kChunk + 1, PatternBytes(93, 3 * kChunk));
  WriteAt(sparse, 0, PatternBytes(94, kChunk));
  ASSERT_EQ(R({"create", "two-disks", "b"}).exit_code, 0);
  want["b/vda"] = ReadAll(full);
  want["b/vdb"] = ReadAll(sparse);
  for (const auto& [name, bytes] : want) {
    std::string out = dir_ / "dd.out";
    auto r = RunCommand({"dd", "if=" + P("two-disks/" + name + ".raw"), "of=" + out, "bs=1M"});
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_TRUE(ReadAll(out) == bytes) << name << " differs from its source";
  }
}

TEST_F(MountTest, SigtermUnmountsCleanly) {
  auto pid_text = RunCommand({"cat", store() + "/rpfs.lock"}).out;
  pid_t pid = static_cast<pid_t>(std::stol(pid_text));
  ASSERT_GT(pid, 1);
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  WaitForStoreLock();  // the daemon has exited
  auto mounts = RunCommand({"cat", "/proc/self/mounts"}).out;
  EXPECT_EQ(mounts.find(" " + mnt_ + " "), std::string::npos) << "still mounted:\n" << mounts;
  mounted_ = false;
  Mount();  // nothing left behind in the way
  EXPECT_TRUE(ReadAll(P("vm/two/vda.raw")) == two_);
}

TEST_F(MountTest, KilledDaemonLeavesAMountThatUnmountsAndRemounts) {
  KillDaemon();
  EXPECT_NE(::access(P("vm").c_str(), F_OK), 0) << "a dead daemon's mount answers nothing";
  auto r = RunCommand({"fusermount3", "-u", mnt_});  // not the lazy -z of Unmount()
  ASSERT_EQ(r.exit_code, 0) << r.err;
  mounted_ = false;
  Mount();
  EXPECT_TRUE(ReadAll(P("vm/one/vda.raw")) == one_);
}

}  // namespace
}  // namespace rpfs::testing

namespace rpfs::testing {
namespace {

// The options field of `dir`'s line in /proc/self/mountinfo ("" when not mounted).
std::string MountOptionsOf(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point, options;
    fields >> id >> parent >> dev >> root >> point >> options;
    if (point == dir) return options;
  }
  return "";
}

// `mount -t fuse.rpfs STORE DIR -o OPTS` and an fstab line run mount.fuse3, which runs
// `rpfs STORE DIR -o rw,OPTS,dev,suid`: that form mounts (never dev or suid), and a plain
// umount ends the daemon.
TEST_F(MountTest, TheMountHelperFormMountsAndUmountEndsTheDaemon) {
  Unmount();
  const std::string bin_dir = stdfs::path(RpfsBinary()).parent_path();
  auto r = RunCommand({"/sbin/mount.fuse3", store(), mnt_, "-t", "rpfs", "-o",
                       "allow_other,nofail,x-systemd.automount,dev,suid"},
                      {{"PATH", bin_dir + ":/usr/sbin:/usr/bin:/sbin:/bin"}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  mounted_ = true;
  EXPECT_TRUE(ReadAll(P("vm/one/vda.raw")) == one_);
  const std::string options = MountOptionsOf(mnt_);
  EXPECT_NE(options.find("nosuid"), std::string::npos) << options;
  EXPECT_NE(options.find("nodev"), std::string::npos) << options;

  r = RunCommand({"umount", mnt_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  mounted_ = false;
  WaitForStoreLock();  // the daemon let go of the store: it ended
  EXPECT_EQ(MountOptionsOf(mnt_), "");
  EXPECT_EQ(R({"info", "vm", "one"}).exit_code, 0);  // the CLI opens the store itself again

  // The same form with a store that is not one: the cause, and no mount.
  r = RunCommand({"/sbin/mount.fuse3", dir_ / "nostore", mnt_, "-t", "rpfs"},
                 {{"PATH", bin_dir + ":/usr/sbin:/usr/bin:/sbin:/bin"}});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  EXPECT_EQ(MountOptionsOf(mnt_), "");
}

}  // namespace
}  // namespace rpfs::testing
