#include "format/records.h"

#include "util/coding.h"

namespace rpfs::format {
namespace {

// Record versions (persisted).
constexpr uint8_t kStoreConfigV1 = 1;
constexpr uint8_t kVmV1 = 1;
constexpr uint8_t kVmV2 = 2;                   // adds the libvirt domain and its checkpoint
[[maybe_unused]] constexpr uint8_t kRpV1 = 1;  // still read: no stream access
[[maybe_unused]] constexpr uint8_t kRpV2 = 2;  // adds each stream's access (owner, group, mode)
constexpr uint8_t kRpV3 = 3;                   // adds each stream's allocated bytes
constexpr uint8_t kRpV4 = 4;                   // adds the last restore drill
constexpr uint8_t kObjectMetaV1 = 1;
constexpr uint8_t kTxV1 = 1;
constexpr uint8_t kCloneV2 = 2;  // adds the source (a region snapshot); version 1 is still read
constexpr uint8_t kRegionV1 = 1;
constexpr uint8_t kPolicyV2 = 2;  // adds the schedule (every, at); version 1 is still read

Result<uint8_t> CheckVersionUpTo(Decoder& d, uint8_t newest, std::string_view what) {
  RPFS_ASSIGN_OR_RETURN(uint8_t v, d.GetU8());
  if (v == 0 || v > newest) {
    return Status::NotSupported(std::string(what) + " has record version " + std::to_string(v) +
                                "; this rpfs reads versions 1 to " + std::to_string(newest) +
                                " (written by a newer rpfs?)");
  }
  return v;
}

Status CheckVersion(Decoder& d, uint8_t supported, std::string_view what) {
  RPFS_ASSIGN_OR_RETURN(uint8_t v, d.GetU8());
  if (v != supported) {
    return Status::NotSupported(std::string(what) + " has record version " + std::to_string(v) +
                                "; this rpfs reads version " + std::to_string(supported) +
                                " (written by a newer rpfs?)");
  }
  return Status::OK();
}

}  // namespace

std::string EncodeStoreConfig(const StoreConfig& c) {
  std::string out;
  Encoder e(&out);
  e.PutU8(kStoreConfigV1);
  e.PutVarint(c.format_version);
  e.PutVarint(c.chunk_size);
  e.PutSignedVarint(c.compression_level);
  e.PutVarint(c.page_fanout);
  e.PutSignedVarint(c.created_us);
  return out;
}

Result<StoreConfig> DecodeStoreConfig(std::string_view in) {
  Decoder d(in, "store config");
  RPFS_RETURN_IF_ERROR(CheckVersion(d, kStoreConfigV1, "store config"));
  StoreConfig c;
  RPFS_ASSIGN_OR_RETURN(uint64_t fv, d.GetVarint());
  if (fv == 0) return Status::Corruption("store config has format version 0");
  if (fv > kStoreFormatVersion) {
    return Status::NotSupported("store format version " + std::to_string(fv) +
                                " is newer than this rpfs supports (" +
                                std::to_string(kStoreFormatVersion) + "); upgrade rpfs");
  }
  c.format_version = static_cast<uint32_t>(fv);
  RPFS_ASSIGN_OR_RETURN(uint64_t cs, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(int64_t level, d.GetSignedVarint());
  RPFS_ASSIGN_OR_RETURN(uint64_t fanout, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(c.created_us, d.GetSignedVarint());
  if (cs < kMinChunkSize || cs > kMaxChunkSize || fanout < 2 || fanout > 65535 || level < -131072 ||
      level > 22) {
    return Status::Corruption("store config has an impossible chunk size or page fanout");
  }
  c.chunk_size = static_cast<uint32_t>(cs);
  c.compression_level = static_cast<int32_t>(level);
  c.page_fanout = static_cast<uint32_t>(fanout);
  RPFS_RETURN_IF_ERROR(d.ExpectEnd());
  return c;
}

const char* DiskFormatName(DiskFormat f) {
  switch (f) {
    case DiskFormat::kRaw:
      return "raw";
    case DiskFormat::kQcow2:
      return "qcow2";
  }
  return "unknown";
}

Result<DiskFormat> ParseDiskFormat(std::string_view name) {
  if (name == "raw") return DiskFormat::kRaw;
  if (name == "qcow2") return DiskFormat::kQcow2;
  return Status::InvalidArgument("unknown disk format '" + std::string(name) + "' (raw or qcow2)");
}

std::string EncodeVm(const VmRecord& v) {
  std::string out;
  Encoder e(&out);
  e.PutU8(kVmV2);
  e.PutString(v.name);
  e.PutU8(static_cast<uint8_t>(v.kind));
  e.PutVarint(v.current_rp);
  e.PutSignedVarint(v.created_us);
  e.PutString(v.libvirt_uri);
  e.PutVarint(v.disks.size());
  for (const VmDisk& disk : v.disks) {
    e.PutString(disk.name);
    e.PutString(disk.path);
    e.PutU8(static_cast<uint8_t>(disk.format));
  }
  e.PutString(v.domain_uuid);
  e.PutString(v.domain_name);
  e.PutString(v.checkpoint);
  e.PutVarint(v.checkpoint_rp);
  return out;
}

Result<VmRecord> DecodeVm(std::string_view in) {
  Decoder d(in, "vm record");
  RPFS_ASSIGN_OR_RETURN(uint8_t version, CheckVersionUpTo(d, kVmV2, "vm record"));
  VmRecord v;
  RPFS_ASSIGN_OR_RETURN(v.name, d.GetString());
  RPFS_ASSIGN_OR_RETURN(uint8_t kind, d.GetU8());
  if (kind > static_cast<uint8_t>(VmKind::kLibvirt)) return d.Truncated();
  v.kind = static_cast<VmKind>(kind);
  RPFS_ASSIGN_OR_RETURN(v.current_rp, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(v.created_us, d.GetSignedVarint());
  RPFS_ASSIGN_OR_RETURN(v.libvirt_uri, d.GetString());
  RPFS_ASSIGN_OR_RETURN(uint64_t n, d.GetVarint());
  if (n > d.remaining()) return d.Truncated();
  for (uint64_t i = 0; i < n; ++i) {
    VmDisk disk;
    RPFS_ASSIGN_OR_RETURN(disk.name, d.GetString());
    RPFS_ASSIGN_OR_RETURN(disk.path, d.GetString());
    RPFS_ASSIGN_OR_RETURN(uint8_t fmt, d.GetU8());
    if (fmt > static_cast<uint8_t>(DiskFormat::kQcow2)) return d.Truncated();
    disk.format = static_cast<DiskFormat>(fmt);
    v.disks.push_back(std::move(disk));
  }
  if (version >= kVmV2) {
    RPFS_ASSIGN_OR_RETURN(v.domain_uuid, d.GetString());
    RPFS_ASSIGN_OR_RETURN(v.domain_name, d.GetString());
    RPFS_ASSIGN_OR_RETURN(v.checkpoint, d.GetString());
    RPFS_ASSIGN_OR_RETURN(v.checkpoint_rp, d.GetVarint());
  }
  RPFS_RETURN_IF_ERROR(d.ExpectEnd());
  return v;
}

namespace {

void PutStreams(Encoder& e, const std::vector<RpStream>& streams) {
  e.PutVarint(streams.size());
  for (const RpStream& s : streams) {
    e.PutU8(static_cast<uint8_t>(s.kind));
    e.PutString(s.name);
    e.PutVarint(s.size);
    e.PutBytes(s.root.View());
  }
}

Result<std::vector<RpStream>> GetStreams(Decoder& d) {
  std::vector<RpStream> out;
  RPFS_ASSIGN_OR_RETURN(uint64_t n, d.GetVarint());
  if (n > d.remaining()) return d.Truncated();
  for (uint64_t i = 0; i < n; ++i) {
    RpStream s;
    RPFS_ASSIGN_OR_RETURN(uint8_t kind, d.GetU8());
    if (kind > static_cast<uint8_t>(StreamKind::kMemory)) return d.Truncated();
    s.kind = static_cast<StreamKind>(kind);
    RPFS_ASSIGN_OR_RETURN(s.name, d.GetString());
    RPFS_ASSIGN_OR_RETURN(s.size, d.GetVarint());
    RPFS_ASSIGN_OR_RETURN(std::string_view root, d.GetBytes(Digest::kSize));
    RPFS_ASSIGN_OR_RETURN(s.root, Digest::FromBytes(root));
    out.push_back(std::move(s));
  }
  return out;
}

Result<StreamAccess> GetAccess(Decoder& d) {
  StreamAccess a;
  RPFS_ASSIGN_OR_RETURN(uint64_t uid, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(uint64_t gid, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(uint64_t mode, d.GetVarint());
  if (uid > UINT32_MAX || gid > UINT32_MAX || mode > 0777) return d.Truncated();
  a.uid = static_cast<uint32_t>(uid);
  a.gid = static_cast<uint32_t>(gid);
  a.mode = static_cast<uint32_t>(mode);
  return a;
}

}  // namespace

std::string EncodeRp(const RpRecord& r) {
  std::string out;
  Encoder e(&out);
  e.PutU8(kRpV4);
  e.PutVarint(r.id);
  e.PutString(r.vm);
  e.PutString(r.name);
  e.PutSignedVarint(r.created_us);
  e.PutString(r.description);
  e.PutVarint(r.parent);
  e.PutVarint(r.flags);
  PutStreams(e, r.streams);
  e.PutString(r.domain_xml);
  e.PutVarint(r.logical_bytes);
  e.PutVarint(r.data_bytes);
  e.PutVarint(r.stored_bytes);
  e.PutVarint(r.added_bytes);
  for (const RpStream& s : r.streams) {  // v2: in stream order, one per stream
    e.PutVarint(s.access.uid);
    e.PutVarint(s.access.gid);
    e.PutVarint(s.access.mode);
  }
  for (const RpStream& s : r.streams) {  // v3: allocated + 1, 0 = unknown
    e.PutVarint(s.allocated ? *s.allocated + 1 : 0);
  }
  e.PutVarint(r.create_duration_us);
  e.PutSignedVarint(r.drill.time_us);  // v4
  e.PutU8(r.drill.ok ? 1 : 0);
  e.PutString(r.drill.reason);
  e.PutVarint(r.drill.boot_us);
  return out;
}

Result<RpRecord> DecodeRp(std::string_view in) {
  Decoder d(in, "rp record");
  RPFS_ASSIGN_OR_RETURN(uint8_t version, CheckVersionUpTo(d, kRpV4, "rp record"));
  RpRecord r;
  RPFS_ASSIGN_OR_RETURN(r.id, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(r.vm, d.GetString());
  RPFS_ASSIGN_OR_RETURN(r.name, d.GetString());
  RPFS_ASSIGN_OR_RETURN(r.created_us, d.GetSignedVarint());
  RPFS_ASSIGN_OR_RETURN(r.description, d.GetString());
  RPFS_ASSIGN_OR_RETURN(r.parent, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(uint64_t flags, d.GetVarint());
  if (flags > UINT32_MAX) return d.Truncated();
  r.flags = static_cast<uint32_t>(flags);
  RPFS_ASSIGN_OR_RETURN(r.streams, GetStreams(d));
  RPFS_ASSIGN_OR_RETURN(r.domain_xml, d.GetString());
  RPFS_ASSIGN_OR_RETURN(r.logical_bytes, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(r.data_bytes, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(r.stored_bytes, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(r.added_bytes, d.GetVarint());
  if (version >= kRpV2) {
    for (RpStream& s : r.streams) {
      RPFS_ASSIGN_OR_RETURN(s.access, GetAccess(d));
    }
  }
  if (version >= kRpV3) {
    for (RpStream& s : r.streams) {
      RPFS_ASSIGN_OR_RETURN(uint64_t allocated, d.GetVarint());
      if (allocated > s.size + 1) return d.Truncated();
      if (allocated > 0) s.allocated = allocated - 1;
    }
    RPFS_ASSIGN_OR_RETURN(r.create_duration_us, d.GetVarint());
  }
  if (version >= kRpV4) {
    RPFS_ASSIGN_OR_RETURN(r.drill.time_us, d.GetSignedVarint());
    RPFS_ASSIGN_OR_RETURN(uint8_t ok, d.GetU8());
    if (ok > 1) return d.Truncated();
    r.drill.ok = ok == 1;
    RPFS_ASSIGN_OR_RETURN(r.drill.reason, d.GetString());
    RPFS_ASSIGN_OR_RETURN(r.drill.boot_us, d.GetVarint());
  }
  RPFS_RETURN_IF_ERROR(d.ExpectEnd());
  return r;
}

std::string EncodeObjectMeta(const ObjectMeta& m) {
  std::string out;
  Encoder e(&out);
  e.PutU8(kObjectMetaV1);
  e.PutVarint(m.refcount);
  e.PutVarint(m.raw_size);
  e.PutVarint(m.stored_size);
  return out;
}

Result<ObjectMeta> DecodeObjectMeta(std::string_view in) {
  Decoder d(in, "object meta");
  RPFS_RETURN_IF_ERROR(CheckVersion(d, kObjectMetaV1, "object meta"));
  ObjectMeta m;
  RPFS_ASSIGN_OR_RETURN(m.refcount, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(m.raw_size, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(m.stored_size, d.GetVarint());
  RPFS_RETURN_IF_ERROR(d.ExpectEnd());
  return m;
}

std::string EncodeTx(const TxRecord& t) {
  std::string out;
  Encoder e(&out);
  e.PutU8(kTxV1);
  e.PutVarint(t.id);
  e.PutString(t.description);
  e.PutSignedVarint(t.started_us);
  return out;
}

Result<TxRecord> DecodeTx(std::string_view in) {
  Decoder d(in, "tx record");
  RPFS_RETURN_IF_ERROR(CheckVersion(d, kTxV1, "tx record"));
  TxRecord t;
  RPFS_ASSIGN_OR_RETURN(t.id, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(t.description, d.GetString());
  RPFS_ASSIGN_OR_RETURN(t.started_us, d.GetSignedVarint());
  RPFS_RETURN_IF_ERROR(d.ExpectEnd());
  return t;
}

std::string EncodeClone(const CloneRecord& c) {
  std::string out;
  Encoder e(&out);
  e.PutU8(kCloneV2);
  e.PutString(c.vm);
  e.PutString(c.name);
  e.PutString(c.rp_name);
  e.PutVarint(c.rp_id);
  e.PutSignedVarint(c.created_us);
  e.PutVarint(c.flags);
  PutStreams(e, c.disks);
  e.PutString(c.source);
  return out;
}

Result<CloneRecord> DecodeClone(std::string_view in) {
  Decoder d(in, "clone record");
  RPFS_ASSIGN_OR_RETURN(uint8_t version, CheckVersionUpTo(d, kCloneV2, "clone record"));
  CloneRecord c;
  RPFS_ASSIGN_OR_RETURN(c.vm, d.GetString());
  RPFS_ASSIGN_OR_RETURN(c.name, d.GetString());
  RPFS_ASSIGN_OR_RETURN(c.rp_name, d.GetString());
  RPFS_ASSIGN_OR_RETURN(c.rp_id, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(c.created_us, d.GetSignedVarint());
  RPFS_ASSIGN_OR_RETURN(uint64_t flags, d.GetVarint());
  if (flags > UINT32_MAX) return d.Truncated();
  c.flags = static_cast<uint32_t>(flags);
  RPFS_ASSIGN_OR_RETURN(c.disks, GetStreams(d));
  if (version >= kCloneV2) {
    RPFS_ASSIGN_OR_RETURN(c.source, d.GetString());
  }
  RPFS_RETURN_IF_ERROR(d.ExpectEnd());
  return c;
}

std::string EncodePolicy(const PolicyRecord& p) {
  std::string out;
  Encoder e(&out);
  e.PutU8(kPolicyV2);
  for (uint32_t v :
       {p.keep_last, p.keep_hourly, p.keep_daily, p.keep_weekly, p.keep_monthly, p.keep_yearly}) {
    e.PutVarint(v);
  }
  e.PutSignedVarint(p.keep_within_us);
  e.PutSignedVarint(p.every_us);
  e.PutSignedVarint(p.at_us);
  return out;
}

Result<PolicyRecord> DecodePolicy(std::string_view in) {
  Decoder d(in, "policy record");
  RPFS_ASSIGN_OR_RETURN(uint8_t version, CheckVersionUpTo(d, kPolicyV2, "policy record"));
  PolicyRecord p;
  for (uint32_t* v : {&p.keep_last, &p.keep_hourly, &p.keep_daily, &p.keep_weekly, &p.keep_monthly,
                      &p.keep_yearly}) {
    RPFS_ASSIGN_OR_RETURN(uint64_t n, d.GetVarint());
    if (n > UINT32_MAX) return d.Truncated();
    *v = static_cast<uint32_t>(n);
  }
  RPFS_ASSIGN_OR_RETURN(p.keep_within_us, d.GetSignedVarint());
  if (version >= kPolicyV2) {
    RPFS_ASSIGN_OR_RETURN(p.every_us, d.GetSignedVarint());
    RPFS_ASSIGN_OR_RETURN(p.at_us, d.GetSignedVarint());
  }
  RPFS_RETURN_IF_ERROR(d.ExpectEnd());
  return p;
}

std::string EncodeRegion(const RegionRecord& r) {
  std::string out;
  Encoder e(&out);
  e.PutU8(kRegionV1);
  e.PutString(r.name);
  e.PutString(r.ceph_conf);
  e.PutString(r.pool);
  e.PutString(r.client_id);
  e.PutSignedVarint(r.created_us);
  return out;
}

Result<RegionRecord> DecodeRegion(std::string_view in) {
  Decoder d(in, "region record");
  RPFS_RETURN_IF_ERROR(CheckVersion(d, kRegionV1, "region record"));
  RegionRecord r;
  RPFS_ASSIGN_OR_RETURN(r.name, d.GetString());
  RPFS_ASSIGN_OR_RETURN(r.ceph_conf, d.GetString());
  RPFS_ASSIGN_OR_RETURN(r.pool, d.GetString());
  RPFS_ASSIGN_OR_RETURN(r.client_id, d.GetString());
  RPFS_ASSIGN_OR_RETURN(r.created_us, d.GetSignedVarint());
  RPFS_RETURN_IF_ERROR(d.ExpectEnd());
  return r;
}

}  // namespace rpfs::format
