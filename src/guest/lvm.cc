#include "guest/lvm.h"

#include <algorithm>

#include "guest/disk_bytes.h"
#include "guest/lvm_label.h"
#include "guest/lvm_metadata.h"

namespace rpfs::guest {
namespace {

constexpr uint64_t kSector = 512;

std::string WithoutDashes(std::string id) {
  id.erase(std::remove(id.begin(), id.end(), '-'), id.end());
  return id;
}

bool IsVisible(const LvmSection& lv) {
  const LvmValue* status = lv.Find("status");
  if (!status) return false;
  for (const LvmValue& flag : status->list)
    if (flag.text == "VISIBLE") return true;
  return false;
}

struct Vg {
  std::string name;
  int64_t seqno = -1;
  LvmSection section;
};

// Where the PVs of this VG (by their name in the metadata, "pv0") lie on the disk.
struct PvPlace {
  std::string id;
  const LvmPvOnDisk* on_disk = nullptr;  // nullptr: not on this disk
  uint64_t pe_start = 0;                 // bytes from the PV start
};

// The segments of `lv` mapped onto the disk, or the state saying why not.
std::string MapLv(const LvmSection& lv, uint64_t extent_bytes,
                  const std::map<std::string, PvPlace>& pvs, std::vector<Segment>* segments,
                  std::string* type) {
  int64_t count = lv.Number("segment_count").value_or(0);
  if (count <= 0 || count > 65536) return "error: LV has an invalid segment_count";
  for (int64_t k = 1; k <= count; ++k) {
    const LvmSection* seg = lv.Child("segment" + std::to_string(k));
    if (!seg) return "error: LV lacks segment" + std::to_string(k);
    std::string seg_type = seg->String("type").value_or("?");
    if (seg_type != "striped") {
      *type = seg_type;
      return "unsupported: " + seg_type;
    }
    int64_t stripes = seg->Number("stripe_count").value_or(0);
    if (stripes != 1) {
      *type = "striped";
      return "unsupported: striped (" + std::to_string(stripes) + " stripes)";
    }
    int64_t start = seg->Number("start_extent").value_or(-1);
    int64_t extents = seg->Number("extent_count").value_or(-1);
    const LvmValue* where = seg->Find("stripes");
    if (start < 0 || extents <= 0 || !where || where->list.size() != 2 ||
        where->list[1].kind != LvmValue::Kind::kNumber || where->list[1].number < 0)
      return "error: segment" + std::to_string(k) + " is malformed";
    auto pv = pvs.find(where->list[0].text);
    if (pv == pvs.end())
      return "error: segment" + std::to_string(k) + " names unknown PV " + where->list[0].text;
    if (!pv->second.on_disk)
      return "error: LV needs PV " + pv->second.id + " which is not on this disk";
    auto offset = MulU64(static_cast<uint64_t>(start), extent_bytes);
    auto length = MulU64(static_cast<uint64_t>(extents), extent_bytes);
    auto in_pv = MulU64(static_cast<uint64_t>(where->list[1].number), extent_bytes);
    if (in_pv) in_pv = AddU64(*in_pv, pv->second.pe_start);
    std::optional<uint64_t> end;
    if (in_pv && length) end = AddU64(*in_pv, *length);
    if (!offset || !end || *end > pv->second.on_disk->size)
      return "error: segment" + std::to_string(k) + " lies past the end of PV " + pv->second.id;
    segments->push_back(Segment{*offset, pv->second.on_disk->offset + *in_pv, *length, false});
  }
  std::sort(segments->begin(), segments->end(),
            [](const Segment& a, const Segment& b) { return a.offset < b.offset; });
  return "";
}

Result<std::vector<VolumeInfo>> VgVolumes(const std::string& disk_name, const SourcePtr& disk,
                                          const Vg& vg,
                                          const std::map<std::string, const LvmPvOnDisk*>& by_id) {
  std::vector<VolumeInfo> out;
  int64_t extent_sectors = vg.section.Number("extent_size").value_or(0);
  const LvmSection* lvs = vg.section.Child("logical_volumes");
  if (!lvs) return out;
  std::map<std::string, PvPlace> pvs;
  if (const LvmSection* pv_list = vg.section.Child("physical_volumes")) {
    for (const LvmSection& pv : pv_list->sections) {
      PvPlace place;
      place.id = pv.String("id").value_or("");
      auto found = by_id.find(WithoutDashes(place.id));
      if (found != by_id.end()) place.on_disk = found->second;
      int64_t pe_start = pv.Number("pe_start").value_or(-1);
      auto bytes = MulU64(static_cast<uint64_t>(pe_start), kSector);
      if (pe_start < 0 || !bytes) continue;  // an unusable PV: its segments name it unknown
      place.pe_start = *bytes;
      pvs[pv.name] = place;
    }
  }
  for (const LvmSection& lv : lvs->sections) {
    if (!IsVisible(lv)) continue;  // internal LVs (thin pool data, RAID images, ...)
    VolumeInfo v;
    v.name = DmName(vg.name, lv.name);
    v.disk = disk_name;
    v.table = "lvm";
    v.type = "linear";
    auto extent_bytes = MulU64(static_cast<uint64_t>(extent_sectors), kSector);
    if (extent_sectors <= 0 || !extent_bytes) {
      v.state = "error: volume group " + vg.name + " has an invalid extent_size";
    } else {
      v.state = MapLv(lv, *extent_bytes, pvs, &v.map, &v.type);
    }
    if (v.state.empty()) {
      Result<SourcePtr> mapped = Mapped(disk, v.map, v.name);
      if (!mapped.ok()) {
        v.state = "error: " + mapped.status().message();
      } else {
        v.start = v.map.front().base_offset;
        v.size = (*mapped)->size();
        RPFS_ASSIGN_OR_RETURN(v.fs, ProbeFs(**mapped));
      }
    }
    if (!v.state.empty()) v.map.clear();
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace

std::string DmName(const std::string& vg, const std::string& lv) {
  auto escape = [](const std::string& s) {
    std::string out;
    for (char c : s) {
      out += c;
      if (c == '-') out += '-';
    }
    return out;
  };
  return escape(vg) + "-" + escape(lv);
}

Result<LvmScan> ScanLvm(const std::string& disk_name, const SourcePtr& disk,
                        const std::vector<LvmPvOnDisk>& pvs) {
  LvmScan scan;
  std::map<std::string, const LvmPvOnDisk*> by_id;  // PV uuid (no dashes) -> where it is
  std::map<std::string, Vg> vgs;                    // VG id -> its newest metadata
  std::map<std::string, std::string> vg_of_pv;      // PV volume -> VG id
  for (const LvmPvOnDisk& pv : pvs) {
    RPFS_ASSIGN_OR_RETURN(SourcePtr src, Slice(disk, pv.offset, pv.size, pv.volume));
    RPFS_ASSIGN_OR_RETURN(LvmPvLabel label, ReadLvmPvLabel(*src));
    std::string& state = scan.pv_state[pv.volume];
    if (!label.error.empty()) {
      state = "error: " + label.error;
      continue;
    }
    by_id[label.id] = &pv;
    state = "unsupported: LVM2_member";
    if (label.metadata.empty()) continue;  // a PV without metadata area: another PV has it
    Result<LvmSection> parsed = ParseLvmMetadata(label.metadata);
    const LvmSection* vg = nullptr;
    if (parsed.ok()) {
      for (const LvmSection& s : parsed->sections) vg = vg ? vg : &s;
    }
    if (!parsed.ok() || !vg) {
      state = "error: " + (parsed.ok() ? std::string("LVM metadata holds no volume group")
                                       : parsed.status().message());
      continue;
    }
    std::string id = vg->String("id").value_or(vg->name);
    int64_t seqno = vg->Number("seqno").value_or(0);
    vg_of_pv[pv.volume] = id;
    Vg& known = vgs[id];
    if (seqno > known.seqno) known = Vg{vg->name, seqno, *vg};
  }
  for (const auto& [volume, id] : vg_of_pv)
    scan.pv_state[volume] = "unsupported: LVM2_member (volume group " + vgs[id].name + ")";
  for (const auto& [id, vg] : vgs) {
    RPFS_ASSIGN_OR_RETURN(std::vector<VolumeInfo> lvs, VgVolumes(disk_name, disk, vg, by_id));
    for (auto& lv : lvs) scan.volumes.push_back(std::move(lv));
  }
  return scan;
}

}  // namespace rpfs::guest
