// Fault injection below RocksDB (tests/fault/fault_shim.cc, LD_PRELOAD): `rpfs create`,
// `delete` and `verify` with the N-th write, read or sync on a store file failing with
// EIO or ENOSPC, or moving half the bytes, at points spread over the whole command. The
// command must fail cleanly (exit 1, "rpfs: " + the object + the cause; never a crash or
// an abort) or succeed, and afterwards, without faults, the store must be consistent:
// every earlier RP exports identical, an RP the command may have made is whole, verify
// is clean.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cli_fixture.h"

namespace rpfs::testing {
namespace {

namespace stdfs = std::filesystem;

struct FaultCase {
  const char* command;  // create | delete | verify
  const char* op;       // write | read | sync
  const char* kind;     // eio | enospc | short
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FaultInjectionTest : public CliTest, public ::testing::WithParamInterface<FaultCase> {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    InitWithVm();
    ASSERT_EQ(R({"create", "vm", "one"}).exit_code, 0);
    one_ = ReadAll(img_);
    WriteAt(img_, 1 << 20, PatternBytes(7, 3 << 20));
    ASSERT_EQ(R({"create", "vm", "two"}).exit_code, 0);
    two_ = ReadAll(img_);
    WriteAt(img_, 8 << 20, TextBytes(8, 6 << 20));  // what a create adds
    three_ = ReadAll(img_);
    stdfs::copy(store(), pristine(), stdfs::copy_options::recursive);
  }

  std::string pristine() const { return dir_ / "pristine"; }
  std::string log() const { return dir_ / "fault.log"; }

  // Puts the store back as it was after SetUp.
  void Restore() {
    stdfs::remove_all(store());
    stdfs::copy(pristine(), store(), stdfs::copy_options::recursive);
    stdfs::remove(log());
  }

  std::vector<std::string> Args() const {
    const std::string cmd = GetParam().command;
    if (cmd == "create") return {"create", "vm", "three"};
    if (cmd == "delete") return {"delete", "vm", "two"};
    return {"verify"};
  }

  std::map<std::string, std::string> FaultEnv(const std::string& kind, long nth) const {
    return {{"LD_PRELOAD", RPFS_FAULT_SHIM},
            {"RPFS_FAULT_DIR", store()},
            {"RPFS_FAULT_OP", GetParam().op},
            {"RPFS_FAULT_KIND", kind},
            {"RPFS_FAULT_NTH", std::to_string(nth)},
            {"RPFS_FAULT_LOG", log()},
            // Deterministic: where the N-th call lands does not depend on when RocksDB's
            // background threads run (tests/fault/fault_shim.cc).
            {"RPFS_FAULT_THREAD", "main"}};
  }

  // How many counted calls the command makes on this store (its faults are spread
  // over them).
  long CountCalls() {
    Restore();
    auto r = R(Args(), FaultEnv("count", 0));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    long n = 0;
    std::istringstream(Slurp(log()).substr(6)) >> n;  // "calls <n>"
    return n;
  }

  void ExpectExport(const std::string& rp, const std::vector<std::byte>& want) {
    std::string out = dir_ / ("out-" + rp + ".raw");
    auto r = R({"export", "vm", rp, "vda", "-o", out});
    ASSERT_EQ(r.exit_code, 0) << rp << ": " << r.err;
    EXPECT_TRUE(ReadAll(out) == want) << rp << " does not match the image it was taken of";
    stdfs::remove(out);
  }

  // Without faults: the store holds exactly a consistent outcome of the command.
  // `exit_code` is the faulted command's: a command that said it succeeded must have done
  // so durably (a fault RocksDB swallowed may not cost a committed RP or an acknowledged
  // delete).
  void ExpectConsistent(const std::string& context, const RunResult& faulted) {
    const int exit_code = faulted.exit_code;
    // A failed sync of the commit itself leaves the outcome to the next open (the batch
    // may have reached the log): the message says so, and either outcome is whole.
    const bool unconfirmed = faulted.err.find("commit not confirmed") != std::string::npos;
    SCOPED_TRACE(context);
    auto list = R({"list", "vm", "--json"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    std::set<std::string> names;
    for (const auto& e : nlohmann::json::parse(list.out)) names.insert(e["name"]);
    ExpectExport("one", one_);
    if (names.count("two") != 0) ExpectExport("two", two_);
    if (names.count("three") != 0) ExpectExport("three", three_);
    const std::string cmd = GetParam().command;
    EXPECT_EQ(names.count("two"), cmd == "delete" ? names.count("two") : 1u);
    const bool ok = exit_code == 0;
    if (cmd == "create" && !unconfirmed) {
      EXPECT_EQ(names.count("three"), ok ? 1u : 0u) << "exit " << exit_code << faulted.err;
    }
    if (cmd == "delete" && ok) {
      EXPECT_EQ(names.count("two"), 0u) << "delete undone";
    }
    auto v = R({"verify"});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  }

  std::vector<std::byte> one_, two_, three_;
};

std::string CaseName(const FaultCase& c) {
  return std::string(c.command) + "_" + c.op + "_" + c.kind;
}

// Readable in test listings (and so in ctest's names) instead of the struct's raw bytes.
void PrintTo(const FaultCase& c, std::ostream* os) { *os << CaseName(c); }

TEST_P(FaultInjectionTest, FailsCleanlyAndLeavesTheStoreConsistent) {
  const FaultCase& c = GetParam();
  const long calls = CountCalls();
  ASSERT_GT(calls, 0) << "the command makes no " << c.op << " call on the store";
  const std::string cause =
      std::string(c.kind) == "enospc" ? "No space left on device" : "Input/output error";
  int failed = 0, fired = 0, swallowed = 0;
  for (long nth : {1L, calls / 4, calls / 2, 3 * calls / 4, calls}) {
    if (nth < 1) continue;
    Restore();
    auto r = R(Args(), FaultEnv(c.kind, nth));
    const std::string injected = Slurp(log());
    const std::string context = std::string(c.command) + " with " + c.kind + " on " + c.op +
                                " call " + std::to_string(nth) + ": " + injected;
    fired += injected.empty() ? 0 : 1;
    EXPECT_EQ(r.signal, 0) << context << r.err;
    // 1: the injected I/O error; 7 ("damaged"): verify reports what it could not read as
    // damage.
    const bool verify = std::string(c.command) == "verify";
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1 || (verify && r.exit_code == 7))
        << context << "exit " << r.exit_code << r.err;
    if (r.exit_code != 0) {
      ++failed;
      // verify reports what it could not read as damage, one "damaged rp: ..." line each.
      bool report = verify && r.err.find("damaged rp: vm/") != std::string::npos;
      EXPECT_TRUE(r.err.rfind("rpfs: ", 0) == 0 || report) << context << r.err;
      EXPECT_NE(r.err.find(cause), std::string::npos) << context << r.err;
      bool names_object = r.err.find(store()) != std::string::npos ||
                          r.err.find("vm/") != std::string::npos ||
                          r.err.find("vm vm") != std::string::npos;
      EXPECT_TRUE(names_object) << context << r.err;
    }
    if (std::string(c.kind) != "short" && !injected.empty() && r.exit_code == 0) {
      // Seen: faults in the flush at close (after the synced commit: the WAL already holds
      // the outcome) and in the OPTIONS file written at open (advisory). Allowed as long as
      // the outcome is durable and the store consistent (checked below); counted and shown.
      ++swallowed;
      std::printf("[ note ] fault swallowed: %s", context.c_str());
    }
    ExpectConsistent(context, r);
  }
  EXPECT_GT(fired, 0) << "no fault was injected";
  std::printf("[ faults ] %s: %d injected, %d failed cleanly, %d swallowed\n", CaseName(c).c_str(),
              fired, failed, swallowed);
}

std::string ParamName(const ::testing::TestParamInfo<FaultCase>& p) { return CaseName(p.param); }

std::vector<FaultCase> AllCases() {
  std::vector<FaultCase> cases;
  for (const char* cmd : {"create", "delete", "verify"}) {
    for (const char* op : {"write", "read", "sync"}) {
      for (const char* kind : {"eio", "enospc", "short"}) {
        if (std::string(op) == "read" && std::string(kind) == "enospc") continue;  // not a thing
        cases.push_back({cmd, op, kind});
      }
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(EveryKind, FaultInjectionTest, ::testing::ValuesIn(AllCases()), ParamName);

}  // namespace
}  // namespace rpfs::testing
