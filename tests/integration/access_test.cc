// The mount's permission rules (fs/access.h, docs/security.md), rule by rule.
#include "fs/access.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/status_matchers.h"

namespace rpfs::fs {
namespace {

constexpr uint32_t kOwner = 500;  // the mount's owner in these tests (not root)
constexpr uint32_t kAlice = 1000;
constexpr uint32_t kDevs = 2000;
constexpr uint32_t kOps = 3000;

MountAccess Mount(std::optional<uint32_t> operators = std::nullopt) {
  return MountAccess{kOwner, kOwner, operators};
}

RpDiskInfo Disk(uint32_t uid, uint32_t gid, uint32_t mode) {
  RpDiskInfo d;
  d.name = "vda";
  d.uid = uid;
  d.gid = gid;
  d.mode = mode;
  return d;
}

RpInfo Rp(std::vector<RpDiskInfo> disks) {
  RpInfo rp;
  rp.disks = std::move(disks);
  return rp;
}

TEST(AccessTest, DiskTakesItsSourcesOwnerAndReadBitsOnly) {
  NodeAccess a = RpDiskAccess(Mount(), Disk(kAlice, kDevs, 0764));
  EXPECT_EQ(a.uid, kAlice);
  EXPECT_EQ(a.gid, kDevs);
  EXPECT_EQ(a.perm, 0444u);  // never the write or execute bits
  EXPECT_EQ(RpDiskAccess(Mount(), Disk(kAlice, kDevs, 0600)).perm, 0400u);
  EXPECT_EQ(RpDiskAccess(Mount(), Disk(kAlice, kDevs, 0640)).perm, 0440u);
}

TEST(AccessTest, RootOwnedAndUnrecordedDisksBelongToTheMountOwner) {
  // A record without access (written before v2) has uid 0, mode 0400.
  NodeAccess a = RpDiskAccess(Mount(), RpDiskInfo{});
  EXPECT_EQ(a.uid, kOwner);
  EXPECT_EQ(a.perm, 0400u);
}

TEST(AccessTest, RpDirectoryIsNoWiderThanItsDisks) {
  NodeAccess a = RpDirAccess(Mount(), Rp({Disk(kAlice, kDevs, 0644), Disk(kAlice, kDevs, 0640)}));
  EXPECT_EQ(a.uid, kAlice);
  EXPECT_EQ(a.gid, kDevs);
  EXPECT_EQ(a.perm, 0550u);  // others may not read the second disk
  EXPECT_EQ(RpInfoAccess(Mount(), Rp({Disk(kAlice, kDevs, 0644)})).perm, 0444u);
  // Disks of different owners or groups: only the mount owner (and root) reads them all.
  NodeAccess mixed = RpDirAccess(Mount(), Rp({Disk(kAlice, kDevs, 0644), Disk(7, 8, 0644)}));
  EXPECT_EQ(mixed.uid, kOwner);
  EXPECT_EQ(mixed.perm, 0505u);
}

TEST(AccessTest, OwnerDirectoriesLetOthersPassButNotList) {
  NodeAccess a = OwnerDirAccess(Mount());
  EXPECT_EQ(a.uid, kOwner);
  EXPECT_EQ(a.perm, 0711u);
  EXPECT_EQ(OwnerReadAccess(Mount()).perm, 0400u);
}

TEST(AccessTest, OperatorsGroupMayReadAndListEverythingButClones) {
  const MountAccess m = Mount(kOps);
  NodeAccess disk = RpDiskAccess(m, Disk(kAlice, kDevs, 0600));
  EXPECT_EQ(disk.gid, kOps);
  EXPECT_EQ(disk.perm, 0440u);
  EXPECT_EQ(RpDirAccess(m, Rp({Disk(kAlice, kDevs, 0600)})).perm, 0550u);
  EXPECT_EQ(OwnerDirAccess(m).perm, 0751u);
  EXPECT_EQ(OwnerReadAccess(m).perm, 0440u);
  EXPECT_EQ(OwnerReadAccess(m).gid, kOps);
  EXPECT_EQ(CloneDiskAccess(m, std::nullopt).perm, 0600u);  // never widened
  // Never to all: others gain nothing.
  EXPECT_EQ(disk.perm & 07, 0u);
}

TEST(AccessTest, CloneDiskBelongsToWhomItWasGiven) {
  NodeAccess a = CloneDiskAccess(Mount(), std::make_pair(64055u, 64055u));
  EXPECT_EQ(a.uid, 64055u);
  EXPECT_EQ(a.perm, 0600u);
  EXPECT_EQ(CloneDiskAccess(Mount(), std::nullopt).uid, kOwner);
}

TEST(AccessTest, OnlyRootAndTheOwnerMayControl) {
  EXPECT_OK(MayControl(Mount(), Caller{0, 0, 0}));
  EXPECT_OK(MayControl(Mount(), Caller{kOwner, 1, 0}));
  Status s = MayControl(Mount(), Caller{kAlice, kOwner, 0});
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied) << s.message();
  EXPECT_NE(s.message().find("uid 1000"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("uid 500"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace rpfs::fs
