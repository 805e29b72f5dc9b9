// The one executor: a command reads the same in `.status` whichever entry point built it,
// delete counts what it deleted, CLI-only verbs, the VM's busy slot, and define's need of
// the mount.
#include "control/operations.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <memory>

#include "control/command.h"
#include "support/fake_hypervisor.h"
#include "support/images.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace rpfs::control {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

constexpr uint64_t kDiskSize = 1 << 20;

// A store with one image-file VM "vm" (one disk, vda) whose image is `image`.
std::unique_ptr<Repository> NewStore(const std::string& dir, const std::string& image) {
  auto repo = Repository::Init(dir, InitOptions{});
  EXPECT_OK(repo);
  if (!repo.ok()) return nullptr;
  DiskSpec disk;
  disk.name = "vda";
  disk.path = image;
  Status s = (*repo)->AddVm("vm", {disk});
  EXPECT_OK(s);
  return std::move(*repo);
}

Command Parse(const std::string& text) {
  auto c = ParseCommand(text);
  EXPECT_OK(c) << "'" << text << "': " << c.status().ToString();
  return c.ok() ? *c : Command{};
}

// `.status` without what differs between two runs of the same commands: time and id.
// Also without the time in an undo RP's name (before-rollback-<time>): the two runs may
// straddle a second.
// (No std::regex: g++ 12 at -O1 with ASan warns maybe-uninitialized inside <regex>.)
std::string WithoutTimeAndId(const std::string& status) {
  std::string out;
  for (size_t i = 0; i < status.size();) {
    if (status.compare(i, 5, "time=") == 0) {  // "time=<value> id=<n> "
      size_t id = status.find(" id=", i);
      size_t end = id == std::string::npos ? id : status.find(' ', id + 4);
      if (end != std::string::npos) {
        i = end + 1;
        continue;
      }
    }
    if (status.compare(i, 16, "before-rollback-") == 0) {
      out += "before-rollback-<time>";
      i += 16;
      while (i < status.size() && (std::isdigit(static_cast<unsigned char>(status[i])) ||
                                   status[i] == 'T' || status[i] == 'Z' || status[i] == '-')) {
        ++i;
      }
      continue;
    }
    out.push_back(status[i++]);
  }
  return out;
}

class OperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    image_ = dir_ / "vm.img";
    testing::MakeSparseFile(image_, kDiskSize);
    testing::WriteAt(image_, 0, testing::PatternBytes(1, 256 * 1024));
    repo_ = NewStore(dir_ / "store", image_);
    ASSERT_NE(repo_, nullptr);
    ops_ = std::make_unique<Operations>(repo_.get());
  }

  Outcome Run(const Command& cmd) {
    auto r = ops_->Run("vm", cmd);
    EXPECT_OK(r) << cmd.ToString() << ": " << r.status().ToString();
    return r.ok() ? *r : Outcome{};
  }
  std::vector<std::string> Rps() {
    std::vector<std::string> out;
    auto rps = repo_->ListRps("vm");
    EXPECT_OK(rps);
    if (rps.ok()) {
      for (const auto& r : *rps) out.push_back(r.name);
    }
    return out;
  }

  TempDir dir_;
  std::string image_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<Operations> ops_;
};

// The mount writes text to `.control`; the CLI builds the Command from its flags. Both run
// the same sequence on identical stores: `.status` must read the same, line for line.
TEST_F(OperationsTest, TheSameCommandFromEitherEntryPointLeavesTheSameStatus) {
  TempDir other_dir;
  auto other = NewStore(other_dir / "store", image_);
  ASSERT_NE(other, nullptr);
  Operations cli(other.get());

  auto built = [](Verb verb, std::string rp, std::string target = "") {
    Command c;
    c.verb = verb;
    c.rp = std::move(rp);
    c.target = std::move(target);
    return c;
  };
  Command create = built(Verb::kCreate, "one");
  create.description = "before \"the\" upgrade";
  Command create_two = built(Verb::kCreate, "two");
  Command rollback = built(Verb::kRollback, "one");
  rollback.keep_current = true;
  Command del;  // as `rpfs delete vm uno` builds it: the names in more_rps
  del.verb = Verb::kDelete;
  del.more_rps = {"uno"};
  const std::vector<std::pair<std::string, Command>> steps = {
      {"create one description=\"before \\\"the\\\" upgrade\"", create},
      {"create two", create_two},
      {"rollback one keep-current", rollback},
      {"rename one uno", built(Verb::kRename, "one", "uno")},
      {"protect two", built(Verb::kProtect, "two")},
      {"delete two", built(Verb::kDelete, "two")},  // refused: protected
      {"unprotect two", built(Verb::kUnprotect, "two")},
      {"delete uno", del},
  };
  for (const auto& [text, cmd] : steps) {
    Command parsed = Parse(text);
    EXPECT_EQ(parsed.ToString(), cmd.ToString());
    auto a = ops_->Run("vm", parsed);
    auto b = cli.Run("vm", cmd);
    EXPECT_EQ(a.ok(), b.ok()) << text;
    if (a.ok() && b.ok()) {
      EXPECT_EQ(WithoutTimeAndId(a->summary), WithoutTimeAndId(b->summary)) << text;
    }
  }
  const std::string mount_status = WithoutTimeAndId(ops_->StatusText("vm"));
  EXPECT_EQ(mount_status, WithoutTimeAndId(cli.StatusText("vm")));
  EXPECT_THAT(mount_status, HasSubstr("command=\"create one description=\\\"before \\\\\\\"the"));
  EXPECT_THAT(mount_status, HasSubstr("command=\"create two\" result=\"created vm/two: "));
  EXPECT_THAT(mount_status,
              HasSubstr("state=failed progress=0/0 percent=100 command=\"delete two\""));
  EXPECT_THAT(mount_status, HasSubstr("command=\"delete uno\" result=\"deleted vm/uno, freed "));
}

TEST_F(OperationsTest, DeleteDeletesEachNamedRpOnceAndCountsThem) {
  Run(Parse("create one"));
  Run(Parse("create two"));
  Command del;
  del.verb = Verb::kDelete;
  del.more_rps = {"one", "one", "one"};
  EXPECT_EQ(del.ToString(), "delete one");
  Outcome out = Run(del);
  EXPECT_THAT(out.deleted, ElementsAre("one"));
  EXPECT_THAT(out.summary, HasSubstr("deleted vm/one, freed "));
  EXPECT_THAT(Rps(), ElementsAre("two"));
  EXPECT_THAT(ops_->StatusText("vm"), HasSubstr("command=\"delete one\""));
}

TEST_F(OperationsTest, DeleteAllDeletesEveryRpOfTheVm) {
  Run(Parse("create one"));
  Run(Parse("create two"));
  Command del;
  del.verb = Verb::kDelete;
  del.all = true;
  EXPECT_EQ(del.ToString(), "delete --all");
  Outcome out = Run(del);
  EXPECT_THAT(out.deleted, ElementsAre("one", "two"));
  EXPECT_GT(out.bytes_freed, 0u);
  EXPECT_THAT(out.summary, HasSubstr("deleted vm/one vm/two, freed "));
  EXPECT_TRUE(Rps().empty());
}

TEST_F(OperationsTest, CreateReturnsTheNewRp) {
  Command create = Parse("create one");
  Outcome out = Run(create);
  ASSERT_TRUE(out.rp.has_value());
  EXPECT_EQ(out.rp->name, "one");
  EXPECT_EQ(out.summary,
            "created vm/one: " + std::to_string(out.rp->added_bytes) + " bytes added to the store");
}

// A disk that shrank since the previous RP is taken, but said (summary, warnings).
TEST_F(OperationsTest, CreateReportsADiskThatShrankSinceThePreviousRp) {
  Command create;
  create.verb = Verb::kCreate;
  create.rp = "one";
  EXPECT_TRUE(Run(create).warnings.empty());
  ASSERT_EQ(::truncate(image_.c_str(), kDiskSize / 2), 0);
  create.rp = "two";
  Outcome two = Run(create);
  ASSERT_EQ(two.warnings.size(), 1u);
  EXPECT_EQ(two.warnings[0], "disk vda shrank from 1048576 bytes to 524288 bytes since rp one");
  EXPECT_THAT(two.summary, HasSubstr("; warning: disk vda shrank"));
  EXPECT_THAT(ops_->StatusText("vm"), HasSubstr("shrank from 1048576 bytes"));
  create.rp = "three";  // the same size again: nothing to say; growing is not a warning
  EXPECT_TRUE(Run(create).warnings.empty());
  ASSERT_EQ(::truncate(image_.c_str(), kDiskSize), 0);
  create.rp = "four";
  EXPECT_TRUE(Run(create).warnings.empty());
}

TEST_F(OperationsTest, PruneIsACommandOfTheVmWithTheCliText) {
  Run(Parse("create one"));
  Run(Parse("create two"));
  Command prune;
  prune.verb = Verb::kPrune;
  prune.policy.keep_last = 1;
  prune.dry_run = true;
  EXPECT_EQ(prune.ToString(), "prune --dry-run " + prune.policy.ToString());
  Outcome dry = Run(prune);
  ASSERT_TRUE(dry.prune.has_value());
  EXPECT_THAT(dry.summary, HasSubstr("would remove 1 of 2 recovery point(s) of vm and free "));
  EXPECT_THAT(Rps(), ElementsAre("one", "two"));
  prune.dry_run = false;
  Outcome done = Run(prune);
  EXPECT_THAT(done.summary, HasSubstr("removed 1 of 2 recovery point(s) of vm, freed "));
  EXPECT_THAT(Rps(), ElementsAre("two"));
}

TEST_F(OperationsTest, ASecondCommandOnTheVmIsBusyButHydrateIsNot) {
  Run(Parse("create one"));
  Run(Parse("clone one c"));
  Status during_create, hydrate_during_create;
  bool asked = false;
  auto progress = [&](uint64_t, uint64_t) {
    if (asked) return;
    asked = true;
    during_create = ops_->Run("vm", Parse("delete one")).status();
    Command hydrate;
    hydrate.verb = Verb::kHydrate;
    hydrate.target = "c";
    hydrate_during_create = ops_->Run("vm", hydrate).status();
  };
  auto r = ops_->Run("vm", Parse("create two"), progress);
  ASSERT_OK(r);
  ASSERT_TRUE(asked) << "create reported no progress";
  EXPECT_EQ(during_create.code(), Status::Code::kBusy) << during_create.ToString();
  EXPECT_OK(hydrate_during_create);
  const std::string status = ops_->StatusText("vm");
  EXPECT_THAT(status, HasSubstr("command=\"delete one\" result=\"vm vm is busy"));
  EXPECT_THAT(status, HasSubstr("command=\"hydrate c\" result=\"hydrated clone vm/c:"));
  EXPECT_THAT(Rps(), ElementsAre("one", "two"));
}

// A command that throws (here its caller's progress function) fails with the cause, and
// the VM is not left busy.
TEST_F(OperationsTest, ACommandThatThrowsFailsAndFreesTheVm) {
  auto throwing = [](uint64_t, uint64_t) { throw std::runtime_error("progress went wrong"); };
  auto r = ops_->Run("vm", Parse("create one"), throwing);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("internal error running \"create one\" on vm vm"));
  EXPECT_THAT(r.status().message(), HasSubstr("progress went wrong"));
  EXPECT_THAT(ops_->StatusText("vm"), HasSubstr("state=failed"));
  EXPECT_TRUE(Rps().empty());
  Outcome out = Run(Parse("create one"));  // not EBUSY
  EXPECT_THAT(Rps(), ElementsAre("one"));
}

TEST(OperationsDefineTest, CloneDefineNeedsTheMountAndGetsItsPathsFromIt) {
  TempDir dir;
  testing::FakeHypervisor fake(dir / "");
  testing::MakeSparseFile(dir / "web.img", kDiskSize);
  fake.AddDomain("web", {{"vda", dir / "web.img"}});
  auto repo = Repository::Init(dir / "store", InitOptions{});
  ASSERT_OK(repo);
  (*repo)->SetHypervisorFactory(fake.Factory());
  auto vm = (*repo)->ImportVm(fake.uri(), "web");
  ASSERT_OK(vm);
  Operations ops(repo->get());
  ASSERT_OK(ops.Run("web", Parse("create day1")));

  auto refused = ops.Run("web", Parse("clone day1 copy define"));
  EXPECT_TRUE(refused.status().IsInvalidArgument()) << refused.status().ToString();
  EXPECT_THAT(refused.status().message(), HasSubstr("define needs the mount"));
  EXPECT_FALSE((*repo)->GetClone("web", "copy").ok()) << "a refused define made a clone";

  ops.SetMount([](const std::string& v, const std::string& c,
                  const std::string& d) { return "/m/" + v + "|" + c + "|" + d; },
               /*allow_other=*/true);
  auto done = ops.Run("web", Parse("clone day1 copy define"));
  ASSERT_OK(done);
  EXPECT_THAT(done->summary, HasSubstr("virsh start copy"));
  auto dom = fake.GetDomain("copy");
  ASSERT_OK(dom);
  EXPECT_EQ(dom->disks[0].path, "/m/web|copy|vda");
}

// `rollback ... stop start` from `.control`: each step with its time in `.status`, on the
// line of the process that asked (pid=), and the options checked before the guest is.
TEST(OperationsRollbackTest, StepsAndTheWritersPidAreInStatus) {
  TempDir dir;
  testing::FakeHypervisor fake(dir / "");
  testing::MakeSparseFile(dir / "web.img", kDiskSize);
  const std::string uuid = fake.AddDomain("web", {{"vda", dir / "web.img"}});
  auto repo = Repository::Init(dir / "store", InitOptions{});
  ASSERT_OK(repo);
  (*repo)->SetHypervisorFactory(fake.Factory());
  ASSERT_OK((*repo)->ImportVm(fake.uri(), "web"));
  Operations ops(repo->get());
  ASSERT_OK(ops.Run("web", Parse("create day1"), nullptr, 1111));

  auto done = ops.Run("web", Parse("rollback day1 stop timeout=30 start"), nullptr, 4242);
  ASSERT_OK(done);
  EXPECT_THAT(done->summary, HasSubstr("domain: asked the guest to shut down (ACPI)"));
  EXPECT_EQ(fake.starts, 1);
  const std::string status = ops.StatusText("web");
  size_t at = status.find(" pid=4242 ");
  ASSERT_NE(at, std::string::npos) << status;
  std::string line = status.substr(at, status.find('\n', at) - at);
  EXPECT_THAT(line, HasSubstr("state=done"));
  EXPECT_THAT(line, HasSubstr("command=\"rollback day1 stop start timeout=\\\"30\\\"\""));
  // steps="<time> what; <time> what; ..."
  size_t steps = line.find(" steps=\"");
  ASSERT_NE(steps, std::string::npos) << line;
  std::string text = line.substr(steps + 8);
  int n = 0;
  for (size_t i = 0; i < text.size();) {
    ASSERT_GE(text.size() - i, 21u) << text;
    EXPECT_EQ(text.substr(i, 3), "202") << "a step without its time: " << text.substr(i);
    EXPECT_EQ(text[i + 19], 'Z') << text.substr(i);
    ++n;
    size_t next = text.find("; ", i);
    if (next == std::string::npos) break;
    i = next + 2;
  }
  EXPECT_EQ(n, 4) << text;
  EXPECT_THAT(text, HasSubstr("the guest shut down after"));
  EXPECT_THAT(text, HasSubstr("Z starting the domain\""));
  EXPECT_THAT(status, HasSubstr(" pid=1111 state=done"));

  // Options that make no sense are refused before the guest is asked anything.
  const int asked = fake.shutdown_requests;
  for (const char* bad : {"rollback day1 force", "rollback day1 timeout=5",
                          "rollback day1 stop timeout=soon", "rollback day1 stop timeout=99999"}) {
    auto r = ops.Run("web", Parse(bad));
    EXPECT_TRUE(r.status().IsInvalidArgument()) << bad << ": " << r.status().ToString();
  }
  EXPECT_EQ(fake.shutdown_requests, asked);
  EXPECT_EQ(fake.GetDomain(uuid)->state, DomainState::kRunning);
  // A refused write names its writer too.
  ops.RecordRejected("web", "bogus", Status::InvalidArgument("unknown verb"), 77);
  EXPECT_THAT(ops.StatusText("web"), HasSubstr(" pid=77 state=failed"));
}

}  // namespace
}  // namespace rpfs::control
