// ProbeFs: the filesystem (or container) type of a volume from its superblock magics, with
// blkid's label and UUID text where they are cheap to get. Trusts nothing: each probe reads a
// fixed small range (nothing when the range lies past the end of a small volume), checks the
// magic and the few fields that tell look-alikes apart, and never follows a pointer further
// than one bounded read (the exFAT label, in the first root directory cluster). Labels blkid
// takes from deeper structures are left empty: NTFS ($Volume), FAT volume-label directory
// entries (the boot sector's copy is used), ISO 9660 Joliet names.
#include <cstdio>

#include "guest/disk_bytes.h"
#include "guest/volumes.h"

namespace rpfs::guest {
namespace {

using Bytes = std::optional<std::string>;

bool IsPowerOfTwoIn(uint64_t v, uint64_t lo, uint64_t hi) {
  return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

std::string SerialText(std::string_view b4) {  // FAT and exFAT: "ABCD-1234"
  if (b4.size() != 4) return "";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02X%02X-%02X%02X", static_cast<uint8_t>(b4[3]),
                static_cast<uint8_t>(b4[2]), static_cast<uint8_t>(b4[1]),
                static_cast<uint8_t>(b4[0]));
  return buf;
}

// ext2/3/4 the way blkid names them: a feature ext3 does not know makes it ext4; else a
// journal makes it ext3; else ext2. An external journal device is not a filesystem.
std::optional<FsProbe> ProbeExt(std::string_view sb) {  // sb: the 1024 bytes at 1024
  if (Le16(sb, 0x38) != 0xEF53) return std::nullopt;
  uint32_t compat = Le32(sb, 0x5C), incompat = Le32(sb, 0x60), ro_compat = Le32(sb, 0x64);
  constexpr uint32_t kHasJournal = 0x4, kJournalDev = 0x8;
  constexpr uint32_t kExt3Incompat = 0x2 | 0x4 | 0x10;  // filetype, recover, meta_bg
  constexpr uint32_t kExt3RoCompat = 0x1 | 0x2 | 0x4;   // sparse_super, large_file, btree_dir
  if (incompat & kJournalDev) return std::nullopt;
  FsProbe p;
  if ((incompat & ~kExt3Incompat) || (ro_compat & ~kExt3RoCompat)) {
    p.type = FsType::kExt4;
  } else {
    p.type = (compat & kHasJournal) ? FsType::kExt3 : FsType::kExt2;
  }
  p.uuid = UuidText(Field(sb, 0x68, 16));
  p.label = TrimLabel(Field(sb, 0x78, 16));
  return p;
}

// FAT12/16/32 boot sector: a jump, sane geometry (sector and cluster sizes powers of two,
// reserved sectors, FAT count, media byte, a sector count) and the 0x55AA signature.
std::optional<FsProbe> ProbeVfat(std::string_view bs) {
  if (bs.size() < 512 || static_cast<uint8_t>(bs[510]) != 0x55 ||
      static_cast<uint8_t>(bs[511]) != 0xAA)
    return std::nullopt;
  uint8_t jump = static_cast<uint8_t>(bs[0]);
  if (jump != 0xEB && jump != 0xE9) return std::nullopt;
  uint8_t media = static_cast<uint8_t>(bs[0x15]);
  uint32_t sectors = Le16(bs, 0x13) != 0 ? Le16(bs, 0x13) : Le32(bs, 0x20);
  if (!IsPowerOfTwoIn(Le16(bs, 0x0B), 512, 4096) ||
      !IsPowerOfTwoIn(static_cast<uint8_t>(bs[0x0D]), 1, 128) || Le16(bs, 0x0E) == 0 ||
      bs[0x10] == 0 || (media != 0xF0 && media < 0xF8) || sectors == 0)
    return std::nullopt;
  bool fat32 = Le16(bs, 0x16) == 0;
  if (fat32 && Le32(bs, 0x24) == 0) return std::nullopt;
  size_t ext = fat32 ? 0x40 : 0x24;  // the extended BPB: drive, reserved, signature, id, label
  FsProbe p{FsType::kVfat, "", ""};
  if (bs[ext + 2] == 0x29 || bs[ext + 2] == 0x28) {
    p.uuid = SerialText(Field(bs, ext + 3, 4));
    if (bs[ext + 2] == 0x29) {
      p.label = TrimLabel(Field(bs, ext + 7, 11));
      if (p.label == "NO NAME") p.label.clear();
    }
  }
  return p;
}

// The name in the first volume label entry (type 0x83) of an exFAT directory cluster.
std::string ExfatLabel(const std::string& dir) {
  for (size_t i = 0; i + 32 <= dir.size(); i += 32) {
    uint8_t type = static_cast<uint8_t>(dir[i]);
    if (type == 0) break;
    if (type != 0x83) continue;
    size_t chars = std::min<size_t>(static_cast<uint8_t>(dir[i + 1]), 11);
    return Utf16LeToUtf8(Field(dir, i + 2, chars * 2));
  }
  return "";
}

// exFAT: the label is an entry (type 0x83) of the root directory; only its first cluster is
// read, capped at 64 KiB.
Result<std::optional<FsProbe>> ProbeExfat(const ByteSource& vol, std::string_view bs) {
  if (bs.size() < 512 || Field(bs, 3, 8) != "EXFAT   ") return std::optional<FsProbe>();
  FsProbe p{FsType::kExfat, "", SerialText(Field(bs, 0x64, 4))};
  uint32_t sector_shift = static_cast<uint8_t>(bs[0x6C]);
  uint32_t cluster_shift = static_cast<uint8_t>(bs[0x6D]);
  uint64_t heap = Le32(bs, 0x58), root = Le32(bs, 0x60);
  if (sector_shift >= 9 && sector_shift <= 12 && cluster_shift <= 25 - sector_shift && root >= 2) {
    uint64_t cluster = uint64_t{1} << (sector_shift + cluster_shift);
    auto at = AddU64(heap << sector_shift, (root - 2) << (sector_shift + cluster_shift));
    size_t len = static_cast<size_t>(std::min<uint64_t>(cluster, 65536));
    if (at) {
      RPFS_ASSIGN_OR_RETURN(Bytes dir, ReadIfInside(vol, *at, len));
      p.label = ExfatLabel(dir.value_or(""));
    }
  }
  return std::optional<FsProbe>(p);
}

std::optional<FsProbe> ProbeNtfs(std::string_view bs) {
  if (Field(bs, 3, 8) != "NTFS    " || !IsPowerOfTwoIn(Le16(bs, 0x0B), 256, 4096))
    return std::nullopt;
  char serial[20];
  std::snprintf(serial, sizeof serial, "%016llX", static_cast<unsigned long long>(Le64(bs, 0x48)));
  return FsProbe{FsType::kNtfs, "", serial};
}

std::optional<FsProbe> ProbeXfs(std::string_view sb) {
  if (Field(sb, 0, 4) != "XFSB" || !IsPowerOfTwoIn(Be32(sb, 4), 512, 65536)) return std::nullopt;
  return FsProbe{FsType::kXfs, TrimLabel(Field(sb, 108, 12)), UuidText(Field(sb, 32, 16))};
}

// ISO 9660 primary volume descriptor at 32768; blkid's UUID is its modification (else
// creation) time, "YYYY-MM-DD-HH-MM-SS-cc".
std::optional<FsProbe> ProbeIso(std::string_view pvd) {
  if (Field(pvd, 1, 5) != "CD001") return std::nullopt;
  FsProbe p{FsType::kIso9660, TrimLabel(Field(pvd, 40, 32)), ""};
  for (size_t at : {830, 813}) {
    std::string_view t = Field(pvd, at, 16);
    if (t.empty() || t.find_first_not_of("0") == std::string_view::npos ||
        t.find_first_not_of("0123456789") != std::string_view::npos)
      continue;
    p.uuid = std::string(t.substr(0, 4)) + "-" + std::string(t.substr(4, 2));
    for (size_t i = 6; i < 16; i += 2) p.uuid += "-" + std::string(t.substr(i, 2));
    break;
  }
  return p;
}

std::string LvmUuidText(std::string_view id32) {  // "xxxxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxxxx"
  std::string out;
  const size_t groups[] = {6, 4, 4, 4, 4, 4, 6};
  size_t pos = 0;
  for (size_t g : groups) {
    if (!out.empty()) out += '-';
    out += std::string(Field(id32, pos, g));
    pos += g;
  }
  return out;
}

}  // namespace

Result<FsProbe> ProbeFs(const ByteSource& vol) {
  constexpr size_t kHead = 8192;
  std::string head;
  if (vol.size() > 0) {
    RPFS_ASSIGN_OR_RETURN(head, ReadBytes(vol, 0, std::min<uint64_t>(vol.size(), kHead)));
  }
  constexpr uint32_t kMdMagic = 0xa92b4efc;
  // Containers first, as blkid does: a RAID or LVM member may also hold a filesystem magic.
  for (uint64_t at : {uint64_t{0}, uint64_t{4096}}) {  // MD 1.1 and 1.2
    if (Le32(head, at) == kMdMagic && Le32(head, at + 4) == 1)
      return FsProbe{FsType::kMdRaid, TrimLabel(Field(head, at + 32, 32)),
                     UuidText(Field(head, at + 16, 16))};
  }
  for (uint64_t sectors : {(vol.size() / 512 - 16) & ~uint64_t{7},  // MD 1.0
                           (vol.size() / 65536) * 128 - 128}) {     // MD 0.90
    if (vol.size() < 65536 * 2) break;
    RPFS_ASSIGN_OR_RETURN(Bytes sb, ReadIfInside(vol, sectors * 512, 8));
    if (sb && Le32(*sb, 0) == kMdMagic) return FsProbe{FsType::kMdRaid, "", ""};
  }
  if (Field(head, 0, 6) == "LUKS\xba\xbe")
    return FsProbe{FsType::kLuks, TrimLabel(Field(head, 24, 48)), TrimLabel(Field(head, 168, 40))};
  for (size_t sector = 0; sector < 4; ++sector) {
    std::string_view label = Field(head, sector * 512, 512);
    if (Field(label, 0, 8) == "LABELONE" && Field(label, 24, 8) == "LVM2 001") {
      uint32_t pv = Le32(label, 20);
      return FsProbe{FsType::kLvm2Member, "", LvmUuidText(Field(label, pv, 32))};
    }
  }
  if (auto ext = ProbeExt(Field(head, 1024, 1024))) return *ext;
  if (auto xfs = ProbeXfs(head)) return *xfs;
  RPFS_ASSIGN_OR_RETURN(Bytes btrfs, ReadIfInside(vol, 65536, 4096));
  if (btrfs && Field(*btrfs, 64, 8) == "_BHRfS_M")
    return FsProbe{FsType::kBtrfs, TrimLabel(Field(*btrfs, 299, 256)),
                   UuidText(Field(*btrfs, 32, 16))};
  RPFS_ASSIGN_OR_RETURN(Bytes pvd, ReadIfInside(vol, 32768, 2048));
  if (pvd) {
    if (auto iso = ProbeIso(*pvd)) return *iso;
  }
  if (auto ntfs = ProbeNtfs(head)) return *ntfs;
  RPFS_ASSIGN_OR_RETURN(std::optional<FsProbe> exfat, ProbeExfat(vol, head));
  if (exfat) return *exfat;
  if (auto fat = ProbeVfat(head)) return *fat;
  for (uint64_t page : {4096, 8192, 16384, 65536}) {
    RPFS_ASSIGN_OR_RETURN(Bytes magic, ReadIfInside(vol, page - 10, 10));
    if (!magic) break;
    if (*magic == "SWAPSPACE2")
      return FsProbe{FsType::kSwap, TrimLabel(Field(head, 1024 + 28, 16)),
                     UuidText(Field(head, 1024 + 12, 16))};
    if (*magic == "SWAP-SPACE") return FsProbe{FsType::kSwap, "", ""};
  }
  return FsProbe{};
}

}  // namespace rpfs::guest
