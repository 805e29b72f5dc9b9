// Holds (docs/region.md, "Holds"): a clone made from a region snapshot keeps the chunks it
// has not copied yet. A hold is an index entry naming the snapshot as its base, so every
// delete of the snapshot waits for it exactly as for a push based on it (KeptBy), and the
// same FinishBaseDeletes finishes that delete once the hold goes.
#include "region/index_entries.h"
#include "region/region.h"
#include "util/clock.h"
#include "util/log.h"

namespace rpfs::region {
namespace {

std::string Describe(const Summary& hold) {
  return "snapshot " + hold.name + ": " + hold.rp + " of VM " + hold.vm + " on host " + hold.host +
         " (" + kHoldKey + hold.sid + ")";
}

}  // namespace

Result<std::string> Region::Hold(const Summary& snapshot, const HoldOwner& owner) {
  const std::string label = "holding " + Label(snapshot.name) + " for " + owner.holder;
  Summary hold;
  hold.sid = NewSid(SidHost(owner.host));
  hold.name = snapshot.name;
  hold.host = owner.host;
  hold.vm = owner.vm;
  hold.rp = owner.holder;
  hold.description = owner.store;
  hold.base = snapshot.sid;
  hold.pushed_us = NowMicros();
  const std::string key = kHoldKey + hold.sid;
  for (int attempt = 0;; ++attempt) {
    RPFS_ASSIGN_OR_RETURN(Omap index, ReadIndex());
    auto it = index.find(kSnapKey + snapshot.name);
    if (it == index.end() || !Published(index, snapshot.name, snapshot.sid)) {
      return Status::NotFound(label + ": it was deleted or replaced meanwhile");
    }
    // Written only while the snapshot is published as read: a delete that begins later
    // sees the hold and waits; one that began earlier removed that entry, so this fails.
    OmapUpdate take;
    take.equal = {{it->first, it->second}};
    take.absent = {key};
    take.set = {{key, EncodeSummary(hold)}};
    Status st = objects_->UpdateOmap(kIndexObject, take);
    if (st.ok()) return hold.sid;
    // The snapshot's entry changes under the same sid when a delete of its own base gives
    // it its own references: read it again.
    if (st.code() != Status::Code::kAborted) return st.WithContext(label);
    if (attempt >= 8)
      return Status::Busy(label + ": its entry keeps changing (other hosts at work?)");
  }
}

Result<DeleteResult> Region::Release(const std::string& hid) {
  DeleteResult result;
  const std::string key = kHoldKey + hid;
  RPFS_ASSIGN_OR_RETURN(Omap index, ReadIndex());
  auto it = index.find(key);
  if (it == index.end()) return result;  // released before (a retry, or a gc)
  // An unreadable value names no base: the delete it kept waiting is left to gc.
  auto hold = DecodeSummary(it->second);
  OmapUpdate drop;
  drop.remove = {key};
  Status st = objects_->UpdateOmap(kIndexObject, drop);
  if (!st.ok()) return st.WithContext("region ", name_, ": releasing ", key);
  if (hold.ok()) FinishBaseDeletes(hold->base, &result);
  return result;
}

Result<std::vector<Summary>> Region::Holds() {
  RPFS_ASSIGN_OR_RETURN(Omap index, ReadIndex());
  std::vector<Summary> out;
  for (Entry& e : Entries(index)) {
    if (!StartsWith(e.key, kHoldKey) || !e.readable) continue;
    e.summary.sid = e.sid;  // the key's, as everywhere
    out.push_back(std::move(e.summary));
  }
  return out;
}

void Region::ReleaseHolds(const ReleasableFn& releasable, GcResult* out) {
  if (!releasable) return;
  auto holds = Holds();
  if (!holds.ok()) {
    out->warnings.push_back("holds: " + holds.status().ToString());
    return;
  }
  for (const Summary& hold : *holds) {
    if (!releasable(hold)) continue;
    auto released = Release(hold.sid);
    if (!released.ok()) {
      out->warnings.push_back(Describe(hold) + ": " + released.status().ToString());
      continue;
    }
    log::Log(log::Severity::kInfo, "region-hold-released",
             {{"region", name_}, {"snapshot", hold.name}, {"hold", hold.sid}});
    out->holds_released.push_back(Describe(hold));
    for (auto& name : released->also_finished) out->finished.push_back(std::move(name));
  }
}

}  // namespace rpfs::region
