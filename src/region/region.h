// Region: volume snapshots in a pool shared by many hosts (docs/region.md has the protocol
// and why it is safe while hosts push, delete and collect at the same time).
//
//   Push     index "push.<sid>" first, then the manifest, then one reference per distinct
//            chunk its base does not hold (added to the chunk if it exists, else the chunk
//            is created with the reference, exclusively), then "snap.<name>" published in
//            place of "push.<sid>" by one omap update guarded on the base still being
//            published: visible only once every chunk is durable and held.
//   Delete   "snap.<name>" replaced by "del.<sid>" in one guarded update; snapshots based
//            on it get their own references to what they inherit; once nothing in progress
//            is based on it, every reference dropped (a chunk left with none is removed
//            only if its version did not move since it was read), then the manifest and
//            "del.<sid>".
//   Hold     "hold.<hid>" names a snapshot as its base, written only while the snapshot is
//            published: a clone not yet hydrated keeps the chunks it may still read,
//            since a delete waits for it like for a push based on the snapshot.
//            Release removes it and finishes a delete that waited for it.
//   Gc       releases the holds the caller says are no longer needed, treats pushes
//            older than the grace as dead and deletes them, finishes every delete that
//            waits for nothing (in rounds), and drops references and manifests of sids
//            the index does not know.
//
// A Region holds no mutable state of its own: reads (Snapshots, Find, LoadManifest and
// the readers it opens) may run from several threads at once, as the mount's do; the
// commands (Push, Delete, Gc, Verify) run one per process.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "image/image_source.h"  // ImportedStream owns its source
#include "region/manifest.h"
#include "region/object_store.h"
#include "rpfs/repository.h"

namespace rpfs::region {

struct PushOptions {
  std::string name;  // the snapshot's name in the region
  std::string host;  // this host's name, recorded with the snapshot
};

struct PushResult {
  Summary snapshot;
  bool resumed = false;           // an interrupted push of the same name finished
  std::string base;               // the snapshot it inherits references from ("": none)
  uint64_t chunks = 0;            // distinct chunks
  uint64_t chunks_inherited = 0;  // of which the base holds (no operation on them)
  uint64_t chunks_sent = 0;       // of which the region lacked (their bodies were sent)
  uint64_t bytes_sent = 0;        // object data written (chunk bodies, manifest)
};

struct DeleteResult {
  uint64_t chunks_released = 0;   // references dropped
  uint64_t chunks_removed = 0;    // chunks nothing referenced any more
  uint64_t references_moved = 0;  // references added to snapshots that inherited them
  // Set when the references stay for now: a push or a delete in progress still inherits
  // from the snapshot, or a clone not yet hydrated holds it (named here). Whoever finishes
  // that one, or gc, finishes this one.
  std::string waiting_for;
  std::vector<std::string> also_finished;  // waiting deletes of bases finished with it
};

struct GcResult {
  std::vector<std::string> finished;  // deletes finished and dead pushes removed (names)
  uint64_t stale_references = 0;      // references of unknown sids dropped
  uint64_t chunks_removed = 0;
  uint64_t manifests_removed = 0;
  std::vector<std::string> holds_released;  // "snapshot S: clone C on host H (hold.<hid>)"
  std::vector<std::string> warnings;        // what it left alone, and why
};

// Who takes a hold on a snapshot (docs/region.md, "Holds").
struct HoldOwner {
  std::string host;
  std::string store;   // the holding store's id: a gc there decides when it goes
  std::string vm;      // the VM of the clone
  std::string holder;  // what holds it, for people: "clone c1"
};

// Gc asks it of every hold: true releases it (its clone is hydrated or gone).
using ReleasableFn = std::function<bool(const Summary& hold)>;

struct RegionVerifyResult {
  uint64_t snapshots = 0;
  uint64_t chunks = 0;                // distinct chunks checked for presence and reference
  uint64_t chunks_hashed = 0;         // of which read and re-hashed
  std::vector<std::string> problems;  // "snapshot S: chunk <hex>: missing"
  bool ok() const { return problems.empty(); }
};

class Region {
 public:
  Region(std::string name, std::unique_ptr<ObjectStore> objects);

  const std::string& name() const { return name_; }
  ObjectStore& objects() { return *objects_; }

  Result<PushResult> Push(const RpChunks& rp, const PushOptions& opts,
                          const ProgressFn& progress = nullptr);
  // Published snapshots, by name.
  Result<std::vector<Summary>> Snapshots();
  Result<Summary> Find(const std::string& snapshot);
  // The snapshot's manifest with every stream's chunk list (without: its header only).
  Result<Manifest> LoadManifest(const Summary& snapshot, bool with_chunks = true);
  Result<DeleteResult> Delete(const std::string& snapshot);
  // `grace_us`: a push begun longer ago than this is dead (its host stopped mid-push).
  // `releasable` (null: none) says which holds go.
  Result<GcResult> Gc(int64_t grace_us, const ReleasableFn& releasable = nullptr);

  // Holds `snapshot` (as published with that sid) for `owner`: a delete of it waits until
  // Release. Returns the hold's id. NotFound when it is no longer published as `snapshot`.
  Result<std::string> Hold(const Summary& snapshot, const HoldOwner& owner);
  // Drops hold `hid` (none: nothing to do) and finishes the delete that waited for it.
  Result<DeleteResult> Release(const std::string& hid);
  // Every hold, as its index entry (sid: the hold's id; base: the held snapshot's sid).
  Result<std::vector<Summary>> Holds();
  // Every snapshot's references; `sample_percent` of the chunks also read and re-hashed.
  Result<RegionVerifyResult> Verify(uint32_t sample_percent);

  // The streams of a snapshot as readable images (a pull reads them like disks). Each
  // chunk is checked against its SHA-256: damage is an IOError naming it, never wrong bytes.
  Result<std::vector<ImportedStream>> OpenStreams(const Manifest& manifest);

 private:
  Result<Omap> ReadIndex();
  // The published snapshots `index` lists (entries it cannot read are logged and skipped).
  std::vector<Summary> PublishedIn(const Omap& index) const;
  std::string Label(const std::string& snapshot) const;
  // Finishes the delete of `sid` (index key `index_key`): published snapshots based on it
  // take their own references, then Reclaim, unless a push or delete in progress is still
  // based on it (result->waiting_for says which).
  Status FinishDelete(const std::string& sid, const std::string& index_key, DeleteResult* result);
  // After `sid`'s delete or push stopped inheriting from `base`: finishes the delete of
  // `base` if one waits, and so on down the chain of bases.
  void FinishBaseDeletes(std::string base, DeleteResult* result);
  // Adds `dependent`'s reference to the chunks it shares with its base (`held`: the base's
  // distinct chunks, sorted; nullptr when they cannot be read: then to all of its chunks),
  // then clears its base in the index.
  Status MoveReferences(const std::string& key, const std::string& value, const Summary& dependent,
                        const std::vector<Digest>* held, DeleteResult* result);
  // Releases the holds `releasable` says may go (Gc's first step).
  void ReleaseHolds(const ReleasableFn& releasable, GcResult* out);
  // The manifest of `sid`, published or not.
  Result<Manifest> ManifestOfSid(const std::string& sid);
  // Drops sid's reference from every chunk of its manifest and removes what is left
  // unreferenced, then the manifest and the index key `index_key`.
  Status Reclaim(const std::string& sid, const std::string& index_key, DeleteResult* result);
  // Drops `sid` from `oids` and removes the chunks left with no reference.
  Status Unreference(const std::vector<std::string>& oids, const std::string& sid,
                     DeleteResult* result);
  // Removes those of `oids` that hold no reference, each only if unchanged since read.
  Status RemoveUnreferenced(const std::vector<std::string>& oids, DeleteResult* result);
  Status WriteManifest(const Manifest& m, uint64_t* bytes);
  // References (or sends) `digests` under `sid`. Progress counts on from `done` of `total`.
  Status SendChunks(const RpChunks& rp, const std::vector<Digest>& digests, const std::string& sid,
                    PushResult* result, const ProgressFn& progress, uint64_t done, uint64_t total);

  std::string name_;
  std::unique_ptr<ObjectStore> objects_;
};

}  // namespace rpfs::region
