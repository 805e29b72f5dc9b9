// The rpfs command line: normal use, output formats and exit codes.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "cli_fixture.h"

namespace rpfs::testing {
namespace {

TEST_F(CliTest, CreateListInfoExportRoundTrip) {
  InitWithVm();
  auto r = R({"create", "vm", "day1", "--description", "before upgrade"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("created vm/day1"), std::string::npos) << r.out;
  auto day1 = ReadAll(img_);
  WriteAt(img_, 1 << 20, PatternBytes(9, 1 << 20));
  ASSERT_EQ(R({"create", "vm", "day2"}).exit_code, 0);

  r = R({"list", "vm", "--json"});
  ASSERT_EQ(r.exit_code, 0);
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["name"], "day1");
  EXPECT_EQ(j[0]["description"], "before upgrade");
  EXPECT_EQ(j[1]["parent"], "day1");
  EXPECT_EQ(j[1]["current"], true);

  r = R({"list", "--tree"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("`- day2"), std::string::npos) << r.out;

  r = R({"info", "vm", "day1"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("name: day1\n"), std::string::npos);
  EXPECT_NE(r.out.find("disks: vda=33554432\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unique_bytes: "), std::string::npos);

  std::string out = dir_ / "day1.raw";
  ASSERT_EQ(R({"export", "vm", "day1", "vda", "-o", out}).exit_code, 0);
  EXPECT_TRUE(ReadAll(out) == day1);
  // The export is sparse: far fewer blocks than its size.
  struct stat st;
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 16u << 20);

  // Export to a pipe (stdout) writes every byte, holes as zeros.
  auto piped = RunCommand(
      {"sh", "-c",
       RpfsBinary() + " --store " + store() + " export vm day2 vda -o - | cmp - " + img_});
  EXPECT_EQ(piped.exit_code, 0) << piped.out << piped.err;
}

TEST_F(CliTest, DuReportsSizesAndRatios) {
  InitWithVm();
  ASSERT_EQ(R({"create", "vm", "a"}).exit_code, 0);
  ASSERT_EQ(R({"create", "vm", "b"}).exit_code, 0);  // unchanged: adds nothing
  auto r = R({"du", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  const auto& rps = j["vms"][0]["rps"];
  ASSERT_EQ(rps.size(), 2u);
  EXPECT_EQ(rps[0]["logical_bytes"], 32u << 20);
  EXPECT_EQ(rps[0]["data_bytes"], 8u << 20);
  EXPECT_EQ(rps[1]["added_bytes"], 0);
  EXPECT_EQ(rps[0]["unique_bytes"], 0);  // a and b share everything
  EXPECT_GT(j["store"]["compression_ratio"].get<double>(), 1.2);
  EXPECT_NEAR(j["store"]["dedup_ratio"].get<double>(), 2.0, 0.01);
  r = R({"du"});
  EXPECT_NE(r.out.find("dedup 2.00x"), std::string::npos) << r.out;
}

TEST_F(CliTest, DeleteDryRunPredictsAndDeleteFrees) {
  InitWithVm();
  ASSERT_EQ(R({"create", "vm", "a"}).exit_code, 0);
  WriteAt(img_, 5 << 20, PatternBytes(5, 2 << 20));
  ASSERT_EQ(R({"create", "vm", "b"}).exit_code, 0);
  auto dry = R({"delete", "vm", "b", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0);
  EXPECT_NE(dry.out.find("would delete 1"), std::string::npos);
  auto state = State();
  EXPECT_EQ(State(), state);  // dry run changed nothing
  auto del = R({"delete", "vm", "--all"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_NE(del.out.find("deleted 2 recovery point(s)"), std::string::npos);
  auto list = R({"list", "vm", "--json"});
  EXPECT_EQ(nlohmann::json::parse(list.out).size(), 0u);
  ASSERT_EQ(R({"vm", "remove", "vm"}).exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(R({"vm", "list", "--json"}).out).size(), 0u);
}

// Issue 13: `rpfs delete v a a a` reported three RPs deleted when one existed.
TEST_F(CliTest, DeleteCountsAnRpNamedSeveralTimesOnce) {
  InitWithVm();
  ASSERT_EQ(R({"create", "vm", "a"}).exit_code, 0);
  ASSERT_EQ(R({"create", "vm", "b"}).exit_code, 0);
  auto dry = R({"delete", "vm", "a", "a", "a", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("would delete 1 recovery point(s)"), std::string::npos) << dry.out;
  auto del = R({"delete", "vm", "a", "a", "a"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_NE(del.out.find("deleted 1 recovery point(s) of vm"), std::string::npos) << del.out;
  auto list = nlohmann::json::parse(R({"list", "vm", "--json"}).out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "b");
}

TEST_F(CliTest, UsageErrorsExitWithTwo) {
  EXPECT_EQ(R({}).exit_code, 2);
  EXPECT_EQ(R({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(R({"create", "vm"}).exit_code, 2);
  EXPECT_EQ(R({"list", "--bogus"}).exit_code, 2);
  InitWithVm();
  ExpectError(R({"delete", "vm"}), 2, {"give either RP names or --all"});
  ExpectError(R({"vm", "add", "x", "--disk", "novalue"}), 2, {"--disk wants NAME=PATH"});
  EXPECT_EQ(R({"--help"}).exit_code, 0);
  EXPECT_EQ(R({"create", "--help"}).exit_code, 0);
}

// The conventions of a system tool: --version, `help [verb]`, an unknown verb named, and
// rpfs's own options after the verb.
TEST_F(CliTest, VersionHelpUnknownVerbAndOptionsAfterTheVerb) {
  RunResult version = RunCommand({RpfsBinary(), "--version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_EQ(version.out.rfind("rpfs 0.", 0), 0u) << version.out;
  for (const char* lib : {"RocksDB 7.", "zstd 1.", "libfuse 3.", "libvirt "}) {
    EXPECT_NE(version.out.find(lib), std::string::npos) << lib << " in " << version.out;
  }

  RunResult help = RunCommand({RpfsBinary(), "help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Usage: rpfs [OPTIONS] SUBCOMMAND"), std::string::npos) << help.out;
  RunResult create_help = RunCommand({RpfsBinary(), "help", "create"});
  EXPECT_EQ(create_help.exit_code, 0);
  EXPECT_EQ(create_help.out, RunCommand({RpfsBinary(), "create", "--help"}).out);
  EXPECT_NE(create_help.out.find("Take a recovery point of a VM"), std::string::npos);
  EXPECT_NE(RunCommand({RpfsBinary(), "help", "vm", "add"}).out.find("Usage: rpfs vm add"),
            std::string::npos);

  RunResult bogus = RunCommand({RpfsBinary(), "--store", store(), "bogus", "x"});
  EXPECT_EQ(bogus.exit_code, 2);
  EXPECT_NE(bogus.err.find("rpfs: unknown command 'bogus'; the commands are: init, verify"),
            std::string::npos)
      << bogus.err;

  // --store after the verb, and after a verb of a group.
  ASSERT_EQ(RunCommand({RpfsBinary(), "init", "--store", store()}).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(store()));
  RunResult vms = RunCommand({RpfsBinary(), "vm", "list", "--json", "--store", store()});
  EXPECT_EQ(vms.exit_code, 0) << vms.err;
  EXPECT_EQ(vms.out, "[]\n");
}

TEST_F(CliTest, RenameThroughCli) {
  InitWithVm();
  ASSERT_EQ(R({"create", "vm", "a"}).exit_code, 0);
  ASSERT_EQ(R({"create", "vm", "b"}).exit_code, 0);
  ASSERT_EQ(R({"rename", "vm", "a", "first"}).exit_code, 0);
  ExpectError(R({"rename", "vm", "first", "b"}), 4, {"rp vm/b already exists"});
  ExpectError(R({"info", "vm", "a"}), 3, {"rp vm/a does not exist"});
  EXPECT_EQ(R({"info", "vm", "first"}).exit_code, 0);
}

}  // namespace
}  // namespace rpfs::testing

namespace rpfs::testing {
namespace {

TEST_F(CliTest, VerifyFailsAndNamesTheRpWhenStoredDataIsDamaged) {
  InitWithVm();
  WriteAt(img_, 0, PatternBytes(3, 8 << 20));  // incompressible: stored raw in blob files
  ASSERT_EQ(R({"create", "vm", "daily"}).exit_code, 0);
  EXPECT_EQ(R({"verify"}).exit_code, 0);
  ASSERT_TRUE(FlipByteInLargestBlob(store()));
  auto v = R({"verify"});
  ExpectError(v, 7, {"damaged rp: vm/daily: disk vda: chunk "});
  EXPECT_NE(v.out.find("DAMAGED"), std::string::npos) << v.out;
  std::string out = dir_ / "daily.raw";
  // A read that meets the damaged chunk is an I/O error (1), as EIO through the mount.
  ExpectError(R({"export", "vm", "daily", "vda", "-o", out}), 1, {"chunk", "is damaged"});
  EXPECT_FALSE(std::filesystem::exists(out)) << "a failed export must leave no file";
}

}  // namespace
}  // namespace rpfs::testing
