#include "format/records.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "support/guarded_copy.h"
#include "support/status_matchers.h"
#include "util/coding.h"

namespace rpfs::format {
namespace {

using rpfs::testing::GuardedCopy;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

Digest DigestOf(std::string_view s) { return Sha256(s); }

StoreConfig SampleConfig() {
  StoreConfig c;
  c.chunk_size = 1024 * 1024;
  c.compression_level = -5;
  c.page_fanout = 256;
  c.created_us = 1'700'000'000'123'456;
  return c;
}

VmRecord SampleVm() {
  VmRecord v;
  v.name = "web01";
  v.kind = VmKind::kLibvirt;
  v.disks = {{"vda", "/var/lib/libvirt/images/web01.qcow2", DiskFormat::kQcow2},
             {"vdb", "/dev/vg0/web01-data", DiskFormat::kRaw},
             {"", "", DiskFormat::kRaw}};
  v.current_rp = 42;
  v.created_us = -7;
  v.libvirt_uri = "qemu:///system";
  v.domain_uuid = "7f1c1c5e-1b7e-4a43-9d0e-2f1f7b0a8a11";
  v.domain_name = "web01-domain";
  v.checkpoint = "rpfs-1700000000";
  v.checkpoint_rp = 41;
  return v;
}

RpRecord SampleRp() {
  RpRecord r;
  r.id = 1234567;
  r.vm = "web01";
  r.name = "day3";
  r.created_us = 1'700'000'000'000'001;
  r.description = "before the upgrade\nsecond line";
  r.parent = 1234566;
  r.flags = kRpFlagQuiesced | kRpFlagWithMemory;
  r.streams = {
      {StreamKind::kDisk, "vda", 20ull << 30, DigestOf("vda root"), {}, std::nullopt},
      {StreamKind::kDisk, "vdb", 0, Digest(), {}, std::nullopt},
      {StreamKind::kMemory, "memory", 4ull << 30, DigestOf("memory root"), {}, std::nullopt}};
  r.streams[0].access = {.uid = 1000, .gid = 4294967295u, .mode = 0640};
  r.streams[0].allocated = 3ull << 30;  // varint of 2^31 + 2^30 + 1: 5 bytes
  r.streams[1].allocated = 0;           // known and zero (1 byte), unlike vdb's unknown
  r.domain_xml = "<domain type='kvm'><name>web01</name></domain>";
  r.logical_bytes = (20ull << 30) + (4ull << 30);
  r.data_bytes = 5ull << 30;
  r.stored_bytes = 2ull << 30;
  r.added_bytes = kMax64;
  r.create_duration_us = 1'500'000;  // varint: 3 bytes
  return r;
}

ObjectMeta SampleMeta() { return {.refcount = 3, .raw_size = 65536, .stored_size = kMax64}; }

TxRecord SampleTx() {
  return {.id = kMax64 - 1, .description = "create web01/day3", .started_us = -1};
}

PolicyRecord SamplePolicy() {
  return {.keep_last = 1,
          .keep_hourly = 24,
          .keep_daily = 7,
          .keep_weekly = 4,
          .keep_monthly = 6,
          .keep_yearly = UINT32_MAX,
          .keep_within_us = -5,
          .every_us = 3'600'000'000,
          .at_us = 900'000'000};
}

TEST(RecordsTest, StoreConfigRoundTripsFieldByField) {
  StoreConfig in = SampleConfig();
  Result<StoreConfig> out = DecodeStoreConfig(EncodeStoreConfig(in));
  ASSERT_OK(out);
  EXPECT_EQ(out->format_version, kStoreFormatVersion);
  EXPECT_EQ(out->chunk_size, 1024u * 1024u);
  EXPECT_EQ(out->compression_level, -5);
  EXPECT_EQ(out->page_fanout, 256u);
  EXPECT_EQ(out->created_us, 1'700'000'000'123'456);
}

TEST(RecordsTest, DefaultStoreConfigHasAStableEncoding) {
  // version 1, format 1, chunk 65536, level 3 (zigzag 6), fanout 128, created 0.
  EXPECT_EQ(EncodeStoreConfig(StoreConfig()),
            std::string("\x01\x01\x80\x80\x04\x06\x80\x01\x00", 9));
}

TEST(RecordsTest, StoreConfigLimitsAreInclusive) {
  for (uint32_t cs : {kMinChunkSize, kMaxChunkSize}) {
    StoreConfig c;
    c.chunk_size = cs;
    EXPECT_OK(DecodeStoreConfig(EncodeStoreConfig(c))) << cs;
  }
  for (uint32_t fanout : {2u, 65535u}) {
    StoreConfig c;
    c.page_fanout = fanout;
    EXPECT_OK(DecodeStoreConfig(EncodeStoreConfig(c))) << fanout;
  }
}

TEST(RecordsTest, StoreConfigWithImpossibleSizesIsCorruption) {
  for (uint32_t cs : {0u, kMinChunkSize - 1, kMaxChunkSize + 1}) {
    StoreConfig c;
    c.chunk_size = cs;
    EXPECT_TRUE(DecodeStoreConfig(EncodeStoreConfig(c)).status().IsCorruption()) << cs;
  }
  for (uint32_t fanout : {0u, 1u, 65536u}) {
    StoreConfig c;
    c.page_fanout = fanout;
    EXPECT_TRUE(DecodeStoreConfig(EncodeStoreConfig(c)).status().IsCorruption()) << fanout;
  }
}

TEST(RecordsTest, StoreConfigFromANewerFormatIsRefusedSayingSo) {
  StoreConfig c;
  c.format_version = 2;
  Result<StoreConfig> r = DecodeStoreConfig(EncodeStoreConfig(c));
  EXPECT_EQ(r.status().code(), Status::Code::kNotSupported) << r.status().ToString();
  EXPECT_THAT(r.status().message(), AllOf(HasSubstr("version 2"), HasSubstr("newer")));
}

TEST(RecordsTest, VmRecordRoundTripsFieldByField) {
  VmRecord in = SampleVm();
  Result<VmRecord> out = DecodeVm(EncodeVm(in));
  ASSERT_OK(out);
  EXPECT_EQ(out->name, "web01");
  EXPECT_EQ(out->kind, VmKind::kLibvirt);
  EXPECT_EQ(out->current_rp, 42u);
  EXPECT_EQ(out->created_us, -7);
  EXPECT_EQ(out->libvirt_uri, "qemu:///system");
  EXPECT_EQ(out->domain_uuid, in.domain_uuid);
  EXPECT_EQ(out->domain_name, "web01-domain");
  EXPECT_EQ(out->checkpoint, "rpfs-1700000000");
  EXPECT_EQ(out->checkpoint_rp, 41u);
  ASSERT_EQ(out->disks.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(out->disks[i].name, in.disks[i].name);
    EXPECT_EQ(out->disks[i].path, in.disks[i].path);
    EXPECT_EQ(out->disks[i].format, in.disks[i].format);
  }
}

TEST(RecordsTest, VmRecordWithoutDisksRoundTrips) {
  VmRecord in;
  in.name = "empty";
  Result<VmRecord> out = DecodeVm(EncodeVm(in));
  ASSERT_OK(out);
  EXPECT_EQ(out->name, "empty");
  EXPECT_EQ(out->kind, VmKind::kImageFiles);
  EXPECT_TRUE(out->disks.empty());
  EXPECT_EQ(out->libvirt_uri, "");
}

TEST(RecordsTest, RpRecordWithSeveralStreamsRoundTripsFieldByField) {
  RpRecord in = SampleRp();
  Result<RpRecord> out = DecodeRp(EncodeRp(in));
  ASSERT_OK(out);
  EXPECT_EQ(out->id, in.id);
  EXPECT_EQ(out->vm, "web01");
  EXPECT_EQ(out->name, "day3");
  EXPECT_EQ(out->created_us, in.created_us);
  EXPECT_EQ(out->description, in.description);
  EXPECT_EQ(out->parent, in.parent);
  EXPECT_EQ(out->flags, kRpFlagQuiesced | kRpFlagWithMemory);
  ASSERT_EQ(out->streams.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(out->streams[i].kind, in.streams[i].kind);
    EXPECT_EQ(out->streams[i].name, in.streams[i].name);
    EXPECT_EQ(out->streams[i].size, in.streams[i].size);
    EXPECT_EQ(out->streams[i].root, in.streams[i].root);
    EXPECT_EQ(out->streams[i].access, in.streams[i].access);
    EXPECT_EQ(out->streams[i].allocated, in.streams[i].allocated);
  }
  EXPECT_TRUE(out->streams[1].root.IsZero());
  EXPECT_EQ(out->domain_xml, in.domain_xml);
  EXPECT_EQ(out->logical_bytes, in.logical_bytes);
  EXPECT_EQ(out->data_bytes, in.data_bytes);
  EXPECT_EQ(out->stored_bytes, in.stored_bytes);
  EXPECT_EQ(out->added_bytes, kMax64);
  EXPECT_EQ(out->create_duration_us, 1'500'000u);
}

// Records written before v2 carry no access: their streams are the mount owner's only.
// The v3 tail: each stream's allocated bytes (5 + 1 + 1 bytes in the sample), then the
// create's duration (3).
constexpr size_t kV3Tail = 5 + 1 + 1 + 3;
// The v4 tail of a never-drilled RP: time 0, ok 0, reason "", boot 0, one byte each.
constexpr size_t kV4Tail = 4;

// `r` as a v3 writer wrote it (no drill).
std::string EncodeRpV3(RpRecord r) {
  r.drill = {};
  std::string v4 = EncodeRp(r);
  std::string v3 = v4.substr(0, v4.size() - kV4Tail);
  v3[0] = 3;
  return v3;
}

TEST(RecordsTest, RpRecordKeepsItsLastDrill) {
  RpRecord in = SampleRp();
  in.drill = {.time_us = 1'800'000'000'000'000,
              .ok = true,
              .reason = "showed \"login:\"",
              .boot_us = 3'000'000};
  Result<RpRecord> out = DecodeRp(EncodeRp(in));
  ASSERT_OK(out);
  EXPECT_EQ(out->drill.time_us, in.drill.time_us);
  EXPECT_TRUE(out->drill.ok);
  EXPECT_EQ(out->drill.reason, in.drill.reason);
  EXPECT_EQ(out->drill.boot_us, 3'000'000u);
  std::string bad = EncodeRp(in);
  bad[bad.size() - 1 - 4 - in.drill.reason.size() - 1] = 2;  // ok is 0 or 1
  EXPECT_FALSE(DecodeRp(bad).ok());
}

// Records written before v4 were never drilled.
TEST(RecordsTest, RpRecordV3StillDecodesAsNeverDrilled) {
  Result<RpRecord> out = DecodeRp(EncodeRpV3(SampleRp()));
  ASSERT_OK(out);
  EXPECT_EQ(out->drill.time_us, 0);
  EXPECT_EQ(out->create_duration_us, 1'500'000u);
}

// Records written before v3 do not know their streams' allocated bytes.
TEST(RecordsTest, RpRecordV2StillDecodesWithAllocatedUnknown) {
  std::string v3 = EncodeRpV3(SampleRp());
  std::string v2 = v3.substr(0, v3.size() - kV3Tail);
  v2[0] = 2;
  Result<RpRecord> out = DecodeRp(v2);
  ASSERT_OK(out);
  for (const auto& s : out->streams) EXPECT_EQ(s.allocated, std::nullopt);
  EXPECT_EQ(out->streams[0].access.mode, 0640u);
  EXPECT_FALSE(DecodeRp(v3.substr(0, v2.size())).ok());  // a cut v3 is not a v2
}

TEST(RecordsTest, RpRecordRefusesMoreAllocatedBytesThanTheStreamHas) {
  RpRecord in = SampleRp();
  in.streams[1].allocated = 1;  // vdb has 0 bytes
  EXPECT_FALSE(DecodeRp(EncodeRp(in)).ok());
}

TEST(RecordsTest, RpRecordV1StillDecodesWithOwnerOnlyAccess) {
  RpRecord in = SampleRp();
  std::string v3 = EncodeRpV3(in);
  std::string v2 = v3.substr(0, v3.size() - kV3Tail);
  v2[0] = 2;
  // v1 is v2 without the trailing accesses: (1000, 2^32-1, 0640) takes 2 + 5 + 2 bytes and
  // each default (0, 0, 0400) 1 + 1 + 2.
  std::string v1 = v2.substr(0, v2.size() - (2 + 5 + 2) - 2 * (1 + 1 + 2));
  v1[0] = 1;
  Result<RpRecord> out = DecodeRp(v1);
  ASSERT_OK(out);
  ASSERT_EQ(out->streams.size(), 3u);
  for (const auto& s : out->streams) EXPECT_EQ(s.access, StreamAccess{});
  EXPECT_EQ(StreamAccess{}.mode, 0400u);
  EXPECT_EQ(out->added_bytes, kMax64);
  // A v2 record cut before its accesses is truncated, not read as v1.
  std::string cut = v2.substr(0, v1.size());
  EXPECT_FALSE(DecodeRp(cut).ok());
}

TEST(RecordsTest, RpRecordRefusesAModeWiderThanPermissionBits) {
  RpRecord in = SampleRp();
  in.streams = {in.streams[0]};
  in.streams[0].access = {.uid = 0, .gid = 0, .mode = 04755};
  Result<RpRecord> out = DecodeRp(EncodeRp(in));
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().message(), HasSubstr("rp record"));
}

TEST(RecordsTest, ObjectMetaRoundTripsAndHasAStableEncoding) {
  Result<ObjectMeta> out = DecodeObjectMeta(EncodeObjectMeta(SampleMeta()));
  ASSERT_OK(out);
  EXPECT_EQ(out->refcount, 3u);
  EXPECT_EQ(out->raw_size, 65536u);
  EXPECT_EQ(out->stored_size, kMax64);
  EXPECT_EQ(EncodeObjectMeta({.refcount = 1, .raw_size = 2, .stored_size = 3}), "\x01\x01\x02\x03");
}

TEST(RecordsTest, TxRecordRoundTripsFieldByField) {
  Result<TxRecord> out = DecodeTx(EncodeTx(SampleTx()));
  ASSERT_OK(out);
  EXPECT_EQ(out->id, kMax64 - 1);
  EXPECT_EQ(out->description, "create web01/day3");
  EXPECT_EQ(out->started_us, -1);
}

// Every record kind, encoded, with a decoder that reports only the status.
struct Encoded {
  const char* what;  // as the decoder names it in messages
  std::string bytes;
  std::function<Status(std::string_view)> decode;
};

std::vector<Encoded> AllRecords() {
  auto status = [](auto r) { return r.status(); };
  return {
      {"store config", EncodeStoreConfig(SampleConfig()),
       [=](std::string_view in) { return status(DecodeStoreConfig(in)); }},
      {"vm record", EncodeVm(SampleVm()),
       [=](std::string_view in) { return status(DecodeVm(in)); }},
      {"rp record", EncodeRp(SampleRp()),
       [=](std::string_view in) { return status(DecodeRp(in)); }},
      {"object meta", EncodeObjectMeta(SampleMeta()),
       [=](std::string_view in) { return status(DecodeObjectMeta(in)); }},
      {"tx record", EncodeTx(SampleTx()),
       [=](std::string_view in) { return status(DecodeTx(in)); }},
      {"policy record", EncodePolicy(SamplePolicy()),
       [=](std::string_view in) { return status(DecodePolicy(in)); }},
  };
}

TEST(RecordsTest, EveryStrictPrefixFailsToDecode) {
  for (const Encoded& rec : AllRecords()) {
    SCOPED_TRACE(rec.what);
    ASSERT_OK(rec.decode(rec.bytes));
    for (size_t len = 0; len < rec.bytes.size(); ++len) {
      GuardedCopy in(std::string_view(rec.bytes).substr(0, len));  // over-reads fault
      Status s = rec.decode(in.view());
      EXPECT_TRUE(s.IsCorruption() || s.code() == Status::Code::kNotSupported)
          << "prefix " << len << ": " << s.ToString();
    }
  }
}

TEST(RecordsTest, AnotherVersionByteIsNotSupportedNamingTheVersion) {
  for (const Encoded& rec : AllRecords()) {
    SCOPED_TRACE(rec.what);
    for (uint8_t version : {0, 9, 255}) {
      std::string bytes = rec.bytes;
      bytes[0] = static_cast<char>(version);
      Status s = rec.decode(bytes);
      EXPECT_EQ(s.code(), Status::Code::kNotSupported) << s.ToString();
      EXPECT_THAT(s.message(),
                  AllOf(HasSubstr(rec.what), HasSubstr("version " + std::to_string(version))));
    }
  }
}

TEST(RecordsTest, TrailingBytesAreCorruption) {
  for (const Encoded& rec : AllRecords()) {
    SCOPED_TRACE(rec.what);
    for (const std::string& extra : {std::string(1, '\0'), std::string("xyz")}) {
      Status s = rec.decode(rec.bytes + extra);
      EXPECT_TRUE(s.IsCorruption()) << s.ToString();
      EXPECT_THAT(s.message(), AllOf(HasSubstr(rec.what), HasSubstr("trailing")));
    }
  }
}

TEST(RecordsTest, ArbitraryBytesNeverCrashADecoder) {
  std::mt19937_64 rng(1);
  const std::vector<Encoded> records = AllRecords();
  for (int i = 0; i < 20000; ++i) {
    const Encoded& rec = records[i % records.size()];
    std::string bytes = rec.bytes;
    if (i % 2 == 0) {  // flip one byte of a valid record
      bytes[rng() % bytes.size()] ^= static_cast<char>(1 + rng() % 255);
    } else {  // or random bytes behind the right version byte
      bytes.resize(1 + rng() % 48);
      for (size_t k = 1; k < bytes.size(); ++k) bytes[k] = static_cast<char>(rng());
    }
    GuardedCopy in(bytes);
    (void)rec.decode(in.view());  // any status is fine; crashing or over-reading is not
  }
  SUCCEED();
}

// Bytes of an encoding built by hand, to place invalid enum values. Version 1 (as stores
// written before libvirt support hold it) or 2 (what the encoder writes).
std::string VmWithKindAndFormat(uint8_t kind, uint8_t format, uint8_t version = 2) {
  std::string out;
  Encoder e(&out);
  e.PutU8(version);
  e.PutString("v");
  e.PutU8(kind);
  e.PutVarint(0);        // current_rp
  e.PutSignedVarint(0);  // created_us
  e.PutString("");       // libvirt_uri
  e.PutVarint(1);        // one disk
  e.PutString("vda");
  e.PutString("/x");
  e.PutU8(format);
  if (version >= 2) {
    e.PutString("");  // domain_uuid
    e.PutString("");  // domain_name
    e.PutString("");  // checkpoint
    e.PutVarint(0);   // checkpoint_rp
  }
  return out;
}

TEST(RecordsTest, PolicyRecordRoundTripsFieldByField) {
  PolicyRecord p = SamplePolicy();
  Result<PolicyRecord> decoded = DecodePolicy(EncodePolicy(p));
  ASSERT_OK(decoded);
  const PolicyRecord& back = *decoded;
  EXPECT_EQ(
      std::tie(back.keep_last, back.keep_hourly, back.keep_daily, back.keep_weekly,
               back.keep_monthly, back.keep_yearly, back.keep_within_us, back.every_us, back.at_us),
      std::tie(p.keep_last, p.keep_hourly, p.keep_daily, p.keep_weekly, p.keep_monthly,
               p.keep_yearly, p.keep_within_us, p.every_us, p.at_us));
}

TEST(RecordsTest, VersionOnePolicyRecordStillDecodesWithoutASchedule) {
  std::string v1;
  Encoder e(&v1);
  e.PutU8(1);
  for (uint64_t n : {2, 24, 7, 4, 6, 1}) e.PutVarint(n);
  e.PutSignedVarint(3600);
  Result<PolicyRecord> decoded = DecodePolicy(v1);
  ASSERT_OK(decoded);
  const PolicyRecord& p = *decoded;
  EXPECT_EQ(p.keep_hourly, 24u);
  EXPECT_EQ(p.keep_yearly, 1u);
  EXPECT_EQ(p.keep_within_us, 3600);
  EXPECT_EQ(p.every_us, 0);
  EXPECT_EQ(p.at_us, 0);
}

TEST(RecordsTest, VersionOneVmRecordStillDecodes) {
  Result<VmRecord> v = DecodeVm(VmWithKindAndFormat(1, 1, /*version=*/1));
  ASSERT_OK(v);
  EXPECT_EQ(v->kind, VmKind::kLibvirt);
  EXPECT_EQ(v->disks.size(), 1u);
  EXPECT_EQ(v->domain_uuid, "");
  EXPECT_EQ(v->checkpoint_rp, 0u);
}

TEST(RecordsTest, VmRecordVersionThreeIsRefusedAsNewer) {
  Result<VmRecord> v = DecodeVm(VmWithKindAndFormat(1, 1, /*version=*/3));
  EXPECT_EQ(v.status().code(), Status::Code::kNotSupported) << v.status().ToString();
  EXPECT_THAT(v.status().message(), HasSubstr("newer"));
}

TEST(RecordsTest, HandBuiltVmRecordMatchesTheEncoder) {
  VmRecord v;
  v.name = "v";
  v.disks = {{"vda", "/x", DiskFormat::kQcow2}};
  EXPECT_EQ(EncodeVm(v), VmWithKindAndFormat(0, 1));
}

TEST(RecordsTest, UnknownEnumValuesAreCorruption) {
  EXPECT_OK(DecodeVm(VmWithKindAndFormat(1, 1)));
  EXPECT_TRUE(DecodeVm(VmWithKindAndFormat(2, 0)).status().IsCorruption());
  EXPECT_TRUE(DecodeVm(VmWithKindAndFormat(0, 2)).status().IsCorruption());
  EXPECT_TRUE(DecodeVm(VmWithKindAndFormat(0, 255)).status().IsCorruption());

  RpRecord r;
  r.streams = {{StreamKind::kDisk, "vda", 1, Digest(), {}, std::nullopt}};
  std::string bytes = EncodeRp(r);
  // version, id 0, vm "", name "", created 0, description "", parent 0, flags 0, count 1:
  const size_t kind_pos = 9;
  ASSERT_EQ(bytes[kind_pos - 1], '\x01');
  ASSERT_EQ(bytes[kind_pos], '\x00');
  bytes[kind_pos] = 2;
  EXPECT_TRUE(DecodeRp(bytes).status().IsCorruption());
}

TEST(RecordsTest, HugeCountsAreCorruptionNotAllocations) {
  std::string vm;
  Encoder e(&vm);
  e.PutU8(1);
  e.PutString("v");
  e.PutU8(0);
  e.PutVarint(0);
  e.PutSignedVarint(0);
  e.PutString("");
  e.PutVarint(kMax64);  // disk count
  EXPECT_TRUE(DecodeVm(vm).status().IsCorruption());

  std::string rp;
  Encoder r(&rp);
  r.PutU8(1);
  r.PutVarint(1);
  for (int i = 0; i < 4; ++i) r.PutVarint(0);  // vm, name, created, description
  r.PutVarint(0);                              // parent
  r.PutVarint(0);                              // flags
  r.PutVarint(kMax64);                         // stream count
  EXPECT_TRUE(DecodeRp(rp).status().IsCorruption());
}

TEST(RecordsTest, DiskFormatNamesRoundTrip) {
  for (DiskFormat f : {DiskFormat::kRaw, DiskFormat::kQcow2}) {
    Result<DiskFormat> back = ParseDiskFormat(DiskFormatName(f));
    ASSERT_OK(back);
    EXPECT_EQ(*back, f);
  }
  EXPECT_STREQ(DiskFormatName(DiskFormat::kQcow2), "qcow2");
  Result<DiskFormat> bad = ParseDiskFormat("vmdk");
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_THAT(bad.status().message(), HasSubstr("'vmdk'"));
  EXPECT_TRUE(ParseDiskFormat("").status().IsInvalidArgument());
}

}  // namespace
}  // namespace rpfs::format
