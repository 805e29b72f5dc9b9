// rpfs prune / policy: keep/remove per RP with the rule that kept it, exact bytes freed,
// stored policies, protected RPs, errors.
#include <set>

#include "cli_fixture.h"

namespace rpfs::testing {
namespace {

class PruneTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    InitWithVm();
    for (int i = 1; i <= 5; ++i) {
      WriteAt(img_, static_cast<uint64_t>(i) << 20, PatternBytes(100 + i, 300 * 1024));
      ASSERT_EQ(R({"create", "vm", "rp" + std::to_string(i)}).exit_code, 0);
    }
  }
};

TEST_F(PruneTest, DryRunShowsDecisionsAndExactlyWhatADeleteWouldFree) {
  ASSERT_EQ(R({"protect", "vm", "rp1"}).exit_code, 0);
  const std::string before = State();
  auto r = R({"prune", "vm", "--keep-last", "2", "--dry-run", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  std::map<std::string, bool> keep;
  for (const auto& e : j["vms"][0]["rps"]) keep[e["name"]] = e["keep"];
  EXPECT_EQ(keep,
            (std::map<std::string, bool>{
                {"rp1", true}, {"rp2", false}, {"rp3", false}, {"rp4", true}, {"rp5", true}}));
  EXPECT_EQ(j["vms"][0]["rps"][0]["reasons"], nlohmann::json::array({"last"}));
  auto del = R({"delete", "vm", "rp2", "rp3", "--dry-run"});
  EXPECT_NE(del.out.find("(" + std::to_string(j["bytes_freed"].get<uint64_t>()) + " bytes)"),
            std::string::npos)
      << "prune --dry-run and delete --dry-run must agree: " << del.out << r.out;
  EXPECT_GT(j["bytes_freed"].get<uint64_t>(), 0u);
  EXPECT_EQ(State(), before) << "a dry run changes nothing";
  auto text = R({"prune", "vm", "--keep-last", "2", "--dry-run"});
  EXPECT_NE(text.out.find("remove  "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("(protected)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("would free"), std::string::npos) << text.out;
}

TEST_F(PruneTest, PruneRemovesWhatThePolicyDoesNotKeep) {
  ASSERT_EQ(R({"protect", "vm", "rp2"}).exit_code, 0);
  auto r = R({"prune", "vm", "--keep-last", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("freed "), std::string::npos);
  auto list = nlohmann::json::parse(R({"list", "vm", "--json"}).out);
  std::set<std::string> left;
  for (const auto& rp : list) left.insert(rp["name"]);
  EXPECT_EQ(left, (std::set<std::string>{"rp2", "rp5"}));
  auto v = R({"verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

// The undo RPs rollbacks take (--keep-current) are marked automatic and do not count
// toward --keep-last: two rollbacks leave rp4 and rp5 the two newest RPs a user took.
TEST_F(PruneTest, RollbackUndoRpsAreAutomaticAndDoNotCountTowardKeepLast) {
  for (const char* to : {"rp3", "rp5"}) {
    auto r = R({"rollback", "vm", to, "--keep-current"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::map<std::string, bool> automatic;
  for (const auto& rp : nlohmann::json::parse(R({"list", "vm", "--json"}).out)) {
    automatic[rp["name"]] = rp["automatic"];
  }
  ASSERT_EQ(automatic.size(), 7u);
  int undo = 0;
  for (const auto& [name, is_auto] : automatic) {
    EXPECT_EQ(is_auto, name.rfind("before-rollback-", 0) == 0) << name;
    undo += is_auto ? 1 : 0;
  }
  EXPECT_EQ(undo, 2);
  EXPECT_NE(R({"info", "vm", "rp5"}).out.find("automatic: no"), std::string::npos);

  auto r = R({"prune", "vm", "--keep-last", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> left;
  for (const auto& rp : nlohmann::json::parse(R({"list", "vm", "--json"}).out)) {
    left.insert(rp["name"]);
  }
  EXPECT_EQ(left, (std::set<std::string>{"rp4", "rp5"})) << r.out;
}

TEST_F(PruneTest, StoredPolicyIsUsedAndShown) {
  auto set = R({"policy", "set", "vm", "--keep-last", "3", "--keep-within", "2w"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  auto show = R({"policy", "show", "vm"});
  EXPECT_NE(show.out.find("--keep-last 3 --keep-within 14d"), std::string::npos) << show.out;
  // keep-within 2 weeks keeps everything made just now.
  auto r = R({"prune", "vm", "--dry-run", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["bytes_freed"], 0);
  EXPECT_EQ(j["vms"][0]["policy"], "--keep-last 3 --keep-within 14d");
  ASSERT_EQ(R({"policy", "set", "vm", "--keep-last", "2"}).exit_code, 0);
  ASSERT_EQ(R({"prune", "--all-vms"}).exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(R({"list", "vm", "--json"}).out).size(), 2u);
  ASSERT_EQ(R({"policy", "set", "vm"}).exit_code, 0);  // no rule: cleared
  EXPECT_NE(R({"policy", "show"}).out.find("(none)"), std::string::npos);
}

TEST_F(PruneTest, ErrorsNameTheCauseAndChangeNothing) {
  const std::string before = State();
  ExpectError(R({"prune", "vm"}), 2, {"vm vm has no stored keep rule", "rpfs policy set vm"});
  ExpectError(R({"prune"}), 2, {"give either a vm or --all-vms"});
  ExpectError(R({"prune", "vm", "--all-vms", "--keep-last", "1"}), 2, {"either a vm"});
  ExpectError(R({"prune", "vm", "--keep-within", "7x"}), 2, {"unknown unit 'x'"});
  ExpectError(R({"prune", "nope", "--keep-last", "1"}), 3, {"vm nope does not exist"});
  ExpectError(R({"policy", "set", "nope", "--keep-last", "1"}), 3, {"vm nope does not exist"});
  // --all-vms leaves VMs without a policy alone.
  auto all = R({"prune", "--all-vms"});
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(State(), before);
}

}  // namespace
}  // namespace rpfs::testing
