// Ordinary tools must not change or lose data by accident (issue 14): copying an RP
// directory with cp/rsync or moving it to another VM creates nothing, `export` replaces
// an existing file only with --force and never one a qemu holds, and `create` refuses an
// image a qemu that may write holds unless --force. Real tools, real mount, real qemu-io.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "mount_fixture.h"

namespace rpfs::testing {
namespace {

bool HaveTool(const std::string& tool) {
  return RunCommand({"sh", "-c", "command -v " + tool}).exit_code == 0;
}

// Whether another process holds byte `byte` of qemu's lock range on `path`.
bool LockHeld(const std::string& path, off_t byte) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  bool held = ::fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

// `qemu-io -f raw [-r] IMAGE` in the background, keeping the image open (and locked) until
// destroyed: its stdin is a pipe this object keeps open; it is killed by its PID.
class QemuHolder {
 public:
  QemuHolder(const std::string& image, bool read_only) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(p[0], 0);
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      if (read_only) {
        ::execlp("qemu-io", "qemu-io", "-r", "-f", "raw", image.c_str(), nullptr);
      } else {
        ::execlp("qemu-io", "qemu-io", "-f", "raw", image.c_str(), nullptr);
      }
      ::_exit(127);
    }
    ::close(p[0]);
    stdin_ = p[1];
    // Bounded wait until it holds its locks (byte 100: every qemu user reads).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!LockHeld(image, 100) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    locked_ = LockHeld(image, 100);
  }
  ~QemuHolder() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (stdin_ >= 0) ::close(stdin_);
  }
  bool locked() const { return locked_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  bool locked_ = false;
};

// ---------------------------------------------------------------- through the mount

class AccidentMountTest : public MountTest {
 protected:
  std::string List() {
    auto r = R({"list", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  std::string StatusText(const std::string& vm = "vm") {
    std::ifstream in(P(vm + "/.status"));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Runs a tool; it must fail, and the store's full RP list must not change.
  void ExpectFailsAndChangesNothing(const std::vector<std::string>& argv) {
    SCOPED_TRACE(argv[0] + " " + argv[1]);
    const std::string before = List();
    auto r = RunCommand(argv);
    EXPECT_NE(r.exit_code, 0) << "the tool succeeded: " << r.out << r.err;
    EXPECT_EQ(List(), before) << r.err;
  }
};

TEST_F(AccidentMountTest, CpOfAnRpInsideItsVmDirCreatesNothing) {
  ExpectFailsAndChangesNothing({"cp", "-r", P("vm/one"), P("vm/one-copy")});
  ExpectFailsAndChangesNothing({"cp", "-a", P("vm/one"), P("vm/one-copy")});
  EXPECT_FALSE(stdfs::exists(P("vm/one-copy")));
  EXPECT_NE(StatusText().find("only a plain mkdir"), std::string::npos) << StatusText();
}

TEST_F(AccidentMountTest, RsyncIntoAVmDirCreatesNothing) {
  if (!HaveTool("rsync")) GTEST_SKIP() << "rsync is not installed";
  ExpectFailsAndChangesNothing({"rsync", "-a", P("vm/one") + "/", P("vm/one-copy")});
  std::string local = dir_ / "local";
  stdfs::create_directory(local);
  MakeSparseFile(local + "/f", 4096);
  WriteAt(local + "/f", 0, TextBytes(3, 100));
  ExpectFailsAndChangesNothing({"rsync", "-a", local, P("vm") + "/"});
  EXPECT_FALSE(stdfs::exists(P("vm/local")));
  // To a new name rsync asks mkdir for 0777 (as mkdir(1) does): refused as rsync's.
  ExpectFailsAndChangesNothing({"rsync", "-a", local + "/", P("vm/local-copy")});
  EXPECT_NE(StatusText().find("by rsync"), std::string::npos) << StatusText();
}

TEST_F(AccidentMountTest, MvOfAnRpToAnotherVmFailsWithEpermAndCreatesNothing) {
  std::string other = dir_ / "other.raw";
  MakeSparseFile(other, 4 << 20);
  WriteAt(other, 0, PatternBytes(9, 1 << 20));
  auto r = R({"vm", "add", "other", "--disk", "vda=" + other});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectFailsAndChangesNothing({"mv", P("vm/one"), P("other/one")});
  const std::string before = List();
  ASSERT_NE(::rename(P("vm/one").c_str(), P("other/one").c_str()), 0);
  EXPECT_EQ(errno, EPERM) << strerror(errno);
  EXPECT_EQ(List(), before);
  EXPECT_TRUE(ReadAll(P("vm/one/vda.raw")) == one_);
  EXPECT_NE(StatusText().find("cannot move to another VM (other)"), std::string::npos)
      << StatusText();
  // Within a VM a move stays a rename.
  ASSERT_EQ(RunCommand({"mv", P("vm/one"), P("vm/uno")}).exit_code, 0);
  EXPECT_TRUE(ReadAll(P("vm/uno/vda.raw")) == one_);
}

TEST_F(AccidentMountTest, TypedMkdirCreatesAnRpAndAnyOtherModeIsEperm) {
  auto r = RunCommand({"mkdir", P("vm/typed")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCommand({"mkdir", "-p", P("vm/typed-p")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(R({"info", "vm", "typed"}).exit_code, 0);
  EXPECT_EQ(R({"info", "vm", "typed-p"}).exit_code, 0);
  const std::string before = List();
  r = RunCommand({"mkdir", "-m", "0700", P("vm/private")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
  ASSERT_NE(::mkdir(P("vm/private").c_str(), 0755), 0);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(List(), before);
  EXPECT_NE(StatusText().find("command=\"mkdir private mode=0755 by rpfs_e2e_test\""),
            std::string::npos)
      << StatusText();
}

TEST_F(AccidentMountTest, ControlCreateOfAnImageQemuMayWriteNeedsForce) {
  if (!HaveTool("qemu-io")) GTEST_SKIP() << "qemu-io is not installed";
  QemuHolder qemu(img_, /*read_only=*/false);
  ASSERT_TRUE(qemu.locked()) << "qemu-io never locked the image";
  const std::string before = List();
  int fd = ::open(P("vm/.control").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  EXPECT_LT(::write(fd, "create held", 11), 0);
  EXPECT_EQ(errno, EBUSY);
  EXPECT_EQ(List(), before);
  EXPECT_NE(StatusText().find("in use by a running qemu"), std::string::npos) << StatusText();
  EXPECT_EQ(::write(fd, "create held force", 17), 17) << strerror(errno);
  ::close(fd);
  EXPECT_EQ(R({"info", "vm", "held"}).exit_code, 0);
  // mkdir has no way to say force: it is refused the same way.
  ASSERT_NE(::mkdir(P("vm/held2").c_str(), 0777), 0);
  EXPECT_EQ(errno, EBUSY);
}

// ---------------------------------------------------------------- the CLI

class AccidentCliTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    InitWithVm();
    ASSERT_EQ(R({"create", "vm", "one"}).exit_code, 0);
    rp_ = ReadAll(img_);
    out_ = dir_ / "out.img";
    MakeSparseFile(out_, 1 << 20);
    WriteAt(out_, 0, TextBytes(7, 1 << 20));
    old_ = ReadAll(out_);
  }
  std::string out_;
  std::vector<std::byte> rp_, old_;
};

TEST_F(AccidentCliTest, ExportRefusesAnExistingFileWithoutForce) {
  ExpectError(R({"export", "vm", "one", "vda", "-o", out_}), 4,
              {"output " + out_ + " already exists", "--force"});
  EXPECT_TRUE(ReadAll(out_) == old_) << "the file must keep its size and bytes";
  EXPECT_FALSE(stdfs::exists(out_ + ".rpfs-partial"));
  auto r = R({"export", "vm", "one", "vda", "-o", out_, "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(ReadAll(out_) == rp_);
}

// /dev/null takes the bytes (a read benchmark's sink); its fsync is EINVAL, not an error.
TEST_F(AccidentCliTest, ExportToACharacterDeviceWritesInPlaceAndSucceeds) {
  auto r = R({"export", "vm", "one", "vda", "-o", "/dev/null"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st;
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "/dev/null must stay a device";
}

TEST_F(AccidentCliTest, ExportNeverReplacesAFileQemuHolds) {
  if (!HaveTool("qemu-io")) GTEST_SKIP() << "qemu-io is not installed";
  QemuHolder qemu(out_, /*read_only=*/false);
  ASSERT_TRUE(qemu.locked()) << "qemu-io never locked " << out_;
  ExpectError(R({"export", "vm", "one", "vda", "-o", out_, "--force"}), 5,
              {"output " + out_ + " is in use by another process", "byte 100"});
  EXPECT_TRUE(ReadAll(out_) == old_) << "the file must keep its size and bytes";
  EXPECT_FALSE(stdfs::exists(out_ + ".rpfs-partial"));
}

TEST_F(AccidentCliTest, CreateOfAnImageQemuMayWriteIsBusyUnlessForced) {
  if (!HaveTool("qemu-io")) GTEST_SKIP() << "qemu-io is not installed";
  QemuHolder qemu(img_, /*read_only=*/false);
  ASSERT_TRUE(qemu.locked()) << "qemu-io never locked the image";
  const std::string before = State();
  ExpectError(R({"create", "vm", "held"}), 5,
              {"image vda (" + img_ + ") is in use by a running qemu", "byte 101", "--force"});
  EXPECT_EQ(State(), before) << "no RP may be created";
  auto r = R({"create", "vm", "held", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(R({"info", "vm", "held"}).exit_code, 0);
}

TEST_F(AccidentCliTest, CreateIsNotBlockedByAReadOnlyQemu) {
  if (!HaveTool("qemu-io")) GTEST_SKIP() << "qemu-io is not installed";
  QemuHolder qemu(img_, /*read_only=*/true);
  ASSERT_TRUE(qemu.locked()) << "qemu-io -r never locked the image";
  ASSERT_FALSE(LockHeld(img_, 101)) << "a read-only qemu-io took the write lock";
  auto r = R({"create", "vm", "read"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace rpfs::testing
