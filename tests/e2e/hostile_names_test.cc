// Names and descriptions holding any byte SPEC §1 allows (invalid UTF-8, quotes, 128 bytes)
// through every listing and verb, with the store mounted (through the daemon, which must
// survive every command) and without: `--json` output parses, and non-UTF-8 text comes
// back byte-exact as an array of byte values (README "JSON output").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "mount_fixture.h"
#include "support/status_matchers.h"
#include "util/unix_socket.h"

namespace rpfs::testing {
namespace {

using nlohmann::json;

const std::string kVm = "vm\xff\xfe";                      // not UTF-8
const std::string kDisk = "d\xc0\xaf";                     // overlong '/': not UTF-8
const std::string kBad = "bad\xff\xfename";                // the name of the original report
const std::string kQuote = "say \"hi\" 'x' \\ back";       // quotes, backslash, spaces
const std::string kLong = std::string(127, 'n') + "\xed";  // 128 bytes, a cut sequence
const std::string kUtf8 = "Ünïcödé-名前";
const std::string kClone = "clone \"\xff\"";
// Descriptions take any byte but control characters other than tab (limits-and-logs.md).
const std::string kBadDesc = "tab\there \"q\" \\ \xff\xfe";  // not UTF-8
const std::string kTabDesc = "tab\t\"q\" \\ ünï";            // UTF-8 with a tab and quotes

// The bytes a JSON text field stands for: a string, or an array of byte values.
std::string BytesOf(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  EXPECT_TRUE(j.is_array()) << j.dump();
  std::string out;
  for (const auto& b : j) {
    EXPECT_TRUE(b.is_number_unsigned() && b.get<unsigned>() <= 255) << j.dump();
    out.push_back(static_cast<char>(b.get<unsigned>()));
  }
  return out;
}

std::set<std::string> BytesOfAll(const json& array, const char* field) {
  std::set<std::string> out;
  for (const auto& e : array) out.insert(BytesOf(e[field]));
  return out;
}

// Parses a command's stdout as JSON, failing the test (not throwing) when it is not.
json Parse(const RunResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out;
  return j;
}

// Param: whether the store is mounted (commands then run in its daemon).
class HostileNamesTest : public CliTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    if (GetParam() && (::geteuid() != 0 || ::access("/dev/fuse", R_OK | W_OK) != 0)) {
      GTEST_SKIP() << "needs root and /dev/fuse to mount";
    }
    CliTest::SetUp();
    ASSERT_EQ(R({"init"}).exit_code, 0);
    Ok({"vm", "add", kVm, "--disk", kDisk + "=" + img_});
    Ok({"create", kVm, kBad, "--description", kBadDesc});
    Ok({"create", kVm, kQuote, "--description", kTabDesc});
    Ok({"create", kVm, kLong});
    Ok({"create", kVm, kUtf8});
    Ok({"clone", kVm, kBad, kClone});
    Ok({"policy", "set", kVm, "--keep-last", "1"});
    if (GetParam()) {
      mnt_ = dir_ / "mnt";
      stdfs::create_directory(mnt_);
      Ok({"mount", mnt_});
      mounted_ = true;
    }
  }
  void TearDown() override {
    if (!mounted_) return;
    auto r = RunCommand({"fusermount3", "-u", mnt_});
    if (r.exit_code != 0) RunCommand({"fusermount3", "-uz", mnt_});
    WaitForStoreLock();
  }

  // Runs a command that must succeed; mounted, the daemon must still answer afterwards.
  RunResult Ok(const std::vector<std::string>& args) {
    auto r = R(args);
    EXPECT_EQ(r.exit_code, 0) << ::testing::PrintToString(args) << ": " << r.err;
    ExpectDaemonAlive(args);
    return r;
  }
  void ExpectDaemonAlive(const std::vector<std::string>& after) {
    if (!mounted_) return;
    struct stat st;
    EXPECT_EQ(::stat(mnt_.c_str(), &st), 0)
        << "mount gone after " << ::testing::PrintToString(after) << ": " << strerror(errno);
    EXPECT_EQ(::stat((mnt_ + "/" + kVm).c_str(), &st), 0) << strerror(errno);
  }

  std::string mnt_;
  bool mounted_ = false;
};

TEST_P(HostileNamesTest, ListJsonGivesEveryNameAndDescriptionBackByteExact) {
  json j = Parse(Ok({"list", "--json"}));
  ASSERT_TRUE(j.is_array());
  EXPECT_EQ(BytesOfAll(j, "name"), (std::set<std::string>{kBad, kQuote, kLong, kUtf8}));
  for (const auto& rp : j) {
    EXPECT_EQ(BytesOf(rp["vm"]), kVm);
    EXPECT_EQ(BytesOf(rp["disks"][0]["name"]), kDisk);
    if (BytesOf(rp["name"]) == kBad) {
      EXPECT_EQ(BytesOf(rp["description"]), kBadDesc);
    }
    if (BytesOf(rp["name"]) == kQuote) {
      EXPECT_EQ(BytesOf(rp["description"]), kTabDesc);
    }
  }
  // The convention itself: UTF-8 text is a string, anything else an array of bytes.
  EXPECT_TRUE(j[0]["vm"].is_array());
  EXPECT_NE(j.dump().find("\"say \\\"hi\\\" 'x' \\\\ back\""), std::string::npos);
}

TEST_P(HostileNamesTest, PlainListAndInfoShowTheNames) {
  auto list = Ok({"list"});
  for (const auto& n : {kBad, kQuote, kLong, kUtf8}) {
    EXPECT_NE(list.out.find(n), std::string::npos) << n;
  }
  auto tree = Ok({"list", kVm, "--tree"});
  EXPECT_NE(tree.out.find(kLong), std::string::npos);
  for (const auto& n : {kBad, kQuote, kLong, kUtf8}) {
    auto info = Ok({"info", kVm, n});
    EXPECT_NE(info.out.find(n), std::string::npos) << info.out;
    json j = Parse(Ok({"info", kVm, n, "--json"}));
    EXPECT_EQ(BytesOf(j["name"]), n);
    EXPECT_EQ(BytesOf(j["vm"]), kVm);
  }
}

TEST_P(HostileNamesTest, DuCloneListPolicyVmListVerifyAndPruneJson) {
  json du = Parse(Ok({"du", "--json"}));
  ASSERT_EQ(du["vms"].size(), 1u);
  EXPECT_EQ(BytesOf(du["vms"][0]["name"]), kVm);
  EXPECT_EQ(BytesOfAll(du["vms"][0]["rps"], "name"),
            (std::set<std::string>{kBad, kQuote, kLong, kUtf8}));

  json clones = Parse(Ok({"clone-list", "--json"}));
  ASSERT_EQ(clones.size(), 1u);
  EXPECT_EQ(BytesOf(clones[0]["name"]), kClone);
  EXPECT_EQ(BytesOf(clones[0]["vm"]), kVm);
  EXPECT_EQ(BytesOf(clones[0]["rp"]), kBad);
  EXPECT_EQ(BytesOf(clones[0]["disks"][0]["name"]), kDisk);
  EXPECT_FALSE(BytesOf(clones[0]["disks"][0]["path"]).empty());
  Ok({"clone-list"});

  json policy = Parse(Ok({"policy", "show", "--json"}));
  ASSERT_EQ(policy.size(), 1u);
  EXPECT_EQ(BytesOf(policy[0]["vm"]), kVm);
  Ok({"policy", "show"});

  json vms = Parse(Ok({"vm", "list", "--json"}));
  ASSERT_EQ(vms.size(), 1u);
  EXPECT_EQ(BytesOf(vms[0]["name"]), kVm);
  EXPECT_EQ(BytesOf(vms[0]["disks"][0]["name"]), kDisk);
  EXPECT_EQ(BytesOf(vms[0]["disks"][0]["path"]), img_);
  EXPECT_EQ(BytesOf(vms[0]["current_rp"]), kUtf8);
  Ok({"vm", "list"});

  json verify = Parse(Ok({"verify", "--json"}));
  EXPECT_EQ(verify["ok"], true);

  json prune = Parse(Ok({"prune", kVm, "--dry-run", "--json"}));
  ASSERT_EQ(prune["vms"].size(), 1u);
  EXPECT_EQ(BytesOf(prune["vms"][0]["vm"]), kVm);
  EXPECT_EQ(BytesOfAll(prune["vms"][0]["rps"], "name"),
            (std::set<std::string>{kBad, kQuote, kLong, kUtf8}));
  Ok({"prune", "--all-vms", "--dry-run"});
}

TEST_P(HostileNamesTest, CreateRenameDeleteTakeAnyAllowedByte) {
  const std::string fresh = "fresh\xfe\"";
  json created = Parse(Ok({"create", kVm, fresh, "--description", kBadDesc, "--json"}));
  EXPECT_EQ(BytesOf(created["name"]), fresh);
  EXPECT_EQ(BytesOf(created["description"]), kBadDesc);
  // Control characters are refused (one line of `info`), the daemon serving on.
  EXPECT_EQ(R({"create", kVm, "ctl", "--description", "line\nparent: forged"}).exit_code, 2);

  const std::string renamed = "renamed \xff" + std::string(119, 'r');  // 128 bytes
  ASSERT_EQ(renamed.size(), 128u);
  Ok({"rename", kVm, kBad, renamed});
  Ok({"delete", kVm, fresh, kLong});
  json j = Parse(Ok({"list", kVm, "--json"}));
  EXPECT_EQ(BytesOfAll(j, "name"), (std::set<std::string>{renamed, kQuote, kUtf8}));
  Ok({"clone-delete", kVm, kClone});
  EXPECT_TRUE(Parse(Ok({"clone-list", "--json"})).empty());
}

TEST_P(HostileNamesTest, RefusedNamesAreUsageErrorsAndChangeNothing) {
  const std::string before = State();
  for (const std::string& name :
       {std::string("ctl\x01name"), std::string("tab\tname"), std::string("new\nline"),
        std::string("del\x7f"), std::string(129, 'x'), std::string(".dot")}) {
    auto r = R({"create", kVm, name});
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(name) << ": " << r.err;
    EXPECT_NE(r.err.find("invalid rp name"), std::string::npos) << r.err;
    ExpectDaemonAlive({"create", kVm, name});
    auto ren = R({"rename", kVm, kUtf8, name});
    EXPECT_EQ(ren.exit_code, 2) << ren.err;
    ExpectDaemonAlive({"rename", kVm, kUtf8, name});
  }
  EXPECT_EQ(State(), before);
}

TEST_P(HostileNamesTest, TheMountListsTheNamesByteExact) {
  if (!mounted_) GTEST_SKIP() << "mounted variant only";
  std::set<std::string> names;
  for (const auto& e : stdfs::directory_iterator(mnt_ + "/" + kVm)) {
    std::string n = e.path().filename();
    if (n[0] != '.') names.insert(n);
  }
  EXPECT_EQ(names, (std::set<std::string>{kBad, kQuote, kLong, kUtf8}));
}

// A request the client binary would never send (a NUL inside an argument) gets a clear
// error from the daemon, which goes on serving.
TEST_P(HostileNamesTest, ArgumentWithNulOnTheSocketIsRefused) {
  if (!mounted_) GTEST_SKIP() << "mounted variant only";
  std::string msg;
  auto put = [&](const std::string& s) {
    msg.push_back(static_cast<char>(s.size()));  // all below 128: one varint byte
    msg += s;
  };
  put("rpfs-cli-1");
  put("/");
  msg.push_back(2);
  put("list");
  put(std::string("a\0b", 3));
  auto conn = ConnectUnix(store(), "rpfs.sock");
  ASSERT_OK(conn);
  int err[2];
  ASSERT_EQ(::pipe(err), 0);
  int null_fd = ::open("/dev/null", O_RDWR);
  ASSERT_OK(SendMessage(conn->get(), msg, {null_fd, null_fd, err[1]}));
  ::close(err[1]);
  ::close(null_fd);
  auto reply = ReceiveMessage(conn->get(), 16);
  ASSERT_OK(reply);
  ASSERT_EQ(reply->size(), 4u);
  EXPECT_EQ(static_cast<unsigned char>((*reply)[0]), 2u) << "usage error";
  std::string text(512, '\0');
  ssize_t n = ::read(err[0], text.data(), text.size());
  ::close(err[0]);
  ASSERT_GT(n, 0);
  text.resize(static_cast<size_t>(n));
  EXPECT_NE(text.find("argument 2 contains NUL"), std::string::npos) << text;
  ExpectDaemonAlive({"<NUL argument>"});
}

INSTANTIATE_TEST_SUITE_P(Store, HostileNamesTest, ::testing::Values(false, true),
                         [](const auto& param) { return param.param ? "Mounted" : "Local"; });

}  // namespace
}  // namespace rpfs::testing
