// The guest's files under <vm>/<rp>/files through a real mount by the rpfs binary (issue
// 15, docs/guest-files.md): the tree of an ext4 and a vfat volume equals the tree the test
// put in and, for ext4, the kernel's own view of a loop mount of the same RP disk; the
// volume table agrees with sfdisk; a crash-consistent ext4 shows what a kernel replay of
// its journal shows; unsupported and damaged volumes are named and give EIO while the
// daemon stays up; a killed helper is replaced; other users cannot read the files of a
// 0600 disk. Needs root, /dev/fuse, sfdisk, mke2fs, mkfs.vfat, mtools; the kernel
// comparisons also need loop devices, and XFS needs mkfs.xfs.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "cli_fixture.h"

namespace rpfs::testing {
namespace {

constexpr uint64_t kSector = 512;
constexpr uint64_t kExtStart = 2048 * kSector;  // partition 1: ext4, 20 MiB
constexpr uint64_t kExtSize = 40960 * kSector;
constexpr uint64_t kFatStart = 43008 * kSector;  // partition 2: vfat, the rest
constexpr int64_t kSecond = 1'000'000'000;

bool Have(const std::string& tool) {
  return RunCommand({"sh", "-c", "command -v " + tool}).exit_code == 0;
}

RunResult Sh(const std::string& cmd, const std::map<std::string, std::string>& env = {}) {
  return RunCommand({"sh", "-c", cmd}, env);
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string AsString(const std::vector<std::byte>& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// One node of a tree as a comparison sees it.
struct Node {
  char type = '?';  // f d l p c b s
  uint64_t size = 0;
  mode_t mode = 0;  // permission bits (07777): the guest's, from the xattr on the mount
  uid_t uid = 0;
  gid_t gid = 0;
  int64_t mtime_ns = 0;
  std::string target;     // symlinks
  std::string content;    // regular files
  mode_t shown_mode = 0;  // the mode the mount shows (07777)
  bool has_guest_xattrs = false;
};
using Tree = std::map<std::string, Node>;

char TypeOf(mode_t m) {
  if (S_ISREG(m)) return 'f';
  if (S_ISDIR(m)) return 'd';
  if (S_ISLNK(m)) return 'l';
  if (S_ISFIFO(m)) return 'p';
  if (S_ISCHR(m)) return 'c';
  if (S_ISBLK(m)) return 'b';
  return 's';
}

std::string Xattr(const std::string& path, const char* name) {
  char buf[256];
  ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

// Walks `root` (lstat, no following). On the rpfs mount (`guest_xattrs`), a node's mode,
// uid and gid are the guest's from user.rpfs.guest_* (regular files and directories only:
// the kernel refuses user.* xattrs on other types). `errors` collects what failed.
void WalkInto(const std::string& root, const std::string& rel, bool guest_xattrs, Tree& tree,
              std::vector<std::string>& errors) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    errors.push_back("opendir " + dir + ": " + std::strerror(errno));
    return;
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) {
    std::string r = rel.empty() ? n : rel + "/" + n;
    std::string p = root + "/" + r;
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) {
      errors.push_back("lstat " + p + ": " + std::strerror(errno));
      continue;
    }
    Node node;
    node.type = TypeOf(st.st_mode);
    node.mode = st.st_mode & 07777;
    node.shown_mode = node.mode;
    node.uid = st.st_uid;
    node.gid = st.st_gid;
    node.mtime_ns = st.st_mtim.tv_sec * kSecond + st.st_mtim.tv_nsec;
    if (node.type == 'f') {
      node.size = static_cast<uint64_t>(st.st_size);
      std::ifstream in(p, std::ios::binary);
      if (!in) errors.push_back("open " + p + ": " + std::strerror(errno));
      std::stringstream ss;
      ss << in.rdbuf();
      node.content = ss.str();
      if (node.content.size() != node.size) errors.push_back("short read of " + p);
    }
    if (node.type == 'l') {
      char buf[4096];
      ssize_t len = ::readlink(p.c_str(), buf, sizeof buf);
      if (len < 0) errors.push_back("readlink " + p + ": " + std::strerror(errno));
      node.target = len < 0 ? "" : std::string(buf, static_cast<size_t>(len));
    }
    if (guest_xattrs && (node.type == 'f' || node.type == 'd')) {
      std::string mode = Xattr(p, "user.rpfs.guest_mode");
      std::string uid = Xattr(p, "user.rpfs.guest_uid");
      std::string gid = Xattr(p, "user.rpfs.guest_gid");
      if (mode.empty() || uid.empty() || gid.empty()) {
        errors.push_back("no user.rpfs.guest_* xattrs on " + p);
      } else {
        node.has_guest_xattrs = true;
        node.mode = static_cast<mode_t>(std::stoul(mode, nullptr, 8)) & 07777;
        node.uid = static_cast<uid_t>(std::stoul(uid));
        node.gid = static_cast<gid_t>(std::stoul(gid));
      }
    }
    tree[r] = std::move(node);
    if (S_ISDIR(st.st_mode)) WalkInto(root, r, guest_xattrs, tree, errors);
  }
}

Tree Walk(const std::string& root, bool guest_xattrs = false) {
  Tree tree;
  std::vector<std::string> errors;
  WalkInto(root, "", guest_xattrs, tree, errors);
  for (const auto& e : errors) ADD_FAILURE() << e;
  return tree;
}

struct Compare {
  bool modes = true;  // permission bits and owner
  bool dir_mtimes = true;
  int64_t mtime_slack_ns = 0;  // |expected - actual| allowed
  bool whole_seconds = false;  // compare mtimes to the second only
};

// Expects `actual` to hold exactly the paths of `expected` with the same attributes.
void ExpectSameTree(const Tree& expected, const Tree& actual, const Compare& how,
                    const std::string& what) {
  SCOPED_TRACE(what);
  std::vector<std::string> missing, extra;
  for (const auto& [p, n] : expected)
    if (!actual.count(p)) missing.push_back(p);
  for (const auto& [p, n] : actual)
    if (!expected.count(p)) extra.push_back(p);
  EXPECT_TRUE(missing.empty()) << "missing " << missing.size() << ", first: " << missing[0];
  EXPECT_TRUE(extra.empty()) << "extra " << extra.size() << ", first: " << extra[0];
  int reported = 0;
  for (const auto& [p, e] : expected) {
    auto it = actual.find(p);
    if (it == actual.end()) continue;
    const Node& a = it->second;
    std::vector<std::string> diffs;
    if (a.type != e.type) diffs.push_back(std::string("type ") + e.type + " vs " + a.type);
    if (e.type == 'f' && a.size != e.size)
      diffs.push_back("size " + std::to_string(e.size) + " vs " + std::to_string(a.size));
    if (e.type == 'f' && a.content != e.content) diffs.push_back("content differs");
    if (e.type == 'l' && a.target != e.target)
      diffs.push_back("target '" + e.target + "' vs '" + a.target + "'");
    bool with_modes = how.modes && (e.type == 'f' || e.type == 'd');
    if (with_modes && a.mode != e.mode) {
      std::ostringstream o;
      o << "mode " << std::oct << e.mode << " vs " << a.mode;
      diffs.push_back(o.str());
    }
    if (with_modes && (a.uid != e.uid || a.gid != e.gid)) {
      diffs.push_back("owner " + std::to_string(e.uid) + ":" + std::to_string(e.gid) + " vs " +
                      std::to_string(a.uid) + ":" + std::to_string(a.gid));
    }
    bool with_mtime = e.type != 'd' || how.dir_mtimes;
    int64_t mtime_diff =
        how.whole_seconds ? a.mtime_ns / kSecond - e.mtime_ns / kSecond : a.mtime_ns - e.mtime_ns;
    if (with_mtime && std::llabs(mtime_diff) > how.mtime_slack_ns) {
      diffs.push_back("mtime " + std::to_string(e.mtime_ns) + " vs " + std::to_string(a.mtime_ns));
    }
    if (!diffs.empty() && reported++ < 20) {
      std::string all;
      for (const auto& d : diffs) all += d + "; ";
      ADD_FAILURE() << p << ": " << all;
    }
  }
  EXPECT_EQ(reported, 0) << "paths that differ";
}

Tree Without(Tree t, const std::string& top) {
  for (auto it = t.begin(); it != t.end();) {
    if (it->first == top || it->first.rfind(top + "/", 0) == 0) {
      it = t.erase(it);
    } else {
      ++it;
    }
  }
  return t;
}

// One row of .volumes by its name column.
using VolumeRow = std::map<std::string, std::string>;
std::map<std::string, VolumeRow> ParseVolumes(const std::string& text) {
  std::map<std::string, VolumeRow> rows;
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> header;
  auto split = [](const std::string& l) {
    std::vector<std::string> cols;
    std::string c;
    std::istringstream s(l);
    while (std::getline(s, c, '\t')) cols.push_back(c);
    return cols;
  };
  while (std::getline(in, line)) {
    auto cols = split(line);
    if (header.empty()) {
      header = cols;
      continue;
    }
    VolumeRow row;
    for (size_t i = 0; i < cols.size() && i < header.size(); ++i) row[header[i]] = cols[i];
    rows[row["name"]] = row;
  }
  return rows;
}

// Sets atime/mtime of `path` (not following links) to `ns` nanoseconds since the epoch.
void SetTime(const std::string& path, int64_t ns) {
  struct timespec ts[2];
  ts[0].tv_sec = ts[1].tv_sec = ns / kSecond;
  ts[0].tv_nsec = ts[1].tv_nsec = ns % kSecond;
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << path;
}

class GuestFilesTest : public CliTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0 || ::access("/dev/fuse", R_OK | W_OK) != 0) {
      GTEST_SKIP() << "needs root and /dev/fuse to mount";
    }
    for (const char* tool : {"sfdisk", "mke2fs", "mkfs.vfat", "mcopy", "fusermount3"}) {
      if (!Have(tool)) GTEST_SKIP() << "needs " << tool;
    }
    CliTest::SetUp();
    mnt_ = dir_ / "mnt";
    ::mkdir(mnt_.c_str(), 0755);
  }

  void TearDown() override {
    for (auto it = kernel_mounts_.rbegin(); it != kernel_mounts_.rend(); ++it) {
      RunCommand({"umount", *it});
    }
    if (mounted_) {
      auto r = RunCommand({"fusermount3", "-u", mnt_});
      if (r.exit_code != 0) RunCommand({"fusermount3", "-uz", mnt_});
      WaitForStoreLock();
    }
  }

  bool HaveLoop() { return ::access("/dev/loop-control", R_OK | W_OK) == 0 && Have("losetup"); }

  // The ext4 source tree: nested dirs, a few MiB of random bytes, a sparse file, links,
  // names with spaces and UTF-8, a directory of 300 entries, owners and modes, ns mtimes.
  std::string MakeExtSource() {
    std::string src = dir_ / "src";
    auto r = Sh("mkdir -p '" + src + "'/etc '" + src + "'/bin '" + src + "'/home/user '" + src +
                "'/a/b/c/d/e '" + src + "'/many '" + src + "/with space'");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    WriteText(src + "/etc/nginx.conf", "server { listen 80; }\n");
    WriteText(src + "/etc/shadow", "root:*:19000:0:99999:7:::\n");
    WriteText(src + "/bin/tool", "#!/bin/sh\necho tool\n");
    WriteText(src + "/home/user/notes.txt", "private notes\n");
    WriteText(src + "/a/b/c/d/e/deep.txt", "deep down\n");
    WriteText(src + "/empty", "");
    WriteText(src + "/with space/file name.txt", "spaces\n");
    WriteText(src + "/with space/naïve café ☕ 日本.txt", "utf-8 name\n");
    MakeSparseFile(src + "/random.bin", 0);
    WriteAt(src + "/random.bin", 0, PatternBytes(7, (3 << 20) + 12345));
    MakeSparseFile(src + "/sparse.img", 8 << 20);
    WriteAt(src + "/sparse.img", 0, PatternBytes(8, 4096));
    WriteAt(src + "/sparse.img", 5 << 20, PatternBytes(9, 65536 + 17));
    for (int i = 0; i < 300; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "/many/entry-%03d", i);
      WriteText(src + name, "entry " + std::to_string(i) + "\n");
    }
    EXPECT_EQ(::symlink("etc/nginx.conf", (src + "/link").c_str()), 0);
    EXPECT_EQ(::symlink("/nonexistent/target", (src + "/dangling").c_str()), 0);
    EXPECT_EQ(::symlink("a/b", (src + "/with space/dir link").c_str()), 0);
    EXPECT_EQ(::link((src + "/etc/nginx.conf").c_str(), (src + "/a/hardlink.conf").c_str()), 0);
    EXPECT_EQ(::mkfifo((src + "/a/fifo").c_str(), 0640), 0);
    ::chmod((src + "/etc/shadow").c_str(), 0640);
    ::chown((src + "/etc/shadow").c_str(), 0, 42);
    ::chmod((src + "/bin/tool").c_str(), 0755);
    ::chmod((src + "/home/user/notes.txt").c_str(), 0600);
    ::chown((src + "/home/user/notes.txt").c_str(), 1000, 1000);
    ::chmod((src + "/home/user").c_str(), 0700);
    ::chown((src + "/home/user").c_str(), 1000, 1000);
    ::chmod((src + "/random.bin").c_str(), 0604);
    // Times last, deepest first, so writing into a directory changes none afterwards.
    Tree t = Walk(src);
    int64_t when = 1'600'000'000LL * kSecond + 123'456'789;
    for (auto it = t.rbegin(); it != t.rend(); ++it) {
      SetTime(src + "/" + it->first, when);
      when += 3 * kSecond + 1'001;
    }
    return src;
  }

  std::string MakeFatSource() {
    std::string src = dir_ / "src2";
    auto r = Sh("mkdir -p '" + src + "'/docs/sub '" + src + "/Mixed Case Dir'");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    WriteText(src + "/README.TXT", "hello from fat\n");
    WriteText(src + "/Long File Name with spaces.txt", "long name\n");
    WriteText(src + "/docs/guide.md", "# guide\n");
    WriteText(src + "/Mixed Case Dir/a.b.c.d", "dots\n");
    WriteText(src + "/empty.txt", "");
    MakeSparseFile(src + "/data.bin", 0);
    WriteAt(src + "/data.bin", 0, PatternBytes(11, (1 << 20) + 7));
    MakeSparseFile(src + "/docs/sub/deep.bin", 0);
    WriteAt(src + "/docs/sub/deep.bin", 0, PatternBytes(12, 200 * 1024));
    Tree t = Walk(src);
    int64_t when = 1'650'000'000LL * kSecond;  // even seconds: FAT keeps 2 s
    for (auto it = t.rbegin(); it != t.rend(); ++it) {
      SetTime(src + "/" + it->first, when);
      when += 10 * kSecond;
    }
    return src;
  }

  // A 64 MiB GPT disk: vda1 ext4 of MakeExtSource(), vda2 vfat of MakeFatSource().
  void MakeGptDisk() {
    ext_src_ = MakeExtSource();
    fat_src_ = MakeFatSource();
    disk_ = dir_ / "disk.img";
    auto r = Sh("truncate -s 64M " + disk_ + " && printf 'label: gpt\\nstart=2048, size=40960, " +
                "type=L\\nstart=43008, type=L\\n' | sfdisk -q " + disk_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = Sh("mke2fs -q -F -t ext4 -E offset=" + std::to_string(kExtStart) + " -d '" + ext_src_ +
           "' " + disk_ + " 20M");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto table = nlohmann::json::parse(RunCommand({"sfdisk", "--json", disk_}).out);
    fat_size_ = table["partitiontable"]["partitions"][1]["size"].get<uint64_t>() * kSector;
    r = Sh("mkfs.vfat --offset=" + std::to_string(kFatStart / kSector) + " " + disk_ + " " +
           std::to_string(fat_size_ / 1024) + " >/dev/null");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // mtools reads and writes FAT times as local time: pin the zone.
    r = Sh(
        "mcopy -s -m -i " + disk_ + "@@" + std::to_string(kFatStart) + " '" + fat_src_ + "'/* ::/",
        {{"TZ", "UTC"}, {"LC_ALL", "C.UTF-8"}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // init, vm add web --disk vda=<disk>, create web rp1.
  void AddVm(const std::string& disk, const std::string& rp = "rp1") {
    auto r = R({"init"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = R({"vm", "add", "web", "--disk", "vda=" + disk});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = R({"create", "web", rp});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void Mount(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"mount", mnt_};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = R(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    mounted_ = true;
  }

  std::string Files(const std::string& rel = "", const std::string& rp = "rp1") const {
    std::string base = mnt_ + "/web/" + rp + "/files";
    return rel.empty() ? base : base + "/" + rel;
  }

  // Loop-mounts `image` read-only at a new dir (offset/sizelimit in bytes, 0 = none).
  std::string KernelMount(const std::string& image, uint64_t offset, uint64_t size,
                          const std::string& name, const std::string& extra = "") {
    std::string at = dir_ / name;
    ::mkdir(at.c_str(), 0755);
    std::string opts = "loop,ro";
    if (offset != 0) opts += ",offset=" + std::to_string(offset);
    if (size != 0) opts += ",sizelimit=" + std::to_string(size);
    if (!extra.empty()) opts += "," + extra;
    auto r = RunCommand({"mount", "-o", opts, image, at});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code == 0) kernel_mounts_.push_back(at);
    return at;
  }

  // The daemon's guest helpers (its children running __guest-helper).
  std::set<pid_t> Helpers() {
    std::set<pid_t> out;
    pid_t daemon = static_cast<pid_t>(std::stol(Slurp(store() + "/rpfs.lock")));
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      std::string name = e.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cmdline = Slurp(e.path().string() + "/cmdline");
      if (cmdline.find("__guest-helper") == std::string::npos) continue;
      std::string stat = Slurp(e.path().string() + "/stat");
      auto close = stat.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(stat.substr(close + 2));
      char state;
      pid_t ppid = 0;
      rest >> state >> ppid;
      if (ppid == daemon && state != 'Z') out.insert(static_cast<pid_t>(std::stol(name)));
    }
    return out;
  }

  std::string mnt_, disk_, ext_src_, fat_src_;
  uint64_t fat_size_ = 0;
  bool mounted_ = false;
  std::vector<std::string> kernel_mounts_;
};

// 1. ext4 on GPT: the tree equals the source tree, and the kernel's view of a loop mount
// of the RP's own disk (modes from user.rpfs.guest_mode, owners, ns mtimes, contents).
TEST_F(GuestFilesTest, Ext4TreeEqualsTheSourceAndTheKernelsView) {
  MakeGptDisk();
  AddVm(disk_);
  Mount();
  Tree guest = Walk(Files("vda1"), /*guest_xattrs=*/true);
  ASSERT_TRUE(guest.count("many/entry-299")) << "no 300-entry directory";
  ASSERT_TRUE(guest.count("with space/naïve café ☕ 日本.txt"));
  Tree src = Walk(ext_src_);
  // mke2fs -d (e2fsprogs 1.47.0) keeps whole seconds of the source's times: the kernel
  // comparison below is to the nanosecond.
  Compare to_the_second;
  to_the_second.whole_seconds = true;
  ExpectSameTree(src, Without(guest, "lost+found"), to_the_second, "guest vs source tree");

  // What the mount shows: the disk file is 0644 root, so every class reads, nobody writes;
  // each class gets the guest's read/search bits, the owner (of the disk) always reads.
  for (const auto& [p, n] : guest) {
    if (n.type != 'f' && n.type != 'd') continue;
    SCOPED_TRACE(p);
    EXPECT_EQ(n.shown_mode & 07222, 0u) << std::oct << n.shown_mode;
    EXPECT_EQ(n.shown_mode & 0055, n.mode & 0055) << std::oct << n.shown_mode << " " << n.mode;
    EXPECT_EQ(n.shown_mode & 0100, n.mode & 0100) << std::oct << n.shown_mode << " " << n.mode;
    EXPECT_NE(n.shown_mode & 0400, 0u) << std::oct << n.shown_mode;
  }
  struct stat st;
  ASSERT_EQ(::stat(Files("vda1/home/user/notes.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);  // the disk file's owner, not the guest's 1000
  EXPECT_EQ(Xattr(Files("vda1/home/user/notes.txt"), "user.rpfs.guest_uid"), "1000");
  EXPECT_EQ(Xattr(Files("vda1/etc/shadow"), "user.rpfs.guest_gid"), "42");
  EXPECT_FALSE(Xattr(Files("vda1/random.bin"), "user.rpfs.guest_ino").empty());
  // Namespaces other than user.* are unsupported through the kernel too: that answer is what
  // lets `ls -l` stop asking security.selinux of every entry.
  char none[64];
  errno = 0;
  EXPECT_EQ(::lgetxattr(Files("vda1/etc/shadow").c_str(), "security.selinux", none, sizeof none),
            -1);
  EXPECT_EQ(errno, EOPNOTSUPP);

  // The sparse file reads back as its bytes, holes as zeros (compared above); and the raw
  // slice is the partition's bytes.
  EXPECT_TRUE(Slurp(Files("vda1.raw")) == AsString(ReadAll(disk_)).substr(kExtStart, kExtSize))
      << "vda1.raw is not the partition's bytes";

  if (!HaveLoop()) GTEST_SKIP() << "no loop devices: kernel comparison not run";
  std::string kernel =
      KernelMount(mnt_ + "/web/rp1/vda.raw", kExtStart, kExtSize, "kernel", "noload");
  ASSERT_FALSE(kernel_mounts_.empty());
  ExpectSameTree(Walk(kernel), guest, Compare{}, "guest vs kernel loop mount of vda.raw");
  // The same through the volume's own raw slice.
  std::string kernel2 = KernelMount(Files("vda1.raw"), 0, 0, "kernel2", "noload");
  ASSERT_EQ(kernel_mounts_.size(), 2u);
  Tree k2 = Walk(kernel2);
  EXPECT_EQ(k2.size(), guest.size());
  EXPECT_TRUE(k2["random.bin"].content == guest["random.bin"].content);
}

// 1b. The other ext flavours the issue names: ext2, and ext4 without the 64bit feature.
TEST_F(GuestFilesTest, Ext2AndNon64bitExt4TreesEqualTheSourceAndTheKernelsView) {
  ext_src_ = MakeExtSource();
  disk_ = dir_ / "disk.img";
  auto r = Sh("truncate -s 64M " + disk_ + " && printf 'label: gpt\\nstart=2048, size=40960, " +
              "type=L\\nstart=43008, size=40960, type=L\\n' | sfdisk -q " + disk_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Sh("mke2fs -q -F -t ext2 -E offset=" + std::to_string(kExtStart) + " -d '" + ext_src_ + "' " +
         disk_ + " 20M");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Sh("mke2fs -q -F -t ext4 -O ^64bit -E offset=" + std::to_string(kFatStart) + " -d '" +
         ext_src_ + "' " + disk_ + " 20M");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  AddVm(disk_);
  Mount();
  auto rows = ParseVolumes(Slurp(Files(".volumes")));
  EXPECT_EQ(rows["vda1"]["fs"], "ext2");
  EXPECT_EQ(rows["vda2"]["fs"], "ext4");
  Compare to_the_second;
  to_the_second.whole_seconds = true;
  Tree src = Walk(ext_src_);
  const bool loop = HaveLoop();
  for (auto [volume, start] : {std::pair{"vda1", kExtStart}, std::pair{"vda2", kFatStart}}) {
    SCOPED_TRACE(volume);
    EXPECT_EQ(rows[volume]["state"], "ok");
    Tree guest = Walk(Files(volume), /*guest_xattrs=*/true);
    ExpectSameTree(src, Without(guest, "lost+found"), to_the_second, "guest vs source tree");
    if (!loop) continue;
    std::string kernel =
        KernelMount(mnt_ + "/web/rp1/vda.raw", start, kExtSize, std::string("kernel-") + volume);
    ExpectSameTree(Walk(kernel), guest, Compare{}, "guest vs kernel loop mount");
  }
  if (!loop) GTEST_SKIP() << "no loop devices: kernel comparison not run";
}

// 2. vfat on the second partition: names, sizes, contents; mtimes within FAT's 2 s.
TEST_F(GuestFilesTest, VfatTreeEqualsTheSource) {
  MakeGptDisk();
  AddVm(disk_);
  Mount();
  Tree guest = Walk(Files("vda2"), /*guest_xattrs=*/true);
  ASSERT_FALSE(guest.empty()) << "files/vda2 lists nothing; .volumes:\n"
                              << Slurp(Files(".volumes"));
  Compare how;
  how.modes = false;  // FAT has no Unix modes
  how.dir_mtimes = false;
  how.mtime_slack_ns = 2 * kSecond;
  ExpectSameTree(Walk(fat_src_), guest, how, "vfat vs source tree");
  // Directories and files as documented: 0755 / 0644 in the guest, shown no wider.
  EXPECT_EQ(guest["docs"].mode, 0755u);
  EXPECT_EQ(guest["README.TXT"].mode, 0644u);
  EXPECT_EQ(guest["README.TXT"].shown_mode & 0222, 0u);
}

// 3. .volumes: both partitions, where sfdisk says they are, their filesystems, state ok.
TEST_F(GuestFilesTest, VolumeTableAgreesWithSfdisk) {
  MakeGptDisk();
  AddVm(disk_);
  Mount();
  std::string text = Slurp(Files(".volumes"));
  EXPECT_EQ(text.rfind("name\tdisk\ttable\tindex\tstart\tsize\ttype\tfs\tlabel\tuuid\tstate\n", 0),
            0u)
      << text;
  auto rows = ParseVolumes(text);
  ASSERT_EQ(rows.size(), 2u) << text;
  auto table = nlohmann::json::parse(RunCommand({"sfdisk", "--json", disk_}).out);
  auto parts = table["partitiontable"]["partitions"];
  ASSERT_EQ(parts.size(), 2u);
  const char* names[] = {"vda1", "vda2"};
  const char* fs[] = {"ext4", "vfat"};
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(names[i]);
    ASSERT_TRUE(rows.count(names[i])) << text;
    VolumeRow& row = rows[names[i]];
    EXPECT_EQ(row["disk"], "vda");
    EXPECT_EQ(row["table"], "gpt");
    EXPECT_EQ(row["index"], std::to_string(i + 1));
    EXPECT_EQ(row["start"], std::to_string(parts[i]["start"].get<uint64_t>() * kSector));
    EXPECT_EQ(row["size"], std::to_string(parts[i]["size"].get<uint64_t>() * kSector));
    EXPECT_EQ(row["fs"], fs[i]);
    EXPECT_EQ(row["state"], "ok");
    std::string guid = parts[i]["type"].get<std::string>();
    std::transform(guid.begin(), guid.end(), guid.begin(), ::tolower);
    EXPECT_EQ(row["type"], guid);
    struct stat st;
    ASSERT_EQ(::stat(Files(std::string(names[i]) + ".raw").c_str(), &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), parts[i]["size"].get<uint64_t>() * kSector);
  }
  std::string uuid =
      Sh("blkid -p -o value -s UUID -O " + std::to_string(kExtStart) + " " + disk_).out;
  if (!uuid.empty()) {
    EXPECT_EQ(rows["vda1"]["uuid"] + "\n", uuid);
  }
}

// 4. An ext4 copied while mounted read-write with committed transactions still in its
// journal: rpfs replays them in memory and shows what the kernel's own replay shows.
TEST_F(GuestFilesTest, CrashConsistentExt4MatchesTheKernelsReplay) {
  if (!HaveLoop()) GTEST_SKIP() << "needs loop devices";
  std::string live = dir_ / "live.img";
  auto r = Sh("truncate -s 32M " + live + " && mke2fs -q -F -t ext4 " + live);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string live_mnt = dir_ / "live";
  ::mkdir(live_mnt.c_str(), 0755);
  // nodelalloc: data=ordered then writes file data before each 1 s commit, so the files
  // have their bytes in the copy (with delayed allocation they would still be empty).
  r = RunCommand({"mount", "-o", "loop,commit=1,nodelalloc", live, live_mnt});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  kernel_mounts_.push_back(live_mnt);
  ::mkdir((live_mnt + "/app").c_str(), 0750);
  WriteText(live_mnt + "/app/config.json", "{\"version\": 2}\n");
  MakeSparseFile(live_mnt + "/app/data.bin", 0);
  WriteAt(live_mnt + "/app/data.bin", 0, PatternBytes(21, 300 * 1024 + 5));
  ASSERT_EQ(::symlink("app/config.json", (live_mnt + "/current").c_str()), 0);
  ::mkdir((live_mnt + "/logs").c_str(), 0755);
  for (int i = 0; i < 40; ++i) {
    WriteText(live_mnt + "/logs/log-" + std::to_string(i), "line " + std::to_string(i) + "\n");
  }
  // Wait, without a sync (a sync writes metadata home), until the journal in the image file
  // holds a commit made after every write above: a marker written after counting the commit
  // blocks forces one more commit, which comes after the earlier writes (jbd2 commits in
  // order). Polled with a deadline; commit=1 makes it about a second.
  auto commits = [&] {
    return std::atoi(
        Sh("debugfs -R logdump " + live + " 2>/dev/null | grep -c 'commit block'").out.c_str());
  };
  const int before = commits();
  WriteText(live_mnt + "/logs/marker", "marker\n");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (commits() <= before) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no journal commit within 20 s";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::string crash = dir_ / "crash.img", oracle = dir_ / "oracle.img";
  r = Sh("cp --sparse=always " + live + " " + crash + " && cp --sparse=always " + live + " " +
         oracle);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(RunCommand({"umount", live_mnt}).exit_code, 0);
  kernel_mounts_.pop_back();
  auto features = Sh("dumpe2fs -h " + crash + " 2>/dev/null | grep -i features").out;
  if (features.find("needs_recovery") == std::string::npos) {
    GTEST_SKIP() << "the copy needs no recovery (the kernel wrote everything home): " << features;
  }
  // The kernel's replay: a read-write mount of the second copy, then read-only.
  std::string replay_mnt = dir_ / "replay";
  ::mkdir(replay_mnt.c_str(), 0755);
  ASSERT_EQ(RunCommand({"mount", "-o", "loop", oracle, replay_mnt}).exit_code, 0);
  ASSERT_EQ(RunCommand({"umount", replay_mnt}).exit_code, 0);
  std::string kernel = KernelMount(oracle, 0, 0, "kernel");

  AddVm(crash);
  Mount();
  auto rows = ParseVolumes(Slurp(Files(".volumes")));
  ASSERT_TRUE(rows.count("vda")) << Slurp(Files(".volumes"));
  EXPECT_EQ(rows["vda"]["table"], "none");
  EXPECT_EQ(rows["vda"]["fs"], "ext4");
  EXPECT_EQ(rows["vda"]["state"], "journal replayed");
  Tree guest = Walk(Files("vda"), /*guest_xattrs=*/true);
  EXPECT_EQ(guest["app/config.json"].content, "{\"version\": 2}\n");
  EXPECT_TRUE(guest["app/data.bin"].content == AsString(PatternBytes(21, 300 * 1024 + 5)))
      << "app/data.bin: " << guest["app/data.bin"].content.size() << " bytes";
  EXPECT_EQ(guest["current"].target, "app/config.json");
  EXPECT_TRUE(guest.count("logs/log-39"));
  ExpectSameTree(Walk(kernel), guest, Compare{}, "guest vs kernel replay");
}

// 5. An XFS partition is a raw slice with the reason; an ext4 whose superblock is zeroed
// and one whose superblock is corrupt are named errors, EIO inside; the daemon stays up.
TEST_F(GuestFilesTest, UnsupportedAndDamagedVolumesAreNamedAndTheDaemonStaysUp) {
  if (!Have("mkfs.xfs")) GTEST_SKIP() << "needs mkfs.xfs";
  std::string src = MakeFatSource();  // any small tree
  disk_ = dir_ / "disk.img";
  // vda1: ext4 with a zeroed superblock; vda2: XFS (300 MiB); vda3: ext4 whose superblock
  // counts no blocks; vda4: a good ext4.
  constexpr uint64_t kP1 = 2048, kP2 = 43008, kP3 = kP2 + 614400, kP4 = kP3 + 40960;
  auto r =
      Sh("truncate -s 400M " + disk_ + " && printf 'label: gpt\\nstart=" + std::to_string(kP1) +
         ", size=40960, type=L\\nstart=" + std::to_string(kP2) + ", size=614400, type=L\\nstart=" +
         std::to_string(kP3) + ", size=40960, type=L\\nstart=" + std::to_string(kP4) +
         ", size=40960, type=L\\n' | sfdisk -q " + disk_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (uint64_t p : {kP1, kP3, kP4}) {
    r = Sh("mke2fs -q -F -t ext4 -E offset=" + std::to_string(p * kSector) + " -d '" + src + "' " +
           disk_ + " 20M");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string xfs = dir_ / "xfs.img";
  r = Sh("truncate -s 300M " + xfs + " && mkfs.xfs -q " + xfs + " && dd if=" + xfs +
         " of=" + disk_ + " bs=1M seek=" + std::to_string(kP2 * kSector >> 20) +
         " conv=notrunc,sparse status=none");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ::unlink(xfs.c_str());
  WriteAt(disk_, kP1 * kSector + 1024, std::vector<std::byte>(1024));
  WriteAt(disk_, kP3 * kSector + 1024 + 4, std::vector<std::byte>(4));  // s_blocks_count_lo
  AddVm(disk_);
  Mount();

  std::string text = Slurp(Files(".volumes"));
  auto rows = ParseVolumes(text);
  ASSERT_EQ(rows.size(), 4u) << text;
  EXPECT_EQ(rows["vda2"]["fs"], "xfs") << text;
  EXPECT_EQ(rows["vda2"]["state"], "unsupported: xfs") << text;
  EXPECT_EQ(rows["vda3"]["fs"], "ext4") << text;
  EXPECT_EQ(rows["vda3"]["state"].rfind("error: ", 0), 0u) << text;
  EXPECT_EQ(rows["vda4"]["state"], "ok") << text;
  // The zeroed superblock leaves no ext4 to recognise: the partition is an unknown raw
  // slice, never a directory.
  EXPECT_EQ(rows["vda1"]["fs"], "-") << text;
  EXPECT_EQ(rows["vda1"]["state"], "unsupported: unknown") << text;

  struct stat st;
  // XFS: only the raw slice, and it is the partition's bytes.
  EXPECT_EQ(::stat(Files("vda2").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
  ASSERT_EQ(::stat(Files("vda2.raw").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 614400 * kSector);
  std::ifstream raw(Files("vda2.raw"), std::ios::binary);
  char magic[4] = {};
  raw.read(magic, 4);
  EXPECT_EQ(std::string(magic, 4), "XFSB");

  // The corrupt ext4 is listed as a directory but nothing inside opens: EIO.
  ASSERT_EQ(::stat(Files("vda3").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  DIR* d = ::opendir(Files("vda3").c_str());
  int err = 0;
  if (d == nullptr) {
    err = errno;
  } else {
    errno = 0;
    while (::readdir(d) != nullptr) {
    }
    err = errno;
    ::closedir(d);
  }
  EXPECT_EQ(err, EIO);
  EXPECT_EQ(::stat(Files("vda3/README.TXT").c_str(), &st), -1);
  EXPECT_EQ(errno, EIO);
  auto ls = RunCommand({"ls", Files("vda3")});
  EXPECT_NE(ls.exit_code, 0);
  EXPECT_NE(ls.err.find("Input/output error"), std::string::npos) << ls.err;
  // vda1 (zeroed) is not a directory to enter, only a raw slice.
  EXPECT_EQ(::stat(Files("vda1").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(::stat(Files("vda1.raw").c_str(), &st), 0);

  // The daemon is still up and serves everything else.
  EXPECT_EQ(RunCommand({"ls", mnt_ + "/web"}).exit_code, 0);
  EXPECT_EQ(Slurp(Files("vda4/README.TXT")), "hello from fat\n");
  EXPECT_EQ(RunCommand({"ls", Files("vda3")}).exit_code, ls.exit_code);  // still EIO, no crash
  EXPECT_EQ(RunCommand({"ls", mnt_ + "/web/rp1"}).exit_code, 0);
}

// 6. A helper SIGKILLed while a big file is being read: that read fails with EIO or (file
// data comes from the RP itself, by extent) succeeds; every later read gives the right
// bytes, and a directory not listed before lists through a new helper.
TEST_F(GuestFilesTest, AKilledHelperIsReplaced) {
  MakeGptDisk();
  AddVm(disk_);
  Mount();
  const std::string expected = Slurp(ext_src_ + "/random.bin");
  const std::string path = Files("vda1/random.bin");
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  std::string got(expected.size(), '\0');
  constexpr size_t kPiece = 128 * 1024;
  size_t done = 0;
  while (done < (1u << 20)) {
    ssize_t n = ::pread(fd, got.data() + done, kPiece, static_cast<off_t>(done));
    ASSERT_GT(n, 0) << std::strerror(errno);
    done += static_cast<size_t>(n);
  }

  std::set<pid_t> before = Helpers();
  ASSERT_FALSE(before.empty()) << "no __guest-helper child of the daemon";
  for (pid_t p : before) ASSERT_EQ(::kill(p, SIGKILL), 0);
  for (int i = 0; i < 100 && !Helpers().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // What readahead brought in must not hide the daemon: the rest is read from it.
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);

  // The call that finds the helper dead may fail with EIO (docs/guest-files.md: "that call
  // fails with EIO and the next one starts a new helper"); at most that one, and the same
  // call again works.
  int eio = 0;
  auto again_once = [&](const std::function<ssize_t()>& call) {
    ssize_t r = call();
    if (r < 0 && errno == EIO) {
      ++eio;
      r = call();
    }
    return r;
  };
  while (done < expected.size()) {
    ssize_t n = again_once(
        [&] { return ::pread(fd, got.data() + done, kPiece, static_cast<off_t>(done)); });
    ASSERT_GT(n, 0) << "at " << done << ": " << std::strerror(errno);
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  EXPECT_TRUE(got == expected) << "the bytes read across the kill differ";
  // A new open of the file, and a directory never listed before (it needs the filesystem,
  // so a new helper).
  std::string deep;
  ssize_t r = again_once([&]() -> ssize_t {
    int f = ::open(Files("vda1/a/b/c/d/e/deep.txt").c_str(), O_RDONLY);
    if (f < 0) return -1;
    char buf[64];
    ssize_t n = ::read(f, buf, sizeof buf);
    int saved = errno;
    ::close(f);
    errno = saved;
    if (n > 0) deep.assign(buf, static_cast<size_t>(n));
    return n;
  });
  EXPECT_GT(r, 0) << std::strerror(errno);
  EXPECT_EQ(deep, "deep down\n");
  auto ls = RunCommand({"ls", Files("vda1/many")});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find("entry-299"), std::string::npos);
  EXPECT_TRUE(Slurp(path) == expected);
  EXPECT_LE(eio, 1);
  RecordProperty("eio_after_kill", eio);
  std::set<pid_t> after = Helpers();
  EXPECT_FALSE(after.empty()) << "no new helper";
  for (pid_t p : after) EXPECT_FALSE(before.count(p)) << "helper " << p << " survived SIGKILL";
  EXPECT_EQ(RunCommand({"ls", mnt_ + "/web"}).exit_code, 0);
}

// 7. Another user: with allow_other, the files of an RP of a 0644 disk are readable, those
// of an RP of a 0600 root disk are not (neither listing nor reading).
TEST_F(GuestFilesTest, OtherUsersCannotReadTheFilesOfAnOwnerOnlyDisk) {
  if (!Have("setpriv")) GTEST_SKIP() << "needs setpriv";
  MakeGptDisk();
  ASSERT_EQ(::chmod(disk_.c_str(), 0644), 0);
  AddVm(disk_, "open");
  ASSERT_EQ(::chmod(disk_.c_str(), 0600), 0);
  auto r = R({"create", "web", "secret"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ::chmod(dir_.path().c_str(), 0711);  // let nobody reach the mount point
  Mount({"-o", "allow_other"});
  auto as_nobody = [](std::vector<std::string> argv) {
    std::vector<std::string> full = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
    full.insert(full.end(), argv.begin(), argv.end());
    return RunCommand(full);
  };
  // The control: the 0644 disk's files are readable by nobody.
  auto ok_ls = as_nobody({"ls", Files("vda1", "open")});
  EXPECT_EQ(ok_ls.exit_code, 0) << ok_ls.err;
  auto ok_cat = as_nobody({"cat", Files("vda1/etc/nginx.conf", "open")});
  EXPECT_EQ(ok_cat.exit_code, 0) << ok_cat.err;
  EXPECT_EQ(ok_cat.out, "server { listen 80; }\n");
  // The guest's 0600 file stays its owner's even on a 0644 disk.
  EXPECT_NE(as_nobody({"cat", Files("vda1/home/user/notes.txt", "open")}).exit_code, 0);

  for (const std::string& path :
       {Files("vda1", "secret"), Files("", "secret"), Files("vda2", "secret")}) {
    auto ls = as_nobody({"ls", path});
    EXPECT_NE(ls.exit_code, 0) << path;
    EXPECT_NE(ls.err.find("Permission denied"), std::string::npos) << path << ": " << ls.err;
  }
  auto cat = as_nobody({"cat", Files("vda1/etc/nginx.conf", "secret")});
  EXPECT_NE(cat.exit_code, 0);
  EXPECT_TRUE(cat.out.empty());
  EXPECT_NE(cat.err.find("Permission denied"), std::string::npos) << cat.err;
  auto raw = as_nobody({"cat", Files("vda1.raw", "secret")});
  EXPECT_NE(raw.exit_code, 0);
  EXPECT_TRUE(raw.out.empty());
  // Root (the disk's owner) still reads it.
  EXPECT_EQ(Slurp(Files("vda1/etc/nginx.conf", "secret")), "server { listen 80; }\n");
}

}  // namespace
}  // namespace rpfs::testing
