// rpfs cat / rpfs cp: a guest file of an RP without FUSE (docs/guest-files.md), through the
// real sandboxed helper. Needs sfdisk and mke2fs, not root.
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "cli_fixture.h"

namespace rpfs::testing {
namespace {

class GuestCliTest : public CliTest {
 protected:
  void SetUp() override {
    if (RunCommand({"sh", "-c", "command -v sfdisk && command -v mke2fs"}).exit_code != 0) {
      GTEST_SKIP() << "needs sfdisk and mke2fs";
    }
    std::string src = dir_ / "src";
    ASSERT_EQ(RunCommand({"mkdir", "-p", src + "/etc"}).exit_code, 0);
    std::ofstream(src + "/etc/hosts") << "127.0.0.1 localhost\n";
    ASSERT_EQ(::symlink("hosts", (src + "/etc/link").c_str()), 0);
    std::string img = dir_ / "disk.img";
    auto r = RunCommand(
        {"sh", "-c",
         "truncate -s 24M " + img + " && printf 'label: gpt\\nstart=2048, type=L\\n' | sfdisk -q " +
             img + " && mke2fs -q -F -t ext4 -E offset=1048576 -d " + src + " " + img + " 20M"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(R({"init"}).exit_code, 0);
    r = R({"vm", "add", "vm", "--disk", "vda=" + img});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = R({"create", "vm", "rp"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
};

TEST_F(GuestCliTest, CatPrintsAGuestFile) {
  auto r = R({"cat", "vm", "rp", "vda1/etc/hosts"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "127.0.0.1 localhost\n");
}

TEST_F(GuestCliTest, CpCopiesAndRefusesToReplaceWithoutForce) {
  std::string dest = dir_ / "out";
  ASSERT_EQ(::mkdir(dest.c_str(), 0755), 0);
  auto r = R({"cp", "vm", "rp", "vda1/etc/hosts", dest});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(dest + "/hosts");
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), "127.0.0.1 localhost\n");
  r = R({"cp", "vm", "rp", "vda1/etc/hosts", dest});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("exists; use --force"), std::string::npos) << r.err;
  r = R({"cp", "vm", "rp", "vda1/etc/hosts", dest, "--force", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["dest"], dest + "/hosts") << r.out;
}

TEST_F(GuestCliTest, ErrorsNameThePathAndTheCause) {
  auto r = R({"cat", "vm", "rp", "vda1/etc/nope"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("vm/rp/files/vda1/etc/nope"), std::string::npos) << r.err;
  r = R({"cat", "vm", "rp", "vda1/etc"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is a directory"), std::string::npos) << r.err;
  r = R({"cat", "vm", "rp", "vda1/etc/link"});
  EXPECT_EQ(r.exit_code, 6);
  EXPECT_NE(r.err.find("symbolic link to hosts"), std::string::npos) << r.err;
  r = R({"cat", "vm", "rp", "vda9/x"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("vda9"), std::string::npos) << r.err;
  r = R({"cp", "vm", "rp", "vda1/etc/nope", dir_ / "x"});
  EXPECT_EQ(r.exit_code, 3);
  struct stat st;
  EXPECT_NE(::stat((dir_ / "x").c_str(), &st), 0);  // nothing left behind
  EXPECT_NE(::stat((dir_ / "x.rpfs-tmp").c_str(), &st), 0);
}

}  // namespace
}  // namespace rpfs::testing
