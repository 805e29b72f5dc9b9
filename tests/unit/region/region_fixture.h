// The fixtures of the region protocol's unit tests: an RP as chunks (FakeRp), hosts sharing
// one in-memory pool (RegionTest::Host), and days of a VM's disk (RegionBaseTest::Day).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>

#include "format/chunk_codec.h"
#include "region/region.h"
#include "unit/region/memory_object_store.h"
#include "util/hash.h"

namespace rpfs::region {

using testing::MemoryObjectStore;

inline constexpr uint32_t kChunk = 4096;

// An RP as chunks: disk "vda" of `chunks` chunks, chunk i filled with fill[i] (absent or 0:
// a hole).
class FakeRp final : public RpChunks {
 public:
  FakeRp(std::string rp, std::map<uint64_t, uint8_t> fill, uint64_t chunks = 64)
      : fill_(std::move(fill)) {
    info_.vm = "web";
    info_.name = std::move(rp);
    info_.created_us = 1000 + static_cast<int64_t>(info_.name.size());
    RpDiskInfo d;
    d.name = "vda";
    d.size = chunks * kChunk;
    d.mode = 0640;
    info_.disks.push_back(d);
    info_.logical_bytes = d.size;
    format::ChunkEncoder enc(3);
    for (const auto& [i, b] : fill_) {
      if (b == 0) continue;
      std::string raw = Raw(b);
      Digest dg = Sha256(raw);
      digests_[i] = dg;
      std::string body;
      enc.Encode(std::as_bytes(std::span(raw.data(), raw.size())), &body);
      bodies_[dg] = body;
    }
  }
  static std::string Raw(uint8_t b) { return std::string(kChunk, static_cast<char>(b)); }

  const RpInfo& info() const override { return info_; }
  uint32_t chunk_size() const override { return kChunk; }
  const std::string& domain_xml() const override { return xml_; }
  Status ForEachChunk(const std::string& stream,
                      const std::function<bool(uint64_t, std::string_view)>& fn) const override {
    if (stream != "vda") return Status::NotFound("no stream " + stream);
    for (const auto& [i, d] : digests_) {
      if (!fn(i, d.View())) break;
    }
    return Status::OK();
  }
  Result<std::string> StoredChunk(std::string_view digest) const override {
    RPFS_ASSIGN_OR_RETURN(Digest d, Digest::FromBytes(digest));
    return bodies_.at(d);
  }
  const std::map<uint64_t, Digest>& digests() const { return digests_; }

 private:
  RpInfo info_;
  std::string xml_ = "<domain/>";
  std::map<uint64_t, uint8_t> fill_;
  std::map<uint64_t, Digest> digests_;
  std::map<Digest, std::string> bodies_;
};

// A second handle on the same pool: another host.
class Forward final : public ObjectStore {
 public:
  explicit Forward(ObjectStore* to) : to_(to) {}
  std::vector<Result<std::string>> ReadMany(const std::vector<std::string>& o) override {
    return to_->ReadMany(o);
  }
  std::vector<Status> CreateMany(const std::vector<NewObject>& o) override {
    return to_->CreateMany(o);
  }
  std::vector<Status> SetOmapIfExistsMany(const std::vector<std::string>& o,
                                          const Omap& m) override {
    return to_->SetOmapIfExistsMany(o, m);
  }
  std::vector<Status> RemoveOmapKeysMany(const std::vector<std::string>& o,
                                         const std::vector<std::string>& k) override {
    return to_->RemoveOmapKeysMany(o, k);
  }
  std::vector<OmapSnapshot> GetOmapMany(const std::vector<std::string>& o) override {
    return to_->GetOmapMany(o);
  }
  std::vector<Status> RemoveIfVersionMany(
      const std::vector<std::pair<std::string, uint64_t>>& o) override {
    return to_->RemoveIfVersionMany(o);
  }
  Status WriteFull(const std::string& o, const std::string& d) override {
    return to_->WriteFull(o, d);
  }
  Status UpdateOmap(const std::string& o, const OmapUpdate& u) override {
    return to_->UpdateOmap(o, u);
  }
  Status Remove(const std::string& o) override { return to_->Remove(o); }
  Result<std::vector<std::string>> List(const std::string& p) override { return to_->List(p); }
  uint64_t bytes_written() const override { return to_->bytes_written(); }

 private:
  ObjectStore* to_;
};

class RegionTest : public ::testing::Test {
 protected:
  Region Host(const std::string&) { return Region("eu", std::make_unique<Forward>(&pool_)); }

  Result<PushResult> Push(Region& r, const FakeRp& rp, const std::string& name,
                          const std::string& host = "a") {
    return r.Push(rp, PushOptions{name, host});
  }

  std::vector<std::string> Names(Region& r) {
    auto snaps = r.Snapshots();
    EXPECT_TRUE(snaps.ok()) << snaps.status().ToString();
    std::vector<std::string> out;
    if (snaps.ok()) {
      for (const auto& s : *snaps) out.push_back(s.name);
    }
    return out;
  }

  void ExpectVerifyOk(Region& r) {
    auto v = r.Verify(100);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_TRUE(v->ok()) << (v->problems.empty() ? "" : v->problems[0]);
  }

  // Reads stream vda of `snapshot` through OpenStreams.
  Result<std::string> ReadAll(Region& r, const std::string& snapshot) {
    RPFS_ASSIGN_OR_RETURN(auto s, r.Find(snapshot));
    RPFS_ASSIGN_OR_RETURN(auto m, r.LoadManifest(s));
    RPFS_ASSIGN_OR_RETURN(auto streams, r.OpenStreams(m));
    std::string out(streams[0].source->size(), '\0');
    RPFS_RETURN_IF_ERROR(
        streams[0].source->ReadAt(0, std::as_writable_bytes(std::span(out.data(), out.size()))));
    return out;
  }

  MemoryObjectStore pool_;
};

class RegionBaseTest : public RegionTest {
 protected:
  // 40 chunks; `changed` of them get other bytes.
  static FakeRp Day(const std::string& rp, std::set<uint64_t> changed = {}, uint8_t salt = 100) {
    std::map<uint64_t, uint8_t> fill;
    for (uint64_t i = 0; i < 40; ++i) {
      fill[i] = static_cast<uint8_t>(changed.count(i) != 0 ? salt + i : 1 + i);
    }
    return FakeRp(rp, fill);
  }
  std::string BaseOf(const std::string& name) {
    auto s = DecodeSummary(pool_.objects.at(kIndexObject).omap.at(kSnapKey + name));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s->base : "?";
  }
  std::string SidOf(Region& r, const std::string& name) {
    auto s = r.Find(name);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s->sid : "?";
  }
  // Operations on chunk objects during `fn`.
  int ChunkOps(const std::function<void()>& fn) {
    int ops = 0;
    pool_.hook = [&](const std::string&, const std::string& oid) {
      if (oid.rfind(kChunkPrefix, 0) == 0) ops++;
      return Status::OK();
    };
    fn();
    pool_.hook = nullptr;
    return ops;
  }
  void ExpectReads(Region& r, const std::string& snapshot, const FakeRp& rp) {
    auto bytes = ReadAll(r, snapshot);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    for (const auto& [i, d] : rp.digests()) {
      ASSERT_EQ(Sha256(bytes->substr(i * kChunk, kChunk)), d) << snapshot << " chunk " << i;
    }
  }
};

}  // namespace rpfs::region
