#include "region/region.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "region/index_entries.h"
#include "region/snapshot_source.h"
#include "rpfs/names.h"
#include "util/clock.h"
#include "util/crash_point.h"
#include "util/log.h"

namespace rpfs::region {
namespace {

// Chunks per pipelined batch of object operations.
constexpr size_t kBatch = 128;
constexpr size_t kBatchBytes = 64ull << 20;
constexpr char kRef[] = "1";

// The sid an object of the snapshot namespace belongs to ("rpfs.snap.<sid>[.<s>.<p>]").
std::string SidOfSnapObject(std::string_view oid) {
  std::string_view rest = oid.substr(std::string_view(kSnapPrefix).size());
  return std::string(rest.substr(0, rest.find('.')));
}

template <typename T, typename Fn>
Status ForBatches(const std::vector<T>& items, size_t per_batch, Fn fn) {
  for (size_t i = 0; i < items.size(); i += per_batch) {
    const size_t end = std::min(items.size(), i + per_batch);
    std::vector<T> batch(items.begin() + static_cast<ptrdiff_t>(i),
                         items.begin() + static_cast<ptrdiff_t>(end));
    RPFS_RETURN_IF_ERROR(fn(batch));
  }
  return Status::OK();
}
template <typename T, typename Fn>
Status ForBatches(const std::vector<T>& items, Fn fn) {
  return ForBatches(items, kBatch, fn);
}

std::vector<Digest> Distinct(const Manifest& m) {
  std::vector<Digest> out;
  for (const auto& s : m.streams) {
    for (const auto& e : s.chunks) out.push_back(e.digest);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The digests both sorted lists hold.
std::vector<Digest> Shared(const std::vector<Digest>& a, const std::vector<Digest>& b) {
  std::vector<Digest> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::vector<std::string> ChunkObjects(const std::vector<Digest>& digests) {
  std::vector<std::string> oids;
  oids.reserve(digests.size());
  for (const auto& d : digests) oids.push_back(ChunkObject(d));
  return oids;
}

}  // namespace

Region::Region(std::string name, std::unique_ptr<ObjectStore> objects)
    : name_(std::move(name)), objects_(std::move(objects)) {}

std::string Region::Label(const std::string& snapshot) const {
  return "region " + name_ + ": snapshot " + snapshot;
}

Result<Omap> Region::ReadIndex() {
  auto got = objects_->GetOmapMany({kIndexObject});
  if (!got[0].ok()) {
    if (got[0].status.code() == Status::Code::kNotFound) return Omap{};  // an empty region
    return got[0].status.WithContext("region ", name_, ": reading its index");
  }
  return std::move(got[0].values);
}

Result<std::vector<Summary>> Region::Snapshots() {
  RPFS_ASSIGN_OR_RETURN(Omap index, ReadIndex());
  return PublishedIn(index);
}

std::vector<Summary> Region::PublishedIn(const Omap& index) const {
  std::vector<Summary> out;
  for (const auto& [key, value] : index) {
    if (!StartsWith(key, kSnapKey)) continue;
    auto s = DecodeSummary(value);
    if (!s.ok() || kSnapKey + s->name != key) {
      // Written by a newer rpfs, or damaged: one entry must not hide the others.
      log::Log(log::Severity::kWarning, "region-index-entry-skipped",
               {{"region", name_}, {"key", key}});
      continue;
    }
    out.push_back(std::move(*s));
  }
  return out;
}

Result<Summary> Region::Find(const std::string& snapshot) {
  RPFS_ASSIGN_OR_RETURN(Omap index, ReadIndex());
  auto it = index.find(kSnapKey + snapshot);
  if (it == index.end()) return Status::NotFound(Label(snapshot) + " does not exist");
  auto s = DecodeSummary(it->second);
  if (!s.ok()) return s.status().WithContext(Label(snapshot));
  return s;
}

Result<Manifest> Region::LoadManifest(const Summary& snapshot, bool with_chunks) {
  const std::string label = Label(snapshot.name);
  auto header = objects_->ReadMany({ManifestObject(snapshot.sid)});
  if (!header[0].ok()) return header[0].status().WithContext(label, ": manifest");
  auto m = DecodeManifest(*header[0]);
  if (!m.ok()) return m.status().WithContext(label, ": manifest");
  for (size_t s = 0; with_chunks && s < m->streams.size(); ++s) {
    ManifestStream& stream = m->streams[s];
    const uint64_t chunk_count = (stream.size + m->chunk_size - 1) / m->chunk_size;
    // A few parts in flight at a time, stopping at the first that is missing: what is
    // held in memory is what the pool really holds, whatever the manifest claims.
    constexpr size_t kPartsInFlight = 8;
    const size_t parts = m->PartCount(s);
    for (size_t first = 0; first < parts; first += kPartsInFlight) {
      std::vector<std::string> oids;
      for (size_t p = first; p < std::min(parts, first + kPartsInFlight); ++p) {
        oids.push_back(PartObject(snapshot.sid, s, p));
      }
      auto bodies = objects_->ReadMany(oids);
      for (auto& body : bodies) {
        if (!body.ok()) return body.status().WithContext(label, ": manifest part");
        Status st = DecodePart(*body, chunk_count, &stream.chunks);
        if (!st.ok()) return st.WithContext(label, ": stream ", stream.name);
      }
    }
    if (stream.chunks.size() != stream.entries) {
      return Status::Corruption(label + ": stream " + stream.name + " lists " +
                                std::to_string(stream.chunks.size()) + " chunks, its manifest " +
                                std::to_string(stream.entries));
    }
  }
  return m;
}

Status Region::WriteManifest(const Manifest& m, uint64_t* bytes) {
  // Parts first, the header last: a header that exists names parts that exist.
  for (size_t s = 0; s < m.streams.size(); ++s) {
    const auto& chunks = m.streams[s].chunks;
    for (size_t p = 0; p < m.PartCount(s); ++p) {
      const size_t begin = p * kEntriesPerPart;
      const size_t end = std::min(chunks.size(), begin + kEntriesPerPart);
      std::string body = EncodePart(chunks, begin, end);
      *bytes += body.size();
      RPFS_RETURN_IF_ERROR(objects_->WriteFull(PartObject(m.summary.sid, s, p), body));
    }
  }
  std::string header = EncodeManifest(m);
  *bytes += header.size();
  return objects_->WriteFull(ManifestObject(m.summary.sid), header);
}

Status Region::SendChunks(const RpChunks& rp, const std::vector<Digest>& digests,
                          const std::string& sid, PushResult* result, const ProgressFn& progress,
                          uint64_t done, uint64_t total) {
  // At most kBatch chunks and about kBatchBytes of bodies in flight (large chunk sizes).
  const size_t per_batch =
      std::clamp<size_t>(kBatchBytes / std::max<uint32_t>(1, rp.chunk_size()), 1, kBatch);
  return ForBatches(digests, per_batch, [&](const std::vector<Digest>& batch) -> Status {
    std::vector<Digest> pending = batch;
    // A chunk can vanish between the two steps (a delete elsewhere removed its last
    // reference): then it is created again. Three rounds settle any real race.
    for (int round = 0; round < 3 && !pending.empty(); ++round) {
      const auto oids = ChunkObjects(pending);
      auto added = objects_->SetOmapIfExistsMany(oids, {{sid, kRef}});
      std::vector<NewObject> create;
      std::vector<Digest> create_digests;
      for (size_t i = 0; i < pending.size(); ++i) {
        if (added[i].ok()) continue;
        if (added[i].code() != Status::Code::kNotFound) return added[i];
        auto body = rp.StoredChunk(pending[i].View());
        if (!body.ok()) return body.status().WithContext("chunk ", pending[i].Hex());
        create.push_back(NewObject{oids[i], std::move(*body), {{sid, kRef}}});
        create_digests.push_back(pending[i]);
      }
      pending.clear();
      auto created = objects_->CreateMany(create);
      for (size_t i = 0; i < create.size(); ++i) {
        if (created[i].ok()) {
          result->chunks_sent++;
          result->bytes_sent += create[i].data.size();
        } else if (created[i].code() == Status::Code::kAlreadyExists) {
          pending.push_back(create_digests[i]);  // another host's push made it first
        } else {
          return created[i];
        }
      }
    }
    if (!pending.empty()) {
      return Status::Busy("chunk " + pending[0].Hex() + " keeps being removed and re-created");
    }
    done += batch.size();
    CrashPoint("push.chunks");
    if (progress) progress(done, total);
    return Status::OK();
  });
}

Result<PushResult> Region::Push(const RpChunks& rp, const PushOptions& opts,
                                const ProgressFn& progress) {
  const RpInfo& info = rp.info();
  const std::string label = "pushing " + info.vm + "/" + info.name + " to " + Label(opts.name);
  RPFS_RETURN_IF_ERROR(ValidateName(opts.name, "snapshot name"));

  // The manifest: every stream's chunk list, from the RP's extent maps.
  Manifest m;
  m.chunk_size = rp.chunk_size();
  m.domain_xml = rp.domain_xml();
  Summary& s = m.summary;
  s.name = opts.name;
  s.host = opts.host;
  s.vm = info.vm;
  s.rp = info.name;
  s.description = info.description;
  s.rp_created_us = info.created_us;
  s.logical_bytes = info.logical_bytes;
  std::vector<std::pair<std::string, ManifestStream>> streams;
  for (const auto& d : info.disks) {
    ManifestStream ms;
    ms.name = d.name;
    ms.size = d.size;
    ms.uid = d.uid;
    ms.gid = d.gid;
    ms.mode = d.mode;
    streams.emplace_back(d.name, std::move(ms));
    s.disks.push_back(d.name);
  }
  if (info.with_memory) {
    ManifestStream ms;
    ms.name = "memory";
    ms.memory = true;
    ms.size = info.memory_bytes;
    streams.emplace_back(kMemoryStream, std::move(ms));
    s.memory = true;
  }
  for (auto& [stream, ms] : streams) {
    Status st = rp.ForEachChunk(stream, [&](uint64_t index, std::string_view digest) {
      auto d = Digest::FromBytes(digest);
      if (d.ok()) ms.chunks.push_back(ChunkEntry{index, *d});
      return d.ok();
    });
    if (!st.ok()) return st.WithContext(label);
    ms.entries = ms.chunks.size();
    m.streams.push_back(std::move(ms));
  }
  const std::vector<Digest> digests = Distinct(m);
  s.chunks = digests.size();

  PushResult result;
  RPFS_ASSIGN_OR_RETURN(Omap index, ReadIndex());
  if (index.count(kSnapKey + opts.name) != 0) {
    return Status::AlreadyExists(Label(opts.name) + " already exists");
  }
  const std::vector<Entry> entries = Entries(index);
  // An interrupted push of this RP under this name from this host is resumed: its sid is
  // reused and the chunks that arrived are not sent again.
  std::optional<Entry> interrupted;
  for (const Entry& e : entries) {
    if (!StartsWith(e.key, kPushKey) || !e.readable || e.summary.name != opts.name) continue;
    const Summary& other = e.summary;
    if (other.host != opts.host || other.vm != info.vm || other.rp != info.name ||
        other.rp_created_us != info.created_us) {
      return Status::Busy(Label(opts.name) + " is being pushed from host " + other.host + " (" +
                          other.vm + "/" + other.rp +
                          "); if that push died, `rpfs region gc` removes it");
    }
    if (other.sid == e.sid) interrupted = e;  // else a damaged entry: not resumable
    break;
  }
  // The base: the chunks it holds get no operation. A resumed push keeps the base it began
  // with if that is still published (it skipped those chunks), else it holds everything.
  std::optional<Entry> base = interrupted ? FindPublished(entries, interrupted->summary.base)
                                          : ChooseBase(entries, opts.host, info.vm);
  std::vector<Digest> covered;
  if (base) {
    auto bm = LoadManifest(base->summary);
    if (bm.ok()) {
      covered = Distinct(*bm);
    } else {
      log::Log(
          log::Severity::kWarning, "region-push-base-unreadable",
          {{"region", name_}, {"base", base->summary.name}, {"error", bm.status().ToString()}});
      base.reset();
    }
  }
  s.base = base ? base->sid : "";
  std::string push_value;
  if (interrupted) {
    // Resume: claim the entry afresh (a guarded update), so a gc counting the grace from
    // the first attempt does not take this push for dead. If the entry changed meanwhile
    // (a gc took it), push anew under a new sid.
    Summary resumed = interrupted->summary;
    resumed.pushed_us = NowMicros();
    // A base no longer published keeps being named here until this push publishes
    // without it: its delete waits, so what it holds is referenced, not sent, below.
    if (!s.base.empty()) resumed.base = s.base;
    OmapUpdate claim;
    claim.equal = {{interrupted->key, interrupted->value}};
    claim.set = {{interrupted->key, EncodeSummary(resumed)}};
    if (objects_->UpdateOmap(kIndexObject, claim).ok()) {
      s.sid = resumed.sid;
      s.pushed_us = resumed.pushed_us;
      push_value = claim.set.begin()->second;
      result.resumed = true;
    }
  }
  if (!result.resumed) {
    s.sid = NewSid(SidHost(opts.host));
    s.pushed_us = NowMicros();
    push_value = EncodeSummary(s);
    OmapUpdate begin;
    begin.absent = {kPushKey + s.sid};
    begin.set = {{kPushKey + s.sid, push_value}};
    Status st = objects_->UpdateOmap(kIndexObject, begin);
    if (!st.ok()) return st.WithContext(label);
  }
  CrashPoint("push.begun");
  Status st = WriteManifest(m, &result.bytes_sent);
  if (!st.ok()) return st.WithContext(label, ": writing the manifest");
  CrashPoint("push.manifest");
  result.chunks = digests.size();
  std::vector<Digest> own;  // the chunks this snapshot references itself
  std::set_difference(digests.begin(), digests.end(), covered.begin(), covered.end(),
                      std::back_inserter(own));
  result.chunks_inherited = digests.size() - own.size();
  st = SendChunks(rp, own, s.sid, &result, progress, result.chunks_inherited, digests.size());
  if (!st.ok()) return st.WithContext(label);

  // Every chunk is durable and held: publish, unless the name was taken meanwhile, a gc
  // took this push for dead (then its references may be gone), or the base is no longer
  // published as it was read (then what it holds may be going).
  std::string released_base;  // a base given up because it is being deleted
  for (int attempt = 0;; ++attempt) {
    OmapUpdate publish;
    publish.absent = {kSnapKey + opts.name};
    publish.equal = {{kPushKey + s.sid, push_value}};
    if (base) publish.equal[base->key] = base->value;
    publish.set = {{kSnapKey + opts.name, EncodeSummary(s)}};
    publish.remove = {kPushKey + s.sid};
    st = objects_->UpdateOmap(kIndexObject, publish);
    if (st.ok()) break;
    // What the index says now decides. Published under this sid: applied after all (a
    // reply lost to a timeout), or by a twin push of the same RP, so a success.
    auto now = ReadIndex();
    if (now.ok() && Published(*now, opts.name, s.sid)) break;
    if (st.code() != Status::Code::kAborted) return st.WithContext(label, ": publishing");
    if (!now.ok()) return now.status().WithContext(label);
    auto mine = now->find(kPushKey + s.sid);
    if (now->count(kSnapKey + opts.name) != 0 && mine != now->end()) {
      // Another host published the name first: withdraw this push.
      OmapUpdate withdraw;
      withdraw.equal = {{kPushKey + s.sid, push_value}};
      withdraw.set = {{kDelKey + s.sid, push_value}};
      withdraw.remove = {kPushKey + s.sid};
      if (objects_->UpdateOmap(kIndexObject, withdraw).ok()) {
        DeleteResult ignored;  // else gc finishes it
        if (FinishDelete(s.sid, kDelKey + s.sid, &ignored).ok() && ignored.waiting_for.empty()) {
          FinishBaseDeletes(s.base, &ignored);  // its base's delete may wait for it
        }
      }
      return Status::AlreadyExists(Label(opts.name) + " already exists (pushed meanwhile)");
    }
    if (mine == now->end() || mine->second != push_value || !base || attempt >= 3) {
      return Status::Aborted(label +
                             ": the push was removed meanwhile (by `rpfs region gc`?); "
                             "push again");
    }
    // The base's entry changed. Still published (a delete of its own base gave it its own
    // references): publish against its new entry. Gone (being deleted): reference what it
    // held directly. push.<sid> names it as base until this publishes, so its references
    // stay meanwhile; were they gone anyway, SendChunks sends the chunks again.
    std::optional<Entry> still = FindPublished(Entries(*now), base->sid);
    if (!still) {
      const std::vector<Digest> inherited = Shared(digests, covered);
      st = SendChunks(rp, inherited, s.sid, &result, progress, digests.size() - inherited.size(),
                      digests.size());
      if (!st.ok()) return st.WithContext(label);
      result.chunks_inherited = 0;
      released_base = base->sid;
      s.base.clear();
    }
    base = std::move(still);
  }
  CrashPoint("push.published");
  if (released_base.empty() && result.resumed && s.base.empty()) {
    released_base = interrupted->summary.base;  // the resumed push held it until now
  }
  if (!released_base.empty()) {
    DeleteResult ignored;
    FinishBaseDeletes(released_base, &ignored);
  }
  result.base = base ? base->summary.name : "";
  result.snapshot = s;
  return result;
}

Status Region::Unreference(const std::vector<std::string>& oids, const std::string& sid,
                           DeleteResult* result) {
  return ForBatches(oids, [&](const std::vector<std::string>& batch) -> Status {
    auto removed = objects_->RemoveOmapKeysMany(batch, {sid});
    for (size_t i = 0; i < batch.size(); ++i) {
      if (removed[i].ok()) {
        result->chunks_released++;
      } else if (removed[i].code() != Status::Code::kNotFound) {
        return removed[i].WithContext("object ", batch[i]);
      }
    }
    CrashPoint("reclaim.unreferenced");
    return RemoveUnreferenced(batch, result);
  });
}

Status Region::RemoveUnreferenced(const std::vector<std::string>& oids, DeleteResult* result) {
  // A chunk left without references goes, unless someone referenced it after we read it
  // (its version moved): that push keeps it.
  auto omaps = objects_->GetOmapMany(oids);
  std::vector<std::pair<std::string, uint64_t>> empty;
  for (size_t i = 0; i < oids.size(); ++i) {
    if (omaps[i].ok() && omaps[i].values.empty()) empty.emplace_back(oids[i], omaps[i].version);
  }
  auto gone = objects_->RemoveIfVersionMany(empty);
  for (const Status& g : gone) {
    if (g.ok()) result->chunks_removed++;
  }
  return Status::OK();
}

Result<Manifest> Region::ManifestOfSid(const std::string& sid) {
  Summary stub;
  stub.sid = sid;
  stub.name = sid;
  return LoadManifest(stub);
}

Status Region::Reclaim(const std::string& sid, const std::string& index_key, DeleteResult* result) {
  auto m = ManifestOfSid(sid);
  if (m.ok()) {
    RPFS_RETURN_IF_ERROR(Unreference(ChunkObjects(Distinct(*m)), sid, result));
  } else if (m.status().code() != Status::Code::kNotFound) {
    // A manifest that cannot be read: its references are left to gc's scan, which drops
    // references of sids the index does not know.
    if (m.status().code() != Status::Code::kCorruption &&
        m.status().code() != Status::Code::kNotSupported) {
      return m.status();
    }
  }
  // References are added only once the whole manifest exists, so one with a part missing
  // referenced nothing. Remove what exists of it (parts first, the header last).
  auto header = objects_->ReadMany({ManifestObject(sid)});
  if (header[0].ok()) {
    auto decoded = DecodeManifest(*header[0]);
    if (decoded.ok()) {
      for (size_t s = 0; s < decoded->streams.size(); ++s) {
        for (size_t p = 0; p < decoded->PartCount(s); ++p) {
          Status st = objects_->Remove(PartObject(sid, s, p));
          if (!st.ok() && st.code() != Status::Code::kNotFound) return st;
        }
      }
    }
    Status st = objects_->Remove(ManifestObject(sid));
    if (!st.ok() && st.code() != Status::Code::kNotFound) return st;
  }
  CrashPoint("reclaim.manifest");
  OmapUpdate done;
  done.remove = {index_key};
  return objects_->UpdateOmap(kIndexObject, done);
}

Status Region::MoveReferences(const std::string& key, const std::string& value,
                              const Summary& dependent, const std::vector<Digest>* held,
                              DeleteResult* result) {
  auto dm = LoadManifest(dependent);
  if (!dm.ok()) {
    const Status::Code code = dm.status().code();
    if (code != Status::Code::kNotFound && code != Status::Code::kCorruption &&
        code != Status::Code::kNotSupported) {
      return dm.status().WithContext("snapshot ", dependent.name,
                                     " inherits references from the one deleted");
    }
    // Gone (deleted meanwhile: its entry changed) or unreadable (damage, or a newer rpfs):
    // nothing is moved and its base stays, so the caller's second look at the index makes
    // this delete wait for it, which is safe either way.
    log::Log(log::Severity::kWarning, "region-dependent-manifest-unreadable",
             {{"region", name_}, {"snapshot", dependent.name}, {"error", dm.status().ToString()}});
    return Status::OK();
  }
  std::vector<Digest> moved = Distinct(*dm);
  // Without the base's list, every chunk of the dependent: more than needed, never less.
  if (held != nullptr) moved = Shared(moved, *held);
  RPFS_RETURN_IF_ERROR(
      ForBatches(ChunkObjects(moved), [&](const std::vector<std::string>& batch) -> Status {
        auto added = objects_->SetOmapIfExistsMany(batch, {{dependent.sid, kRef}});
        for (size_t i = 0; i < batch.size(); ++i) {
          if (added[i].ok()) {
            result->references_moved++;
          } else if (added[i].code() == Status::Code::kNotFound) {
            // Lost before this delete (damage): nothing to keep. verify reports it.
            log::Log(log::Severity::kWarning, "region-inherited-chunk-missing",
                     {{"region", name_}, {"snapshot", dependent.name}, {"object", batch[i]}});
          } else {
            return added[i].WithContext("object ", batch[i]);
          }
        }
        CrashPoint("region_delete.moved");
        return Status::OK();
      }));
  // Now it holds all its chunks itself. A failed guard (it was deleted or changed
  // meanwhile) is fine: the caller reads the index again.
  Summary rebased = dependent;
  rebased.base.clear();
  OmapUpdate update;
  update.equal = {{key, value}};
  update.set = {{key, EncodeSummary(rebased)}};
  Status st = objects_->UpdateOmap(kIndexObject, update);
  return st.code() == Status::Code::kAborted ? Status::OK() : st;
}

Status Region::FinishDelete(const std::string& sid, const std::string& index_key,
                            DeleteResult* result) {
  RPFS_ASSIGN_OR_RETURN(Omap index, ReadIndex());
  std::vector<Entry> entries = Entries(index);
  // Published snapshots based on it take their own references first. None can appear
  // after this read: a push publishes only while its base is published.
  bool dependents = false;
  std::optional<std::vector<Digest>> held;  // its chunks, read once for all dependents
  for (const Entry& e : entries) {
    if (!e.readable || e.summary.base != sid || !StartsWith(e.key, kSnapKey)) continue;
    if (!dependents) {
      auto m = ManifestOfSid(sid);
      if (m.ok()) held = Distinct(*m);
    }
    RPFS_RETURN_IF_ERROR(
        MoveReferences(e.key, e.value, e.summary, held ? &*held : nullptr, result));
    dependents = true;
  }
  if (dependents) {  // else the first read stands: it followed the write of index_key
    RPFS_ASSIGN_OR_RETURN(index, ReadIndex());
    entries = Entries(index);
  }
  // A push or delete in progress based on it keeps its references: that one finishes
  // this delete when it is done (FinishBaseDeletes), or gc does.
  result->waiting_for = KeptBy(entries, sid, index_key);
  if (!result->waiting_for.empty()) return Status::OK();
  return Reclaim(sid, index_key, result);
}

void Region::FinishBaseDeletes(std::string base, DeleteResult* result) {
  for (int depth = 0; depth < 64 && !base.empty(); ++depth) {
    auto index = ReadIndex();
    if (!index.ok()) return;
    auto it = index->find(kDelKey + base);
    if (it == index->end()) return;  // not being deleted
    auto s = DecodeSummary(it->second);
    DeleteResult one;
    if (!FinishDelete(base, it->first, &one).ok() || !one.waiting_for.empty()) return;
    result->chunks_released += one.chunks_released;
    result->chunks_removed += one.chunks_removed;
    result->references_moved += one.references_moved;
    result->also_finished.push_back(s.ok() ? s->name : base);
    base = s.ok() ? s->base : "";
  }
}

Result<DeleteResult> Region::Delete(const std::string& snapshot) {
  const std::string label = "deleting " + Label(snapshot);
  const std::string key = kSnapKey + snapshot;
  Result<Summary> s = Status::NotFound(Label(snapshot) + " does not exist");
  Status st;
  std::string sid;  // the snapshot first seen: a delete never takes another one's place
  for (int attempt = 0;; ++attempt) {
    RPFS_ASSIGN_OR_RETURN(Omap index, ReadIndex());
    auto it = index.find(key);
    if (it == index.end()) {
      return attempt == 0 ? Status::NotFound(Label(snapshot) + " does not exist")
                          : Status::Busy(label + ": it was deleted meanwhile (by another host?)");
    }
    s = DecodeSummary(it->second);
    if (!s.ok()) return s.status().WithContext(label);
    if (sid.empty()) sid = s->sid;
    if (s->sid != sid) return Status::Busy(label + ": it was replaced meanwhile");
    OmapUpdate begin;
    begin.equal = {{it->first, it->second}};
    begin.set = {{kDelKey + s->sid, it->second}};
    begin.remove = {it->first};
    st = objects_->UpdateOmap(kIndexObject, begin);
    // Its entry changes under the same sid when a delete of its base gives it its own
    // references (the base is cleared): read it again and go on.
    if (st.code() != Status::Code::kAborted) break;
    if (attempt >= 8) return Status::Busy(label + ": it keeps changing (other hosts at work?)");
  }
  if (!st.ok()) return st.WithContext(label);
  CrashPoint("region_delete.begun");
  DeleteResult result;
  st = FinishDelete(s->sid, kDelKey + s->sid, &result);
  if (!st.ok()) {
    return st.WithContext(label, " (it is gone from the list; `rpfs region gc` finishes it)");
  }
  // Its base may have been waiting for it alone.
  if (result.waiting_for.empty()) FinishBaseDeletes(s->base, &result);
  return result;
}

Result<GcResult> Region::Gc(int64_t grace_us, const ReleasableFn& releasable) {
  GcResult out;
  DeleteResult counts;
  // Holds first: the deletes they kept waiting are finished below.
  ReleaseHolds(releasable, &out);
  RPFS_ASSIGN_OR_RETURN(Omap index, ReadIndex());
  const int64_t now = NowMicros();
  // Pushes older than the grace are dead: each becomes a delete (guarded: one published
  // or resumed meanwhile stays).
  for (const Entry& e : Entries(index)) {
    if (!StartsWith(e.key, kPushKey) || !e.readable || e.summary.sid != e.sid) continue;
    if (e.summary.pushed_us >= now - std::min(grace_us, now)) continue;
    OmapUpdate dead;
    dead.equal = {{e.key, e.value}};
    dead.set = {{kDelKey + e.sid, e.value}};
    dead.remove = {e.key};
    Status st = objects_->UpdateOmap(kIndexObject, dead);
    if (st.code() == Status::Code::kAborted) continue;
    RPFS_RETURN_IF_ERROR(st.WithContext("region ", name_, ": gc"));
  }
  // Every delete is finished, in rounds: one that waits for another (a delete of a
  // snapshot based on it) goes in the round after that one.
  std::vector<std::string> waiting;
  for (int round = 0; round < 64; ++round) {
    RPFS_ASSIGN_OR_RETURN(index, ReadIndex());
    bool progress = false;
    waiting.clear();
    for (const Entry& e : Entries(index)) {
      // The sid acted on is the key's, never one a value claims (a damaged or hostile
      // value must not reclaim a live snapshot).
      if (!StartsWith(e.key, kDelKey)) continue;
      const std::string name = e.readable ? e.summary.name : e.sid;
      DeleteResult one;
      if (Status st = FinishDelete(e.sid, e.key, &one); !st.ok()) {
        // One delete that cannot finish must not stop the others, nor the scan below.
        if (st.code() == Status::Code::kIOError) return st.WithContext("region ", name_, ": gc");
        waiting.push_back("the delete of " + name + " failed: " + st.ToString());
        continue;
      }
      counts.chunks_removed += one.chunks_removed;
      if (!one.waiting_for.empty()) {
        waiting.push_back("the delete of " + name + " waits for " + one.waiting_for);
        continue;
      }
      out.finished.push_back(name);
      progress = true;
    }
    if (!progress) break;
  }
  for (auto& w : waiting) out.warnings.push_back(std::move(w));

  RPFS_ASSIGN_OR_RETURN(auto chunks, objects_->List(kChunkPrefix));
  RPFS_ASSIGN_OR_RETURN(auto snaps, objects_->List(kSnapPrefix));
  std::vector<std::pair<std::string, Omap>> refs;
  RPFS_RETURN_IF_ERROR(ForBatches(chunks, [&](const std::vector<std::string>& batch) -> Status {
    auto omaps = objects_->GetOmapMany(batch);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (omaps[i].ok()) refs.emplace_back(batch[i], std::move(omaps[i].values));
    }
    return Status::OK();
  }));
  RPFS_ASSIGN_OR_RETURN(Omap after, ReadIndex());
  std::unordered_set<std::string> known;
  for (const auto& [key, value] : after) {
    for (const char* prefix : {kPushKey, kDelKey}) {
      if (StartsWith(key, prefix)) known.insert(key.substr(std::string_view(prefix).size()));
    }
    if (!StartsWith(key, kSnapKey)) continue;
    auto s = DecodeSummary(value);
    if (!s.ok()) {
      // A published snapshot whose sid cannot be read: any reference may be its. Dropping
      // "unknown" references now could destroy it, so this gc stops short of that.
      out.warnings.push_back("index entry " + key +
                             " cannot be read: references of unknown snapshots were kept");
      out.chunks_removed = counts.chunks_removed;
      return out;
    }
    known.insert(s->sid);
  }
  for (const auto& [oid, omap] : refs) {
    std::vector<std::string> stale;
    for (const auto& kv : omap) {
      if (known.count(kv.first) == 0) stale.push_back(kv.first);
    }
    if (stale.empty() && !omap.empty()) continue;
    for (const auto& sid : stale) {
      DeleteResult one;
      RPFS_RETURN_IF_ERROR(Unreference({oid}, sid, &one));
      out.stale_references += one.chunks_released;
      counts.chunks_removed += one.chunks_removed;
    }
    if (omap.empty()) {  // never referenced (should not happen) or left so by a crash
      DeleteResult one;
      RPFS_RETURN_IF_ERROR(RemoveUnreferenced({oid}, &one));
      counts.chunks_removed += one.chunks_removed;
    }
  }
  for (const auto& oid : snaps) {
    if (known.count(SidOfSnapObject(oid)) != 0) continue;
    Status st = objects_->Remove(oid);
    if (st.ok()) out.manifests_removed++;
  }
  out.chunks_removed = counts.chunks_removed;
  return out;
}

Result<RegionVerifyResult> Region::Verify(uint32_t sample_percent) {
  RegionVerifyResult out;
  RPFS_ASSIGN_OR_RETURN(Omap index, ReadIndex());
  const std::vector<Summary> snaps = PublishedIn(index);
  // A snapshot's chunks are held by it or by a snapshot down its chain of bases (which may
  // be published, or being deleted and kept for it).
  std::unordered_map<std::string, std::string> base_of;
  for (const Entry& e : Entries(index)) {
    if (e.readable) base_of[e.sid] = e.summary.base;
  }
  auto holders = [&](const Summary& s) {
    std::unordered_set<std::string> chain{s.sid};
    std::string at = s.base;
    while (!at.empty() && chain.insert(at).second) {
      auto it = base_of.find(at);
      at = it == base_of.end() ? "" : it->second;
    }
    return chain;
  };
  // A problem of a snapshot that another host deletes while this verify runs is no
  // problem: its references go away on purpose. Each problem remembers its snapshot, and
  // only those of snapshots still published (same sid) at the end are reported.
  std::vector<std::pair<const Summary*, std::string>> found;
  std::unordered_map<Digest, std::vector<const Summary*>, DigestHash> users;
  std::unordered_map<const Summary*, std::unordered_set<std::string>> chains;
  for (const auto& s : snaps) {
    out.snapshots++;
    chains[&s] = holders(s);
    auto m = LoadManifest(s);
    if (!m.ok()) {
      found.emplace_back(&s, m.status().message());
      continue;
    }
    for (const auto& d : Distinct(*m)) users[d].push_back(&s);
  }
  std::vector<Digest> digests;
  for (const auto& kv : users) digests.push_back(kv.first);
  std::sort(digests.begin(), digests.end());
  std::mt19937_64 rng(std::random_device{}());
  RPFS_RETURN_IF_ERROR(ForBatches(digests, [&](const std::vector<Digest>& batch) -> Status {
    const auto oids = ChunkObjects(batch);
    auto omaps = objects_->GetOmapMany(oids);
    std::vector<size_t> sampled;
    for (size_t i = 0; i < batch.size(); ++i) {
      out.chunks++;
      for (const Summary* s : users[batch[i]]) {
        const std::string chunk = Label(s->name) + ": chunk " + batch[i].Hex() + ": ";
        if (!omaps[i].ok()) {
          found.emplace_back(s, chunk + (omaps[i].status.code() == Status::Code::kNotFound
                                             ? std::string("missing")
                                             : omaps[i].status.message()));
        } else if (!std::any_of(chains[s].begin(), chains[s].end(), [&](const std::string& sid) {
                     return omaps[i].values.count(sid) != 0;
                   })) {
          found.emplace_back(s, chunk + "holds no reference of the snapshot or of its bases");
        }
      }
      if (omaps[i].ok() && rng() % 100 < sample_percent) sampled.push_back(i);
    }
    std::vector<std::string> sampled_oids;
    for (size_t i : sampled) sampled_oids.push_back(oids[i]);
    auto bodies = objects_->ReadMany(sampled_oids);
    for (size_t k = 0; k < sampled.size(); ++k) {
      out.chunks_hashed++;
      const Digest& d = batch[sampled[k]];
      Status st = bodies[k].ok() ? CheckChunk(*bodies[k], d) : bodies[k].status();
      if (st.ok()) continue;
      if (st.code() == Status::Code::kNotFound) {  // removed since: whose was it?
        for (const Summary* s : users[d]) {
          found.emplace_back(s, Label(s->name) + ": chunk " + d.Hex() + ": missing");
        }
      } else {
        found.emplace_back(nullptr, "chunk " + d.Hex() + ": " + st.message());
      }
    }
    return Status::OK();
  }));
  if (found.empty()) return out;
  RPFS_ASSIGN_OR_RETURN(Omap now, ReadIndex());
  for (auto& [s, problem] : found) {
    if (s != nullptr) {
      if (!Published(now, s->name, s->sid)) continue;  // deleted meanwhile
    }
    out.problems.push_back(std::move(problem));
  }
  return out;
}

Result<std::vector<ImportedStream>> Region::OpenStreams(const Manifest& manifest) {
  std::vector<ImportedStream> out;
  for (const auto& s : manifest.streams) {
    ImportedStream is;
    is.name = s.memory ? kMemoryStream : s.name;
    is.uid = s.uid;
    is.gid = s.gid;
    is.mode = s.mode;
    is.source =
        NewSnapshotSource(objects_.get(), Label(manifest.summary.name), s, manifest.chunk_size);
    out.push_back(std::move(is));
  }
  return out;
}

}  // namespace rpfs::region
