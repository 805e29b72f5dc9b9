// Regions against a real one-node Ceph cluster (scripts/ceph-test-cluster.sh): two stores
// act as two hosts sharing a pool. Push sends only the chunks the region lacks, pull gives
// back the same bytes, delete keeps shared chunks, gc removes dead pushes, an interrupted
// push resumes, and damaged or missing chunks, unknown names, an unreachable cluster and a
// stopped OSD fail with the documented exit codes and messages.
//
// One cluster serves the whole suite, one pool per test. Skipped when the cluster cannot
// start (ceph-mon, ceph-osd, rados or ceph missing).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include "cli_fixture.h"
#include "util/hash.h"

namespace rpfs::testing {
namespace {

namespace stdfs = std::filesystem;

constexpr uint64_t kChunk = 64 << 10;  // the store's chunk size (rpfs init's default)
constexpr uint64_t kMiB = 1 << 20;

std::string ClusterScript() {
  return (stdfs::path(__FILE__).parent_path() / ".." / ".." / "scripts" / "ceph-test-cluster.sh")
      .lexically_normal()
      .string();
}

// The last `n` lines of `text`, for messages.
std::string Tail(const std::string& text, size_t n = 8) {
  size_t pos = text.size();
  for (size_t i = 0; i <= n && pos != std::string::npos && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
  }
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

struct Cluster {
  std::string dir;
  std::string conf;
  std::string error;  // why it did not start
};

Cluster StartCluster() {
  Cluster c;
  char tmpl[] = "/tmp/rpfs-ceph.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    c.error = "mkdtemp failed";
    return c;
  }
  const std::string dir = tmpl;
  auto r = RunCommand({"bash", ClusterScript(), "start", dir});
  const std::string key = "CEPH_CONF=";
  const size_t at = r.out.rfind(key);
  if (r.exit_code != 0 || at == std::string::npos) {
    c.error = "cannot start a Ceph test cluster (" + ClusterScript() + " start, exit " +
              std::to_string(r.exit_code) + "): " + Tail(r.err);
    RunCommand({"bash", ClusterScript(), "stop", dir});
    return c;
  }
  c.dir = dir;
  c.conf = r.out.substr(at + key.size());
  while (!c.conf.empty() && (c.conf.back() == '\n' || c.conf.back() == '\r')) c.conf.pop_back();
  return c;
}

void StopCluster(const std::string& dir) {
  if (!dir.empty()) RunCommand({"bash", ClusterScript(), "stop", dir});
}

// A TCP port nothing listens on (bound once by the kernel's choice, then released).
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

nlohmann::json Json(const RunResult& r) {
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out << "\nstderr: " << r.err;
  return j;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

class RegionTest : public CliTest {
 protected:
  static void SetUpTestSuite() {
    skip_.clear();
    if (RunCommand({"sh", "-c", "command -v ceph && command -v rados"}).exit_code != 0) {
      skip_ = "the ceph and rados tools are not installed (scripts/install-deps.sh)";
      return;
    }
    cluster_ = StartCluster();
    if (!cluster_.error.empty()) skip_ = cluster_.error;
  }

  static void TearDownTestSuite() {
    StopCluster(cluster_.dir);
    cluster_ = {};
  }

  void SetUp() override {
    CliTest::SetUp();
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    conf_ = cluster_.conf;
    // Unique also under --gtest_repeat: a pool is never reused.
    pool_ = std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(++pools_);
    CreatePool(conf_, pool_);
    if (HasFatalFailure()) return;
    InitWithVm();
    ASSERT_EQ(RB({"init"}).exit_code, 0);
    for (const auto& s : {store(), storeB()}) {
      auto r = Rpfs(s, {"region", "add", "r", "--ceph-conf", conf_, "--pool", pool_, "--json"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(Json(r)["pool"], pool_) << r.out;
    }
  }

  static void CreatePool(const std::string& conf, const std::string& pool) {
    for (std::vector<std::string> cmd :
         {std::vector<std::string>{"osd", "pool", "create", pool, "8", "8"},
          std::vector<std::string>{"osd", "pool", "application", "enable", pool, "rados"}}) {
      cmd.insert(cmd.begin(), {"timeout", "60", "ceph", "-c", conf});
      auto r = RunCommand(cmd);
      ASSERT_EQ(r.exit_code, 0) << "ceph " << cmd[5] << " " << cmd[6] << " " << cmd[7]
                                << " failed: " << r.err;
    }
  }

  std::string storeB() const { return dir_ / "storeB"; }

  // A command bounded in time even if the cluster went away (default timeout 30 s).
  static std::map<std::string, std::string> Bounded(std::map<std::string, std::string> env) {
    env.emplace("RPFS_REGION_TIMEOUT", "20");
    return env;
  }
  RunResult RA(const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env = {}) {
    return R(args, Bounded(env));
  }
  RunResult RB(const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env = {}) {
    return Rpfs(storeB(), args, Bounded(env));
  }

  RunResult Rados(std::vector<std::string> args) {
    args.insert(args.begin(), {"timeout", "60", "rados", "-c", conf_, "-p", pool_});
    return RunCommand(args);
  }

  // The pool's objects whose names start with `prefix`.
  std::set<std::string> Objects(const std::string& prefix) {
    auto r = Rados({"ls"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::set<std::string> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(prefix, 0) == 0) out.insert(line);
    }
    return out;
  }
  std::set<std::string> Chunks() { return Objects("rpfs.chunk."); }

  std::set<std::string> IndexKeys() {
    auto r = Rados({"listomapkeys", "rpfs.index"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::set<std::string> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) out.insert(line);
    return out;
  }

  // The object name of the image's chunk at `offset` as it is now.
  std::string ChunkObjectAt(uint64_t offset) {
    const auto all = ReadAll(img_);
    return "rpfs.chunk." + Sha256(std::span<const std::byte>(all.data() + offset, kChunk)).Hex();
  }

  // Disk vda of `vm`/`rp` of `store`, exported.
  std::vector<std::byte> Exported(const std::string& store, const std::string& vm,
                                  const std::string& rp) {
    const std::string out = dir_ / ("export-" + std::to_string(++exports_) + ".raw");
    auto r = Rpfs(store, {"export", vm, rp, "vda", "-o", out});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? ReadAll(out) : std::vector<std::byte>{};
  }

  nlohmann::json Push(const std::string& rp, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"push", "vm", rp, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = RA(args);
    EXPECT_EQ(r.exit_code, 0) << "push " << rp << ": " << r.err;
    return r.exit_code == 0 ? Json(r) : nlohmann::json::object();
  }

  void CreateRp(const std::string& rp) {
    auto r = R({"create", "vm", rp});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Snapshot name -> its JSON, as host B sees the region.
  std::map<std::string, nlohmann::json> Snapshots() {
    auto r = RB({"region", "snapshots", "r", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::map<std::string, nlohmann::json> out;
    if (r.exit_code != 0) return out;
    for (const auto& s : Json(r)) out[s["name"].get<std::string>()] = s;
    return out;
  }

  // Names of store B's RPs of every VM.
  std::set<std::string> RpsOfB() {
    auto r = RB({"list", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::set<std::string> out;
    if (r.exit_code != 0) return out;
    for (const auto& rp : Json(r)) {
      out.insert(rp["vm"].get<std::string>() + "/" + rp["name"].get<std::string>());
    }
    return out;
  }

  void ExpectVerifyOk(uint64_t snapshots) {
    auto r = RB({"region", "verify", "r", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    if (r.exit_code != 0) return;
    auto j = Json(r);
    EXPECT_EQ(j["ok"], true) << r.out;
    EXPECT_EQ(j["snapshots"], snapshots) << r.out;
    EXPECT_EQ(j["chunks_hashed"], j["chunks"]) << "the default re-hashes every chunk: " << r.out;
  }

  static inline Cluster cluster_;
  static inline std::string skip_;
  static inline int pools_ = 0;
  std::string conf_;
  std::string pool_;
  int exports_ = 0;
};

// The fixture's image has 128 distinct non-zero chunks: 4 MiB of text at 0, 4 MiB of
// pseudo-random bytes at 20 MiB.
constexpr uint64_t kBaseChunks = 128;

TEST_F(RegionTest, TwoHostsPushListPullByteIdentical) {
  CreateRp("rp1");
  WriteAt(img_, 1 * kMiB, PatternBytes(11, 256 << 10));  // 4 chunks, aligned
  CreateRp("rp2");
  WriteAt(img_, 21 * kMiB, PatternBytes(12, 256 << 10));  // 4 more
  CreateRp("rp3");

  auto p1 = Push("rp1");
  auto p2 = Push("rp2");
  auto p3 = Push("rp3");
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(p1["snapshot"], "vm.rp1");
  EXPECT_EQ(p1["resumed"], false);
  EXPECT_EQ(p1["chunks"], kBaseChunks);
  EXPECT_EQ(p1["chunks_sent"], kBaseChunks) << "an empty region lacks every chunk";
  EXPECT_EQ(p1["base"], "");
  EXPECT_EQ(p2["base"], "vm.rp1");
  EXPECT_EQ(p3["base"], "vm.rp2");
  for (const auto* p : {&p2, &p3}) {
    EXPECT_EQ((*p)["chunks"], kBaseChunks);
    EXPECT_EQ((*p)["chunks_sent"], 4u) << "only the 4 changed chunks: " << p->dump();
    // The base holds the others: no RADOS operation on them (docs/region.md, "Bases").
    EXPECT_EQ((*p)["chunks_inherited"], kBaseChunks - 4) << p->dump();
    // 4 incompressible chunks and a small manifest.
    EXPECT_GE((*p)["bytes_sent"].get<uint64_t>(), 4 * kChunk) << p->dump();
    EXPECT_LT((*p)["bytes_sent"].get<uint64_t>(), 4 * kChunk + (16 << 10)) << p->dump();
    EXPECT_LT((*p)["bytes_sent"].get<uint64_t>() * 8, p1["bytes_sent"].get<uint64_t>());
  }
  EXPECT_EQ(Chunks().size(), kBaseChunks + 8);

  // Host B sees the region it added, and the three snapshots.
  auto regions = Json(RB({"region", "list", "--json"}));
  ASSERT_EQ(regions.size(), 1u) << regions.dump();
  EXPECT_EQ(regions[0]["name"], "r");
  EXPECT_EQ(regions[0]["pool"], pool_);
  EXPECT_EQ(regions[0]["ceph_conf"], conf_);
  auto snaps = Snapshots();
  ASSERT_EQ(snaps.size(), 3u);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  for (int i = 1; i <= 3; ++i) {
    const std::string name = "vm.rp" + std::to_string(i);
    ASSERT_EQ(snaps.count(name), 1u) << name;
    EXPECT_EQ(snaps[name]["vm"], "vm");
    EXPECT_EQ(snaps[name]["rp"], "rp" + std::to_string(i));
    EXPECT_EQ(snaps[name]["host"], std::string(host));
    EXPECT_EQ(snaps[name]["disks"], nlohmann::json::array({"vda"}));
    EXPECT_EQ(snaps[name]["logical_bytes"], 32 * kMiB);
    EXPECT_EQ(snaps[name]["chunks"], kBaseChunks);
  }

  // B pulls two of them into a VM it does not know.
  auto r = RB({"pull", "r", "vm.rp1", "vm", "p1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = Json(r);
  EXPECT_EQ(j["vm"], "vm");
  EXPECT_EQ(j["name"], "p1");
  EXPECT_EQ(j["region"], "r");
  EXPECT_EQ(j["snapshot"], "vm.rp1");
  EXPECT_EQ(j["logical_bytes"], 32 * kMiB);
  r = RB({"pull", "r", "vm.rp3", "vm", "p3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const auto a1 = Exported(store(), "vm", "rp1");
  const auto a3 = Exported(store(), "vm", "rp3");
  ASSERT_EQ(a1.size(), 32 * kMiB);
  ASSERT_FALSE(a1 == a3) << "rp1 and rp3 differ, so a mixed-up pull would show";
  EXPECT_TRUE(Exported(storeB(), "vm", "p1") == a1) << "pulled p1 differs from rp1";
  EXPECT_TRUE(Exported(storeB(), "vm", "p3") == a3) << "pulled p3 differs from rp3";

  EXPECT_EQ(RpsOfB(), (std::set<std::string>{"vm/p1", "vm/p3"}));
  auto vms = Json(RB({"vm", "list", "--json"}));
  ASSERT_EQ(vms.size(), 1u) << vms.dump();
  EXPECT_EQ(vms[0]["name"], "vm");
  EXPECT_EQ(vms[0]["disks"], nlohmann::json::array()) << "a pulled-into VM has no disks";
  EXPECT_EQ(vms[0]["rp_count"], 2);

  ExpectVerifyOk(3);
}

TEST_F(RegionTest, DeleteKeepsSharedChunksAndRemovesOnlyItsOwn) {
  CreateRp("rp1");
  std::set<std::string> only_rp1;  // the chunks rp2 overwrites
  for (uint64_t i = 0; i < 4; ++i) only_rp1.insert(ChunkObjectAt(1 * kMiB + i * kChunk));
  WriteAt(img_, 1 * kMiB, PatternBytes(11, 256 << 10));
  CreateRp("rp2");
  Push("rp1");
  Push("rp2");
  ASSERT_FALSE(HasFailure());
  const auto before = Chunks();
  ASSERT_EQ(before.size(), kBaseChunks + 4);
  for (const auto& c : only_rp1) ASSERT_EQ(before.count(c), 1u) << c;
  const size_t manifests_before = Objects("rpfs.snap.").size();

  auto r = RA({"region", "delete", "r", "vm.rp1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = Json(r);
  ASSERT_EQ(j.size(), 1u) << r.out;
  EXPECT_EQ(j[0]["snapshot"], "vm.rp1");
  EXPECT_EQ(j[0]["references_dropped"], kBaseChunks);
  EXPECT_EQ(j[0]["references_moved"], kBaseChunks - 4) << "rp2, based on rp1, takes its own";
  EXPECT_EQ(j[0]["waiting_for"], "");
  EXPECT_EQ(j[0]["chunks_removed"], 4u);

  std::set<std::string> expected;
  for (const auto& c : before) {
    if (only_rp1.count(c) == 0) expected.insert(c);
  }
  EXPECT_EQ(Chunks(), expected) << "exactly the 4 chunks only rp1 used are gone";
  EXPECT_EQ(Objects("rpfs.snap.").size() * 2, manifests_before) << "rp1's manifest is gone";
  EXPECT_EQ(IndexKeys(), (std::set<std::string>{"snap.vm.rp2"}));

  auto snaps = Snapshots();
  EXPECT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps.count("vm.rp2"), 1u);
  ExpectError(RA({"region", "delete", "r", "vm.rp1"}), 3,
              {"region r: snapshot vm.rp1 does not exist"});
  ExpectVerifyOk(1);

  r = RB({"pull", "r", "vm.rp2", "vm", "p2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Exported(storeB(), "vm", "p2") == Exported(store(), "vm", "rp2"))
      << "rp2 must survive the delete of rp1 byte for byte";
}

TEST_F(RegionTest, DeadPushIsInvisibleAndGcRemovesIt) {
  CreateRp("rp1");
  Push("rp1");
  ASSERT_FALSE(HasFailure());
  const auto chunks_before = Chunks();
  const auto manifests_before = Objects("rpfs.snap.");
  const auto index_before = IndexKeys();
  ASSERT_EQ(index_before, (std::set<std::string>{"snap.vm.rp1"}));

  // rp2: 192 chunks the region lacks (12 MiB at 8 MiB); the push dies after its first batch.
  WriteAt(img_, 8 * kMiB, PatternBytes(21, 12 * kMiB));
  CreateRp("rp2");
  auto crashed = RA({"push", "vm", "rp2", "--json"}, {{"RPFS_CRASH_AT", "push.chunks"}});
  ASSERT_EQ(crashed.signal, SIGKILL) << "exit " << crashed.exit_code << ": " << crashed.err;
  const auto chunks_dead = Chunks();
  EXPECT_GT(chunks_dead.size(), chunks_before.size()) << "the first batch arrived";
  EXPECT_LT(chunks_dead.size(), chunks_before.size() + 192);
  EXPECT_EQ(IndexKeys().size(), 2u) << "snap.vm.rp1 and the push.<sid> of the dead push";

  auto snaps = Snapshots();
  EXPECT_EQ(snaps.size(), 1u) << "an unfinished push is not listed";
  EXPECT_EQ(snaps.count("vm.rp2"), 0u);
  ExpectError(RB({"pull", "r", "vm.rp2", "vm", "p2"}), 3, {"snapshot vm.rp2 does not exist"});
  ExpectVerifyOk(1);

  // Within the grace (default 1d) gc leaves it: it may be a push still running.
  auto r = RB({"region", "gc", "r", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json(r)["finished"], nlohmann::json::array()) << r.out;
  EXPECT_EQ(Chunks(), chunks_dead);

  // `--grace 0h` (the verb's help gives it as an example): every unfinished push is dead.
  r = RB({"region", "gc", "r", "--grace", "0h", "--json"});
  EXPECT_EQ(r.exit_code, 0) << "region gc --grace 0h: " << r.err;
  if (r.exit_code != 0) {
    // Until 0h is accepted, the same through a clock 2 h ahead and a grace of 1 h, so the
    // rest of the test still runs.
    r = RB({"region", "gc", "r", "--grace", "1h", "--json"},
           {{"RPFS_TEST_NOW", std::to_string(::time(nullptr) + 2 * 3600)}});
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = Json(r);
  EXPECT_EQ(j["finished"], nlohmann::json::array({"vm.rp2"})) << r.out;
  EXPECT_EQ(j["chunks_removed"], chunks_dead.size() - chunks_before.size()) << r.out;
  EXPECT_EQ(Chunks(), chunks_before) << "the dead push's chunks are gone, shared ones stay";
  EXPECT_EQ(Objects("rpfs.snap."), manifests_before) << "so is its manifest";
  EXPECT_EQ(IndexKeys(), index_before);
  ExpectVerifyOk(1);

  // Pushed again, it starts afresh and sends all of its new chunks.
  auto p = Push("rp2");
  EXPECT_EQ(p["resumed"], false) << p.dump();
  EXPECT_EQ(p["chunks_sent"], 192u) << p.dump();
  EXPECT_EQ(Snapshots().count("vm.rp2"), 1u);
}

TEST_F(RegionTest, InterruptedPushResumesSendingOnlyWhatIsMissing) {
  // 320 distinct chunks: batches of 128, 128 and 64.
  WriteAt(img_, 8 * kMiB, PatternBytes(31, 12 * kMiB));
  CreateRp("rp1");
  auto crashed = RA({"push", "vm", "rp1"}, {{"RPFS_CRASH_AT", "push.chunks"}});
  ASSERT_EQ(crashed.signal, SIGKILL) << "exit " << crashed.exit_code << ": " << crashed.err;
  ASSERT_EQ(Chunks().size(), 128u) << "exactly the first batch arrived";
  EXPECT_TRUE(Snapshots().empty());

  auto p = Push("rp1");
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(p["resumed"], true) << p.dump();
  EXPECT_EQ(p["chunks"], 320u) << p.dump();
  EXPECT_EQ(p["chunks_sent"], 320u - 128u) << "only what had not arrived: " << p.dump();
  EXPECT_EQ(Chunks().size(), 320u);
  EXPECT_EQ(IndexKeys(), (std::set<std::string>{"snap.vm.rp1"})) << "no push.<sid> left";
  EXPECT_EQ(Snapshots().count("vm.rp1"), 1u);
  ExpectVerifyOk(1);

  auto r = RB({"pull", "r", "vm.rp1", "vm", "p1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Exported(storeB(), "vm", "p1") == Exported(store(), "vm", "rp1"));
}

TEST_F(RegionTest, AddOfAnUnreachableClusterFailsAndKeepsNothing) {
  // The cluster's ceph.conf with the mon on ports nothing listens on.
  std::ifstream in(conf_);
  std::ostringstream bad;
  bool replaced = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("mon host", 0) == 0) {
      line = "mon host = [v2:127.0.0.1:" + std::to_string(ClosedPort()) +
             ",v1:127.0.0.1:" + std::to_string(ClosedPort()) + "]";
      replaced = true;
    }
    bad << line << "\n";
  }
  ASSERT_TRUE(replaced) << "no 'mon host' line in " << conf_;
  const std::string bad_conf = dir_ / "unreachable.conf";
  std::ofstream(bad_conf) << bad.str();

  const std::string store_c = dir_ / "storeC";
  ASSERT_EQ(Rpfs(store_c, {"init"}).exit_code, 0);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = Rpfs(store_c, {"region", "add", "far", "--ceph-conf", bad_conf},
                {{"RPFS_REGION_TIMEOUT", "3"}});
  EXPECT_LT(Seconds(t0), 15.0) << "RPFS_REGION_TIMEOUT=3 bounds the wait";
  ExpectError(r, 1, {"region far", "cannot reach the cluster", "within 3 s"});
  auto list = Rpfs(store_c, {"region", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(Json(list), nlohmann::json::array()) << "nothing is kept";
}

TEST_F(RegionTest, AddOfAMissingPoolOrATakenNameFails) {
  const std::string store_c = dir_ / "storeC";
  ASSERT_EQ(Rpfs(store_c, {"init"}).exit_code, 0);
  ExpectError(Rpfs(store_c, {"region", "add", "r", "--ceph-conf", conf_, "--pool", "nosuchpool"},
                   Bounded({})),
              3, {"region r: pool nosuchpool does not exist"});
  auto list = Rpfs(store_c, {"region", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(Json(list), nlohmann::json::array()) << "nothing is kept";

  ExpectError(RA({"region", "add", "r", "--ceph-conf", conf_, "--pool", pool_}), 4,
              {"region r already exists"});
}

TEST_F(RegionTest, PushUnderATakenNameFailsAndSendsNothing) {
  CreateRp("rp1");
  WriteAt(img_, 1 * kMiB, PatternBytes(11, 256 << 10));
  CreateRp("rp2");
  Push("rp1");
  ASSERT_FALSE(HasFailure());
  const auto chunks = Chunks();
  ExpectError(RA({"push", "vm", "rp2", "--name", "vm.rp1"}), 4,
              {"region r: snapshot vm.rp1 already exists"});
  ExpectError(RA({"push", "vm", "rp1"}), 4, {"snapshot vm.rp1 already exists"});
  EXPECT_EQ(Chunks(), chunks) << "rp2's 4 new chunks were not sent";
  EXPECT_EQ(IndexKeys(), (std::set<std::string>{"snap.vm.rp1"})) << "no push.<sid> left";
  auto snaps = Snapshots();
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps["vm.rp1"]["rp"], "rp1") << "the snapshot still is rp1";
}

TEST_F(RegionTest, DamagedChunkFailsThePullAndVerify) {
  CreateRp("rp1");
  Push("rp1");
  ASSERT_FALSE(HasFailure());
  // The chunk at 20 MiB gets the body of the chunk after it: a well-formed chunk, so only
  // its SHA-256 tells it is not the one its name says.
  const std::string victim = ChunkObjectAt(20 * kMiB);
  const std::string donor = ChunkObjectAt(20 * kMiB + kChunk);
  const std::string hex = victim.substr(std::string("rpfs.chunk.").size());
  const std::string body = dir_ / "donor.body";
  auto r = Rados({"get", donor, body});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Rados({"put", victim, body});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = RB({"pull", "r", "vm.rp1", "vm", "p1"});
  ExpectError(r, 1,
              {hex, "at offset " + std::to_string(20 * kMiB), "damaged", "SHA-256 does not match"});
  EXPECT_TRUE(RpsOfB().empty()) << "a failed pull leaves no RP";
  EXPECT_EQ(Json(RB({"vm", "list", "--json"})), nlohmann::json::array())
      << "nor the VM it would have made";

  r = RB({"region", "verify", "r", "--json"});
  EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
  auto j = Json(r);
  EXPECT_EQ(j["ok"], false);
  ASSERT_EQ(j["problems"].size(), 1u) << r.out;
  EXPECT_NE(j["problems"][0].get<std::string>().find(hex), std::string::npos) << r.out;
  r = RB({"region", "verify", "r"});
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_NE(r.out.find(hex), std::string::npos) << r.out;
}

TEST_F(RegionTest, MissingChunkFailsThePullAndVerify) {
  CreateRp("rp1");
  Push("rp1");
  ASSERT_FALSE(HasFailure());
  const std::string victim = ChunkObjectAt(2 * kMiB);
  const std::string hex = victim.substr(std::string("rpfs.chunk.").size());
  auto r = Rados({"rm", victim});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = RB({"pull", "r", "vm.rp1", "vm", "p1"});
  ExpectError(r, 1, {hex, "at offset " + std::to_string(2 * kMiB), "no such object"});
  EXPECT_TRUE(RpsOfB().empty()) << "a failed pull leaves no RP";

  // A missing chunk is found without re-hashing anything.
  r = RB({"region", "verify", "r", "--sample", "0", "--json"});
  EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
  auto j = Json(r);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["chunks_hashed"], 0u);
  ASSERT_EQ(j["problems"].size(), 1u) << r.out;
  EXPECT_EQ(j["problems"][0], "region r: snapshot vm.rp1: chunk " + hex + ": missing");
}

TEST_F(RegionTest, PullOfAnUnknownSnapshotOrRegionIsNotFound) {
  CreateRp("rp1");
  Push("rp1");
  ASSERT_FALSE(HasFailure());
  ExpectError(RB({"pull", "r", "nosuch", "vm", "p1"}), 3,
              {"region r: snapshot nosuch does not exist"});
  ExpectError(RB({"pull", "nosuchregion", "vm.rp1", "vm", "p1"}), 3,
              {"region nosuchregion does not exist"});
  EXPECT_TRUE(RpsOfB().empty());
  EXPECT_EQ(Json(RB({"vm", "list", "--json"})), nlohmann::json::array());
}

// A cluster of its own: stopping the OSD must not disturb the other tests.
TEST_F(RegionTest, PushFailsInTimeWhileTheOsdIsDownAndSucceedsOnceItIsBack) {
  Cluster own = StartCluster();
  ASSERT_TRUE(own.error.empty()) << own.error;
  struct Stop {
    std::string dir;
    ~Stop() { StopCluster(dir); }  // also restores nothing: the cluster goes, OSD or not
  } stop{own.dir};
  auto osd = [&](const std::string& what) {
    return RunCommand({"bash", ClusterScript(), what, own.dir}, {{"CEPH_START_TIMEOUT", "20"}});
  };
  auto start_osd = [&] {
    auto r = osd("start-osd");
    ASSERT_EQ(r.exit_code, 0)
        << "start-osd failed; did stop-osd lose the memstore's contents (Ceph 16's "
           "osd_fast_shutdown)? "
        << Tail(r.err);
  };
  const std::map<std::string, std::string> t3 = {{"RPFS_REGION_TIMEOUT", "3"}};
  for (const auto& s : {store(), storeB()}) {
    auto r = Rpfs(s, {"region", "add", "g", "--ceph-conf", own.conf}, Bounded({}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  WriteAt(img_, 8 * kMiB, PatternBytes(41, 12 * kMiB));  // 320 chunks
  CreateRp("rp1");

  // Stopped before the push.
  auto r = osd("stop-osd");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto t0 = std::chrono::steady_clock::now();
  r = R({"push", "vm", "rp1", "--region", "g"}, t3);
  EXPECT_LT(Seconds(t0), 10.0);
  ExpectError(r, 1, {"region g", "timed out after 3 s"});
  start_osd();
  if (HasFatalFailure()) return;
  r = RA({"push", "vm", "rp1", "--region", "g", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json(r)["chunks_sent"], 320u);

  // Stopped in the middle: after the first batch of 128 chunks.
  WriteAt(img_, 8 * kMiB, PatternBytes(42, 12 * kMiB));  // 192 chunks the region lacks
  CreateRp("rp2");
  const std::string pause_dir = dir_ / "pause";
  stdfs::create_directories(pause_dir);
  {
    PausedRun run({RpfsBinary(), "--store", store(), "push", "vm", "rp2", "--region", "g"},
                  "push.chunks", pause_dir, t3);
    run.WaitPaused();
    r = osd("stop-osd");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    t0 = std::chrono::steady_clock::now();
    run.Resume();
    r = run.Finish();
    EXPECT_LT(Seconds(t0), 10.0);
    ExpectError(r, 1, {"vm.rp2", "region g", "timed out after 3 s"});
  }
  start_osd();
  if (HasFatalFailure()) return;
  r = RA({"push", "vm", "rp2", "--region", "g", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto p = Json(r);
  EXPECT_EQ(p["resumed"], true) << r.out;
  EXPECT_GT(p["chunks_sent"].get<uint64_t>(), 0u) << r.out;
  EXPECT_LT(p["chunks_sent"].get<uint64_t>(), 192u) << "the first batch had arrived: " << r.out;

  r = RB({"region", "snapshots", "g", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> names;
  for (const auto& s : Json(r)) names.insert(s["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"vm.rp1", "vm.rp2"}));
  r = RB({"region", "verify", "g"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace rpfs::testing

namespace rpfs::testing {
namespace {

// Host B clones a snapshot it does not hold: usable at once, byte-identical through its
// mount, hydrated by dd, and after that it no longer needs the region.
TEST_F(RegionTest, CloneFromRegionReadsThroughTheMountAndHydratesWithDd) {
  if (::geteuid() != 0 || ::access("/dev/fuse", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "needs root and /dev/fuse to mount";
  }
  CreateRp("rp1");
  Push("rp1");
  const auto want = Exported(store(), "vm", "rp1");

  auto r = RB({"clone", "--from-region", "r", "vm.rp1", "newvm", "c1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json(r)["disks"][0]["hydrated_bytes"], 0) << r.out;
  auto vms = RB({"vm", "list", "--json"});
  ASSERT_EQ(vms.exit_code, 0) << vms.err;
  EXPECT_EQ(Json(vms)[0]["name"], "newvm");  // a VM B did not know, made without disks
  EXPECT_TRUE(Json(vms)[0]["disks"].empty());

  const std::string mnt = dir_ / "mnt";
  stdfs::create_directories(mnt);
  ASSERT_EQ(RB({"mount", mnt}).exit_code, 0);
  const std::string disk = mnt + "/newvm/.clones/c1/vda.raw";
  const std::string copy = dir_ / "hydrated.raw";
  auto dd = RunCommand({"dd", "if=" + disk, "of=" + copy, "bs=4M", "status=none"});
  auto second = RunCommand({"cmp", disk, copy});  // a second read: local now
  RunCommand({"fusermount3", "-u", mnt});
  ASSERT_EQ(dd.exit_code, 0) << dd.err;
  EXPECT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_TRUE(ReadAll(copy) == want) << "the clone reads other bytes than host A's RP";

  // Hydrated: deleting the snapshot does not matter to it any more.
  ASSERT_EQ(RA({"region", "delete", "r", "vm.rp1"}).exit_code, 0);
  auto list = RB({"clone-list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(Json(list)[0]["hydrated"], true) << list.out;
  auto h = RB({"hydrate", "newvm", "c1"});
  EXPECT_EQ(h.exit_code, 0) << h.err;
  EXPECT_EQ(RB({"clone-delete", "newvm", "c1"}).exit_code, 0);
}

// The index keys starting with `prefix` ("hold.", "del.").
std::set<std::string> KeysWith(const std::set<std::string>& keys, const std::string& prefix) {
  std::set<std::string> out;
  for (const auto& k : keys) {
    if (k.rfind(prefix, 0) == 0) out.insert(k);
  }
  return out;
}

// A clone not yet hydrated holds its snapshot: host A's delete of it waits (the chunks
// stay, the clone reads them all), and the clone's hydration, or its delete, or host B's
// gc for a hold whose clone was never recorded, finishes that delete.
TEST_F(RegionTest, UnhydratedCloneKeepsItsSnapshotUntilHydratedOrDeleted) {
  CreateRp("rp1");
  Push("rp1", {"--name", "s1"});
  const auto want = Exported(store(), "vm", "rp1");

  // Hydration releases the hold.
  auto c1 = RB({"clone", "--from-region", "r", "s1", "vm", "c1", "--json"});
  ASSERT_EQ(c1.exit_code, 0) << c1.err;
  const auto holds = KeysWith(IndexKeys(), "hold.");
  ASSERT_EQ(holds.size(), 1u);
  const std::string source = Json(c1)["source"];
  EXPECT_EQ(source, "region:r:s1/" + holds.begin()->substr(5)) << c1.out;
  auto d1 = RA({"region", "delete", "r", "s1", "--json"});
  ASSERT_EQ(d1.exit_code, 0) << d1.err;
  const std::string waiting = Json(d1)[0]["waiting_for"];
  EXPECT_EQ(waiting.rfind(*holds.begin(), 0), 0u) << d1.out;
  EXPECT_NE(waiting.find("clone c1"), std::string::npos) << d1.out;
  EXPECT_TRUE(Snapshots().empty()) << "gone from the list at once";
  EXPECT_EQ(Chunks().size(), kBaseChunks) << "kept for the clone";
  auto h = RB({"hydrate", "vm", "c1"});
  ASSERT_EQ(h.exit_code, 0) << h.err;
  auto list = RB({"clone-list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(ReadAll(Json(list)[0]["disks"][0]["path"]) == want)
      << "the clone reads other bytes than host A's RP";
  EXPECT_TRUE(KeysWith(IndexKeys(), "hold.").empty());
  EXPECT_TRUE(KeysWith(IndexKeys(), "del.").empty()) << "the delete finished with the release";
  EXPECT_TRUE(Chunks().empty());

  // Deleting the clone releases the hold.
  Push("rp1", {"--name", "s2"});
  ASSERT_EQ(RB({"clone", "--from-region", "r", "s2", "vm", "c2"}).exit_code, 0);
  // A clone that cannot be made (its name is taken) leaves no hold behind.
  ExpectError(RB({"clone", "--from-region", "r", "s2", "vm", "c2"}), 4, {"already exists"});
  EXPECT_EQ(KeysWith(IndexKeys(), "hold.").size(), 1u);
  ASSERT_EQ(RA({"region", "delete", "r", "s2"}).exit_code, 0);
  EXPECT_EQ(KeysWith(IndexKeys(), "del.").size(), 1u);
  EXPECT_EQ(Chunks().size(), kBaseChunks);
  auto deleted = RB({"clone-delete", "vm", "c2"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_TRUE(IndexKeys().empty());
  EXPECT_TRUE(Chunks().empty());

  // A clone that died between its hold and its record: only B's gc releases that hold,
  // and only once older than the grace.
  Push("rp1", {"--name", "s3"});
  auto died =
      RB({"clone", "--from-region", "r", "s3", "vm", "c3"}, {{"RPFS_CRASH_AT", "clone.held"}});
  ASSERT_NE(died.exit_code, 0);
  for (const auto& c : Json(RB({"clone-list", "--json"}))) EXPECT_NE(c["name"], "c3");
  ASSERT_EQ(RA({"region", "delete", "r", "s3"}).exit_code, 0);
  auto holds_b = RB({"region", "holds", "r", "--json"});
  ASSERT_EQ(holds_b.exit_code, 0) << holds_b.err;
  ASSERT_EQ(Json(holds_b).size(), 1u) << holds_b.out;
  EXPECT_EQ(Json(holds_b)[0]["snapshot"], "s3");
  EXPECT_EQ(Json(holds_b)[0]["held_by"], "clone c3");
  EXPECT_EQ(Json(holds_b)[0]["this_store"], true);
  EXPECT_EQ(Json(RA({"region", "holds", "r", "--json"}))[0]["this_store"], false);
  auto a_gc = RA({"region", "gc", "r", "--grace", "0h", "--json"});
  ASSERT_EQ(a_gc.exit_code, 0) << a_gc.err;
  EXPECT_TRUE(Json(a_gc)["holds_released"].empty()) << "not A's hold: " << a_gc.out;
  auto b_young = RB({"region", "gc", "r", "--json"});
  ASSERT_EQ(b_young.exit_code, 0) << b_young.err;
  EXPECT_TRUE(Json(b_young)["holds_released"].empty()) << "younger than a day: " << b_young.out;
  EXPECT_EQ(Chunks().size(), kBaseChunks);
  auto b_gc = RB({"region", "gc", "r", "--grace", "0h", "--json"});
  ASSERT_EQ(b_gc.exit_code, 0) << b_gc.err;
  EXPECT_EQ(Json(b_gc)["holds_released"].size(), 1u) << b_gc.out;
  EXPECT_EQ(Json(b_gc)["finished"], nlohmann::json::array({"s3"})) << b_gc.out;
  EXPECT_TRUE(IndexKeys().empty());
  EXPECT_TRUE(Chunks().empty());

  // A hold of a store that is gone for good: released by hand from any host (an unknown
  // hold is refused and nothing changes).
  Push("rp1", {"--name", "s4"});
  ASSERT_EQ(RB({"clone", "--from-region", "r", "s4", "vm", "c4"}).exit_code, 0);
  ASSERT_EQ(RA({"region", "delete", "r", "s4"}).exit_code, 0);
  const std::string hold = Json(RA({"region", "holds", "r", "--json"}))[0]["hold"];
  ExpectError(RA({"region", "release", "r", "nope", hold}), 3, {"no hold nope"});
  EXPECT_EQ(KeysWith(IndexKeys(), "hold.").size(), 1u);
  auto released = RA({"region", "release", "r", hold, "--json"});
  ASSERT_EQ(released.exit_code, 0) << released.err;
  EXPECT_EQ(Json(released)[0]["deletes_finished"], nlohmann::json::array({"s4"})) << released.out;
  EXPECT_TRUE(IndexKeys().empty());
  EXPECT_TRUE(Chunks().empty());
}

// A pull holds its snapshot while it reads: host A's delete, made while host B's pull is
// paused after its first batch, waits for the pull, which then reads every chunk, and its
// release finishes the delete.
TEST_F(RegionTest, PullHoldsItsSnapshotAgainstADeleteMeanwhile) {
  CreateRp("rp1");
  Push("rp1", {"--name", "s1"});
  const auto want = Exported(store(), "vm", "rp1");
  const std::string pause = dir_ / "pause";
  stdfs::create_directory(pause);
  ASSERT_EQ(::mkfifo((pause + "/paused").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo((pause + "/resume").c_str(), 0600), 0);
  auto pull = std::async(std::launch::async, [&] {
    return RB({"pull", "r", "s1", "vm", "got"},
              {{"RPFS_PAUSE_AT", "ingest.batch"}, {"RPFS_PAUSE_DIR", pause}});
  });
  const int paused = ::open((pause + "/paused").c_str(), O_RDONLY);  // the pull is there
  ASSERT_GE(paused, 0);
  EXPECT_EQ(KeysWith(IndexKeys(), "hold.").size(), 1u);
  auto d = RA({"region", "delete", "r", "s1", "--json"});
  const int resume = ::open((pause + "/resume").c_str(), O_WRONLY);
  ::close(resume);
  ::close(paused);
  auto pulled = pull.get();
  ASSERT_EQ(d.exit_code, 0) << d.err;
  const std::string waiting = Json(d)[0]["waiting_for"];
  EXPECT_NE(waiting.find("pull vm/got"), std::string::npos) << d.out;
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_TRUE(Exported(storeB(), "vm", "got") == want);
  EXPECT_TRUE(IndexKeys().empty()) << "the pull's release finished the delete";
  EXPECT_TRUE(Chunks().empty());
}

// An unhydrated clone whose chunk is damaged in the region: EIO naming the chunk, never
// other bytes; the other chunks still read.
TEST_F(RegionTest, CloneFromRegionRefusesADamagedChunk) {
  CreateRp("rp1");
  Push("rp1");
  const std::string victim = ChunkObjectAt(20 * kMiB);
  const std::string other = ChunkObjectAt(20 * kMiB + kChunk);
  const std::string body = dir_ / "other-body";
  ASSERT_EQ(Rados({"get", other, body}).exit_code, 0);
  ASSERT_EQ(Rados({"put", victim, body}).exit_code, 0);
  ASSERT_EQ(RB({"clone", "--from-region", "r", "vm.rp1", "vm", "c1"}).exit_code, 0);
  auto h = RB({"hydrate", "vm", "c1"});
  EXPECT_NE(h.exit_code, 0);
  EXPECT_NE(h.err.find(victim.substr(std::string("rpfs.chunk.").size())), std::string::npos)
      << h.err;
  EXPECT_NE(h.err.find("damaged"), std::string::npos) << h.err;
  auto list = RB({"clone-list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(Json(list)[0]["hydrated"], false);
  // An unknown snapshot is refused before anything is made.
  auto none = RB({"clone", "--from-region", "r", "nope", "vm", "c2"});
  EXPECT_EQ(none.exit_code, 3) << none.err;
  EXPECT_EQ(RB({"clone-list", "--json"}).out, list.out);
  // Forgetting the region here leaves the pool alone; the clone then cannot reach it.
  auto removed = RB({"region", "remove", "r", "--json"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(Json(removed)["region"], "r");
  EXPECT_TRUE(Json(RB({"region", "list", "--json"})).empty());
  EXPECT_EQ(Json(RA({"region", "snapshots", "r", "--json"})).size(), 1u);
  ExpectError(RB({"hydrate", "vm", "c1"}), 3, {"region r does not exist"});
  // Its delete cannot release its hold then: the delete still succeeds, the hold stays,
  // and this store's `region gc`, once the region is added again, releases it.
  auto deleted = RB({"clone-delete", "vm", "c1"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(KeysWith(IndexKeys(), "hold.").size(), 1u);
  ASSERT_EQ(RB({"region", "add", "r", "--ceph-conf", conf_, "--pool", pool_}).exit_code, 0);
  auto gc = RB({"region", "gc", "r", "--grace", "0h", "--json"});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_EQ(Json(gc)["holds_released"].size(), 1u) << gc.out;
  EXPECT_TRUE(KeysWith(IndexKeys(), "hold.").empty());
}

}  // namespace
}  // namespace rpfs::testing

namespace rpfs::testing {
namespace {

// Two hosts push and delete snapshots that share every chunk, at the same time: deletes
// find chunks unreferenced just as the other host references them. No chunk a snapshot
// references may be lost (region verify after every round), and what is left pulls back
// byte-identical.
TEST_F(RegionTest, ConcurrentPushesAndDeletesOfSharedChunksNeverLoseOne) {
  CreateRp("rp1");
  ASSERT_EQ(RB({"vm", "add", "vm", "--disk", "vda=" + img_}).exit_code, 0);
  ASSERT_EQ(RB({"create", "vm", "rp1"}).exit_code, 0);  // the same chunks as host A's
  const auto want = Exported(store(), "vm", "rp1");
  constexpr int kRounds = 6;
  std::atomic<int> done{0};
  auto host = [&](const std::string& store, const std::string& prefix, std::string* failure) {
    for (int i = 0; i < kRounds && failure->empty(); ++i) {
      const std::string name = prefix + std::to_string(i);
      auto p = Rpfs(store, {"push", "vm", "rp1", "--name", name}, Bounded({}));
      if (p.exit_code != 0) *failure = "push " + name + ": " + p.err;
      if (i > 0 && failure->empty()) {
        const std::string old = prefix + std::to_string(i - 1);
        auto d = Rpfs(store, {"region", "delete", "r", old}, Bounded({}));
        if (d.exit_code != 0) *failure = "delete " + old + ": " + d.err;
      }
    }
    done++;
  };
  // A third host checks, while they run, that nothing published lost a chunk.
  const std::string store_c = dir_ / "storeC";
  ASSERT_EQ(Rpfs(store_c, {"init"}).exit_code, 0);
  ASSERT_EQ(Rpfs(store_c, {"region", "add", "r", "--ceph-conf", conf_, "--pool", pool_}).exit_code,
            0);
  std::string fail_a, fail_b;
  std::thread a(host, store(), "a", &fail_a);
  std::thread b(host, storeB(), "b", &fail_b);
  int verifies = 0;
  while (done.load() < 2 && verifies < 100) {
    auto v = Rpfs(store_c, {"region", "verify", "r", "--sample", "0", "--json"}, Bounded({}));
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    ++verifies;
  }
  a.join();
  b.join();
  EXPECT_GT(verifies, 0);
  EXPECT_EQ(fail_a, "");
  EXPECT_EQ(fail_b, "");
  ExpectVerifyOk(2);
  auto snaps = Snapshots();
  EXPECT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps.count("a" + std::to_string(kRounds - 1)), 1u);
  for (const auto& [name, j] : snaps) {
    auto p = RB({"pull", "r", name, "pulled", name});
    ASSERT_EQ(p.exit_code, 0) << p.err;
    EXPECT_TRUE(Exported(storeB(), "pulled", name) == want) << name;
  }
  EXPECT_EQ(Chunks().size(), 128u);  // 8 MiB of data in 64 KiB chunks, each stored once
}

}  // namespace
}  // namespace rpfs::testing

namespace rpfs::testing {
namespace {

// The mount's .region/ view on host B: every snapshot as a read-only image with the pushed
// disk's access, byte-identical to host A's RP, holes seekable; a damaged chunk is EIO.
TEST_F(RegionTest, MountShowsRegionSnapshotsReadOnly) {
  if (::geteuid() != 0 || ::access("/dev/fuse", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "needs root and /dev/fuse to mount";
  }
  CreateRp("rp1");
  Push("rp1");
  const auto want = Exported(store(), "vm", "rp1");
  const std::string mnt = dir_ / "mnt";
  stdfs::create_directories(mnt);
  ASSERT_EQ(RB({"mount", mnt}).exit_code, 0);
  struct Unmount {
    std::string mnt;
    ~Unmount() { RunCommand({"fusermount3", "-u", mnt}); }
  } unmount{mnt};

  auto ls = RunCommand({"ls", "-a", mnt, mnt + "/.region", mnt + "/.region/vm.rp1"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find(".region"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("vm.rp1"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("vda.raw"), std::string::npos) << ls.out;
  const std::string disk = mnt + "/.region/vm.rp1/vda.raw";
  struct stat st {};
  ASSERT_EQ(::stat(disk.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), want.size());
  EXPECT_EQ(st.st_mode & 0222, 0u) << "read-only";
  EXPECT_TRUE(ReadAll(disk) == want) << "the snapshot reads other bytes than host A's RP";
  // Holes from the chunk list: the image's data starts at 0, a hole at 4 MiB.
  auto seek = RunCommand({"python3", "-c",
                          "import os,sys; f=os.open(sys.argv[1],os.O_RDONLY); "
                          "print(os.lseek(f,0,os.SEEK_HOLE), os.lseek(f,5<<20,os.SEEK_DATA))",
                          disk});
  EXPECT_EQ(seek.out, std::to_string(4 * kMiB) + " " + std::to_string(20 * kMiB) + "\n")
      << seek.err;
  auto write = RunCommand({"sh", "-c", "echo x >> " + disk});
  EXPECT_NE(write.exit_code, 0);

  // Damage one chunk in the region: its read is EIO, never other bytes.
  const std::string victim = ChunkObjectAt(20 * kMiB);
  const std::string body = dir_ / "other-body";
  ASSERT_EQ(Rados({"get", ChunkObjectAt(20 * kMiB + kChunk), body}).exit_code, 0);
  ASSERT_EQ(Rados({"put", victim, body}).exit_code, 0);
  auto dd = RunCommand({"dd", "if=" + disk, "of=/dev/null", "bs=64K", "skip=320", "count=1",
                        "iflag=direct", "status=none"});
  EXPECT_NE(dd.exit_code, 0);
  EXPECT_NE(dd.err.find("Input/output error"), std::string::npos) << dd.err;
}

}  // namespace
}  // namespace rpfs::testing

namespace rpfs::testing {
namespace {

// What a VM made by a pull or a region clone cannot do, and a clone a store cannot hold,
// each refused with a message that says why, changing nothing.
TEST_F(RegionTest, RefusalsNameTheirCause) {
  CreateRp("rp1");
  Push("rp1");
  ASSERT_EQ(RB({"pull", "r", "vm.rp1", "pulled", "p1"}).exit_code, 0);
  ExpectError(RB({"create", "pulled", "p2"}), 2, {"vm pulled has no disks", "region pull"});
  ExpectError(RB({"clone", "--from-region", "r", "vm.rp1", "pulled", "c1", "--define"}), 6,
              {"--define with --from-region is not supported"});
  const std::string store_c = dir_ / "storeC";
  ASSERT_EQ(Rpfs(store_c, {"init", "--chunk-size", "131072"}).exit_code, 0);
  ASSERT_EQ(Rpfs(store_c, {"region", "add", "r", "--ceph-conf", conf_, "--pool", pool_}).exit_code,
            0);
  ExpectError(Rpfs(store_c, {"clone", "--from-region", "r", "vm.rp1", "vm", "c1"}, Bounded({})), 6,
              {"its chunks are 65536 bytes, this store's 131072", "rpfs pull"});
  auto clones = Rpfs(store_c, {"clone-list", "--json"});
  EXPECT_EQ(clones.out, "[]\n") << clones.out;
  EXPECT_TRUE(Json(RB({"clone-list", "--json"})).empty());
}

}  // namespace
}  // namespace rpfs::testing
