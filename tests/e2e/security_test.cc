// The permission model of the mount and the CLI (docs/security.md): no allow_other unless
// asked; with it, other users read an RP only if they could read the disk it was made from
// (its owner, group and mode, default_permissions), an operators group (-o group=) reads
// every RP, and only root and the mount's owner change anything (the kernel refuses
// mkdir/rmdir/rename, `.control` and the socket refuse commands with EACCES and the reason);
// names never escape their directory, whichever interface gives them.
#include <dirent.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <functional>

#include "mount_fixture.h"
#include "support/datagram_sink.h"

namespace rpfs::testing {
namespace {

constexpr uid_t kNobody = 65534;

constexpr gid_t kDiskGroup = 4242;  // a group the source image is given (need not exist)
constexpr gid_t kOperators = 4243;  // the mount's operators group in these tests

// Runs `fn` in a child process as user nobody, member of `groups` only; returns fn's
// result (an errno, 0 = done).
int AsNobody(const std::function<int()>& fn, std::vector<gid_t> groups = {}) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(kNobody) != 0 ||
        ::setuid(kNobody) != 0) {
      ::_exit(200);
    }
    ::_exit(fn());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

int OpenErrno(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

// Opens `path`, reads from it and returns the errno of the first step that failed.
int ReadErrno(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return errno;
  char buf[64];
  int err = ::read(fd, buf, sizeof buf) < 0 ? errno : 0;
  ::close(fd);
  return err;
}

int WriteErrno(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC);
  if (fd < 0) return errno;
  int err = ::write(fd, text.data(), text.size()) < 0 ? errno : 0;
  ::close(fd);
  return err;
}

int ListErrno(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return errno;
  ::closedir(d);
  return 0;
}

// The mount's super options as the kernel shows them.
std::string MountOptionsOf(const std::string& mnt) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(" " + mnt + " ") != std::string::npos) return line;
  }
  return "";
}

class SecurityTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    // mkdtemp makes the test dir 0700: let other users reach the mount point, so only the
    // mount's own checks keep them out.
    ::chmod(dir_.path().c_str(), 0711);
  }

  void Remount(const std::vector<std::string>& extra) {
    Unmount();
    std::vector<std::string> args = {"mount", mnt_};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = R(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    mounted_ = true;
  }
};

TEST_F(SecurityTest, NoAllowOtherUnlessAsked) {
  std::string opts = MountOptionsOf(mnt_);
  ASSERT_FALSE(opts.empty()) << mnt_ << " is not in /proc/self/mountinfo";
  EXPECT_EQ(opts.find("allow_other"), std::string::npos) << opts;
  EXPECT_NE(opts.find("default_permissions"), std::string::npos) << opts;
  // Another user is kept out of the whole mount.
  EXPECT_EQ(AsNobody([&] {
              struct stat st;
              return ::stat(P("vm/one/vda.raw").c_str(), &st) == 0 ? 0 : errno;
            }),
            EACCES);
  Remount({"-o", "allow_other"});
  opts = MountOptionsOf(mnt_);
  EXPECT_NE(opts.find("allow_other"), std::string::npos) << opts;
}

TEST_F(SecurityTest, OtherUsersMayReadRpsButChangeNothing) {
  ASSERT_EQ(R({"clone", "vm", "one", "cl"}).exit_code, 0);
  Remount({"-o", "allow_other"});
  struct stat st;
  // The source image is 0644: its RP's disk is readable by all, never writable.
  ASSERT_EQ(::stat(P("vm/one/vda.raw").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  ASSERT_EQ(::stat(P("vm/one").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0555u);
  const std::string clone_disk = P("vm/.clones/cl/vda.raw");
  ASSERT_EQ(::stat(clone_disk.c_str(), &st), 0) << clone_disk;
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  EXPECT_EQ(AsNobody([&] { return OpenErrno(P("vm/one/vda.raw"), O_RDONLY); }), 0);
  EXPECT_EQ(AsNobody([&] { return OpenErrno(P("vm/one/vda.raw"), O_WRONLY); }), EACCES);
  EXPECT_EQ(AsNobody([&] { return OpenErrno(clone_disk, O_RDWR); }), EACCES);
  EXPECT_EQ(AsNobody([&] { return WriteErrno(P("vm/.control"), "create sneaky"); }), EACCES);
  EXPECT_EQ(AsNobody([&] { return ::mkdir(P("vm/new").c_str(), 0777) == 0 ? 0 : errno; }), EACCES);
  EXPECT_EQ(
      AsNobody([&] { return ::rename(P("vm/one").c_str(), P("vm/uno").c_str()) == 0 ? 0 : errno; }),
      EACCES);
  EXPECT_EQ(AsNobody([&] { return ::rmdir(P("vm/one").c_str()) == 0 ? 0 : errno; }), EACCES);
  // The owner (this process) still can: default_permissions checks modes, not "anyone".
  EXPECT_EQ(OpenErrno(clone_disk, O_RDWR), 0);
}

// An RP of a 0600 image is its owner's only: allow_other lets nobody else read it.
TEST_F(SecurityTest, RpOfAnOwnerOnlySourceIsUnreadableByOthers) {
  ASSERT_EQ(::chmod(img_.c_str(), 0600), 0);
  ASSERT_EQ(R({"create", "vm", "secret"}).exit_code, 0);
  for (bool allow_other : {false, true}) {
    SCOPED_TRACE(allow_other ? "allow_other" : "private mount");
    if (allow_other) Remount({"-o", "allow_other"});
    struct stat st;
    ASSERT_EQ(::stat(P("vm/secret/vda.raw").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0400u);
    EXPECT_EQ(st.st_uid, 0u);
    ASSERT_EQ(::stat(P("vm/secret").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0500u);
    EXPECT_EQ(AsNobody([&] { return ReadErrno(P("vm/secret/vda.raw")); }), EACCES);
    EXPECT_EQ(AsNobody([&] { return ReadErrno(P("vm/secret/info")); }), EACCES);
    EXPECT_EQ(AsNobody([&] { return ListErrno(P("vm")); }), EACCES);
    EXPECT_EQ(AsNobody([&] { return ReadErrno(P("vm/.status")); }), EACCES);
    // Root reads it, and what it reads is the disk.
    EXPECT_EQ(ReadErrno(P("vm/secret/vda.raw")), 0);
  }
  // The RP of the 0644 image next to it stays readable by all.
  EXPECT_EQ(AsNobody([&] { return ReadErrno(P("vm/one/vda.raw")); }), 0);
}

// A 0640 root:G image: its RP is readable by members of G, and by nobody else.
TEST_F(SecurityTest, RpOfAGroupReadableSourceIsReadableByThatGroupOnly) {
  ASSERT_EQ(::chown(img_.c_str(), 0, kDiskGroup), 0);
  ASSERT_EQ(::chmod(img_.c_str(), 0640), 0);
  ASSERT_EQ(R({"create", "vm", "shared"}).exit_code, 0);
  Remount({"-o", "allow_other"});
  struct stat st;
  ASSERT_EQ(::stat(P("vm/shared/vda.raw").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0440u);
  EXPECT_EQ(st.st_gid, kDiskGroup);
  EXPECT_EQ(AsNobody([&] { return ReadErrno(P("vm/shared/vda.raw")); }, {kDiskGroup}), 0);
  EXPECT_EQ(AsNobody([&] { return ReadErrno(P("vm/shared/vda.raw")); }), EACCES);
  EXPECT_EQ(AsNobody([&] { return ReadErrno(P("vm/shared/vda.raw")); }, {kOperators}), EACCES);
}

// `-o group=G` lets G read (and list) every RP, even of a 0600 image; nobody else.
TEST_F(SecurityTest, OperatorsGroupReadsEveryRp) {
  ASSERT_EQ(::chmod(img_.c_str(), 0600), 0);
  ASSERT_EQ(R({"create", "vm", "secret"}).exit_code, 0);
  Remount({"-o", "allow_other,group=" + std::to_string(kOperators)});
  EXPECT_EQ(AsNobody([&] { return ReadErrno(P("vm/secret/vda.raw")); }, {kOperators}), 0);
  EXPECT_EQ(AsNobody([&] { return ListErrno(P("vm")); }, {kOperators}), 0);
  EXPECT_EQ(AsNobody([&] { return ReadErrno(P("vm/.status")); }, {kOperators}), 0);
  EXPECT_EQ(AsNobody([&] { return ReadErrno(P("vm/secret/vda.raw")); }), EACCES);
  EXPECT_EQ(AsNobody([&] { return ListErrno(P("vm")); }), EACCES);
  // Reading is all the group may do.
  EXPECT_EQ(AsNobody([&] { return WriteErrno(P("vm/.control"), "create x"); }, {kOperators}),
            EACCES);
  EXPECT_EQ(
      AsNobody([&] { return ::mkdir(P("vm/x").c_str(), 0777) == 0 ? 0 : errno; }, {kOperators}),
      EACCES);
}

TEST_F(SecurityTest, UnknownOperatorsGroupIsRefusedByName) {
  Unmount();
  auto r = R({"mount", mnt_, "-o", "group=no-such-group-rpfs"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no-such-group-rpfs"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no such group"), std::string::npos) << r.err;
  EXPECT_EQ(MountOptionsOf(mnt_), "") << "mounted anyway";
}

// A command from another user is refused with EACCES, changes nothing, and its reason is
// in `.status` for the owner to see; the CLI socket refuses the user too. Each `.control`
// refusal is one line in the daemon's log naming the uid (a syslog stand-in here); the
// socket is 0600, so the kernel refuses that client before the daemon sees it.
TEST_F(SecurityTest, ControlFileAndSocketRefuseOtherUsers) {
  DatagramSink log(dir_ / "log.sock");
  ASSERT_TRUE(log.bound());
  Remount({"-o", "allow_other", "--log-socket", dir_ / "log.sock"});
  const std::string before = R({"list"}).out;
  EXPECT_EQ(AsNobody([&] { return WriteErrno(P("vm/.control"), "create sneaky"); }), EACCES);
  EXPECT_EQ(AsNobody([&] { return WriteErrno(P("vm/.control"), "delete one"); }), EACCES);
  std::ifstream in(P("vm/.status"));
  std::string status((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(status.find("uid 65534 may not run commands"), std::string::npos) << status;
  EXPECT_NE(status.find("create sneaky"), std::string::npos) << status;
  // Through the CLI, as nobody: refused, nothing changed.
  ::chmod(store().c_str(), 0755);  // so that only the socket's own checks stop the user
  auto r = RunCommand({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", RpfsBinary(),
                       "--store", store(), "delete", "vm", "one"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("ermission denied"), std::string::npos) << r.err;
  EXPECT_EQ(R({"list"}).out, before);
  int control_lines = 0;
  std::string all;
  for (const auto& line : log.Drain(2000)) {
    all += line + "\n";
    if (line.find("uid=65534") == std::string::npos) continue;
    control_lines += line.find("control-refused") != std::string::npos;
  }
  EXPECT_EQ(control_lines, 2) << all;
}

TEST_F(SecurityTest, NamesNeverEscapeTheirDirectory) {
  for (const std::string bad : {"../x", "..", ".", "a/b", "/x", "x/.."}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(R({"create", "vm", bad}).exit_code, 2);
    EXPECT_EQ(R({"rename", "vm", "one", bad}).exit_code, 2);
    EXPECT_EQ(R({"clone", "vm", "one", bad}).exit_code, 2);
    EXPECT_EQ(R({"vm", "add", bad, "--disk", "vda=" + img_}).exit_code, 2);
    EXPECT_EQ(R({"vm", "add", "v2", "--disk", bad + "=" + img_}).exit_code, 2);
  }
  // The same through the control file (a rename through the kernel cannot carry a '/').
  for (const std::string cmd :
       {"create ../x", "create a/b", "clone one ../../x", "rename one .."}) {
    int fd = ::open(P("vm/.control").c_str(), O_WRONLY | O_TRUNC);
    ASSERT_GE(fd, 0);
    errno = 0;
    EXPECT_LT(::write(fd, cmd.data(), cmd.size()), 0) << cmd;
    EXPECT_EQ(errno, EINVAL) << cmd;
    ::close(fd);
  }
  // Nothing appeared outside the store or the mount.
  for (const auto& e : stdfs::directory_iterator(dir_.path())) {
    std::string n = e.path().filename();
    EXPECT_TRUE(n == "store" || n == "mnt" || n == "vda.raw") << "unexpected " << n;
  }
  EXPECT_FALSE(stdfs::exists(stdfs::path(store()) / "clones" / "x"));
}

}  // namespace
}  // namespace rpfs::testing
