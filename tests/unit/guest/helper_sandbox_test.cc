// The helper's sandbox, seen from outside: a forbidden system call kills the helper (and the
// same call without the sandbox does not, so the test fails for the right reason); a helper
// started by root runs as nobody with no groups, no_new_privs, seccomp and only its socket.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "guest/helper_client.h"
#include "guest/sandbox.h"
#include "helper_test_util.h"
#include "support/status_matchers.h"

namespace rpfs::guest {
namespace {

std::unique_ptr<HelperClient> Start(std::vector<std::string> args) {
  auto c = HelperClient::Start(FakeHelper(std::move(args)), FsType::kExt4,
                               MemorySource("Hello, sandbox", "vdc"));
  EXPECT_OK(c.status());
  return c.ok() ? std::move(c).value() : nullptr;
}

// The value of `key:` in /proc/<pid>/status, whitespace squeezed.
std::string ProcStatus(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream fields(line.substr(key.size() + 1));
    std::string field, out;
    while (fields >> field) out += (out.empty() ? "" : " ") + field;
    return out;
  }
  return "<no " + key + ">";
}

TEST(HelperSandboxTest, ForbiddenSyscallKillsTheHelper) {
  auto c = Start({"--misbehave=open-file:getattr"});
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->GetAttr(2).status().ToString(),
            "IOError: guest helper for vdc died (killed by signal 31 (Bad system call))");
  c.reset();
  ExpectNoChildren();
}

TEST(HelperSandboxTest, WithoutTheSandboxTheSameCallSucceeds) {
  auto c = Start({"--no-sandbox", "--misbehave=open-file:getattr"});
  ASSERT_NE(c, nullptr);
  EXPECT_OK(c->GetAttr(2).status());
}

TEST(HelperSandboxTest, HelperIsConfined) {
  auto c = Start({});
  ASSERT_NE(c, nullptr);
  pid_t pid = c->helper_pid();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ProcStatus(pid, "NoNewPrivs"), "1");
  EXPECT_EQ(ProcStatus(pid, "Seccomp"), "2");  // filter mode
  if (::geteuid() != 0) {
    // An unprivileged daemon's helper keeps its user: nothing more to check.
    GTEST_SKIP() << "dropping to nobody needs root; the seccomp checks above ran";
  }
  EXPECT_EQ(ProcStatus(pid, "Uid"), "65534 65534 65534 65534");
  EXPECT_EQ(ProcStatus(pid, "Gid"), "65534 65534 65534 65534");
  EXPECT_EQ(ProcStatus(pid, "Groups"), "");
  EXPECT_EQ(ProcStatus(pid, "CapEff"), "0000000000000000");
  // Only stdin, stdout, stderr and the socket (root may list a non-dumpable process's fds).
  std::set<std::string> fds;
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  ASSERT_NE(dir, nullptr);
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') fds.insert(e->d_name);
  }
  ::closedir(dir);
  EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2", "3"}));
  EXPECT_OK(c->GetAttr(12).status());  // and it still serves
}

}  // namespace
}  // namespace rpfs::guest
