// rpfs diff and files/.diff-from/ (docs/guest-files.md): the guest files that differ between
// two RPs of a 1 GiB ext4 disk, found from the extent maps and chunk digests without reading
// the unchanged files. The second RP is the first image changed with debugfs (no mount):
// contents in place, added, removed, chmod, a symlink's target. Needs mke2fs and debugfs;
// the mount test needs root and /dev/fuse.
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "cli_fixture.h"

namespace rpfs::testing {
namespace {

constexpr uint64_t kDisk = 1ull << 30;

RunResult Sh(const std::string& cmd) { return RunCommand({"sh", "-c", cmd}); }

class GuestDiffTest : public CliTest {
 protected:
  void SetUp() override {
    if (Sh("command -v mke2fs && command -v debugfs").exit_code != 0) {
      GTEST_SKIP() << "needs mke2fs and debugfs";
    }
    std::string src = dir_ / "src";
    // 24 files of 8 MiB of random bytes (192 MiB that do not compress), small files around.
    auto r = Sh("set -e; mkdir -p " + src + "/etc " + src + "/data " + src + "/keep; cd " + src +
                "; for i in $(seq -w 1 24); do head -c 8388608 /dev/urandom > data/f$i; done;"
                " echo 127.0.0.1 localhost > etc/hosts; echo port=80 > etc/app.conf;"
                " chmod 644 etc/app.conf; ln -s hosts etc/link; echo old > keep/old.txt;"
                " echo same > keep/same.txt");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    img_ = dir_ / "disk.img";
    r = Sh("truncate -s " + std::to_string(kDisk) + " " + img_ + " && mke2fs -q -F -t ext4 -d " +
           src + " " + img_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(R({"init"}).exit_code, 0);
    r = R({"vm", "add", "vm", "--disk", "vda=" + img_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = R({"create", "vm", "rp1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ChangeTheImage();
    r = R({"create", "vm", "rp2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void Debugfs(const std::string& cmd) {
    auto r = RunCommand({"debugfs", "-w", "-R", cmd, img_});
    ASSERT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
  }

  // The changes the test makes, and so exactly what diff must list.
  void ChangeTheImage() {
    // One block of data/f07 overwritten where it lies: same size, same extents.
    auto r = RunCommand({"debugfs", "-R", "bmap /data/f07 100", img_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    uint64_t block = std::stoull(r.out);
    r = Sh("head -c 4096 /dev/urandom | dd of=" + img_ + " bs=4096 seek=" + std::to_string(block) +
           " conv=notrunc status=none");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string added = dir_ / "new.conf";
    std::ofstream(added) << "added\n";
    Debugfs("write " + added + " /etc/new.conf");
    Debugfs("rm /keep/old.txt");
    Debugfs("set_inode_field /etc/app.conf mode 0100600");
    Debugfs("rm /etc/link");
    Debugfs("symlink /etc/link app.conf");
    Debugfs("mkdir /newdir");
  }

  // (change, path) of every entry of `rpfs diff --json`.
  std::set<std::pair<std::string, std::string>> Changes(const nlohmann::json& j) {
    std::set<std::pair<std::string, std::string>> out;
    for (const auto& c : j["changes"]) {
      out.emplace(c["change"].get<std::string>(), c["path"].get<std::string>());
    }
    return out;
  }
};

TEST_F(GuestDiffTest, ListsExactlyTheChangedFilesReadingLittleOfTheDisk) {
  auto r = R({"diff", "vm", "rp1", "rp2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  std::set<std::pair<std::string, std::string>> want = {
      {"modified", "vda/data/f07"},    {"added", "vda/etc/new.conf"},
      {"removed", "vda/keep/old.txt"}, {"modified", "vda/etc/app.conf"},
      {"modified", "vda/etc/link"},    {"added", "vda/newdir"},
  };
  EXPECT_EQ(Changes(j), want) << r.out;
  for (const auto& c : j["changes"]) {
    auto what = c["what"].get<std::vector<std::string>>();
    if (c["path"] == "vda/data/f07") {
      EXPECT_EQ(what, std::vector<std::string>{"content"});
    }
    if (c["path"] == "vda/etc/app.conf") {
      EXPECT_EQ(what, std::vector<std::string>{"mode"});
    }
    if (c["path"] == "vda/etc/link") {
      EXPECT_EQ(what.front(), "link");
    }
    if (c["path"] == "vda/newdir") {
      EXPECT_EQ(c["type"], "dir");
    }
  }
  EXPECT_TRUE(j["errors"].empty());
  uint64_t read = j["disk_bytes_read"];
  EXPECT_GT(read, 0u);
  EXPECT_LT(read, kDisk / 10) << "read " << read << " bytes of a " << kDisk << "-byte disk";

  // The other way round: added and removed swap; the same files.
  r = R({"diff", "vm", "rp2", "rp1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto back = Changes(nlohmann::json::parse(r.out));
  EXPECT_TRUE(back.count({"removed", "vda/etc/new.conf"})) << r.out;
  EXPECT_TRUE(back.count({"added", "vda/keep/old.txt"})) << r.out;
  EXPECT_EQ(back.size(), want.size()) << r.out;

  // Text: one line per change, directories with a '/'.
  r = R({"diff", "vm", "rp1", "rp2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("M vda/data/f07 (content)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("+ vda/newdir/\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("- vda/keep/old.txt\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("M vda/etc/app.conf (mode)\n"), std::string::npos) << r.out;
}

TEST_F(GuestDiffTest, AnRpWithItselfHasNoChangesAndBadNamesAreNamed) {
  auto r = R({"diff", "vm", "rp2", "rp2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  r = R({"diff", "vm", "rp1", "nope"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
  r = R({"diff", "novm", "rp1", "rp2"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("novm"), std::string::npos) << r.err;
}

TEST_F(GuestDiffTest, DiffFromInTheMountIsWhatTheCommandPrints) {
  if (::geteuid() != 0 || ::access("/dev/fuse", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "needs root and /dev/fuse to mount";
  }
  auto text = R({"diff", "vm", "rp1", "rp2"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  std::string mnt = dir_ / "mnt";
  ::mkdir(mnt.c_str(), 0755);
  auto r = R({"mount", mnt});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::stringstream got;
  {
    std::ifstream in(mnt + "/vm/rp2/files/.diff-from/rp1");
    got << in.rdbuf();
  }  // closed: an open file would keep the mount busy
  auto listing = Sh("ls " + mnt + "/vm/rp2/files/.diff-from");
  auto missing = Sh("cat " + mnt + "/vm/rp2/files/.diff-from/nope");
  if (RunCommand({"fusermount3", "-u", mnt}).exit_code != 0) {
    RunCommand({"fusermount3", "-uz", mnt});
  }
  WaitForStoreLock();
  EXPECT_EQ(got.str(), text.out);
  EXPECT_EQ(listing.out, "");  // found by name only: `grep -r` computes no diffs
  EXPECT_NE(missing.exit_code, 0);
}

}  // namespace
}  // namespace rpfs::testing
