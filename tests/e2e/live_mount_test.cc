// The CLI and the mount together: while a mount serves the store, other rpfs commands run
// in its daemon (same output and exit codes), the mounted view follows every change at
// once, mkdir/rmdir/mv manage RPs, and an open RP file outlives the RP's deletion.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "mount_fixture.h"
#include "support/status_matchers.h"
#include "util/unix_socket.h"

namespace rpfs::testing {
namespace {

class LiveMountTest : public MountTest {
 protected:
  std::set<std::string> Names(const std::string& rel) {
    std::set<std::string> out;
    for (const auto& e : stdfs::directory_iterator(P(rel))) {
      std::string name = e.path().filename();
      if (name[0] != '.') out.insert(name);  // .control and .status: see control_file_test
    }
    return out;
  }
  bool Exists(const std::string& rel) {
    struct stat st;
    return ::stat(P(rel).c_str(), &st) == 0;
  }
  std::string Text(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  uint64_t StoredChunks() {
    auto r = R({"du", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out)["store"]["chunks"].get<uint64_t>() : 0;
  }
  void ExpectVerifyClean() {
    auto v = R({"verify"});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  }
};

TEST_F(LiveMountTest, CommandsRunInTheDaemonWithTheSameOutputAndExitCodes) {
  // The daemon holds the store lock: these can only succeed by going through it.
  auto info = R({"info", "vm", "two", "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  auto list = R({"list", "vm"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto missing = R({"info", "vm", "nope"});
  auto bad_name = R({"create", "vm", ".hidden"});
  auto usage = R({"delete", "vm"});
  auto second_mount = R({"mount", dir_ / "elsewhere"});
  ExpectError(second_mount, 5, {"in use by pid"});

  Unmount();  // the same commands, run by the CLI itself
  auto local_info = R({"info", "vm", "two", "--json"});
  EXPECT_EQ(info.out, local_info.out);
  EXPECT_EQ(list.out, R({"list", "vm"}).out);
  auto local_missing = R({"info", "vm", "nope"});
  EXPECT_EQ(missing.exit_code, local_missing.exit_code);
  EXPECT_EQ(missing.err, local_missing.err);
  ExpectError(missing, 3, {"rp vm/nope does not exist"});
  auto local_bad = R({"create", "vm", ".hidden"});
  EXPECT_EQ(bad_name.exit_code, 2);
  EXPECT_EQ(bad_name.err, local_bad.err);
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_EQ(usage.err, R({"delete", "vm"}).err);
}

TEST_F(LiveMountTest, GarbageOnTheSocketGetsAClearErrorAndChangesNothing) {
  const std::string before = State();
  for (const std::string& garbage :
       {std::string("\x05hello"), std::string(1, '\0'), std::string("\x0arpfs-cli-9")}) {
    auto conn = ConnectUnix(store(), "rpfs.sock");
    ASSERT_OK(conn);
    int err[2];
    ASSERT_EQ(::pipe(err), 0);
    int null_fd = ::open("/dev/null", O_RDWR);
    ASSERT_OK(SendMessage(conn->get(), garbage, {null_fd, null_fd, err[1]}));
    ::close(err[1]);
    ::close(null_fd);
    auto reply = ReceiveMessage(conn->get(), 16);
    ASSERT_OK(reply);
    EXPECT_EQ(reply->size(), 4u) << "an exit code comes back";
    std::string text(512, '\0');
    ssize_t n = ::read(err[0], text.data(), text.size());
    ::close(err[0]);
    ASSERT_GT(n, 0);
    text.resize(static_cast<size_t>(n));
    EXPECT_NE(text.find("daemon request"), std::string::npos) << text;
  }
  EXPECT_EQ(State(), before);
  EXPECT_TRUE(ReadAll(P("vm/two/vda.raw")) == two_) << "the daemon still serves";
}

TEST_F(LiveMountTest, RelativePathsAreResolvedInTheCallersDirectory) {
  std::string work = dir_ / "work";
  stdfs::create_directory(work);
  MakeSparseFile(work + "/disk.raw", 4 * kChunk);
  WriteAt(work + "/disk.raw", 0, PatternBytes(5, 4 * kChunk));
  auto r = RunCommand({"bash", "-c",
                       "cd " + work + " && " + RpfsBinary() + " --store " + store() +
                           " vm add vm2 --disk vda=disk.raw && " + RpfsBinary() + " --store " +
                           store() + " export vm one vda -o out.raw"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(ReadAll(work + "/out.raw") == one_);
  auto vms = R({"vm", "list", "--json"});
  EXPECT_NE(vms.out.find(work + "/disk.raw"), std::string::npos) << vms.out;
}

TEST_F(LiveMountTest, ExportToStdoutThroughTheDaemonIsTheImage) {
  auto r = R({"export", "vm", "two", "vda"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.size(), two_.size());
  EXPECT_EQ(0, std::memcmp(r.out.data(), two_.data(), two_.size()));
}

TEST_F(LiveMountTest, ProgressIsDrawnOnTheCallersTerminal) {
  // `script` gives the client a terminal; the daemon draws on it like a local run would.
  auto r = RunCommand({"script", "-qec",
                       RpfsBinary() + " --store " + store() + " export vm two vda -o " +
                           std::string(dir_ / "tty-export.raw"),
                       "/dev/null"});
  if (r.exit_code == 127) GTEST_SKIP() << "script(1) unavailable";
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("export vm/two vda"), std::string::npos) << r.out;
  EXPECT_TRUE(ReadAll(dir_ / "tty-export.raw") == two_);
}

TEST_F(LiveMountTest, ViewFollowsCreateRenameDeleteWithoutRemount) {
  // Look everything up first, so the kernel holds (long-lived) cached entries.
  ASSERT_TRUE(Exists("vm/one/vda.raw"));
  ASSERT_TRUE(Exists("vm/two/info"));
  ASSERT_EQ(Names("vm"), (std::set<std::string>{"one", "two"}));

  ASSERT_EQ(R({"rename", "vm", "one", "uno"}).exit_code, 0);
  // Gone at once: the daemon answers a command only once the kernel has been told
  // (CommandServer's settle), so a script never sees the old name after the command.
  EXPECT_FALSE(Exists("vm/one"));
  EXPECT_TRUE(ReadAll(P("vm/uno/vda.raw")) == one_);
  EXPECT_NE(Text(P("vm/uno/info")).find("name: uno\n"), std::string::npos);

  WriteAt(img_, 0, PatternBytes(40, kChunk));
  auto three = ReadAll(img_);
  ASSERT_EQ(R({"create", "vm", "three"}).exit_code, 0);
  EXPECT_EQ(Names("vm"), (std::set<std::string>{"uno", "two", "three"}));
  EXPECT_TRUE(ReadAll(P("vm/three/vda.raw")) == three);

  ASSERT_EQ(R({"delete", "vm", "two"}).exit_code, 0);
  EXPECT_FALSE(Exists("vm/two"));
  EXPECT_FALSE(Exists("vm/two/info"));
  EXPECT_EQ(Names("vm"), (std::set<std::string>{"uno", "three"}));

  ASSERT_EQ(R({"vm", "add", "vm2", "--disk", "vda=" + img_}).exit_code, 0);
  EXPECT_EQ(Names(""), (std::set<std::string>{"vm", "vm2"}));
  ASSERT_EQ(R({"vm", "remove", "vm2"}).exit_code, 0);
  EXPECT_FALSE(Exists("vm2"));
}

TEST_F(LiveMountTest, OpenRpFileKeepsReadingAfterTheRpIsDeleted) {
  int fd = ::open(P("vm/one/vda.raw").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  const uint64_t before = StoredChunks();
  ASSERT_EQ(R({"delete", "vm", "one"}).exit_code, 0);
  EXPECT_FALSE(Exists("vm/one"));
  // Bypass the page cache: every byte comes from the store again.
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  std::vector<std::byte> got(one_.size());
  ASSERT_EQ(::pread(fd, got.data(), got.size(), 0), static_cast<ssize_t>(got.size()));
  EXPECT_TRUE(got == one_);
  EXPECT_EQ(StoredChunks(), before) << "data freed while still open";
  ExpectVerifyClean();
  ::close(fd);
  // The kernel sends RELEASE after close() returns: wait (bounded, 20 s on a loaded
  // machine) for the data to go.
  uint64_t after = before;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (after == before && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    after = StoredChunks();
  }
  EXPECT_LT(after, before);
  ExpectVerifyClean();
  EXPECT_TRUE(ReadAll(P("vm/two/vda.raw")) == two_);
}

TEST_F(LiveMountTest, KilledDaemonWithADeletedRpOpenLosesNothingAndLeaksNothing) {
  int fd = ::open(P("vm/one/vda.raw").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  const uint64_t before = StoredChunks();
  ASSERT_EQ(R({"delete", "vm", "one"}).exit_code, 0);
  KillDaemon();
  ::close(fd);
  Unmount();
  // The stale socket is ignored: the CLI opens the store itself and finishes the release.
  EXPECT_LT(StoredChunks(), before);
  ExpectVerifyClean();
  EXPECT_EQ(R({"info", "vm", "one"}).exit_code, 3);
  Mount();
  EXPECT_TRUE(ReadAll(P("vm/two/vda.raw")) == two_);
}

TEST_F(LiveMountTest, MkdirRmdirAndMvManageRecoveryPoints) {
  auto now = ReadAll(img_);
  ASSERT_EQ(::mkdir(P("vm/three").c_str(), 0777), 0) << strerror(errno);
  EXPECT_TRUE(ReadAll(P("vm/three/vda.raw")) == now);
  EXPECT_EQ(R({"info", "vm", "three"}).exit_code, 0);
  ASSERT_EQ(::rename(P("vm/three").c_str(), P("vm/drei").c_str()), 0) << strerror(errno);
  EXPECT_EQ(R({"info", "vm", "drei"}).exit_code, 0);
  EXPECT_FALSE(Exists("vm/three"));
  ASSERT_EQ(::rmdir(P("vm/drei").c_str()), 0) << strerror(errno);
  EXPECT_EQ(R({"info", "vm", "drei"}).exit_code, 3);
  EXPECT_EQ(Names("vm"), (std::set<std::string>{"one", "two"}));

  auto expect_errno = [](int rc, int err, const char* what) {
    EXPECT_EQ(rc, -1) << what;
    EXPECT_EQ(errno, err) << what << ": " << strerror(errno);
  };
  expect_errno(::mkdir(P("vm/one").c_str(), 0777), EEXIST, "mkdir of an existing rp");
  expect_errno(::mkdir(P("vm/.x").c_str(), 0777), EINVAL, "mkdir of an invalid name");
  expect_errno(::rmdir(P("vm/nope").c_str()), ENOENT, "rmdir of an unknown rp");
  expect_errno(::rename(P("vm/one").c_str(), P("vm/two").c_str()), EEXIST, "mv onto an rp");
  expect_errno(::rename(P("vm/nope").c_str(), P("vm/x").c_str()), ENOENT, "mv of an unknown rp");
  EXPECT_EQ(Names("vm"), (std::set<std::string>{"one", "two"}));
  ExpectVerifyClean();
}

}  // namespace
}  // namespace rpfs::testing
