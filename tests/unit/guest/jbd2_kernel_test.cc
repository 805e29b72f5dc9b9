// ReplayExtJournal against the kernel's own replay (the oracle): an ext4 copied while
// mounted holds committed transactions not yet written home; a second copy mounted
// read-write is replayed by the kernel. Needs root and loop devices (CI has both).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "guest/jbd2.h"
#include "support/run.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace rpfs::guest {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string DebugfsLs(const std::string& image) {
  return rpfs::testing::RunCommand({"/sbin/debugfs", "-R", "ls -p /d", image}).out;
}

TEST(Jbd2Kernel, ReplayMatchesTheKernel) {
  if (geteuid() != 0 || access("/sbin/mkfs.ext4", X_OK) != 0) {
    GTEST_SKIP() << "needs root, loop devices and e2fsprogs";
  }
  rpfs::testing::TempDir dir;
  std::string d = dir.path();
  std::string script =
      "set -e; cd " + d +
      "; truncate -s 32M img; mkfs.ext4 -q -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 img;"
      " mkdir m; mount -o loop,commit=1 img m; mkdir m/d; for i in $(seq 1 40); do"
      " echo file$i > m/d/f$i; done;"
      // No sync (it would write everything home): wait, with a deadline, until the image's
      // journal holds a commit made after a marker written after the files (commits are in
      // order, so it covers them).
      " commits() { debugfs -R logdump img 2>/dev/null | grep -c \"commit block\" || true; };"
      " c0=$(commits); echo marker > m/d/marker;"
      " for i in $(seq 100); do [ $(commits) -gt $c0 ] && break; sleep 0.2; done;"
      " [ $(commits) -gt $c0 ]; cp --sparse=always img a; umount m;"
      " cp --sparse=always a b; mount -o loop b m; umount m";
  ASSERT_EQ(std::system(("bash -c '" + script + "' >/dev/null 2>&1").c_str()), 0) << script;
  std::string a = Slurp(d + "/a");
  std::string b = Slurp(d + "/b");
  auto replay = ReplayExtJournal(MemorySource(a, "a"));
  ASSERT_OK(replay.status());
  ASSERT_TRUE(replay->needed) << "the copy was clean: the kernel wrote everything home";
  EXPECT_GT(replay->transactions, 0u);
  std::string replayed(a.size(), '\0');
  ASSERT_OK(replay->volume->ReadAt(0, std::as_writable_bytes(std::span(replayed))));
  // Block 0 holds the superblock, which the kernel's mount rewrites (mount time, counts,
  // needs_recovery cleared), and the kernel resets the journal's own superblock (s_start =
  // 0) after recovery; every other block must be what the kernel replayed.
  std::string differing;
  for (size_t off = 4096; off < replayed.size(); off += 4096) {
    bool journal_superblock =
        a.compare(off, 4, "\xC0\x3B\x39\x98") == 0 && (a[off + 7] == 3 || a[off + 7] == 4);
    if (!journal_superblock && replayed.compare(off, 4096, b, off, 4096) != 0) {
      differing += std::to_string(off / 4096) + " ";
    }
  }
  EXPECT_EQ(differing, "");
  std::ofstream(d + "/r", std::ios::binary) << replayed;
  std::string listing = DebugfsLs(d + "/r");
  EXPECT_NE(listing.find("f40"), std::string::npos) << listing;
  EXPECT_EQ(listing, DebugfsLs(d + "/b"));
  // The kernel-replayed copy is clean: nothing to do.
  auto clean = ReplayExtJournal(MemorySource(b, "b"));
  ASSERT_OK(clean.status());
  EXPECT_FALSE(clean->needed);
}

}  // namespace
}  // namespace rpfs::guest
