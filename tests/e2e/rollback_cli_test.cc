// `rpfs rollback` (confirmation, --keep-current, output) and `rpfs protect/unprotect`,
// without a mount.
#include "cli_fixture.h"

namespace rpfs::testing {
namespace {

class RollbackCliTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    InitWithVm();
    ASSERT_EQ(R({"create", "vm", "one"}).exit_code, 0);
    one_ = ReadAll(img_);
    WriteAt(img_, 100 * 1024, PatternBytes(9, 200 * 1024));
    two_ = ReadAll(img_);
  }
  // Runs rpfs with `input` on stdin.
  RunResult WithInput(const std::string& input, const std::vector<std::string>& args) {
    std::string cmd = "printf '" + input + "' | " + RpfsBinary() + " --store " + store();
    for (const auto& a : args) cmd += " '" + a + "'";
    return RunCommand({"bash", "-c", cmd});
  }
  std::vector<std::byte> one_, two_;
};

TEST_F(RollbackCliTest, AsksForTheVmNameAndChangesNothingWithoutIt) {
  auto r = WithInput("wrong\\n", {"rollback", "vm", "one"});
  ExpectError(r, 6, {"Type the vm name", "not confirmed; nothing changed"});
  EXPECT_TRUE(ReadAll(img_) == two_);
  r = WithInput("", {"rollback", "vm", "one"});  // end of input: no
  EXPECT_EQ(r.exit_code, 6);
  EXPECT_TRUE(ReadAll(img_) == two_);
  r = WithInput("vm\\n", {"rollback", "vm", "one"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rolled back vm to one: 4 chunks differed"), std::string::npos) << r.out;
  EXPECT_TRUE(ReadAll(img_) == one_);
}

TEST_F(RollbackCliTest, YesSkipsTheQuestionAndKeepCurrentSavesTheDisk) {
  auto r = R({"rollback", "vm", "one", "--yes", "--keep-current"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("Type the vm name"), std::string::npos);
  EXPECT_TRUE(ReadAll(img_) == one_);
  size_t at = r.out.find("previous state is rp ");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::string undo = r.out.substr(at + 21);
  undo.resize(undo.find('\n'));
  std::string out = dir_ / "undo.raw";
  ASSERT_EQ(R({"export", "vm", undo, "vda", "-o", out}).exit_code, 0);
  EXPECT_TRUE(ReadAll(out) == two_);
}

// A script with no terminal: --keep-current saves the disks first, so nothing can be lost
// and nothing is asked (stdin at its end would otherwise mean "no").
TEST_F(RollbackCliTest, KeepCurrentAloneNeverAsks) {
  auto r = WithInput("", {"rollback", "vm", "one", "--keep-current"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("Type the vm name"), std::string::npos) << r.err;
  EXPECT_TRUE(ReadAll(img_) == one_);
  EXPECT_NE(r.out.find("previous state is rp "), std::string::npos) << r.out;
}

TEST_F(RollbackCliTest, ErrorsNameTheCause) {
  ExpectError(R({"rollback", "vm", "nope", "--yes"}), 3, {"rp vm/nope does not exist"});
  ExpectError(R({"rollback", "novm", "one", "--yes"}), 3, {"vm novm does not exist"});
  ExpectError(R({"rollback", "vm", "..", "--yes"}), 3, {"does not exist"});
  // The image vanished: a clear error, the store unchanged.
  const std::string before = State();
  std::string moved = dir_ / "moved.raw";
  ASSERT_EQ(::rename(img_.c_str(), moved.c_str()), 0);
  ExpectError(R({"rollback", "vm", "one", "--yes"}), 3, {"image vda", "vda.raw"});
  EXPECT_EQ(State(), before);
}

TEST_F(RollbackCliTest, ProtectedRpsCannotBeDeleted) {
  ASSERT_EQ(R({"protect", "vm", "one"}).exit_code, 0);
  EXPECT_NE(R({"info", "vm", "one"}).out.find("protected: yes"), std::string::npos);
  ExpectError(R({"delete", "vm", "one"}), 6, {"rp vm/one is protected", "rpfs unprotect vm one"});
  ExpectError(R({"delete", "vm", "--all"}), 6, {"is protected"});
  EXPECT_EQ(R({"info", "vm", "one"}).exit_code, 0);
  ASSERT_EQ(R({"unprotect", "vm", "one"}).exit_code, 0);
  EXPECT_EQ(R({"delete", "vm", "one"}).exit_code, 0);
  ExpectError(R({"protect", "vm", "one"}), 3, {"does not exist"});
}

}  // namespace
}  // namespace rpfs::testing
