// ScanDisk over images built by the real tools (sfdisk, mkfs.*, pvcreate) with userspace
// oracles: `sfdisk --json` for partitions, `blkid -p` for filesystems. Damaged cases are
// made by patching or cutting those images.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "guest/volumes.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace rpfs::guest {
namespace {

constexpr uint64_t kMiB = 1 << 20;

std::string Output(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

bool Sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

bool Have(const std::string& tool) { return Sh("command -v " + tool); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAt(const std::string& path, uint64_t offset, const std::string& bytes) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<VolumeInfo> Scan(const std::string& image) {
  auto vols = ScanDisk("vda", MemorySource(ReadFile(image), "vda"));
  EXPECT_OK(vols.status());
  return vols.ok() ? *vols : std::vector<VolumeInfo>{};
}

std::map<std::string, std::string> Blkid(const std::string& image, uint64_t offset) {
  std::map<std::string, std::string> out;
  std::istringstream in(Output("blkid -p -o export -O " + std::to_string(offset) + " " + image));
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Partition starts, sizes and types equal `sfdisk --json`'s.
void ExpectSameAsSfdisk(const std::string& image, const std::vector<VolumeInfo>& vols,
                        uint64_t sector) {
  auto j = nlohmann::json::parse(Output("sfdisk --json " + image));
  if (j["partitiontable"].contains("sectorsize")) sector = j["partitiontable"]["sectorsize"];
  const auto& parts = j["partitiontable"]["partitions"];
  size_t listed = 0;
  for (const auto& p : parts) {
    std::string node = p["node"];
    std::string index = node.substr(node.find_last_not_of("0123456789") + 1);
    std::string type = p["type"];
    if (type == "5" || type == "f") continue;  // extended: not a volume
    ++listed;
    bool found = false;
    for (const auto& v : vols) {
      if (v.table == "lvm" || std::to_string(v.index) != index) continue;
      found = true;
      EXPECT_EQ(v.start, p["start"].get<uint64_t>() * sector) << node;
      EXPECT_EQ(v.size, p["size"].get<uint64_t>() * sector) << node;
      std::string want = type.size() <= 2 ? (type.size() == 1 ? "0x0" + type : "0x" + type) : type;
      EXPECT_EQ(v.type, Lower(want)) << node;
    }
    EXPECT_TRUE(found) << node;
  }
  size_t ours = 0;
  for (const auto& v : vols) ours += v.index != 0;
  EXPECT_EQ(ours, listed);
}

class VolumesImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"sfdisk", "blkid", "mke2fs", "mkfs.vfat"})
      if (!Have(tool)) GTEST_SKIP() << tool << " is not installed";
  }
  rpfs::testing::TempDir dir_;
  std::string image_ = dir_ / "disk.img";
};

TEST_F(VolumesImageTest, MbrWithLogicalsMatchesSfdiskAndBlkid) {
  ASSERT_TRUE(Sh("truncate -s 64M " + image_));
  ASSERT_TRUE(
      Sh("printf 'size=8M,type=83\\nsize=8M,type=c\\ntype=5\\nsize=8M,type=83\\n"
         "size=8M,type=82\\nsize=8M,type=83\\n' | sfdisk " +
         image_));
  auto before = Scan(image_);
  ASSERT_EQ(before.size(), 5u);  // 1, 2, 5, 6, 7
  ExpectSameAsSfdisk(image_, before, 512);
  // Filesystems into the partitions, then compare with blkid at each start.
  ASSERT_TRUE(Sh("mke2fs -q -t ext4 -L root -E offset=" + std::to_string(before[0].start) + " " +
                 image_ + " 8M"));
  ASSERT_TRUE(Sh("mkfs.vfat -n DATA --offset=" + std::to_string(before[1].start / 512) + " " +
                 image_ + " 8192"));
  ASSERT_TRUE(
      Sh("mke2fs -q -t ext2 -E offset=" + std::to_string(before[2].start) + " " + image_ + " 8M"));
  auto vols = Scan(image_);
  ASSERT_EQ(vols.size(), 5u);
  EXPECT_EQ(vols[2].name, "vda5");
  EXPECT_EQ(vols[4].name, "vda7");
  for (const auto& v : vols) {
    auto oracle = Blkid(image_, v.start);
    EXPECT_EQ(FsTypeName(v.fs.type), oracle["TYPE"]) << v.name;
    EXPECT_EQ(v.fs.uuid, oracle["UUID"]) << v.name;
    EXPECT_EQ(v.fs.label, oracle["LABEL"]) << v.name;
    EXPECT_EQ(v.table, "mbr");
  }
  EXPECT_EQ(vols[0].state, "ok");
  EXPECT_EQ(vols[3].state, "unsupported: unknown");
}

TEST_F(VolumesImageTest, LoopingEbrChainIsANamedError) {
  ASSERT_TRUE(Sh("truncate -s 64M " + image_));
  ASSERT_TRUE(Sh("printf 'size=8M\\ntype=5\\nsize=8M\\nsize=8M\\nsize=8M\\n' | sfdisk " + image_));
  auto ok = Scan(image_);
  ASSERT_EQ(ok.size(), 4u);  // 1, 5, 6, 7
  // The second EBR's link (entry 2, LBA field) pointed back to the first EBR: relative 0.
  auto j = nlohmann::json::parse(Output("sfdisk --json " + image_));
  uint64_t ext_start = j["partitiontable"]["partitions"][1]["start"];
  uint64_t second_ebr = ok[2].start / 512 - 2048;  // sfdisk leaves 1 MiB before each logical
  std::string ebr = ReadFile(image_).substr(second_ebr * 512, 512);
  ASSERT_EQ(static_cast<uint8_t>(ebr[510]), 0x55) << "EBR not where expected";
  WriteAt(image_, second_ebr * 512 + 446 + 16 + 8, std::string(4, '\0'));
  auto vols = Scan(image_);
  bool named = false;
  for (const auto& v : vols)
    named = named || v.state == "error: EBR chain loops at sector " + std::to_string(ext_start);
  EXPECT_TRUE(named);
  EXPECT_EQ(vols.size(), 4u);  // 1, 5, 6 and the error
}

TEST_F(VolumesImageTest, Gpt512And4096MatchSfdisk) {
  // sfdisk 2.38 has no --sector-size: a 4096-byte GPT is written through a loop device made
  // with `losetup -b 4096` (root only), and sfdisk --json of that device is the oracle.
  for (uint64_t sector : {512, 4096}) {
    SCOPED_TRACE(sector);
    ASSERT_TRUE(Sh("rm -f " + image_ + " && truncate -s 64M " + image_));
    std::string target = image_;
    if (sector == 4096) {
      if (geteuid() != 0) continue;
      target = Output("losetup -f --show -b 4096 " + image_);
      while (!target.empty() && target.back() == '\n') target.pop_back();
      ASSERT_FALSE(target.empty());
    }
    bool made =
        Sh("printf 'label: gpt\\nsize=8M,name=boot\\nsize=16M,type=L\\n' | sfdisk " + target);
    auto vols = Scan(image_);
    if (sector == 4096) ExpectSameAsSfdisk(target, vols, sector);
    if (sector == 4096) Sh("losetup -d " + target);
    ASSERT_TRUE(made);
    ASSERT_EQ(vols.size(), 2u);
    EXPECT_EQ(vols[0].table, "gpt");
    EXPECT_EQ(vols[0].part_label, "boot");
    if (sector == 512) ExpectSameAsSfdisk(image_, vols, 512);
    EXPECT_EQ(vols[1].size, 16 * kMiB);
  }
}

TEST_F(VolumesImageTest, DamagedGptUsesBackupOrNamesTheError) {
  ASSERT_TRUE(Sh("truncate -s 64M " + image_));
  ASSERT_TRUE(Sh("printf 'label: gpt\\nsize=8M\\nsize=8M\\n' | sfdisk " + image_));
  WriteAt(image_, 512 + 40, "XXXX");  // the primary header's first_usable: CRC mismatch
  auto vols = Scan(image_);
  ASSERT_EQ(vols.size(), 2u);
  EXPECT_EQ(vols[0].table, "gpt (backup header)");
  ExpectSameAsSfdisk(image_, vols, 512);

  ASSERT_TRUE(Sh("rm " + image_ + " && truncate -s 64M " + image_));
  ASSERT_TRUE(Sh("printf 'label: gpt\\nsize=8M\\n' | sfdisk " + image_));
  ASSERT_TRUE(Sh("truncate -s 1024 " + image_));  // cut after the primary header
  vols = Scan(image_);
  ASSERT_EQ(vols.size(), 1u);
  EXPECT_EQ(vols[0].table, "gpt");
  EXPECT_EQ(vols[0].state,
            "error: GPT primary header at LBA 1: entry array at LBA 2 lies past the end of the "
            "disk; no backup header at the last LBA");
}

TEST_F(VolumesImageTest, PartitionPastTheEndIsItsOwnError) {
  ASSERT_TRUE(Sh("truncate -s 64M " + image_));
  ASSERT_TRUE(Sh("printf 'size=8M\\nsize=40M\\n' | sfdisk " + image_));
  ASSERT_TRUE(Sh("truncate -s 32M " + image_));
  auto vols = Scan(image_);
  ASSERT_EQ(vols.size(), 2u);
  EXPECT_EQ(vols[1].name, "vda2");
  EXPECT_EQ(vols[1].state.rfind("error: partition 2 (sectors 18432-", 0), 0u) << vols[1].state;
}

TEST_F(VolumesImageTest, WholeDiskFilesystemsMatchBlkid) {
  struct Case {
    std::string mkfs;
    std::string type;
  };
  std::vector<Case> cases = {
      {"mke2fs -q -t ext3 -L e3 IMG", "ext3"}, {"mkfs.vfat -n VF IMG", "vfat"},
      {"mkfs.exfat -L EX IMG", "exfat"},       {"mkfs.ntfs -q -F -f -L NT IMG", "ntfs"},
      {"mkfs.xfs -q -L xf IMG", "xfs"},        {"mkswap -L sw IMG", "swap"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.type);
    std::string tool = c.mkfs.substr(0, c.mkfs.find(' '));
    if (!Have(tool)) continue;
    std::string cmd = c.mkfs;
    cmd.replace(cmd.find("IMG"), 3, image_);
    ASSERT_TRUE(Sh("rm -f " + image_ + " && truncate -s 320M " + image_ + " && " + cmd));
    auto vols = Scan(image_);
    ASSERT_EQ(vols.size(), 1u);
    auto oracle = Blkid(image_, 0);
    EXPECT_EQ(FsTypeName(vols[0].fs.type), c.type);
    EXPECT_EQ(FsTypeName(vols[0].fs.type), oracle["TYPE"]);
    EXPECT_EQ(vols[0].fs.uuid, oracle["UUID"]);
    if (c.type != "ntfs") {  // the NTFS label is in $Volume, which ProbeFs does not read
      EXPECT_EQ(vols[0].fs.label, oracle["LABEL"]);
    }
    EXPECT_EQ(vols[0].table, "none");
  }
}

// An LVM2 VG with two linear LVs on partition 2 (root: pvcreate/vgcreate on an offset loop
// device, LVs added through vgcfgrestore: there is no device-mapper here).
TEST_F(VolumesImageTest, LvmLinearVolumesMapOntoTheirPv) {
  if (geteuid() != 0) GTEST_SKIP() << "pvcreate on a loop device needs root";
  if (!Have("pvcreate") || !Have("losetup")) GTEST_SKIP() << "lvm2 or losetup missing";
  ASSERT_TRUE(Sh("truncate -s 64M " + image_));
  ASSERT_TRUE(Sh("printf 'size=4M\\nsize=48M,type=8e\\n' | sfdisk " + image_));
  const uint64_t pv_start = 5 * kMiB, pv_size = 48 * kMiB;
  std::string loop = Output("losetup -f --show -o " + std::to_string(pv_start) + " --sizelimit " +
                            std::to_string(pv_size) + " " + image_);
  while (!loop.empty() && loop.back() == '\n') loop.pop_back();
  ASSERT_FALSE(loop.empty());
  std::string cfg =
      " --config 'backup { backup=0 archive=0 } activation { udev_sync=0 udev_rules=0 }"
      " devices { use_devicesfile=0 filter=[\"a|" +
      loop + "|\", \"r|.*|\"] }' ";
  std::string vg = "rpfsvg" + std::to_string(getpid());
  bool made = Sh("pvcreate -ff -y" + cfg + loop) && Sh("vgcreate -s 1M" + cfg + vg + " " + loop) &&
              Sh("vgcfgbackup" + cfg + "-f " + dir_ / "vg.txt " + vg);
  std::string text = ReadFile(dir_ / "vg.txt");
  size_t end = text.rfind('}');
  if (made && end != std::string::npos) {
    auto lv = [](const std::string& name, int start, int count, int pe) {
      return name + " {\nid = \"abcdef-0000-0000-0000-0000-0000-0000" + std::to_string(10 + pe) +
             "\"\n"
             "status = [\"READ\", \"WRITE\", \"VISIBLE\"]\nflags = []\nsegment_count = 1\n"
             "segment1 {\nstart_extent = " +
             std::to_string(start) + "\nextent_count = " + std::to_string(count) +
             "\ntype = \"striped\"\nstripe_count = 1\n"
             "stripes = [\"pv0\", " +
             std::to_string(pe) + "]\n}\n}\n";
    };
    text.insert(end, "logical_volumes {\n" + lv("root", 0, 8, 2) + lv("my-data", 0, 4, 12) + "}\n");
    std::ofstream(dir_ / "vg2.txt") << text;
    made = Sh("vgcfgrestore -f " + dir_ / "vg2.txt" + cfg + vg);
  }
  std::string pe_start = Output("pvs --noheadings --units b --nosuffix -o pe_start" + cfg + loop);
  Sh("losetup -d " + loop);
  ASSERT_TRUE(made) << "building the VG failed";
  uint64_t pe = std::stoull(pe_start);
  ASSERT_TRUE(Sh("mke2fs -q -t ext4 -L lvroot -E offset=" +
                 std::to_string(pv_start + pe + 2 * kMiB) + " " + image_ + " 8M"));
  auto vols = Scan(image_);
  ASSERT_EQ(vols.size(), 4u);
  EXPECT_EQ(vols[1].name, "vda2");
  EXPECT_EQ(vols[1].state, "unsupported: LVM2_member (volume group " + vg + ")");
  EXPECT_EQ(vols[1].fs.uuid, Blkid(image_, pv_start)["UUID"]);
  // In metadata order: root, then my-data.
  EXPECT_EQ(vols[3].name, vg + "-my--data");
  EXPECT_EQ(vols[2].name, vg + "-root");
  EXPECT_EQ(vols[2].table, "lvm");
  EXPECT_EQ(vols[2].size, 8 * kMiB);
  EXPECT_EQ(vols[2].start, pv_start + pe + 2 * kMiB);
  EXPECT_EQ(vols[2].fs.type, FsType::kExt4);
  EXPECT_EQ(vols[2].fs.label, "lvroot");
  EXPECT_EQ(vols[2].state, "ok");
  EXPECT_EQ(vols[3].start, pv_start + pe + 12 * kMiB);
  EXPECT_EQ(vols[3].size, 4 * kMiB);

  // Garbage in the metadata text: the PV's entry names the error, no LVs, no crash.
  std::string disk = ReadFile(image_);
  size_t at = disk.find("logical_volumes");
  ASSERT_NE(at, std::string::npos);
  WriteAt(image_, at, "}}}");
  vols = Scan(image_);
  ASSERT_EQ(vols.size(), 2u);
  EXPECT_EQ(vols[1].state.rfind("error: LVM2 metadata area", 0), 0u) << vols[1].state;
}

}  // namespace
}  // namespace rpfs::guest
