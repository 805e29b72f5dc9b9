// `<vm>/.control` and `<vm>/.status` through a real mount: rollback (only differing chunks
// written, qemu's image locks honoured, keep-current), the other verbs, errno per cause,
// serialisation per VM, and malformed commands that change nothing.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "mount_fixture.h"

namespace rpfs::testing {
namespace {

class ControlFileTest : public MountTest {
 protected:
  // Writes `cmd` to vm/.control in one write(); returns 0 or the errno.
  int Control(const std::string& cmd, const std::string& vm = "vm") {
    int fd = ::open(P(vm + "/.control").c_str(), O_WRONLY | O_TRUNC);
    if (fd < 0) return errno;
    ssize_t n = ::write(fd, cmd.data(), cmd.size());
    int err = n < 0 ? errno : 0;
    ::close(fd);
    if (n >= 0) {
      EXPECT_EQ(static_cast<size_t>(n), cmd.size());
    }
    return err;
  }
  std::string Status(const std::string& vm = "vm") {
    std::ifstream in(P(vm + "/.status"));
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  // Mounts again with the daemon pausing at crash point `point` (RPFS_PAUSE_AT): a command
  // that reaches it holds its VM until Resume().
  void RemountPausedAt(const std::string& point) {
    fifos_ = dir_ / "pause";
    stdfs::create_directory(fifos_);
    ASSERT_EQ(::mkfifo((fifos_ + "/paused").c_str(), 0600), 0);
    ASSERT_EQ(::mkfifo((fifos_ + "/resume").c_str(), 0600), 0);
    Unmount();
    auto r = R({"mount", mnt_}, {{"RPFS_PAUSE_AT", point}, {"RPFS_PAUSE_DIR", fifos_}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    mounted_ = true;
  }
  // Until the daemon has reached the pause point.
  void WaitPaused() {
    int fd = ::open((fifos_ + "/paused").c_str(), O_RDONLY);
    char c;
    while (fd >= 0 && ::read(fd, &c, 1) > 0) {
    }
    ::close(fd);
  }
  void Resume() { ::close(::open((fifos_ + "/resume").c_str(), O_WRONLY)); }
  // Whether a line of .status holds both `state` and command="<command>", polled until
  // `deadline_ms` (the daemon's view changes on its own: waiting, then failed).
  bool StatusShows(const std::string& state, const std::string& command, int deadline_ms = 10000) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms);
    for (;;) {
      std::istringstream lines(Status());
      for (std::string line; std::getline(lines, line);) {
        if (line.find(" " + state + " ") != std::string::npos &&
            line.find("command=\"" + command + "\"") != std::string::npos) {
          return true;
        }
      }
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::yield();  // each read of .status is a round trip to the daemon
    }
  }
  std::string LastStatusLine() {
    std::string s = Status();
    if (s.empty()) return s;
    size_t start = s.rfind('\n', s.size() - 2);
    return s.substr(start == std::string::npos ? 0 : start + 1);
  }

  std::string fifos_;
};

TEST_F(ControlFileTest, RollbackRewritesOnlyDifferingChunksAndMovesTheCurrentRp) {
  ASSERT_TRUE(ReadAll(img_) == two_);
  ASSERT_EQ(Control("rollback one\n"), 0);
  EXPECT_TRUE(ReadAll(img_) == one_) << "the disk must be byte-identical to rp one";
  std::string line = LastStatusLine();
  EXPECT_NE(line.find("state=done"), std::string::npos) << line;
  EXPECT_NE(line.find("command=\"rollback one\""), std::string::npos) << line;
  // two differs from one in 3 chunks' worth of bytes starting 3 bytes into chunk 7: 4 chunks.
  EXPECT_NE(line.find("4 chunks differed, 262144 bytes written"), std::string::npos) << line;
  EXPECT_NE(line.find("percent=100"), std::string::npos) << line;
  // The next RP is a child of one, not of two.
  ASSERT_EQ(R({"create", "vm", "three"}).exit_code, 0);
  auto info = R({"info", "vm", "three", "--json"});
  EXPECT_EQ(nlohmann::json::parse(info.out)["parent"], "one");
  // Rolling back to where the disk already is writes nothing.
  ASSERT_EQ(Control("rollback one"), 0);
  EXPECT_NE(LastStatusLine().find("0 chunks differed"), std::string::npos) << LastStatusLine();
}

TEST_F(ControlFileTest, RollbackKeepCurrentSavesAnUndoPointFirst) {
  ASSERT_EQ(Control("rollback one keep-current"), 0);
  EXPECT_TRUE(ReadAll(img_) == one_);
  auto list = nlohmann::json::parse(R({"list", "vm", "--json"}).out);
  std::string undo;
  for (const auto& rp : list) {
    std::string name = rp["name"];
    if (name.rfind("before-rollback-", 0) == 0) undo = name;
  }
  ASSERT_FALSE(undo.empty()) << list.dump();
  EXPECT_TRUE(ReadAll(P("vm/" + undo + "/vda.raw")) == two_);
  EXPECT_NE(LastStatusLine().find("previous state is rp " + undo), std::string::npos);
  // ...and it can be rolled forward again.
  ASSERT_EQ(Control("rollback " + undo), 0);
  EXPECT_TRUE(ReadAll(img_) == two_);
}

TEST_F(ControlFileTest, RollbackIsRefusedWhileQemuHoldsTheImage) {
  FILE* qemu = ::popen(("exec qemu-io -f raw " + img_ + " >/dev/null").c_str(), "w");
  ASSERT_NE(qemu, nullptr);
  // Wait (bounded) until qemu-io holds its image locks.
  auto locked = [&] {
    int fd = ::open(img_.c_str(), O_RDONLY);
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 100;
    fl.l_len = 164;
    bool held = fd >= 0 && ::fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    if (fd >= 0) ::close(fd);
    return held;
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!locked() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  bool was_locked = locked();
  int err = Control("rollback one");
  std::string line = LastStatusLine();
  ::pclose(qemu);
  ASSERT_TRUE(was_locked) << "qemu-io never locked the image";
  EXPECT_EQ(err, EBUSY);
  EXPECT_TRUE(ReadAll(img_) == two_) << "nothing may be written";
  EXPECT_NE(line.find("state=failed"), std::string::npos) << line;
  EXPECT_NE(line.find("in use by another process"), std::string::npos) << line;
  // Once qemu is gone the same command works.
  EXPECT_EQ(Control("rollback one"), 0);
  EXPECT_TRUE(ReadAll(img_) == one_);
}

TEST_F(ControlFileTest, SecondCommandOnABusyVmGetsEbusy) {
  ASSERT_NO_FATAL_FAILURE(RemountPausedAt("rollback.before_write"));
  int first = -1;
  std::thread rollback([&] { first = Control("rollback one"); });
  WaitPaused();
  // Through the daemon, the CLI's own delete is an operation on the same VM: refused.
  // (A second write to the same .control file would wait instead: the kernel serialises
  // writes to one file; docs/control-file.md.)
  auto busy = R({"delete", "vm", "two"});
  ExpectError(busy, 5, {"vm vm is busy with another operation"});
  EXPECT_NE(Status().find("state=running"), std::string::npos) << Status();
  EXPECT_NE(Status().find("command=\"delete two\" result=\"vm vm is busy"), std::string::npos)
      << Status();
  // mkdir, rmdir and mv in the VM directory are commands of the VM's too.
  EXPECT_NE(::mkdir(P("vm/three").c_str(), 0777), 0);
  EXPECT_EQ(errno, EBUSY);
  EXPECT_NE(::rmdir(P("vm/two").c_str()), 0);
  EXPECT_EQ(errno, EBUSY);
  EXPECT_NE(::rename(P("vm/two").c_str(), P("vm/deux").c_str()), 0);
  EXPECT_EQ(errno, EBUSY);
  EXPECT_NE(Status().find("command=\"create three\" result=\"vm vm is busy"), std::string::npos)
      << Status();
  Resume();
  rollback.join();
  EXPECT_EQ(first, 0);
  EXPECT_TRUE(ReadAll(img_) == one_);
  EXPECT_EQ(R({"info", "vm", "two"}).exit_code, 0) << "the refused delete must not have run";
}

// `--wait`: a CLI command that meets the VM busy waits for it instead of exit 5, up to
// the time given, and takes no slot (nor a .status line) while it waits.
TEST_F(ControlFileTest, WaitLetsACommandRunOnceTheVmIsFreeOrFailsAfterTheWait) {
  ASSERT_NO_FATAL_FAILURE(RemountPausedAt("rollback.before_write"));
  int first = -1;
  std::thread rollback([&] { first = Control("rollback one"); });
  WaitPaused();
  // A short wait runs out: exit 5, saying it waited.
  auto start = std::chrono::steady_clock::now();
  auto busy = R({"delete", "vm", "two", "--wait=1"});
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
  ExpectError(busy, 5, {"vm vm is busy with another operation", "waited 1 s"});
  // A long one goes through once the rollback is done; meanwhile .status shows it waiting.
  RunResult waited;
  std::thread waiter([&] { waited = R({"delete", "vm", "two", "--wait=60"}); });
  EXPECT_TRUE(StatusShows("state=waiting", "delete two")) << Status();
  EXPECT_FALSE(StatusShows("state=running", "delete two", 0))
      << "a waiting command must not show as running: " << Status();
  Resume();
  rollback.join();
  waiter.join();
  EXPECT_EQ(first, 0);
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_NE(R({"info", "vm", "two"}).exit_code, 0) << "the waiting delete did not run";
  EXPECT_TRUE(ReadAll(img_) == one_);
}

// A CLI command waiting in the daemon for its VM whose caller goes away (Ctrl-C, here a
// SIGKILL) is dropped: .status shows it failed, and it never runs when the VM frees.
TEST_F(ControlFileTest, AWaitingCommandWhoseCallerWentAwayNeverRuns) {
  ASSERT_NO_FATAL_FAILURE(RemountPausedAt("rollback.before_write"));
  int first = -1;
  std::thread rollback([&] { first = Control("rollback one"); });
  WaitPaused();
  const std::string binary = RpfsBinary();
  const std::string store_dir = store();
  const pid_t child = ::fork();
  if (child == 0) {
    ::execl(binary.c_str(), "rpfs", "--store", store_dir.c_str(), "delete", "vm", "two",
            "--wait=60", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(child, 0);
  const bool was_waiting = StatusShows("state=waiting", "delete two");
  ::kill(child, SIGKILL);
  int wstatus = 0;
  ::waitpid(child, &wstatus, 0);
  EXPECT_TRUE(was_waiting) << Status();
  EXPECT_TRUE(StatusShows("state=failed", "delete two")) << Status();
  EXPECT_NE(Status().find("the caller went away"), std::string::npos) << Status();
  Resume();
  rollback.join();
  EXPECT_EQ(first, 0);
  EXPECT_EQ(R({"info", "vm", "two"}).exit_code, 0) << "the abandoned delete ran";
  EXPECT_TRUE(ReadAll(img_) == one_);
}

// Scripts writing to one `.control` at the same time each find their own result: the
// `.status` line with pid=<the writer's pid> is the writer's command, with its outcome.
TEST_F(ControlFileTest, ConcurrentWritersEachFindTheirOwnLineByPid) {
  constexpr int kWriters = 6;
  const std::string script = "echo $$; if echo \"$1\" >\"$2\"; then echo ok; else echo failed; fi";
  std::vector<RunResult> runs(kWriters);
  std::vector<std::string> commands;
  for (int i = 0; i < kWriters; ++i) {
    // Creates that take the VM's slot, and renames of RPs that do not exist (refused).
    commands.push_back(i % 2 == 0 ? "create w" + std::to_string(i)
                                  : "rename nosuch" + std::to_string(i) + " x" + std::to_string(i));
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      runs[i] = RunCommand({"bash", "-c", script, "_", commands[i], P("vm/.control")});
    });
  }
  for (auto& t : threads) t.join();
  const std::string status = Status();
  for (int i = 0; i < kWriters; ++i) {
    ASSERT_EQ(runs[i].exit_code, 0) << runs[i].err;
    std::istringstream out(runs[i].out);
    std::string pid, outcome;
    out >> pid >> outcome;
    size_t at = status.find(" pid=" + pid + " ");
    ASSERT_NE(at, std::string::npos) << "no line of pid " << pid << " in\n" << status;
    EXPECT_EQ(status.find(" pid=" + pid + " ", at + 1), std::string::npos) << status;
    std::string line = status.substr(at, status.find('\n', at) - at);
    EXPECT_NE(line.find("command=\"" + commands[i] + "\""), std::string::npos) << line;
    EXPECT_NE(line.find(outcome == "ok" ? "state=done" : "state=failed"), std::string::npos)
        << outcome << ": " << line;
    EXPECT_EQ(outcome, i % 2 == 0 ? "ok" : "failed") << line;
  }
}

TEST_F(ControlFileTest, OtherVerbsAndTheirErrnos) {
  EXPECT_EQ(Control("create three description=\"made by .control\""), 0);
  EXPECT_NE(R({"info", "vm", "three"}).out.find("description: made by .control"),
            std::string::npos);
  EXPECT_EQ(Control("rename three drei"), 0);
  EXPECT_EQ(Control("rename drei one"), EEXIST);
  EXPECT_EQ(Control("protect drei"), 0);
  EXPECT_EQ(Control("delete drei"), EACCES);
  EXPECT_NE(LastStatusLine().find("is protected"), std::string::npos) << LastStatusLine();
  EXPECT_EQ(Control("unprotect drei"), 0);
  EXPECT_EQ(Control("delete drei"), 0);
  EXPECT_EQ(Control("rollback nope"), ENOENT);
  EXPECT_EQ(Control("delete nope"), ENOENT);
  EXPECT_EQ(Control("create one"), EEXIST);
  EXPECT_EQ(Control("create four memory"), EINVAL) << "image-file VMs have no memory state";
  EXPECT_EQ(Control("rollback one", "nosuchvm"), ENOENT);
  EXPECT_FALSE(stdfs::exists(P("vm/four")));
}

TEST_F(ControlFileTest, MalformedCommandsGetEinvalAndChangeNothing) {
  const std::string before = State();
  const auto image_before = ReadAll(img_);
  for (const std::string& bad :
       {std::string("explode one"), std::string("rollback"), std::string("rollback one two"),
        std::string("rollback one keep-current keep-current"), std::string("rename one"),
        std::string("create x description=\"open"), std::string("create \"x\""),
        std::string("rollback a/b"), std::string("rollback .."), std::string("\n"),
        std::string("rollback one\nrollback two"), std::string("rollback o\0ne", 12),
        std::string(4096, 'z'), std::string(5000, 'y')}) {
    EXPECT_EQ(Control(bad), EINVAL) << "'" << bad.substr(0, 40) << "'";
  }
  EXPECT_EQ(State(), before);
  EXPECT_TRUE(ReadAll(img_) == image_before);
  // The reason is in .status.
  EXPECT_NE(Status().find("invalid control command"), std::string::npos) << Status();
  // An empty write() is answered by the kernel (0 bytes written) and never reaches us.
  const std::string status_before = Status();
  EXPECT_EQ(Control(""), 0);
  EXPECT_EQ(Status(), status_before);
  EXPECT_EQ(State(), before);
}

TEST_F(ControlFileTest, ControlIsWriteOnlyAndStatusReadOnly) {
  struct stat st;
  ASSERT_EQ(::stat(P("vm/.control").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0222u);
  ASSERT_EQ(::stat(P("vm/.status").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0400u);
  errno = 0;
  EXPECT_LT(::open(P("vm/.control").c_str(), O_RDONLY), 0);
  EXPECT_EQ(errno, EACCES);
  EXPECT_LT(::open(P("vm/.status").c_str(), O_WRONLY), 0);
  EXPECT_EQ(errno, EROFS);
  // The shell's way: `echo cmd > .control` (O_CREAT|O_TRUNC on the existing file).
  auto r = RunCommand({"bash", "-c", "echo 'create by-shell' > " + P("vm/.control")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(R({"info", "vm", "by-shell"}).exit_code, 0);
  r = RunCommand({"bash", "-c", "echo 'rollback nope' > " + P("vm/.control")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace rpfs::testing
