// The region protocol (region/region.h) against an in-memory pool: pushes send only what is
// missing, interrupted pushes stay invisible and resume, deletes and gc free exactly what
// nothing references, also when another host acts between two steps.
#include "region/region.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "format/chunk_codec.h"
#include "region/remote_chunks.h"
#include "region/snapshot_source.h"
#include "support/status_matchers.h"
#include "unit/region/region_fixture.h"
#include "util/coding.h"
#include "util/hash.h"

namespace rpfs::region {
namespace {

TEST_F(RegionTest, PushPublishesAndNextPushSendsOnlyNewChunks) {
  Region a = Host("a");
  FakeRp rp1("rp1", {{0, 1}, {1, 2}, {2, 3}, {10, 4}});
  FakeRp rp2("rp2", {{0, 1}, {1, 2}, {2, 9}, {10, 4}, {11, 5}});
  auto p1 = Push(a, rp1, "s1");
  ASSERT_TRUE(p1.ok()) << p1.status().ToString();
  EXPECT_EQ(p1->chunks, 4u);
  EXPECT_EQ(p1->chunks_sent, 4u);
  auto p2 = Push(a, rp2, "s2");
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  EXPECT_EQ(p2->chunks, 5u);
  EXPECT_EQ(p2->chunks_sent, 2u);  // chunk 2 changed, chunk 11 is new
  EXPECT_EQ(pool_.Count(kChunkPrefix), 6u);
  EXPECT_EQ(Names(a), (std::vector<std::string>{"s1", "s2"}));

  Region b = Host("b");  // another host sees both and reads them back
  auto bytes = ReadAll(b, "s2");
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(bytes->substr(2 * kChunk, kChunk), FakeRp::Raw(9));
  EXPECT_EQ(bytes->substr(3 * kChunk, kChunk), std::string(kChunk, '\0'));  // a hole
  EXPECT_EQ(bytes->substr(11 * kChunk, kChunk), FakeRp::Raw(5));
  ExpectVerifyOk(b);
}

TEST_F(RegionTest, TakenNameIsRefusedAndChangesNothing) {
  Region a = Host("a");
  ASSERT_TRUE(Push(a, FakeRp("rp1", {{0, 1}}), "s1").ok());
  auto before = pool_.objects.size();
  auto again = Push(a, FakeRp("rp2", {{0, 7}}), "s1");
  EXPECT_EQ(again.status().code(), Status::Code::kAlreadyExists) << again.status().ToString();
  EXPECT_NE(again.status().message().find("snapshot s1 already exists"), std::string::npos);
  EXPECT_EQ(pool_.objects.size(), before);
  auto bad = Push(a, FakeRp("rp2", {{0, 7}}), "../x");
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
}

TEST_F(RegionTest, InterruptedPushIsInvisibleAndResumesWithoutResending) {
  Region a = Host("a");
  std::map<uint64_t, uint8_t> fill;
  for (uint64_t i = 0; i < 300; ++i) fill[i] = static_cast<uint8_t>(1 + i % 250);
  FakeRp rp("rp1", fill, 400);
  int creates = 0;
  pool_.hook = [&](const std::string& op, const std::string&) {
    if (op == "create" && ++creates > 150) return Status::IOError("connection lost");
    return Status::OK();
  };
  auto first = Push(a, rp, "s1");
  EXPECT_EQ(first.status().code(), Status::Code::kIOError);
  pool_.hook = nullptr;
  EXPECT_TRUE(Names(a).empty());  // not visible
  ExpectVerifyOk(a);

  auto second = Push(a, rp, "s1");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->resumed);
  EXPECT_EQ(second->chunks, 250u);  // distinct fills
  EXPECT_EQ(second->chunks_sent, 250u - 150u);
  EXPECT_EQ(Names(a), std::vector<std::string>{"s1"});
  ExpectVerifyOk(a);
}

TEST_F(RegionTest, SameNameBeingPushedFromAnotherHostIsBusy) {
  Region a = Host("a");
  Region b = Host("b");
  FakeRp rp("rp1", {{0, 1}, {1, 2}});
  pool_.hook = [&](const std::string& op, const std::string&) {
    return op == "update" && pool_.Count(kSnapPrefix) > 0 ? Status::IOError("cut") : Status::OK();
  };
  EXPECT_FALSE(Push(a, rp, "s1", "host-a").ok());  // stopped before publishing
  pool_.hook = nullptr;
  auto other = Push(b, rp, "s1", "host-b");
  EXPECT_EQ(other.status().code(), Status::Code::kBusy) << other.status().ToString();
  EXPECT_NE(other.status().message().find("host-a"), std::string::npos);
}

TEST_F(RegionTest, DeleteFreesOnlyChunksNothingElseReferences) {
  Region a = Host("a");
  FakeRp rp1("rp1", {{0, 1}, {1, 2}, {2, 3}});
  FakeRp rp2("rp2", {{0, 1}, {1, 2}, {2, 4}});
  ASSERT_TRUE(Push(a, rp1, "s1").ok());
  ASSERT_TRUE(Push(a, rp2, "s2").ok());
  auto d = a.Delete("s1");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->chunks_removed, 1u);  // chunk of fill 3
  EXPECT_EQ(pool_.Count(kChunkPrefix), 3u);
  EXPECT_EQ(Names(a), std::vector<std::string>{"s2"});
  EXPECT_EQ(pool_.objects.at(kIndexObject).omap.size(), 1u);  // no del.* left
  ExpectVerifyOk(a);
  auto bytes = ReadAll(a, "s2");
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(bytes->substr(0, kChunk), FakeRp::Raw(1));

  EXPECT_EQ(a.Delete("s1").status().code(), Status::Code::kNotFound);
  ASSERT_TRUE(a.Delete("s2").ok());
  EXPECT_EQ(pool_.Count(kChunkPrefix), 0u);
  EXPECT_EQ(pool_.Count(kSnapPrefix), 0u);
}

// The race the version guard exists for: host A's delete finds a chunk unreferenced; host B
// references it (its push of the same chunk) before A removes it. A's removal must fail.
TEST_F(RegionTest, ChunkReferencedDuringDeleteSurvives) {
  Region a = Host("a");
  Region b = Host("b");
  FakeRp rp1("rp1", {{0, 1}, {1, 2}});
  FakeRp rp2("rp2", {{0, 1}, {5, 8}});
  ASSERT_TRUE(Push(a, rp1, "s1").ok());
  bool raced = false;
  pool_.hook = [&](const std::string& op, const std::string&) {
    if (op == "remove_if" && !raced) {
      raced = true;
      auto p = Push(b, rp2, "s2", "b");  // runs entirely between A's read and A's remove
      EXPECT_TRUE(p.ok()) << p.status().ToString();
      EXPECT_EQ(p->chunks_sent, 1u);  // chunk 1 was still there: only referenced
    }
    return Status::OK();
  };
  auto d = a.Delete("s1");
  pool_.hook = nullptr;
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(raced);
  EXPECT_EQ(d->chunks_removed, 1u);  // only fill 2's chunk
  ExpectVerifyOk(b);
  auto bytes = ReadAll(b, "s2");
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(bytes->substr(0, kChunk), FakeRp::Raw(1));
}

// The other order: the chunk is gone before B adds its reference; B creates it again.
TEST_F(RegionTest, ChunkRemovedBeforeReferenceIsCreatedAgain) {
  Region a = Host("a");
  Region b = Host("b");
  FakeRp rp1("rp1", {{0, 1}});
  FakeRp rp2("rp2", {{0, 1}});
  ASSERT_TRUE(Push(a, rp1, "s1").ok());
  bool raced = false;
  pool_.hook = [&](const std::string& op, const std::string&) {
    if (op == "ref" && !raced) {
      raced = true;
      EXPECT_TRUE(a.Delete("s1").ok());  // A deletes just before B references
    }
    return Status::OK();
  };
  auto p = Push(b, rp2, "s2", "b");
  pool_.hook = nullptr;
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->chunks_sent, 1u);
  ExpectVerifyOk(b);
}

TEST_F(RegionTest, GcRemovesDeadPushesAndStaleReferencesKeepsLiveOnes) {
  Region a = Host("a");
  ASSERT_TRUE(Push(a, FakeRp("rp1", {{0, 1}, {1, 2}}), "keep").ok());
  bool sent = false;  // the host dies after sending its chunks, before publishing
  pool_.hook = [&](const std::string& op, const std::string&) {
    if (op == "create" || op == "ref") sent = true;
    return op == "update" && sent ? Status::IOError("host died") : Status::OK();
  };
  EXPECT_FALSE(Push(a, FakeRp("rp2", {{0, 1}, {1, 5}, {2, 6}}), "dead").ok());
  pool_.hook = nullptr;
  EXPECT_EQ(pool_.Count(kChunkPrefix), 4u);
  // A reference by a sid nothing knows (e.g. a reclaim that lost its index entry).
  pool_.objects.at(ChunkObject(Sha256(FakeRp::Raw(1)))).omap["ghost-0000"] = "1";

  auto within = a.Gc(3600ll * 1000000);  // the push is younger than an hour: kept
  ASSERT_TRUE(within.ok()) << within.status().ToString();
  EXPECT_TRUE(within->finished.empty());
  EXPECT_EQ(within->stale_references, 1u);
  EXPECT_EQ(pool_.Count(kChunkPrefix), 4u);

  auto gc = a.Gc(0);
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->finished, std::vector<std::string>{"dead"});
  EXPECT_EQ(gc->chunks_removed, 2u);
  EXPECT_EQ(pool_.Count(kChunkPrefix), 2u);
  EXPECT_EQ(Names(a), std::vector<std::string>{"keep"});
  ExpectVerifyOk(a);
}

// A gc that took a slow push for dead: the push must not publish a snapshot whose
// references gc dropped.
TEST_F(RegionTest, PushTakenForDeadByGcDoesNotPublish) {
  Region a = Host("a");
  Region b = Host("b");
  bool collected = false;
  pool_.hook = [&](const std::string& op, const std::string& oid) {
    if (op == "update" && oid == kIndexObject && pool_.Count(kSnapPrefix) > 0 && !collected) {
      collected = true;
      EXPECT_TRUE(b.Gc(0).ok());
    }
    return Status::OK();
  };
  auto p = Push(a, FakeRp("rp1", {{0, 1}, {1, 2}}), "slow");
  pool_.hook = nullptr;
  EXPECT_TRUE(collected);
  EXPECT_EQ(p.status().code(), Status::Code::kAborted) << p.status().ToString();
  EXPECT_TRUE(Names(a).empty());
  EXPECT_EQ(pool_.Count(kChunkPrefix), 0u);
}

TEST_F(RegionTest, VerifyNamesMissingDamagedAndUnreferencedChunks) {
  Region a = Host("a");
  FakeRp rp("rp1", {{0, 1}, {1, 2}, {2, 3}});
  ASSERT_TRUE(Push(a, rp, "s1").ok());
  const std::string c1 = ChunkObject(rp.digests().at(0));
  const std::string c2 = ChunkObject(rp.digests().at(1));
  const std::string c3 = ChunkObject(rp.digests().at(2));
  pool_.objects.erase(c1);
  pool_.objects.at(c2).data.back() ^= 0x40;
  pool_.objects.at(c3).omap.clear();
  auto v = a.Verify(100);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->problems.size(), 3u);
  std::string all;
  for (const auto& p : v->problems) all += p + "\n";
  EXPECT_NE(all.find(rp.digests().at(0).Hex() + ": missing"), std::string::npos) << all;
  EXPECT_NE(all.find(rp.digests().at(1).Hex()), std::string::npos) << all;
  EXPECT_NE(all.find(rp.digests().at(2).Hex() + ": holds no reference"), std::string::npos) << all;
}

TEST_F(RegionTest, DamagedOrMissingChunkIsAnErrorNeverWrongBytes) {
  Region a = Host("a");
  FakeRp rp("rp1", {{0, 1}, {1, 2}});
  ASSERT_TRUE(Push(a, rp, "s1").ok());
  auto& body = pool_.objects.at(ChunkObject(rp.digests().at(1))).data;
  // A valid body of other bytes: passes the codec's checksum, fails the SHA-256.
  format::ChunkEncoder enc(3);
  std::string other = FakeRp::Raw(77);
  enc.Encode(std::as_bytes(std::span(other.data(), other.size())), &body);
  auto r = ReadAll(a, "s1");
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_NE(r.status().message().find(rp.digests().at(1).Hex()), std::string::npos);
  EXPECT_NE(r.status().message().find("damaged"), std::string::npos) << r.status().ToString();

  pool_.objects.erase(ChunkObject(rp.digests().at(1)));
  r = ReadAll(a, "s1");
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_NE(r.status().message().find("no such object"), std::string::npos);
}

TEST(RegionManifestTest, TruncatedOrAlteredRecordsAreRefusedCleanly) {
  Manifest m;
  m.summary.sid = "h-0123";
  m.summary.name = "s";
  m.summary.disks = {"vda"};
  m.chunk_size = kChunk;
  ManifestStream s;
  s.name = "vda";
  s.size = 10 * kChunk;
  s.entries = 2;
  m.streams.push_back(s);
  const std::string enc = EncodeManifest(m);
  auto back = DecodeManifest(enc);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->streams[0].entries, 2u);
  for (size_t n = 0; n < enc.size(); ++n) {
    EXPECT_FALSE(DecodeManifest(enc.substr(0, n)).ok()) << n;
  }
  std::vector<ChunkEntry> entries = {{1, Sha256("a")}, {4, Sha256("b")}};
  const std::string part = EncodePart(entries, 0, 2);
  std::vector<ChunkEntry> out;
  ASSERT_TRUE(DecodePart(part, 10, &out).ok());
  EXPECT_EQ(out[1].index, 4u);
  out.clear();
  EXPECT_FALSE(DecodePart(part, 4, &out).ok());  // index 4 beyond a 4-chunk stream
  for (size_t n = 0; n < part.size(); ++n) {
    out.clear();
    EXPECT_FALSE(DecodePart(part.substr(0, n), 10, &out).ok()) << n;
  }
}

}  // namespace
}  // namespace rpfs::region

namespace rpfs::region {
namespace {

// What another host wrote is input: an index entry this rpfs cannot read must not make gc
// take the snapshot's references for stale, nor let a delete drop references that entry
// may inherit; and a del.* entry acts on the sid of its key.
TEST_F(RegionTest, GcTrustsKeysAndKeepsReferencesItCannotAttribute) {
  Region a = Host("a");
  FakeRp rp1("rp1", {{0, 1}, {1, 2}});
  ASSERT_TRUE(Push(a, rp1, "s1").ok());
  ASSERT_TRUE(Push(a, FakeRp("rp2", {{0, 3}}), "s2").ok());
  auto& index = pool_.objects.at(kIndexObject).omap;
  const std::string s1 = index.at("snap.s1");
  const std::string s2 = index.at("snap.s2");
  // A del.* entry claiming s1's sid under another key: only the key's sid is reclaimed.
  index["del.ghost-0000"] = s1;
  // s2's entry becomes unreadable (a newer rpfs, or damage).
  index["snap.s2"] = std::string("\x07garbage", 8);
  auto gc = a.Gc(0);
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->chunks_removed, 0u);
  ASSERT_EQ(gc->warnings.size(), 2u);
  EXPECT_NE(gc->warnings[0].find("the delete of s1 waits for index entry snap.s2"),
            std::string::npos)
      << gc->warnings[0];
  EXPECT_NE(gc->warnings[1].find("snap.s2"), std::string::npos);
  EXPECT_EQ(pool_.Count(kChunkPrefix), 3u);             // s2's chunk kept though its sid is unknown
  EXPECT_EQ(index.count("del.ghost-0000"), 1u);         // kept: the unreadable entry may need it
  EXPECT_EQ(Names(a), std::vector<std::string>{"s1"});  // the unreadable entry is skipped
  ExpectVerifyOk(a);

  index["snap.s2"] = s2;  // readable again: the ghost's delete finishes, s1 keeps all
  gc = a.Gc(0);
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_TRUE(gc->warnings.empty()) << gc->warnings[0];
  EXPECT_EQ(gc->chunks_removed, 0u);
  EXPECT_EQ(index.count("del.ghost-0000"), 0u);
  EXPECT_EQ(pool_.Count(kChunkPrefix), 3u);
  EXPECT_EQ(Names(a), (std::vector<std::string>{"s1", "s2"}));
  ExpectVerifyOk(a);
}

// A push resumed long after its first attempt claims its entry afresh: a gc whose grace
// counts from the first attempt does not take it for dead.
TEST_F(RegionTest, ResumedPushIsNotDeadToAGcOfTheFirstAttempt) {
  Region a = Host("a");
  Region b = Host("b");
  FakeRp rp("rp1", {{0, 1}, {1, 2}, {2, 3}});
  pool_.hook = [&](const std::string& op, const std::string&) {
    return op == "create" ? Status::IOError("cut") : Status::OK();
  };
  EXPECT_FALSE(Push(a, rp, "s1").ok());
  pool_.hook = nullptr;
  // Age the entry: its push began an hour ago.
  auto& index = pool_.objects.at(kIndexObject).omap;
  std::string key;
  for (const auto& kv : index) key = kv.first;
  auto old = DecodeSummary(index.at(key));
  ASSERT_TRUE(old.ok());
  old->pushed_us -= 3600ll * 1000000;
  index[key] = EncodeSummary(*old);
  bool collected = false;
  pool_.hook = [&](const std::string& op, const std::string&) {
    if (op == "create" && !collected) {  // the resumed push is under way
      collected = true;
      auto gc = b.Gc(600ll * 1000000);  // grace 10 min: the first attempt is older
      EXPECT_TRUE(gc.ok());
      EXPECT_TRUE(gc->finished.empty());
    }
    return Status::OK();
  };
  auto again = Push(a, rp, "s1");
  pool_.hook = nullptr;
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->resumed);
  EXPECT_TRUE(collected);
  ExpectVerifyOk(a);
}

TEST(RegionManifestTest, HostileIndicesAndSizesAreRefused) {
  // A gap that wraps around to an earlier index.
  std::string part;
  Encoder e(&part);
  e.PutU8(1);
  e.PutVarint(2);
  e.PutVarint(10);
  e.PutBytes(Sha256("a").View());
  e.PutVarint(~uint64_t{0} - 2);  // 10 + that wraps to 7
  e.PutBytes(Sha256("b").View());
  std::vector<ChunkEntry> out;
  EXPECT_FALSE(DecodePart(part, 100, &out).ok());

  Manifest m;
  m.summary.sid = "h-1";
  m.summary.name = "s";
  m.chunk_size = 4096 + 1;  // not a power of two
  EXPECT_FALSE(DecodeManifest(EncodeManifest(m)).ok());
  m.chunk_size = 4096;
  ManifestStream a;
  a.name = "vda";
  a.size = 4096;
  m.streams = {a, a};  // twice
  EXPECT_FALSE(DecodeManifest(EncodeManifest(m)).ok());
  m.streams[1].name = "../x";
  EXPECT_FALSE(DecodeManifest(EncodeManifest(m)).ok());
  m.streams.pop_back();
  EXPECT_TRUE(DecodeManifest(EncodeManifest(m)).ok());
}

}  // namespace
}  // namespace rpfs::region

namespace rpfs::region {
namespace {

// Bases (docs/region.md): a push from the same host and VM inherits the references its
// latest snapshot holds, so it touches only the chunks that changed; deletes move those
// references to the snapshots based on the one deleted before dropping any.
TEST_F(RegionBaseTest, NextPushTouchesOnlyTheChunksThatChanged) {
  Region a = Host("a");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  Result<PushResult> p2 = Status::OK();
  const int ops = ChunkOps([&] { p2 = Push(a, Day("d2", {5, 6}), "s2"); });
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  EXPECT_EQ(p2->base, "s1");
  EXPECT_EQ(p2->chunks, 40u);
  EXPECT_EQ(p2->chunks_inherited, 38u);
  EXPECT_EQ(p2->chunks_sent, 2u);
  EXPECT_EQ(ops, 2 * 2) << "a reference attempt and a create per changed chunk, nothing else";
  EXPECT_EQ(BaseOf("s2"), SidOf(a, "s1"));
  ExpectVerifyOk(a);
  ExpectReads(a, "s2", Day("d2", {5, 6}));

  // Another host's or VM's push has no base: it holds all its chunks.
  Region b = Host("b");
  auto other = Push(b, Day("d2", {5, 6}), "s2b", "b");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(other->base, "");
  EXPECT_EQ(other->chunks_inherited, 0u);
  EXPECT_EQ(BaseOf("s2b"), "");

  // A chunk that has lost the base's reference fails verify for both snapshots.
  pool_.objects.at(ChunkObject(Day("d1").digests().at(0))).omap.erase(SidOf(a, "s1"));
  auto v = a.Verify(0);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  std::string all;
  for (const auto& p : v->problems) all += p + "\n";
  EXPECT_EQ(v->problems.size(), 2u) << all;
  EXPECT_NE(all.find("snapshot s1: chunk"), std::string::npos) << all;
  EXPECT_NE(all.find("snapshot s2: chunk"), std::string::npos) << all;
}

TEST_F(RegionBaseTest, DeletingABaseMovesItsReferencesToWhatIsBasedOnIt) {
  Region a = Host("a");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  ASSERT_TRUE(Push(a, Day("d2", {1}), "s2").ok());
  ASSERT_TRUE(Push(a, Day("d3", {1, 2}, 150), "s3").ok());  // base s2
  ASSERT_EQ(BaseOf("s3"), SidOf(a, "s2"));
  ASSERT_EQ(pool_.Count(kChunkPrefix), 43u);

  auto d = a.Delete("s2");  // in the middle: s3 takes what it shares with s2
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->references_moved, 38u) << "s3 and s2 share chunks 0, 3..39";
  EXPECT_EQ(d->chunks_removed, 1u) << "s2's chunk 1 (fill 101)";
  EXPECT_TRUE(d->waiting_for.empty()) << d->waiting_for;
  EXPECT_EQ(BaseOf("s3"), "");
  EXPECT_EQ(Names(a), (std::vector<std::string>{"s1", "s3"}));
  ExpectVerifyOk(a);
  ExpectReads(a, "s1", Day("d1"));
  ExpectReads(a, "s3", Day("d3", {1, 2}, 150));

  ASSERT_TRUE(a.Delete("s1").ok());
  EXPECT_EQ(pool_.Count(kChunkPrefix), 40u) << "s1's chunks 1 and 2 went";
  ExpectVerifyOk(a);
  ExpectReads(a, "s3", Day("d3", {1, 2}, 150));
  ASSERT_TRUE(a.Delete("s3").ok());
  EXPECT_EQ(pool_.Count(kChunkPrefix), 0u);
  EXPECT_TRUE(pool_.objects.at(kIndexObject).omap.empty());
}

// Host B deletes the base while host A's push is sending: the delete waits for the push,
// whose publish finds its base gone, references what it inherited itself, and finishes
// the waiting delete.
TEST_F(RegionBaseTest, PushWhoseBaseIsDeletedMeanwhileHoldsItsChunksItself) {
  Region a = Host("a");
  Region b = Host("b");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  bool deleted = false;
  pool_.hook = [&](const std::string& op, const std::string&) {
    if (op == "create" && !deleted) {
      deleted = true;
      auto d = b.Delete("s1");
      EXPECT_TRUE(d.ok()) << d.status().ToString();
      if (d.ok()) {
        EXPECT_EQ(d->waiting_for.rfind("push.", 0), 0u) << d->waiting_for;
      }
      EXPECT_EQ(pool_.Count(kChunkPrefix), 40u) << "the waiting delete removed nothing";
    }
    return Status::OK();
  };
  auto p = Push(a, Day("d2", {7}), "s2");
  pool_.hook = nullptr;
  ASSERT_TRUE(deleted);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->base, "");
  EXPECT_EQ(p->chunks_sent, 1u);
  EXPECT_EQ(BaseOf("s2"), "");
  EXPECT_EQ(Names(a), std::vector<std::string>{"s2"});
  EXPECT_EQ(pool_.objects.at(kIndexObject).omap.size(), 1u) << "s1's delete finished";
  EXPECT_EQ(pool_.Count(kChunkPrefix), 40u) << "only s1's chunk 7 went";
  ExpectVerifyOk(a);
  ExpectReads(a, "s2", Day("d2", {7}));
}

// The base is deleted completely between the push's read of the index and its first
// step: the chunks it took as held are gone, and the publish guard makes it send them.
TEST_F(RegionBaseTest, PushWhoseBaseVanishedBeforeItBeganSendsItsChunksAgain) {
  Region a = Host("a");
  Region b = Host("b");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  bool deleted = false;
  pool_.hook = [&](const std::string& op, const std::string& oid) {
    if (op == "update" && oid == kIndexObject && !deleted) {
      deleted = true;
      auto d = b.Delete("s1");
      EXPECT_TRUE(d.ok() && d->waiting_for.empty()) << d.status().ToString();
      EXPECT_EQ(pool_.Count(kChunkPrefix), 0u);
    }
    return Status::OK();
  };
  auto p = Push(a, Day("d2", {7}), "s2");
  pool_.hook = nullptr;
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->chunks_sent, 40u);
  EXPECT_EQ(BaseOf("s2"), "");
  ExpectVerifyOk(a);
  ExpectReads(a, "s2", Day("d2", {7}));
}

// A delete of the base while the delete of a snapshot based on it is under way waits for
// it; the later one finishes both.
TEST_F(RegionBaseTest, DeleteOfABaseWaitsForTheDeleteOfItsDependent) {
  Region a = Host("a");
  Region b = Host("b");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  ASSERT_TRUE(Push(a, Day("d2", {3}), "s2").ok());
  bool raced = false;
  pool_.hook = [&](const std::string& op, const std::string&) {
    if (op == "unref" && !raced) {
      raced = true;
      auto d = b.Delete("s1");
      EXPECT_TRUE(d.ok()) << d.status().ToString();
      if (d.ok()) {
        EXPECT_EQ(d->waiting_for.rfind("del.", 0), 0u) << d->waiting_for;
      }
    }
    return Status::OK();
  };
  auto d = a.Delete("s2");
  pool_.hook = nullptr;
  ASSERT_TRUE(raced);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->also_finished, std::vector<std::string>{"s1"});
  EXPECT_EQ(pool_.Count(kChunkPrefix), 0u);
  EXPECT_TRUE(pool_.objects.at(kIndexObject).omap.empty());
}

// A delete cut short leaves its del.* entry; the delete of its base then waits, and gc
// finishes both, the dependent first.
TEST_F(RegionBaseTest, GcFinishesWaitingDeletesInOrder) {
  Region a = Host("a");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  ASSERT_TRUE(Push(a, Day("d2", {3}), "s2").ok());
  pool_.hook = [&](const std::string& op, const std::string&) {
    return op == "unref" ? Status::IOError("connection lost") : Status::OK();
  };
  EXPECT_FALSE(a.Delete("s2").ok());
  pool_.hook = nullptr;
  auto d1 = a.Delete("s1");
  ASSERT_TRUE(d1.ok()) << d1.status().ToString();
  EXPECT_FALSE(d1->waiting_for.empty());
  EXPECT_EQ(pool_.Count(kChunkPrefix), 41u);
  EXPECT_TRUE(Names(a).empty());

  auto gc = a.Gc(0);
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->finished, (std::vector<std::string>{"s2", "s1"}));
  EXPECT_TRUE(gc->warnings.empty()) << gc->warnings[0];
  EXPECT_EQ(pool_.Count(kChunkPrefix), 0u);
  EXPECT_TRUE(pool_.objects.at(kIndexObject).omap.empty());
}

}  // namespace
}  // namespace rpfs::region

namespace rpfs::region {
namespace {

// RegionChunks (region/remote_chunks.h), what clones of region snapshots read through: a
// Read of a chunk that a Prefetch is fetching waits for it instead of fetching it again
// (the clone's read-ahead and its reader overlap on purpose), and a chunk whose prefetch
// failed is fetched by the Read, which names the damage.
TEST_F(RegionTest, ReadOfAChunkBeingPrefetchedWaitsForItAndFetchesNothing) {
  Region a = Host("a");
  FakeRp rp("rp1", {{0, 1}, {1, 2}, {2, 3}, {3, 4}});
  ASSERT_TRUE(Push(a, rp, "s1").ok());
  auto chunks = NewRegionChunks(std::make_unique<Region>("eu", std::make_unique<Forward>(&pool_)));
  std::vector<std::string> digests;
  for (const auto& [i, d] : rp.digests()) digests.emplace_back(d.View());
  const std::string third = ChunkObject(rp.digests().at(2));

  std::map<std::string, int> reads;
  std::atomic<bool> reader_done{false};
  std::thread reader;
  std::string got(kChunk, '\0');
  Status read_status;
  pool_.hook = [&](const std::string& op, const std::string& oid) {
    if (op != "read") return Status::OK();
    reads[oid]++;
    if (!reader.joinable()) {  // the prefetch's first read: the reader comes in now
      reader = std::thread([&] {
        read_status = chunks->Read(digests[2], std::as_writable_bytes(std::span(got)));
        reader_done = true;
      });
      // The reader must come to wait for the chunk in flight (without the wait it fetches
      // the chunk itself and finishes instead).
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (ReadsWaitingForPrefetch(*chunks) == 0 && !reader_done &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
      }
      EXPECT_FALSE(reader_done) << "the reader did not wait for the chunk in flight";
      EXPECT_EQ(ReadsWaitingForPrefetch(*chunks), 1u);
    }
    return Status::OK();
  };
  chunks->Prefetch(digests);
  reader.join();
  pool_.hook = nullptr;
  ASSERT_TRUE(read_status.ok()) << read_status.ToString();
  EXPECT_EQ(got, FakeRp::Raw(3));
  EXPECT_EQ(reads[third], 1) << "fetched once, by the prefetch";

  // A damaged chunk: the prefetch drops it, the Read fetches it and says what is wrong.
  pool_.objects.at(ChunkObject(rp.digests().at(3))).data.back() ^= 0x40;
  auto fresh = NewRegionChunks(std::make_unique<Region>("eu", std::make_unique<Forward>(&pool_)));
  fresh->Prefetch(digests);
  Status st = fresh->Read(digests[3], std::as_writable_bytes(std::span(got)));
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_NE(st.message().find(rp.digests().at(3).Hex() + " is damaged"), std::string::npos)
      << st.ToString();
}

}  // namespace
}  // namespace rpfs::region

namespace rpfs::region {
namespace {

// A push cut short, its base deleted meanwhile (the delete waits for the push), then the
// push resumed: it references what the base held itself, publishes without a base, and
// finishes the delete that waited for it.
TEST_F(RegionBaseTest, ResumedPushWhoseBaseWasDeletedFinishesThatDelete) {
  Region a = Host("a");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  pool_.hook = [&](const std::string& op, const std::string&) {
    return op == "create" ? Status::IOError("connection lost") : Status::OK();
  };
  EXPECT_FALSE(Push(a, Day("d2", {4, 5}), "s2").ok());
  pool_.hook = nullptr;
  auto d = a.Delete("s1");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->waiting_for.rfind("push.", 0), 0u) << d->waiting_for;
  EXPECT_EQ(pool_.Count(kChunkPrefix), 40u);

  auto p = Push(a, Day("d2", {4, 5}), "s2");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->resumed);
  EXPECT_EQ(p->base, "");
  EXPECT_EQ(p->chunks_sent, 2u) << "what s1 held was referenced, not sent again";
  EXPECT_EQ(BaseOf("s2"), "");
  EXPECT_EQ(pool_.objects.at(kIndexObject).omap.size(), 1u) << "s1's delete finished";
  EXPECT_EQ(pool_.Count(kChunkPrefix), 40u) << "s1's chunks 4 and 5 went";
  ExpectVerifyOk(a);
  ExpectReads(a, "s2", Day("d2", {4, 5}));
}

// A snapshot based on the one deleted whose manifest cannot be read: nothing is moved, the
// delete waits (never drops what that snapshot may inherit), gc reports it and goes on
// with the rest, and finishes it once the manifest reads again.
TEST_F(RegionBaseTest, ADependentWithAnUnreadableManifestKeepsTheDeleteWaiting) {
  Region a = Host("a");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  ASSERT_TRUE(Push(a, Day("d2", {9}), "s2").ok());
  ASSERT_TRUE(Push(a, Day("o1"), "other", "b").ok());  // another host: no base
  const std::string manifest = ManifestObject(SidOf(a, "s2"));
  const std::string good = pool_.objects.at(manifest).data;
  pool_.objects.at(manifest).data = std::string("\x07garbage", 8);

  auto d = a.Delete("s1");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->waiting_for, "snap.s2");
  EXPECT_EQ(d->references_moved, 0u);
  ASSERT_TRUE(a.Delete("other").ok());
  auto gc = a.Gc(0);
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  ASSERT_EQ(gc->warnings.size(), 1u);
  EXPECT_NE(gc->warnings[0].find("the delete of s1 waits for snap.s2"), std::string::npos)
      << gc->warnings[0];
  EXPECT_EQ(pool_.Count(kChunkPrefix), 41u) << "s1 and s2 keep all they hold";

  pool_.objects.at(manifest).data = good;
  gc = a.Gc(0);
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->finished, std::vector<std::string>{"s1"});
  EXPECT_EQ(pool_.Count(kChunkPrefix), 40u);
  ExpectVerifyOk(a);
  ExpectReads(a, "s2", Day("d2", {9}));
}

}  // namespace
}  // namespace rpfs::region

namespace rpfs::region {
namespace {

// Host B deletes s1 while host A deletes s2, based on s1: B's delete gives s2 its own
// references and rewrites s2's entry between A's read of it and A's guarded update. A's
// delete reads it again and goes on (same snapshot, same sid) instead of failing.
TEST_F(RegionBaseTest, DeleteOfASnapshotRebasedMeanwhileGoesOn) {
  Region a = Host("a");
  Region b = Host("b");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  ASSERT_TRUE(Push(a, Day("d2", {3}), "s2").ok());
  bool raced = false;
  pool_.hook = [&](const std::string& op, const std::string& oid) {
    if (op == "update" && oid == kIndexObject && !raced) {
      raced = true;
      auto d = b.Delete("s1");
      EXPECT_TRUE(d.ok()) << d.status().ToString();
      EXPECT_EQ(BaseOf("s2"), "") << "s2 was rebased";
    }
    return Status::OK();
  };
  auto d = a.Delete("s2");
  pool_.hook = nullptr;
  ASSERT_TRUE(raced);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(Names(a).empty());
  EXPECT_EQ(pool_.Count(kChunkPrefix), 0u);
  EXPECT_TRUE(pool_.objects.at(kIndexObject).omap.empty());
}

}  // namespace
}  // namespace rpfs::region
