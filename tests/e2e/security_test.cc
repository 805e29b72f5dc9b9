// Security basics of the mount and the CLI: no allow_other unless asked; with it, other
// users may read RPs but change nothing (RP files read-only for everyone, clone and
// control files the owner's only: default_permissions); names never escape their
// directory, whichever interface gives them.
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <functional>

#include "mount_fixture.h"

namespace rpfs::testing {
namespace {

constexpr uid_t kNobody = 65534;

// Runs `fn` in a child process as user nobody; returns fn's result (an errno, 0 = done).
int AsNobody(const std::function<int()>& fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) {
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
  ASSERT_EQ(::stat(P("vm/one/vda.raw").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  ASSERT_EQ(::stat(P("vm/one").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0222, 0u) << "an RP directory is writable";
  const std::string clone_disk = P("vm/.clones/cl/vda.raw");
  ASSERT_EQ(::stat(clone_disk.c_str(), &st), 0) << clone_disk;

  EXPECT_EQ(AsNobody([&] { return OpenErrno(P("vm/one/vda.raw"), O_RDONLY); }), 0);
  EXPECT_EQ(AsNobody([&] { return OpenErrno(P("vm/one/vda.raw"), O_WRONLY); }), EACCES);
  EXPECT_EQ(AsNobody([&] { return OpenErrno(clone_disk, O_RDWR); }), EACCES);
  EXPECT_EQ(AsNobody([&] { return OpenErrno(P("vm/.control"), O_WRONLY); }), EACCES);
  EXPECT_EQ(AsNobody([&] { return ::mkdir(P("vm/new").c_str(), 0777) == 0 ? 0 : errno; }), EACCES);
  EXPECT_EQ(
      AsNobody([&] { return ::rename(P("vm/one").c_str(), P("vm/uno").c_str()) == 0 ? 0 : errno; }),
      EACCES);
  EXPECT_EQ(AsNobody([&] { return ::rmdir(P("vm/one").c_str()) == 0 ? 0 : errno; }), EACCES);
  // The owner (this process) still can: default_permissions checks modes, not "anyone".
  EXPECT_EQ(OpenErrno(clone_disk, O_RDWR), 0);
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
