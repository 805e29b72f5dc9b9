// libvirt VMs through the repository, against FakeHypervisor: import, points in time of a
// running domain, incremental RPs from checkpoints, memory state, rollback rules, and every
// error path leaving the store as it was.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "control/command.h"
#include "control/operations.h"
#include "fs/names.h"
#include "integration/repo_fixture.h"
#include "support/fake_hypervisor.h"
#include "support/run.h"
#include "support/status_matchers.h"
#include "util/clock.h"
#include "util/lock_file.h"

namespace rpfs::testing {
namespace {

using ::testing::HasSubstr;
using Fail = FakeHypervisor::Fail;

std::vector<std::string> CloneNames(Repository& repo, const std::string& vm) {
  std::vector<std::string> out;
  auto clones = repo.ListClones(vm);
  EXPECT_OK(clones);
  if (clones.ok()) {
    for (const auto& c : *clones) out.push_back(c.name);
  }
  return out;
}

constexpr uint64_t kDiskSize = 4ull << 20;
constexpr uint64_t kChunk = 64 * 1024;

class LibvirtVmTest : public RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    fake_ = std::make_unique<FakeHypervisor>(Path(""));
    repo_->SetHypervisorFactory(fake_->Factory());
    MakeSparseFile(Path("web.img"), kDiskSize);
    WriteAt(Path("web.img"), 0, PatternBytes(1, 1 << 20));
    uuid_ = fake_->AddDomain("web", {{"vda", Path("web.img")}});
  }
  void TearDown() override { repo_.reset(); }

  void Import() {
    auto vm = repo_->ImportVm(fake_->uri(), "web");
    ASSERT_OK(vm);
  }
  RpInfo Create(const std::string& rp, CreateOptions opts = {}) {
    auto info = repo_->CreateRp("web", rp, opts);
    EXPECT_OK(info);
    return info.ok() ? *info : RpInfo{};
  }

  // Everything a failed operation must leave as it was.
  struct Snapshot {
    std::vector<std::string> rps;
    std::string current;
    uint64_t chunks = 0;
    uint64_t pages = 0;
    bool operator==(const Snapshot&) const = default;
  };
  Snapshot State() {
    Snapshot s;
    auto rps = repo_->ListRps("web");
    if (rps.ok())
      for (const auto& r : *rps) s.rps.push_back(r.name);
    auto vm = repo_->GetVm("web");
    if (vm.ok()) s.current = vm->current_rp;
    auto sum = repo_->Summary();
    if (sum.ok()) {
      s.chunks = sum->chunk_count;
      s.pages = sum->page_count;
    }
    return s;
  }
  void ExpectVerifyClean() {
    auto v = repo_->Verify();
    ASSERT_OK(v);
    EXPECT_TRUE(v->ok()) << (v->problems.empty() ? "" : v->problems[0]);
  }

  std::unique_ptr<FakeHypervisor> fake_;
  std::string uuid_;
};

TEST_F(LibvirtVmTest, ImportTakesTheDisksFromTheDomain) {
  Import();
  auto vm = repo_->GetVm("web");
  ASSERT_OK(vm);
  EXPECT_EQ(vm->kind, "libvirt");
  EXPECT_EQ(vm->domain_uuid, uuid_);
  ASSERT_EQ(vm->disks.size(), 1u);
  EXPECT_EQ(vm->disks[0].name, "vda");
  EXPECT_EQ(vm->disks[0].path, Path("web.img"));
  auto state = repo_->VmState("web");
  ASSERT_OK(state);
  EXPECT_EQ(*state, "running");
  fake_->SetState(uuid_, DomainState::kShutOff);
  EXPECT_EQ(*repo_->VmState("web"), "shut off");
}

TEST_F(LibvirtVmTest, ImportErrorsNameTheDomainAndAddNothing) {
  auto missing = repo_->ImportVm(fake_->uri(), "nope");
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();
  EXPECT_THAT(missing.status().message(), HasSubstr("nope"));

  fake_->SetFail(Fail::kConnect);
  repo_->SetHypervisorFactory(fake_->Factory());  // drops the cached connection
  auto down = repo_->ImportVm(fake_->uri(), "web");
  EXPECT_FALSE(down.ok());
  EXPECT_THAT(down.status().message(), HasSubstr("cannot connect to libvirt"));
  fake_->SetFail(Fail::kNone);

  Import();
  auto twice = repo_->ImportVm(fake_->uri(), "web", "web-again");
  EXPECT_EQ(twice.status().code(), Status::Code::kAlreadyExists) << twice.status().ToString();
  auto vms = repo_->ListVms();
  ASSERT_OK(vms);
  EXPECT_EQ(vms->size(), 1u);
}

TEST_F(LibvirtVmTest, RunningDomainRpHoldsTheDisksAtTheInstantAndTheXml) {
  Import();
  auto at_instant = ReadAll(Path("web.img"));
  RpInfo rp = Create("one");
  fake_->Write(uuid_, "vda", 0, PatternBytes(9, kChunk));  // the guest writes on
  EXPECT_TRUE(Export("web", "one", "vda") == at_instant);
  EXPECT_TRUE(rp.has_domain_xml);
  EXPECT_EQ(rp.paused_us, 1234u);
  auto xml = repo_->DomainXmlById("web", rp.id);
  ASSERT_OK(xml);
  EXPECT_THAT(*xml, HasSubstr("<name>web</name>"));
  EXPECT_EQ(fake_->jobs_running(), 0);
}

// A disk pointed at another file since the last RP: the checkpoint's (empty) changed list
// says nothing about the new file; the RP reads it in full and holds its bytes.
TEST_F(LibvirtVmTest, ADiskMovedToAnotherFileIsReadInFull) {
  Import();
  Create("day1");
  MakeSparseFile(Path("other.img"), kDiskSize);
  WriteAt(Path("other.img"), 0, PatternBytes(9, 1 << 20));
  fake_->SetDiskPath(uuid_, "vda", Path("other.img"));
  RpInfo second = Create("day2");
  EXPECT_EQ(second.read_bytes, 1u << 20);
  EXPECT_TRUE(Export("web", "day2", "vda") == ReadAll(Path("other.img")));
  EXPECT_TRUE(Export("web", "day1", "vda") == ReadAll(Path("web.img")));
}

TEST_F(LibvirtVmTest, IncrementalRpReadsOnlyWhatChangedAndIsRight) {
  Import();
  RpInfo first = Create("day1");
  EXPECT_EQ(first.read_bytes, 1u << 20);
  EXPECT_EQ(fake_->Checkpoints(uuid_).size(), 1u);

  fake_->Write(uuid_, "vda", 3 * kChunk, PatternBytes(2, kChunk));
  fake_->Write(uuid_, "vda", 40 * kChunk + 100, PatternBytes(3, 10));  // into a hole
  auto day2_bytes = ReadAll(Path("web.img"));
  RpInfo second = Create("day2");
  EXPECT_EQ(second.read_bytes, 2 * kChunk);
  EXPECT_TRUE(Export("web", "day2", "vda") == day2_bytes);
  EXPECT_EQ(second.parent, "day1");
  // Only the newest checkpoint is kept.
  EXPECT_EQ(fake_->Checkpoints(uuid_).size(), 1u);

  // Zeros written over data make a hole in the new RP, not a copy of the old chunk.
  fake_->Write(uuid_, "vda", 0, std::vector<std::byte>(kChunk));
  auto day3_bytes = ReadAll(Path("web.img"));
  RpInfo third = Create("day3");
  EXPECT_EQ(third.read_bytes, kChunk);
  EXPECT_TRUE(Export("web", "day3", "vda") == day3_bytes);
  EXPECT_EQ(third.data_bytes, second.data_bytes - kChunk);
  ExpectVerifyClean();
}

TEST_F(LibvirtVmTest, UnusableCheckpointFallsBackToReadingEverything) {
  Import();
  Create("day1");
  fake_->Write(uuid_, "vda", 0, PatternBytes(4, kChunk));
  fake_->SetFail(Fail::kIncremental);
  auto want = ReadAll(Path("web.img"));
  RpInfo second = Create("day2");
  EXPECT_EQ(second.read_bytes, 1u << 20);
  EXPECT_TRUE(Export("web", "day2", "vda") == want);
}

TEST_F(LibvirtVmTest, RollbackIsRefusedWhileRunningAndResetsIncrementalReads) {
  Import();
  Create("day1");
  fake_->Write(uuid_, "vda", 0, PatternBytes(5, kChunk));
  Create("day2");
  auto running = repo_->Rollback("web", "day1", RollbackOptions{});
  EXPECT_TRUE(running.status().IsBusy()) << running.status().ToString();
  EXPECT_THAT(running.status().message(), HasSubstr("shut it off"));

  fake_->SetState(uuid_, DomainState::kShutOff);
  auto done = repo_->Rollback("web", "day1", RollbackOptions{});
  ASSERT_OK(done);
  EXPECT_TRUE(fake_->Checkpoints(uuid_).empty());
  EXPECT_TRUE(ReadAll(Path("web.img")) == Export("web", "day1", "vda"));

  // The next RP cannot trust any bitmap: it reads the whole disk.
  fake_->SetState(uuid_, DomainState::kRunning);
  RpInfo after = Create("day3");
  EXPECT_EQ(after.read_bytes, 1u << 20);
  EXPECT_EQ(after.parent, "day1");
}

TEST_F(LibvirtVmTest, MemoryStateIsStoredAndRestoredAfterRollback) {
  Import();
  auto memory = TextBytes(7, 3 << 20);
  fake_->SetMemory(memory);
  CreateOptions opts;
  opts.memory = true;
  RpInfo rp = Create("with-mem", opts);
  EXPECT_TRUE(rp.with_memory);
  EXPECT_EQ(rp.memory_bytes, memory.size());
  EXPECT_TRUE(Export("web", "with-mem", kMemoryStream) == memory);

  fake_->SetState(uuid_, DomainState::kShutOff);
  auto done = repo_->Rollback("web", "with-mem", RollbackOptions{});
  ASSERT_OK(done);
  EXPECT_TRUE(fake_->restored_memory == memory);
  EXPECT_THAT(fake_->restored_xml, HasSubstr("<name>web</name>"));
  EXPECT_EQ(*repo_->VmState("web"), "running");
}

TEST_F(LibvirtVmTest, ShutOffDomainIsReadFromItsFilesWithoutMemoryOrQuiesce) {
  Import();
  fake_->SetState(uuid_, DomainState::kShutOff);
  auto want = ReadAll(Path("web.img"));
  RpInfo rp = Create("cold");
  EXPECT_TRUE(Export("web", "cold", "vda") == want);
  EXPECT_TRUE(rp.has_domain_xml);
  CreateOptions mem;
  mem.memory = true;
  auto refused = repo_->CreateRp("web", "cold-mem", mem);
  EXPECT_TRUE(refused.status().IsInvalidArgument()) << refused.status().ToString();
  EXPECT_THAT(refused.status().message(), HasSubstr("no memory state"));
}

TEST_F(LibvirtVmTest, ImageFileVmsRefuseMemoryAndQuiesce) {
  MakeSparseFile(Path("plain.img"), kDiskSize);
  ASSERT_OK(repo_->AddVm("plain", {{"vda", Path("plain.img"), "raw"}}));
  CreateOptions opts;
  opts.quiesce = true;
  auto r = repo_->CreateRp("plain", "x", opts);
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_THAT(r.status().message(), HasSubstr("needs a libvirt domain"));
}

TEST_F(LibvirtVmTest, DeletingTheDomainKeepsItsRps) {
  Import();
  auto want = ReadAll(Path("web.img"));
  Create("day1");
  fake_->Undefine(uuid_);
  auto rps = repo_->ListRps("web");
  ASSERT_OK(rps);
  EXPECT_EQ(rps->size(), 1u);
  EXPECT_TRUE(Export("web", "day1", "vda") == want);
  auto state = repo_->VmState("web");
  EXPECT_TRUE(state.status().IsNotFound());
  EXPECT_THAT(state.status().message(), HasSubstr("no longer exists"));
}

// Every way libvirt can fail during a create: a clear error, and the store, the VM and
// the domain's checkpoints as they were.
TEST_F(LibvirtVmTest, EveryFailureDuringCreateLeavesTheStoreUnchanged) {
  Import();
  Create("day1");
  fake_->Write(uuid_, "vda", 0, PatternBytes(6, 2 * kChunk));
  const Snapshot before = State();
  const auto checkpoints = fake_->Checkpoints(uuid_);
  struct Case {
    Fail fail;
    CreateOptions opts;
    const char* message;
  };
  CreateOptions memory;
  memory.memory = true;
  CreateOptions quiesce;
  quiesce.quiesce = true;
  const std::vector<Case> cases = {
      {Fail::kGetDomain, {}, "stopped answering"},
      {Fail::kBegin, {}, "starting the backup job"},
      {Fail::kDiskVanishes, {}, "vda"},
      {Fail::kMemory, memory, "saving the memory state"},
      {Fail::kNone, quiesce, "guest agent"},
      {Fail::kUndefineAfterBegin, {}, "no longer exists"},
      {Fail::kConnect, {}, "cannot connect to libvirt"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    fake_->SetFail(c.fail);
    repo_->SetHypervisorFactory(fake_->Factory());
    auto r = repo_->CreateRp("web", "day2", c.opts);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.status().message(), HasSubstr(c.message));
    EXPECT_THAT(r.status().message(), HasSubstr("web/day2"));
    fake_->SetFail(Fail::kNone);
    EXPECT_TRUE(State() == before);
    EXPECT_EQ(fake_->jobs_running(), 0);
    if (c.fail == Fail::kUndefineAfterBegin) break;  // the domain is gone now
    EXPECT_EQ(fake_->Checkpoints(uuid_), checkpoints);
  }
  ExpectVerifyClean();
  // A reopen finds no transaction left behind.
  Reopen();
  EXPECT_TRUE(State() == before);
}

TEST_F(LibvirtVmTest, CreateOfAVanishedDomainIsNotFoundNamingTheVm) {
  Import();
  fake_->Undefine(uuid_);
  auto r = repo_->CreateRp("web", "x", CreateOptions{});
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("vm web"));
  auto rb = repo_->Rollback("web", "x", RollbackOptions{});
  EXPECT_TRUE(rb.status().IsNotFound());
}

TEST_F(LibvirtVmTest, FailedMemoryRestoreIsReportedAfterTheDisksAreBack) {
  Import();
  fake_->SetMemory(TextBytes(8, 1 << 20));
  CreateOptions opts;
  opts.memory = true;
  Create("mem", opts);
  auto want = Export("web", "mem", "vda");
  fake_->Write(uuid_, "vda", 0, PatternBytes(10, kChunk));
  fake_->SetState(uuid_, DomainState::kShutOff);
  fake_->SetFail(Fail::kRestore);
  auto r = repo_->Rollback("web", "mem", RollbackOptions{});
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("restoring the memory state"));
  EXPECT_TRUE(ReadAll(Path("web.img")) == want);
}

TEST_F(LibvirtVmTest, DefineCloneDomainGivesANewDomainTheClonesDisks) {
  Import();
  Create("day1");
  ASSERT_OK(repo_->CreateClone("web", "day1", "copy"));
  std::map<std::string, std::string> paths = {{"vda", "/mnt/rp/web/.clones/copy/vda.raw"}};
  auto uuid = repo_->DefineCloneDomain("web", "copy", "web-copy", paths);
  ASSERT_OK(uuid);
  auto dom = fake_->GetDomain("web-copy");
  ASSERT_OK(dom);
  EXPECT_EQ(dom->uuid, *uuid);
  EXPECT_NE(dom->uuid, uuid_);
  ASSERT_EQ(dom->disks.size(), 1u);
  EXPECT_EQ(dom->disks[0].path, paths["vda"]);

  auto taken = repo_->DefineCloneDomain("web", "copy", "web", paths);
  EXPECT_EQ(taken.status().code(), Status::Code::kAlreadyExists) << taken.status().ToString();
  auto no_clone = repo_->DefineCloneDomain("web", "nope", "web-x", paths);
  EXPECT_TRUE(no_clone.status().IsNotFound());
}

// `clone ... define` as the control file runs it: it needs the daemon's mount (with
// allow_other), gives the domain the mount's paths, and a failed define leaves no clone.
TEST_F(LibvirtVmTest, CloneDefineNeedsTheMountAndUndoesTheCloneOnFailure) {
  Import();
  Create("day1");
  control::Operations ops(repo_.get());
  auto cmd = control::ParseCommand("clone day1 copy define");
  ASSERT_OK(cmd);
  auto no_mount = ops.Run("web", *cmd);
  EXPECT_TRUE(no_mount.status().IsInvalidArgument());
  EXPECT_THAT(no_mount.status().message(), HasSubstr("needs the mount"));
  auto in_mount = [](const std::string& vm, const std::string& clone, const std::string& disk) {
    return "/mnt/rp/" + fs::CloneDiskPath(vm, clone, disk);
  };
  ops.SetMount(in_mount, /*allow_other=*/false);
  auto private_mount = ops.Run("web", *cmd);
  EXPECT_THAT(private_mount.status().message(), HasSubstr("allow_other"));
  EXPECT_TRUE(CloneNames(*repo_, "web").empty());

  ops.SetMount(in_mount, /*allow_other=*/true);
  auto done = ops.Run("web", *cmd);
  ASSERT_OK(done);
  EXPECT_THAT(done->summary, HasSubstr("virsh start copy"));
  auto dom = fake_->GetDomain("copy");
  ASSERT_OK(dom);
  EXPECT_EQ(dom->disks[0].path, "/mnt/rp/web/.clones/copy/vda.raw");

  auto taken = control::ParseCommand("clone day1 web define");  // a domain named web exists
  ASSERT_OK(taken);
  auto refused = ops.Run("web", *taken);
  EXPECT_EQ(refused.status().code(), Status::Code::kAlreadyExists);
  EXPECT_FALSE(repo_->GetClone("web", "web").ok()) << "the clone stayed after a failed define";
}

// --- rollback --stop / --start (issue 19, docs/restore.md) -------------------------------

RollbackOptions StopStart(uint32_t timeout_s, bool force = false, bool start = true) {
  RollbackOptions opts;
  opts.stop = true;
  opts.stop_timeout_s = timeout_s;
  opts.force = force;
  opts.start = start;
  return opts;
}

std::string StepsOf(const RollbackResult& r) {
  std::string out;
  for (const auto& s : r.steps) out += s.what + "\n";
  return out;
}

TEST_F(LibvirtVmTest, StopStartShutsTheGuestDownRollsBackAndBootsIt) {
  Import();
  Create("day1");
  fake_->Write(uuid_, "vda", 0, PatternBytes(5, kChunk));
  std::vector<std::string> told;
  RollbackOptions opts = StopStart(30);
  opts.on_step = [&](const std::string& what) { told.push_back(what); };
  auto done = repo_->Rollback("web", "day1", opts);
  ASSERT_OK(done);
  EXPECT_TRUE(ReadAll(Path("web.img")) == Export("web", "day1", "vda"));
  EXPECT_EQ(fake_->shutdown_requests, 1);
  EXPECT_EQ(fake_->destroys, 0);
  EXPECT_EQ(fake_->starts, 1);
  EXPECT_EQ(*repo_->VmState("web"), "running");
  ASSERT_EQ(done->steps.size(), 4u) << StepsOf(*done);
  EXPECT_THAT(done->steps[0].what, HasSubstr("asked the guest to shut down (ACPI)"));
  EXPECT_THAT(done->steps[1].what, HasSubstr("the guest shut down after"));
  EXPECT_EQ(done->steps[2].what, "rolling back the disks");
  EXPECT_EQ(done->steps[3].what, "starting the domain");
  EXPECT_LE(done->steps[0].time_us, done->steps[3].time_us);
  EXPECT_EQ(told.size(), done->steps.size());
}

TEST_F(LibvirtVmTest, AGuestThatIgnoresTheRequestIsBusyAfterTheTimeoutAndNothingChanges) {
  Import();
  Create("day1");
  fake_->Write(uuid_, "vda", 0, PatternBytes(5, kChunk));
  const auto disk = ReadAll(Path("web.img"));
  const Snapshot before = State();
  fake_->obeys_shutdown = false;
  auto r = repo_->Rollback("web", "day1", StopStart(1));
  EXPECT_TRUE(r.status().IsBusy()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("did not shut down within 1 s"));
  EXPECT_THAT(r.status().message(), HasSubstr("--force"));
  EXPECT_EQ(*repo_->VmState("web"), "running");
  EXPECT_TRUE(ReadAll(Path("web.img")) == disk);
  EXPECT_TRUE(State() == before);
  EXPECT_EQ(fake_->destroys, 0);
  EXPECT_EQ(fake_->starts, 0);
}

TEST_F(LibvirtVmTest, ForceDestroysAGuestThatDidNotShutDownInTime) {
  Import();
  Create("day1");
  fake_->Write(uuid_, "vda", 0, PatternBytes(5, kChunk));
  fake_->obeys_shutdown = false;
  auto done = repo_->Rollback("web", "day1", StopStart(0, /*force=*/true, /*start=*/false));
  ASSERT_OK(done);
  EXPECT_EQ(fake_->destroys, 1);
  EXPECT_EQ(fake_->starts, 0);
  EXPECT_EQ(*repo_->VmState("web"), "shut off");
  EXPECT_THAT(StepsOf(*done), HasSubstr("did not shut down within 0 s"));
  EXPECT_THAT(StepsOf(*done), HasSubstr("destroying the domain (--force)"));
  EXPECT_TRUE(ReadAll(Path("web.img")) == Export("web", "day1", "vda"));
}

TEST_F(LibvirtVmTest, APausedDomainIsBusyUnlessForced) {
  Import();
  Create("day1");
  fake_->SetState(uuid_, DomainState::kPaused);
  auto r = repo_->Rollback("web", "day1", StopStart(5));
  EXPECT_TRUE(r.status().IsBusy()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("is paused"));
  EXPECT_EQ(fake_->shutdown_requests, 0);
  EXPECT_EQ(*repo_->VmState("web"), "paused");
  ASSERT_OK(repo_->Rollback("web", "day1", StopStart(5, /*force=*/true)));
  EXPECT_EQ(fake_->destroys, 1);
  EXPECT_EQ(*repo_->VmState("web"), "running");
}

TEST_F(LibvirtVmTest, AShutOffDomainIsOnlyStartedAndStopAloneLeavesItOff) {
  Import();
  Create("day1");
  fake_->SetState(uuid_, DomainState::kShutOff);
  auto done = repo_->Rollback("web", "day1", StopStart(5));
  ASSERT_OK(done);
  EXPECT_EQ(fake_->shutdown_requests, 0);
  EXPECT_EQ(fake_->starts, 1);
  fake_->SetState(uuid_, DomainState::kRunning);
  ASSERT_OK(repo_->Rollback("web", "day1", StopStart(5, false, /*start=*/false)));
  EXPECT_EQ(fake_->starts, 1);
  EXPECT_EQ(*repo_->VmState("web"), "shut off");
}

TEST_F(LibvirtVmTest, AFailureBeforeAnyWriteStartsTheStoppedGuestAgain) {
  Import();
  Create("day1");
  fake_->Write(uuid_, "vda", 0, PatternBytes(5, kChunk));
  const auto disk = ReadAll(Path("web.img"));
  // The image cannot be opened for the rollback: nothing is written.
  std::filesystem::rename(Path("web.img"), Path("web.away"));
  auto r = repo_->Rollback("web", "day1", StopStart(5, false, /*start=*/false));
  std::filesystem::rename(Path("web.away"), Path("web.img"));
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("the domain was started again, unchanged"));
  EXPECT_EQ(fake_->shutdown_requests, 1);
  EXPECT_EQ(fake_->starts, 1);
  EXPECT_EQ(*repo_->VmState("web"), "running");
  EXPECT_TRUE(ReadAll(Path("web.img")) == disk);
  // A start that fails is said too.
  fake_->SetFail(Fail::kStart);
  std::filesystem::rename(Path("web.img"), Path("web.away"));
  r = repo_->Rollback("web", "day1", StopStart(5));
  std::filesystem::rename(Path("web.away"), Path("web.img"));
  EXPECT_THAT(r.status().message(), HasSubstr("starting the domain again failed"));
  EXPECT_EQ(*repo_->VmState("web"), "shut off");
}

TEST_F(LibvirtVmTest, StartAfterAnRpWithMemoryResumesFromItWithoutABoot) {
  Import();
  fake_->SetMemory(TextBytes(9, 1 << 20));
  CreateOptions opts;
  opts.memory = true;
  Create("mem", opts);
  auto done = repo_->Rollback("web", "mem", StopStart(5));
  ASSERT_OK(done);
  EXPECT_EQ(fake_->starts, 0);
  EXPECT_FALSE(fake_->restored_memory.empty());
  EXPECT_THAT(StepsOf(*done), HasSubstr("runs again from the RP's memory state"));
}

TEST_F(LibvirtVmTest, StopAndStartAreRefusedForImageFileVmsAndMissingRps) {
  MakeSparseFile(Path("plain.img"), kDiskSize);
  ASSERT_OK(repo_->AddVm("plain", {{"vda", Path("plain.img"), "raw"}}));
  ASSERT_OK(repo_->CreateRp("plain", "p1", CreateOptions{}));
  auto r = repo_->Rollback("plain", "p1", StopStart(5));
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("needs a libvirt domain"));
  Import();
  auto missing = repo_->Rollback("web", "nosuch", StopStart(5));
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();
  EXPECT_EQ(fake_->shutdown_requests, 0) << "the guest must not be stopped for a wrong name";
}

// --- rollback guided by the checkpoint's bitmap (issue 16, docs/libvirt.md) ---------------

// A domain "db" on a qcow2 disk: the fake keeps its checkpoints as bitmaps in the file, and
// the test writes it with qemu-io, which records each write there as a running qemu would.
class Qcow2RollbackTest : public LibvirtVmTest {
 protected:
  void SetUp() override {
    LibvirtVmTest::SetUp();
    if (RunCommand({"qemu-io", "--version"}).exit_code != 0) {
      GTEST_SKIP() << "qemu-io is not installed (scripts/install-deps.sh installs qemu-utils)";
    }
    disk_ = Path("db.qcow2");
    ASSERT_EQ(RunCommand({"qemu-img", "create", "-q", "-f", "qcow2", disk_, "4M"}).exit_code, 0);
    Io("write -P 1 0 1M");
    db_ = fake_->AddDomain("db", {{"vda", disk_}});
    ASSERT_OK(repo_->ImportVm(fake_->uri(), "db"));
  }
  void Io(const std::string& command) {
    ASSERT_EQ(RunCommand({"qemu-io", "-c", command, disk_}).exit_code, 0) << command;
  }
  void Take(const std::string& rp) {
    fake_->SetState(db_, DomainState::kRunning);
    ASSERT_OK(repo_->CreateRp("db", rp, CreateOptions{}));
  }
  Result<RollbackResult> RollBack(const std::string& rp, bool keep = false) {
    fake_->SetState(db_, DomainState::kShutOff);
    RollbackOptions o;
    o.keep_current = keep;
    return repo_->Rollback("db", rp, o);
  }
  std::vector<std::byte> Guest() {  // what the guest sees of the disk now
    std::string raw = Path("guest.raw");
    EXPECT_EQ(RunCommand({"qemu-img", "convert", "-O", "raw", disk_, raw}).exit_code, 0);
    auto bytes = ReadAll(raw);
    ::unlink(raw.c_str());
    return bytes;
  }
  std::string disk_;
  std::string db_;
};

TEST_F(Qcow2RollbackTest, OnlyWhatTheBitmapMarksIsReadAndTheDiskEqualsTheRp) {
  Take("day1");
  Io("write -P 2 1M 128k");  // chunks 16, 17
  Take("day2");              // incremental: the bitmap of day1's checkpoint
  Io("write -P 3 64k 64k");  // chunk 1 (data in day2)
  Io("write -P 4 3M 64k");   // chunk 48 (a hole in day2)
  auto before = Guest();
  auto r = RollBack("day2", /*keep=*/true);
  ASSERT_OK(r);
  EXPECT_TRUE(Guest() == Export("db", "day2", "vda"));
  // Read and compared: the two chunks the bitmap marks; the 17 other data chunks of day2
  // are judged from the checkpoint's RP (day2 itself) without a read.
  EXPECT_EQ(r->chunks_compared, 2u);
  EXPECT_EQ(r->chunks_known, 17u);
  EXPECT_EQ(r->chunks_written, 2u);
  // The undo RP holds the state before, whole.
  ASSERT_FALSE(r->undo_rp.empty());
  EXPECT_TRUE(Export("db", r->undo_rp, "vda") == before);
}

TEST_F(Qcow2RollbackTest, ToAnOlderRpTheChunksThatDifferFromTheCheckpointsRpAreWrittenUnread) {
  Take("day1");
  Io("write -P 2 1M 128k");  // chunks 16, 17: not in day1
  Take("day2");
  Io("write -P 5 2M 64k");  // chunk 32, after day2
  auto r = RollBack("day1");
  ASSERT_OK(r);
  EXPECT_TRUE(Guest() == Export("db", "day1", "vda"));
  EXPECT_EQ(r->chunks_compared, 1u);  // chunk 32, the only one the bitmap marks
  EXPECT_EQ(r->chunks_written, 3u);   // 16 and 17 (day2's, unread) and 32
  // The rollback dropped the checkpoint: the next one compares everything again.
  Io("write -P 6 0 64k");
  r = RollBack("day1");
  ASSERT_OK(r);
  EXPECT_EQ(r->chunks_known, 0u);
  EXPECT_EQ(r->chunks_compared, 16u);
  EXPECT_TRUE(Guest() == Export("db", "day1", "vda"));
}

TEST_F(Qcow2RollbackTest, ABitmapLeftInUseByAKilledQemuIsNotTrusted) {
  Take("day1");
  Io("write -P 2 1M 64k");
  // A qemu that had the image open for writing and was killed (kill -9): its bitmaps stay
  // marked in use and do not hold its writes.
  std::string pid_file = Path("nbd.pid");
  ASSERT_EQ(RunCommand({"qemu-nbd", "--fork", "--pid-file", pid_file, "-k", Path("nbd.sock"), "-f",
                        "qcow2", disk_})
                .exit_code,
            0);
  int pid = 0;
  std::ifstream(pid_file) >> pid;
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  // Not our child: wait until it is gone or a zombie, its image locks released (polled,
  // with a deadline: the kernel gives no signal to a non-parent).
  auto dead = [pid] {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_field, comm, state;
    return !(stat >> pid_field >> comm >> state) || state == "Z";
  };
  const int64_t deadline = MonotonicMicros() + 5'000'000;
  while (!dead() && MonotonicMicros() < deadline) ::usleep(10000);
  ASSERT_TRUE(dead()) << "qemu-nbd " << pid << " still runs 5 s after SIGKILL";
  auto r = RollBack("day1");
  ASSERT_OK(r);
  EXPECT_EQ(r->chunks_known, 0u);
  EXPECT_EQ(r->chunks_compared, 17u);  // every data chunk of the image, as without a bitmap
  EXPECT_TRUE(Guest() == Export("db", "day1", "vda"));
}

// --- restore drills (issue 19, docs/restore.md) --------------------------------------------

// The fake boots a disk whose sector 0 ends in 0x55 0xaa, and then prints console_output.
void WriteBootSignature(const std::string& image) {
  std::vector<std::byte> sig = {std::byte{0x55}, std::byte{0xaa}};
  WriteAt(image, 510, sig);
}

DrillOptions Expect(const std::string& text, uint32_t timeout_s = 5) {
  DrillOptions o;
  o.expect = text;
  o.timeout_s = timeout_s;
  return o;
}

size_t DomainCount(FakeHypervisor& fake) {
  auto all = fake.ListDomains();
  return all.ok() ? all->size() : 0;
}

TEST_F(LibvirtVmTest, ADrillBootsAnIsolatedCloneDecidesAndLeavesNothing) {
  WriteBootSignature(Path("web.img"));
  Import();
  Create("day1");
  fake_->console_output = "booting...\nlogin: ";
  std::vector<std::string> steps;
  DrillOptions opts = Expect("login:");
  opts.on_step = [&](const std::string& s) { steps.push_back(s); };
  auto r = repo_->Drill("web", "day1", opts);
  ASSERT_OK(r);
  EXPECT_TRUE(r->ok) << r->reason;
  EXPECT_EQ(r->reason, "the serial console showed \"login:\"");
  EXPECT_THAT(r->console, HasSubstr("login: "));
  EXPECT_THAT(r->clone, ::testing::StartsWith("rpfs-drill-"));
  // It booted the clone's own (hydrated) file, not the VM's disk.
  ASSERT_EQ(fake_->drill_disks.count("vda"), 1u);
  EXPECT_NE(fake_->drill_disks["vda"], Path("web.img"));
  EXPECT_THAT(fake_->drill_disks["vda"], HasSubstr(r->clone));
  // Nothing is left: the domain is gone, the clone too.
  EXPECT_EQ(DomainCount(*fake_), 1u);
  EXPECT_TRUE(CloneNames(*repo_, "web").empty());
  EXPECT_GE(fake_->destroys, 1);
  EXPECT_THAT(steps.back(), "destroyed the domain and deleted the clone");
  // The outcome is kept with the RP.
  auto info = repo_->GetRp("web", "day1");
  ASSERT_OK(info);
  EXPECT_TRUE(info->drill_ok);
  EXPECT_EQ(info->drill_time_us, r->time_us);
  EXPECT_THAT(FormatRpInfo(*info, 0), HasSubstr("drill: ok at "));
  ExpectVerifyClean();
}

TEST_F(LibvirtVmTest, ADrillOfAnRpThatDoesNotBootFailsWithTheReasonAndLeavesNothing) {
  Import();  // web.img has no boot sector
  Create("day1");
  fake_->console_output = "login: ";
  auto r = repo_->Drill("web", "day1", Expect("login:", 1));
  ASSERT_OK(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->reason, "the serial console did not show \"login:\" within 1 s");
  EXPECT_EQ(DomainCount(*fake_), 1u);
  EXPECT_TRUE(CloneNames(*repo_, "web").empty());
  auto info = repo_->GetRp("web", "day1");
  ASSERT_OK(info);
  EXPECT_FALSE(info->drill_ok);
  EXPECT_THAT(FormatRpInfo(*info, 0), HasSubstr("drill: failed at "));
  EXPECT_THAT(FormatRpInfo(*info, 0), HasSubstr("did not show"));
  // A domain that does not even start: failed too, with libvirt's reason.
  WriteBootSignature(Path("web.img"));
  Create("day2");
  fake_->SetFail(Fail::kStart);
  r = repo_->Drill("web", "day2", Expect("login:", 1));
  fake_->SetFail(Fail::kNone);
  ASSERT_OK(r);
  EXPECT_FALSE(r->ok);
  EXPECT_THAT(r->reason, HasSubstr("the domain did not start"));
  EXPECT_TRUE(CloneNames(*repo_, "web").empty());
}

TEST_F(LibvirtVmTest, WithoutExpectTheGuestAgentMustAnswer) {
  WriteBootSignature(Path("web.img"));
  Import();
  Create("no-agent");
  // A domain never given an agent channel: refused at once, nothing recorded.
  auto refused = repo_->Drill("web", "no-agent", Expect("", 1));
  EXPECT_TRUE(refused.status().IsInvalidArgument()) << refused.status().ToString();
  EXPECT_THAT(refused.status().message(), HasSubstr("give --expect"));
  EXPECT_EQ(repo_->GetRp("web", "no-agent")->drill_time_us, 0);
  EXPECT_TRUE(CloneNames(*repo_, "web").empty());
  fake_->has_agent = true;
  Create("day1");            // its definition has the channel
  fake_->has_agent = false;  // ...but nothing answers in the booted guest
  auto r = repo_->Drill("web", "day1", Expect("", 1));
  ASSERT_OK(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->reason, "the guest agent did not answer within 1 s");
  fake_->has_agent = true;
  r = repo_->Drill("web", "day1", Expect("", 1));
  ASSERT_OK(r);
  EXPECT_TRUE(r->ok) << r->reason;
  EXPECT_EQ(r->reason, "the guest agent answered");
}

DrillOptions Exec(const std::string& command, uint32_t timeout_s = 1) {
  DrillOptions o = Expect("", timeout_s);
  o.exec = command;
  return o;
}

GuestExecResult Exited(int code, std::string out = "", std::string err = "") {
  GuestExecResult r;
  r.exited = true;
  r.exit_code = code;
  r.out = std::move(out);
  r.err = std::move(err);
  return r;
}

TEST_F(LibvirtVmTest, DrillExecRunsTheCommandThroughTheAgentAndItsExitCodeDecides) {
  WriteBootSignature(Path("web.img"));
  fake_->has_agent = true;
  Import();
  Create("day1");
  fake_->exec_result = Exited(0, "ready\n");
  auto r = repo_->Drill("web", "day1", Exec("systemctl is-system-running"));
  ASSERT_OK(r);
  EXPECT_TRUE(r->ok) << r->reason;
  EXPECT_EQ(r->reason, "the guest agent answered; then `systemctl is-system-running` exited 0");
  EXPECT_THAT(fake_->exec_argv,
              ::testing::ElementsAre("/bin/sh", "-c", "systemctl is-system-running"));
  EXPECT_THAT(r->exec_output, HasSubstr("ready"));
  EXPECT_TRUE(repo_->GetRp("web", "day1")->drill_ok);

  // A command that fails fails the drill, with its code and what it said.
  fake_->exec_result = Exited(3, "", "pg_isready: no response\n");
  r = repo_->Drill("web", "day1", Exec("pg_isready"));
  ASSERT_OK(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->reason,
            "the guest agent answered; then `pg_isready` exited 3: pg_isready: no response");
  auto info = repo_->GetRp("web", "day1");
  ASSERT_OK(info);
  EXPECT_FALSE(info->drill_ok);
  EXPECT_THAT(info->drill_reason, HasSubstr("exited 3"));

  // Still running at the deadline, or killed: failed too.
  fake_->exec_result = GuestExecResult();
  r = repo_->Drill("web", "day1", Exec("sleep 600"));
  ASSERT_OK(r);
  EXPECT_FALSE(r->ok);
  EXPECT_THAT(r->reason, HasSubstr("`sleep 600` did not finish within 1 s"));
  fake_->exec_result = Exited(0);
  fake_->exec_result.signal = 9;
  r = repo_->Drill("web", "day1", Exec("big-job"));
  ASSERT_OK(r);
  EXPECT_FALSE(r->ok);
  EXPECT_THAT(r->reason, HasSubstr("`big-job` was killed by signal 9"));
  // Every one left nothing behind.
  EXPECT_EQ(DomainCount(*fake_), 1u);
  EXPECT_TRUE(CloneNames(*repo_, "web").empty());
}

TEST_F(LibvirtVmTest, DrillExecNeedsAnAgentThatAnswers) {
  WriteBootSignature(Path("web.img"));
  fake_->console_output = "login: ";
  Import();
  Create("no-agent");
  // No agent channel in the RP's domain: refused before anything runs.
  DrillOptions opts = Exec("true");
  opts.expect = "login:";
  auto refused = repo_->Drill("web", "no-agent", opts);
  EXPECT_TRUE(refused.status().IsInvalidArgument()) << refused.status().ToString();
  EXPECT_THAT(refused.status().message(), HasSubstr("--exec runs its command through the guest"));
  EXPECT_EQ(repo_->GetRp("web", "no-agent")->drill_time_us, 0);
  EXPECT_TRUE(CloneNames(*repo_, "web").empty());
  // A channel, but no agent answers after the console showed the text: failed, and why.
  fake_->has_agent = true;
  Create("day1");
  fake_->has_agent = false;
  auto r = repo_->Drill("web", "day1", opts);
  ASSERT_OK(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->reason,
            "the serial console showed \"login:\"; then its guest agent did not answer within "
            "1 s to run `true`");
  EXPECT_TRUE(fake_->exec_argv.empty());
  EXPECT_TRUE(CloneNames(*repo_, "web").empty());
}

TEST_F(LibvirtVmTest, DrillExecStopsWaitingForTheAgentWhenTheDomainStops) {
  WriteBootSignature(Path("web.img"));
  fake_->console_output = "login: ";
  fake_->has_agent = true;
  Import();
  Create("day1");
  fake_->has_agent = false;  // the console shows the text, the agent never answers...
  // ...and the guest powers off meanwhile (from another thread: the drill waits).
  std::atomic<bool> done{false};
  std::thread guest([&] {
    while (!done) {
      auto all = fake_->ListDomains();
      for (const auto& d : all.ok() ? *all : std::vector<DomainInfo>{}) {
        if (d.name.rfind("rpfs-drill-", 0) == 0 && d.state == DomainState::kRunning) {
          fake_->SetState(d.uuid, DomainState::kShutOff);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  DrillOptions opts = Exec("true", 30);
  opts.expect = "login:";
  const int64_t started = MonotonicMicros();
  auto r = repo_->Drill("web", "day1", opts);
  done = true;
  guest.join();
  ASSERT_OK(r);
  EXPECT_FALSE(r->ok);
  EXPECT_THAT(r->reason, HasSubstr("the domain stopped before its guest agent could run `true`"));
  EXPECT_LT(MonotonicMicros() - started, 20'000'000);  // not the whole 30 s timeout
  EXPECT_TRUE(CloneNames(*repo_, "web").empty());
}

TEST_F(LibvirtVmTest, DrillCloneNamesAreReservedAndALeftoverAlreadyGoneIsFine) {
  Import();
  Create("day1");
  control::Operations ops(repo_.get());
  auto c = ops.Run("web", *control::ParseCommand("clone day1 rpfs-drill-mine"));
  EXPECT_TRUE(c.status().IsInvalidArgument()) << c.status().ToString();
  EXPECT_THAT(c.status().message(), HasSubstr("kept for restore drills"));
  EXPECT_TRUE(CloneNames(*repo_, "web").empty());
}

TEST_F(LibvirtVmTest, WithAMountTheDrillReadsTheCloneThroughItUnhydrated) {
  WriteBootSignature(Path("web.img"));
  Import();
  Create("day1");
  fake_->console_output = "up";
  DrillOptions opts = Expect("up", 1);
  opts.disk_path = [](const std::string& clone, const std::string& disk) {
    return "/mnt/web/.clones/" + clone + "/" + disk + ".raw";
  };
  auto r = repo_->Drill("web", "day1", opts);
  ASSERT_OK(r);
  EXPECT_EQ(fake_->drill_disks["vda"], "/mnt/web/.clones/" + r->clone + "/vda.raw");
  // (The fake cannot read that path: no boot sector, so it failed; the paths are the point.)
  EXPECT_FALSE(r->ok);
}

TEST_F(LibvirtVmTest, ClonesOfDeadDrillsAreRemovedAndRunningOnesKept) {
  Import();
  Create("day1");
  ASSERT_OK(repo_->CreateClone("web", "day1", "rpfs-drill-dead0001"));
  ASSERT_OK(repo_->CreateClone("web", "day1", "rpfs-drill-live0001"));
  ASSERT_OK(repo_->CreateClone("web", "day1", "mine"));
  std::filesystem::create_directories(store() + "/drills");
  auto held = LockFile::Acquire(store() + "/drills/rpfs-drill-live0001.lock", "drill");
  ASSERT_OK(held);
  auto n = repo_->CleanDrillLeftovers();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1u);
  EXPECT_THAT(CloneNames(*repo_, "web"),
              ::testing::UnorderedElementsAre("rpfs-drill-live0001", "mine"));
}

TEST_F(LibvirtVmTest, DrillsNeedALibvirtRpAndAnExistingOne) {
  MakeSparseFile(Path("plain.img"), kDiskSize);
  ASSERT_OK(repo_->AddVm("plain", {{"vda", Path("plain.img"), "raw"}}));
  ASSERT_OK(repo_->CreateRp("plain", "p1", CreateOptions{}));
  auto r = repo_->Drill("plain", "p1", Expect("x"));
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("made of image files"));
  Import();
  EXPECT_TRUE(repo_->Drill("web", "nosuch", Expect("x")).status().IsNotFound());
  EXPECT_TRUE(CloneNames(*repo_, "").empty());
}

}  // namespace
}  // namespace rpfs::testing
