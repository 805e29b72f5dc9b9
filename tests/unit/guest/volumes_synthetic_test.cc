// ScanDisk and the LVM metadata parser over small in-memory disks and texts: the edge cases
// real tools do not produce.
#include <gtest/gtest.h>

#include "guest/lvm.h"
#include "guest/lvm_metadata.h"
#include "guest/volumes.h"
#include "support/status_matchers.h"

namespace rpfs::guest {
namespace {

void PutLe32(std::string& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
}

void MbrEntry(std::string& disk, uint64_t sector, int slot, uint8_t type, uint32_t start,
              uint32_t count) {
  size_t at = sector * 512 + 446 + 16 * static_cast<size_t>(slot);
  disk[at + 4] = static_cast<char>(type);
  PutLe32(disk, at + 8, start);
  PutLe32(disk, at + 12, count);
  disk[sector * 512 + 510] = static_cast<char>(0x55);
  disk[sector * 512 + 511] = static_cast<char>(0xAA);
}

std::vector<VolumeInfo> Scan(std::string disk) {
  auto vols = ScanDisk("vda", MemorySource(std::move(disk), "vda"));
  EXPECT_OK(vols.status());
  return vols.ok() ? *vols : std::vector<VolumeInfo>{};
}

TEST(VolumesSyntheticTest, EmptyDiskIsOneUnknownWholeDiskEntry) {
  auto vols = Scan(std::string(1 << 20, '\0'));
  ASSERT_EQ(vols.size(), 1u);
  EXPECT_EQ(vols[0].name, "vda");
  EXPECT_EQ(vols[0].table, "none");
  EXPECT_EQ(vols[0].state, "unsupported: unknown");
  EXPECT_EQ(Scan("").size(), 1u);  // even a zero-byte disk
}

TEST(VolumesSyntheticTest, EbrLinkToItselfLoops) {
  std::string disk(64 * 512, '\0');
  MbrEntry(disk, 0, 0, 0x05, 8, 56);  // extended at 8..63
  MbrEntry(disk, 8, 0, 0x83, 1, 4);   // logical 5 at 9..12
  MbrEntry(disk, 8, 1, 0x05, 0, 8);   // link back to itself
  auto vols = Scan(disk);
  ASSERT_EQ(vols.size(), 2u);  // the table's error first, then what it could read
  EXPECT_EQ(vols[0].state, "error: EBR chain loops at sector 8");
  EXPECT_EQ(vols[0].table, "mbr");
  EXPECT_EQ(vols[1].name, "vda5");
  EXPECT_EQ(vols[1].start, 9u * 512);
}

TEST(VolumesSyntheticTest, EbrLinkOutsideTheExtendedPartitionIsAnError) {
  std::string disk(64 * 512, '\0');
  MbrEntry(disk, 0, 0, 0x05, 8, 16);
  MbrEntry(disk, 8, 0, 0x83, 1, 4);
  MbrEntry(disk, 8, 1, 0x05, 40, 8);  // 8 + 40 = 48: outside 8..23
  auto vols = Scan(disk);
  ASSERT_EQ(vols.size(), 2u);
  EXPECT_EQ(vols[0].state,
            "error: EBR at sector 8 links outside the extended partition (sector 48)");
}

TEST(VolumesSyntheticTest, BadBootFlagIsNotAnMbr) {
  std::string disk(64 * 512, '\0');
  MbrEntry(disk, 0, 0, 0x83, 8, 16);
  disk[446] = 0x12;
  auto vols = Scan(disk);
  ASSERT_EQ(vols.size(), 1u);
  EXPECT_EQ(vols[0].table, "none");
}

TEST(VolumesSyntheticTest, ProtectiveMbrWithoutGptIsAnError) {
  std::string disk(64 * 512, '\0');
  MbrEntry(disk, 0, 0, 0xEE, 1, 63);
  auto vols = Scan(disk);
  ASSERT_EQ(vols.size(), 1u);
  EXPECT_EQ(vols[0].table, "gpt");
  EXPECT_EQ(vols[0].state, "error: no GPT header at LBA 1; no backup header at the last LBA");
}

TEST(LvmMetadataTest, ParsesSectionsValuesListsAndComments) {
  auto root = ParseLvmMetadata(
      "# a comment\nvg0 {\n id = \"a\\\"b\"\n extent_size = 8192 # 4 MiB\n"
      " status = [\"READ\", \"WRITE\"]\n flags = []\n lv { n = -3 }\n}\nversion = 1\n");
  ASSERT_OK(root.status());
  ASSERT_EQ(root->sections.size(), 1u);
  const LvmSection& vg = root->sections[0];
  EXPECT_EQ(vg.name, "vg0");
  EXPECT_EQ(vg.String("id"), "a\"b");
  EXPECT_EQ(vg.Number("extent_size"), 8192);
  ASSERT_NE(vg.Find("status"), nullptr);
  EXPECT_EQ(vg.Find("status")->list.size(), 2u);
  EXPECT_EQ(vg.Child("lv")->Number("n"), -3);
  EXPECT_EQ(root->Number("version"), 1);
}

TEST(LvmMetadataTest, RejectsGarbageNamingTheLine) {
  auto bad = ParseLvmMetadata("vg0 {\n id = \"x\"\n = 3\n}");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "LVM metadata line 3: expected a name");
  EXPECT_FALSE(ParseLvmMetadata("vg0 {").ok());
  EXPECT_FALSE(ParseLvmMetadata("a = \"unterminated").ok());
  EXPECT_FALSE(ParseLvmMetadata(std::string(100, '[')).ok());  // nesting bound
  EXPECT_FALSE(ParseLvmMetadata("}").ok());
}

TEST(LvmMetadataTest, DmNamesDoubleDashes) {
  EXPECT_EQ(DmName("vg0", "root"), "vg0-root");
  EXPECT_EQ(DmName("my-vg", "a-b"), "my--vg-a--b");
}

}  // namespace
}  // namespace rpfs::guest
