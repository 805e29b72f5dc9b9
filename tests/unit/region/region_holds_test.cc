// Holds (Region::Hold, docs/region.md "Holds"): a clone not yet hydrated keeps the chunks of
// the snapshot it was made from; a delete of that snapshot waits for it, and its release
// (or a gc that is told the clone is done) finishes the delete.
#include <gtest/gtest.h>

#include "region/region.h"
#include "unit/region/region_fixture.h"

namespace rpfs::region {
namespace {

class RegionHoldTest : public RegionBaseTest {
 protected:
  static HoldOwner Owner(const std::string& clone, const std::string& store = "store-1") {
    return HoldOwner{"b", store, "web", "clone " + clone};
  }
  Result<std::string> HoldOf(Region& r, const std::string& snapshot, const std::string& clone) {
    RPFS_ASSIGN_OR_RETURN(Summary s, r.Find(snapshot));
    return r.Hold(s, Owner(clone));
  }
  // Whether every chunk `rp` holds is still in the pool.
  bool AllChunksPresent(const FakeRp& rp) {
    for (const auto& [i, d] : rp.digests()) {
      if (pool_.objects.count(ChunkObject(d)) == 0) return false;
    }
    return true;
  }
  bool IndexHas(const std::string& key) {
    return pool_.objects.at(kIndexObject).omap.count(key) != 0;
  }
};

TEST_F(RegionHoldTest, DeleteOfAHeldSnapshotWaitsUntilTheHoldGoes) {
  Region a = Host("a");
  Region b = Host("b");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  auto hold = HoldOf(b, "s1", "c1");
  ASSERT_TRUE(hold.ok()) << hold.status().ToString();
  auto holds = b.Holds();
  ASSERT_TRUE(holds.ok()) << holds.status().ToString();
  ASSERT_EQ(holds->size(), 1u);
  EXPECT_EQ((*holds)[0].sid, *hold);
  EXPECT_EQ((*holds)[0].name, "s1");
  EXPECT_EQ((*holds)[0].base, SidOf(a, "s1"));

  auto d = a.Delete("s1");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->waiting_for.rfind(kHoldKey + *hold, 0), 0u) << d->waiting_for;
  EXPECT_NE(d->waiting_for.find("held by clone c1 of VM web on host b"), std::string::npos)
      << d->waiting_for;
  EXPECT_EQ(d->chunks_removed, 0u);
  EXPECT_TRUE(Names(a).empty()) << "gone from the list at once";
  EXPECT_TRUE(AllChunksPresent(Day("d1"))) << "the clone can still read every chunk";

  auto r = b.Release(*hold);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->also_finished, std::vector<std::string>{"s1"});
  EXPECT_EQ(pool_.Count(kChunkPrefix), 0u);
  EXPECT_EQ(pool_.Count(kSnapPrefix), 0u);
  EXPECT_TRUE(pool_.objects.at(kIndexObject).omap.empty());

  auto again = b.Release(*hold);  // a retry, or a gc that came first
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->also_finished.empty());
}

TEST_F(RegionHoldTest, ReleaseOfAHeldSnapshotNotDeletedChangesNothingElse) {
  Region a = Host("a");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  auto hold = HoldOf(a, "s1", "c1");
  ASSERT_TRUE(hold.ok()) << hold.status().ToString();
  auto r = a.Release(*hold);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->also_finished.empty());
  EXPECT_FALSE(IndexHas(kHoldKey + *hold));
  EXPECT_EQ(Names(a), std::vector<std::string>{"s1"});
  ExpectVerifyOk(a);
  ExpectReads(a, "s1", Day("d1"));
}

TEST_F(RegionHoldTest, HoldOfASnapshotDeletedOrReplacedMeanwhileFailsAndWritesNothing) {
  Region a = Host("a");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  auto read = a.Find("s1");  // what a clone read before the delete
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_TRUE(a.Delete("s1").ok());
  auto gone = a.Hold(*read, Owner("c1"));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), Status::Code::kNotFound);
  EXPECT_NE(gone.status().message().find("snapshot s1"), std::string::npos)
      << gone.status().ToString();
  EXPECT_NE(gone.status().message().find("deleted or replaced"), std::string::npos)
      << gone.status().ToString();

  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());  // the same name, another push
  auto replaced = a.Hold(*read, Owner("c1"));
  ASSERT_FALSE(replaced.ok());
  EXPECT_EQ(replaced.status().code(), Status::Code::kNotFound);
  auto holds = a.Holds();
  ASSERT_TRUE(holds.ok()) << holds.status().ToString();
  EXPECT_TRUE(holds->empty()) << "a failed hold leaves no entry";
}

// The held snapshot's entry changes under the same sid between the hold's read and its
// guarded update (another host's delete of its base gives it its own references): the
// hold reads it again and is taken.
TEST_F(RegionHoldTest, HoldOfASnapshotRebasedMeanwhileGoesOn) {
  Region a = Host("a");
  Region b = Host("b");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  ASSERT_TRUE(Push(a, Day("d2", {3}), "s2").ok());
  auto s2 = b.Find("s2");
  ASSERT_TRUE(s2.ok()) << s2.status().ToString();
  bool raced = false;
  pool_.hook = [&](const std::string& op, const std::string& oid) {
    if (op == "update" && oid == kIndexObject && !raced) {
      raced = true;
      EXPECT_TRUE(a.Delete("s1").ok());
    }
    return Status::OK();
  };
  auto hold = b.Hold(*s2, Owner("c1"));
  pool_.hook = nullptr;
  ASSERT_TRUE(raced);
  ASSERT_TRUE(hold.ok()) << hold.status().ToString();
  EXPECT_EQ(BaseOf("s2"), "") << "s2 was rebased";
  EXPECT_TRUE(IndexHas(kHoldKey + *hold));
}

// An entry that changes at every try (other hosts at work without end): the hold gives up
// after a few reads, Busy, naming the snapshot, and writes nothing.
TEST_F(RegionHoldTest, HoldOfASnapshotThatKeepsChangingGivesUpCleanly) {
  Region a = Host("a");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  auto s1 = a.Find("s1");
  ASSERT_TRUE(s1.ok()) << s1.status().ToString();
  int changes = 0;
  pool_.hook = [&](const std::string& op, const std::string& oid) {
    if (op == "update" && oid == kIndexObject) {
      Summary changed = *s1;
      changed.description = "changed " + std::to_string(++changes);
      pool_.objects.at(kIndexObject).omap[kSnapKey + std::string("s1")] = EncodeSummary(changed);
    }
    return Status::OK();
  };
  auto hold = a.Hold(*s1, Owner("c1"));
  pool_.hook = nullptr;
  ASSERT_FALSE(hold.ok());
  EXPECT_EQ(hold.status().code(), Status::Code::kBusy) << hold.status().ToString();
  EXPECT_NE(hold.status().message().find("snapshot s1"), std::string::npos)
      << hold.status().ToString();
  EXPECT_GT(changes, 1);
  auto holds = a.Holds();
  ASSERT_TRUE(holds.ok()) << holds.status().ToString();
  EXPECT_TRUE(holds->empty());
}

// A held snapshot based on another: both deleted (the held one first), the chunks the
// clone reads stay, whichever snapshot references them, until the hold goes; then both
// deletes finish.
TEST_F(RegionHoldTest, AHoldKeepsTheChainOfBasesOfItsSnapshot) {
  Region a = Host("a");
  Region b = Host("b");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  ASSERT_TRUE(Push(a, Day("d2", {3}), "s2").ok());
  ASSERT_EQ(BaseOf("s2"), SidOf(a, "s1"));
  auto hold = HoldOf(b, "s2", "c2");
  ASSERT_TRUE(hold.ok()) << hold.status().ToString();

  auto d2 = a.Delete("s2");
  ASSERT_TRUE(d2.ok()) << d2.status().ToString();
  EXPECT_EQ(d2->waiting_for.rfind(kHoldKey, 0), 0u) << d2->waiting_for;
  auto d1 = a.Delete("s1");
  ASSERT_TRUE(d1.ok()) << d1.status().ToString();
  EXPECT_EQ(d1->waiting_for.rfind(kDelKey, 0), 0u) << "waits for s2's delete: " << d1->waiting_for;
  EXPECT_TRUE(AllChunksPresent(Day("d2", {3})));
  auto gc = a.Gc(0);  // without being told about holds, gc keeps them and what they keep
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_TRUE(gc->finished.empty());
  EXPECT_TRUE(AllChunksPresent(Day("d2", {3})));

  auto r = b.Release(*hold);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->also_finished, (std::vector<std::string>{"s2", "s1"}));
  EXPECT_EQ(pool_.Count(kChunkPrefix), 0u);
  EXPECT_TRUE(pool_.objects.at(kIndexObject).omap.empty());
}

TEST_F(RegionHoldTest, GcReleasesTheHoldsItIsToldToAndFinishesWhatTheyKept) {
  Region a = Host("a");
  Region b = Host("b");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  auto mine = HoldOf(b, "s1", "c1");
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  auto s1 = b.Find("s1");
  ASSERT_TRUE(s1.ok());
  auto other = b.Hold(*s1, Owner("c9", "store-2"));
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ASSERT_TRUE(a.Delete("s1").ok());

  std::vector<std::string> asked;
  auto gc = b.Gc(0, [&](const Summary& hold) {
    asked.push_back(hold.sid);
    return hold.description == "store-1";
  });
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(asked.size(), 2u);
  ASSERT_EQ(gc->holds_released.size(), 1u);
  EXPECT_NE(gc->holds_released[0].find(kHoldKey + *mine), std::string::npos)
      << gc->holds_released[0];
  EXPECT_TRUE(gc->finished.empty()) << "store-2's clone still holds s1";
  ASSERT_EQ(gc->warnings.size(), 1u);
  EXPECT_NE(gc->warnings[0].find("clone c9"), std::string::npos) << gc->warnings[0];
  EXPECT_TRUE(AllChunksPresent(Day("d1")));

  gc = b.Gc(0, [](const Summary&) { return true; });
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->finished, std::vector<std::string>{"s1"});
  EXPECT_EQ(pool_.Count(kChunkPrefix), 0u);
  EXPECT_TRUE(pool_.objects.at(kIndexObject).omap.empty());
}

TEST_F(RegionHoldTest, AFailedReleaseKeepsTheHoldForTheNextTry) {
  Region a = Host("a");
  ASSERT_TRUE(Push(a, Day("d1"), "s1").ok());
  auto hold = HoldOf(a, "s1", "c1");
  ASSERT_TRUE(hold.ok()) << hold.status().ToString();
  ASSERT_TRUE(a.Delete("s1").ok());
  pool_.hook = [&](const std::string& op, const std::string&) {
    return op == "update" ? Status::IOError("connection lost") : Status::OK();
  };
  auto r = a.Release(*hold);
  pool_.hook = nullptr;
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(kHoldKey + *hold), std::string::npos)
      << r.status().ToString();
  EXPECT_TRUE(IndexHas(kHoldKey + *hold));
  EXPECT_TRUE(AllChunksPresent(Day("d1")));
  auto again = a.Release(*hold);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->also_finished, std::vector<std::string>{"s1"});
}

}  // namespace
}  // namespace rpfs::region
