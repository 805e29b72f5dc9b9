#include "torture/operations.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "torture/clone_child.h"
#include "torture/pattern.h"

namespace rpfs::torture {

namespace {

constexpr size_t kMaxRpsPerVm = 6;
constexpr size_t kMaxClones = 3;
constexpr size_t kMaxSnapshots = 3;

const std::vector<std::string>& Listed(const Observed& seen, const std::string& vm) {
  static const std::vector<std::string> kNone;
  auto it = seen.rps.find(vm);
  return it == seen.rps.end() ? kNone : it->second;
}

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string Unexpected(const ChildResult& r) {
  return "exited " + std::to_string(r.exit_code) + " (signal " + std::to_string(r.signal) +
         "): " + r.err;
}

// True when the child ran to the end successfully; "" in *bad when it was killed by
// SIGKILL (ours or a crash point's); anything else is a violation in *bad.
bool Finished(const ChildResult& r, std::string* bad) {
  bad->clear();
  if (r.exit_code == 0) return true;
  if (r.signal != SIGKILL) *bad = "operation failed: " + Unexpected(r);
  return false;
}

// Changes a few random ranges of the image (data, zeros, unaligned edges) before a create.
void ChangeImage(std::mt19937_64* rng, const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + path);
  off_t size = ::lseek(fd, 0, SEEK_END);
  int edits = static_cast<int>((*rng)() % 6);  // 0: an unchanged image (all dedup)
  std::vector<std::byte> buf;
  for (int i = 0; i < edits; ++i) {
    uint64_t off = (*rng)() % static_cast<uint64_t>(size);
    uint64_t len = std::min<uint64_t>(1 + (*rng)() % (256 << 10), size - off);
    buf.assign(len, std::byte{0});
    if ((*rng)() % 4 != 0) FillPattern((*rng)(), buf);
    if (::pwrite(fd, buf.data(), len, static_cast<off_t>(off)) != static_cast<ssize_t>(len)) {
      throw std::runtime_error("pwrite " + path);
    }
  }
  ::close(fd);
}

RpModel SnapshotImage(const std::string& name, const std::string& image) {
  auto bytes = std::make_shared<std::vector<std::byte>>(ReadFile(image));
  return RpModel{name, Sha256(*bytes), bytes, false};
}

// Deletes `names` of `vm` (delete or prune): all of them go, or none.
std::string ResolveRemoval(const ChildResult& r, const Observed& seen, Model* m,
                           const std::string& vm, const std::vector<std::string>& names) {
  std::string bad;
  bool finished = Finished(r, &bad);
  if (!bad.empty()) return bad;
  const auto& listed = Listed(seen, vm);
  size_t gone = 0;
  for (const auto& n : names) gone += Has(listed, n) ? 0 : 1;
  if (finished && gone != names.size()) return "a finished removal left some of its RPs";
  if (gone != 0 && gone != names.size()) {
    return "removal of " + std::to_string(names.size()) + " RPs is half done (" +
           std::to_string(gone) + " gone)";
  }
  if (gone == names.size()) {
    auto& rps = m->Vm(vm)->rps;
    std::erase_if(rps, [&](const RpModel& rp) { return Has(names, rp.name); });
  }
  return "";
}

const VmModel* PickVmWithRps(std::mt19937_64* rng, const Model& m, size_t at_least) {
  std::vector<const VmModel*> c;
  for (const auto& v : m.vms) {
    if (v.rps.size() >= at_least) c.push_back(&v);
  }
  return c.empty() ? nullptr : c[(*rng)() % c.size()];
}

}  // namespace

std::vector<std::byte> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

std::vector<std::string> RpfsArgv(const Paths& paths, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {paths.rpfs, "--store", paths.store};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

namespace {

Op Create(std::mt19937_64* rng, Model* m, const Paths& p, int serial) {
  std::vector<VmModel*> room;
  for (auto& v : m->vms) {
    if (v.rps.size() < kMaxRpsPerVm) room.push_back(&v);
  }
  VmModel* vm = room[(*rng)() % room.size()];
  ChangeImage(rng, vm->image);
  RpModel rp = SnapshotImage("r" + std::to_string(serial), vm->image);
  Op op;
  op.kind = "create";
  op.argv = RpfsArgv(p, {"create", vm->name, rp.name});
  op.crash_points = {{"ingest.batch", 1},
                     {"tx.before_flush", 1},
                     {"tx.after_flush", 1},
                     {"create.before_commit", 1},
                     {"tx.after_commit", 1}};
  op.resolve = [vm = vm->name, rp](const ChildResult& r, const Observed& seen, Model* model) {
    std::string bad;
    bool finished = Finished(r, &bad);
    if (!bad.empty()) return bad;
    bool listed = Has(Listed(seen, vm), rp.name);
    if (finished && !listed) return std::string("a created RP is not listed");
    if (listed) model->Vm(vm)->rps.push_back(rp);
    return std::string();
  };
  return op;
}

Op Delete(std::mt19937_64* rng, Model* m, const Paths& p) {
  const VmModel* vm = PickVmWithRps(rng, *m, 1);
  std::vector<std::string> names = {vm->rps[(*rng)() % vm->rps.size()].name};
  if (vm->rps.size() > 2 && (*rng)() % 3 == 0) {
    const std::string& other = vm->rps[(*rng)() % vm->rps.size()].name;
    if (other != names[0]) names.push_back(other);
  }
  std::vector<std::string> args = {"delete", vm->name};
  args.insert(args.end(), names.begin(), names.end());
  Op op;
  op.kind = "delete";
  op.argv = RpfsArgv(p, args);
  op.crash_points = {
      {"delete.before_commit", 1}, {"delete.after_commit", 1}, {"gc.before_batch", 2}};
  op.resolve = [vm = vm->name, names](const ChildResult& r, const Observed& seen, Model* model) {
    return ResolveRemoval(r, seen, model, vm, names);
  };
  return op;
}

Op Prune(std::mt19937_64* rng, Model* m, const Paths& p) {
  const VmModel* vm = PickVmWithRps(rng, *m, 2);
  size_t keep = 1 + (*rng)() % (vm->rps.size() - 1);
  // --keep-last neither counts nor keeps the undo RPs rollbacks take (docs/retention.md):
  // they all go, and of the others all but the `keep` newest.
  auto automatic = [](const RpModel& r) { return r.automatic; };
  size_t counted = 0;
  for (const auto& r : vm->rps) counted += automatic(r) ? 0 : 1;
  std::vector<std::string> names;
  size_t position = 0;  // among the counted RPs, oldest first
  for (const auto& r : vm->rps) {
    if (automatic(r) || position++ + keep < counted) names.push_back(r.name);
  }
  Op op;
  op.kind = "prune";
  op.argv = RpfsArgv(p, {"prune", vm->name, "--keep-last", std::to_string(keep)});
  op.crash_points = {
      {"delete.before_commit", 1}, {"delete.after_commit", 1}, {"gc.before_batch", 2}};
  op.resolve = [vm = vm->name, names](const ChildResult& r, const Observed& seen, Model* model) {
    return ResolveRemoval(r, seen, model, vm, names);
  };
  return op;
}

Op Rename(std::mt19937_64* rng, Model* m, const Paths& p, int serial) {
  const VmModel* vm = PickVmWithRps(rng, *m, 1);
  std::string from = vm->rps[(*rng)() % vm->rps.size()].name;
  std::string to = "n" + std::to_string(serial);
  Op op;
  op.kind = "rename";
  op.argv = RpfsArgv(p, {"rename", vm->name, from, to});
  op.resolve = [vm = vm->name, from, to](const ChildResult& r, const Observed& seen, Model* model) {
    std::string bad;
    bool finished = Finished(r, &bad);
    if (!bad.empty()) return bad;
    bool old_there = Has(Listed(seen, vm), from), new_there = Has(Listed(seen, vm), to);
    if (old_there == new_there)
      return "rename: old name " + std::string(old_there ? "and" : "nor") + " new name listed";
    if (finished && old_there) return std::string("a finished rename kept the old name");
    if (new_there) {
      for (auto& rp : model->Vm(vm)->rps) {
        if (rp.name == from) rp.name = to;
      }
    }
    return std::string();
  };
  return op;
}

Op Rollback(std::mt19937_64* rng, Model* m, const Paths& p) {
  const VmModel* vm = PickVmWithRps(rng, *m, 1);
  const RpModel target = vm->rps[(*rng)() % vm->rps.size()];
  bool keep = vm->rps.size() < kMaxRpsPerVm && (*rng)() % 2 == 0;
  RpModel before = SnapshotImage("", vm->image);  // named once it is seen
  std::vector<std::string> args = {"rollback", vm->name, target.name, "--yes"};
  if (keep) args.push_back("--keep-current");
  Op op;
  op.kind = "rollback";
  op.argv = RpfsArgv(p, args);
  op.crash_points = {
      {"rollback.before_write", 1}, {"create.before_commit", 1}, {"tx.after_commit", 1}};
  op.resolve = [vm = vm->name, image = vm->image, target, keep, before](
                   const ChildResult& r, const Observed& seen, Model* model) mutable {
    std::string bad;
    bool finished = Finished(r, &bad);
    if (!bad.empty()) return bad;
    VmModel* v = model->Vm(vm);
    bool undo_seen = false;
    for (const auto& name : Listed(seen, vm)) {
      if (v->Find(name) != nullptr) continue;
      if (!keep || name.rfind("before-rollback-", 0) != 0) continue;  // reported later
      before.name = name;
      before.automatic = true;
      v->rps.push_back(before);
      undo_seen = true;
    }
    if (finished && keep && !undo_seen) return std::string("rollback --keep-current: no undo RP");
    if (finished && Sha256(ReadFile(image)) != target.digest) {
      return "after rollback to " + target.name + " the image differs from it";
    }
    return std::string();
  };
  return op;
}

// A clone the operation made: listed if it finished, in the model whenever listed.
auto ResolveCloneCreated(CloneModel c) {
  return [c = std::move(c)](const ChildResult& r, const Observed& seen, Model* model) {
    std::string bad;
    bool finished = Finished(r, &bad);
    if (!bad.empty()) return bad;
    bool listed = seen.clones.count(c.vm + "/" + c.name) != 0;
    if (finished && !listed) return std::string("a created clone is not listed");
    if (listed) model->clones.push_back(c);
    return std::string();
  };
}

Op Clone(std::mt19937_64* rng, Model* m, const Paths& p, int serial) {
  const VmModel* vm = PickVmWithRps(rng, *m, 1);
  const RpModel& rp = vm->rps[(*rng)() % vm->rps.size()];
  CloneModel c;
  c.vm = vm->name;
  c.name = "c" + std::to_string(serial);
  c.expect = *rp.bytes;
  c.known.assign((c.expect.size() + kBlock - 1) / kBlock, true);
  Op op;
  op.kind = "clone";
  op.argv = RpfsArgv(p, {"clone", vm->name, rp.name, c.name});
  op.crash_points = {{"clone.before_commit", 1}};
  op.resolve = ResolveCloneCreated(std::move(c));
  return op;
}

// A clone of a region snapshot: it holds the snapshot, so a hydrate of it succeeds (the
// chunks stay) however the snapshot is deleted and collected meanwhile.
Op RegionClone(std::mt19937_64* rng, Model* m, const Paths& p, int serial) {
  const SnapshotModel& s = m->snapshots[(*rng)() % m->snapshots.size()];
  CloneModel c;
  c.vm = m->vms[(*rng)() % m->vms.size()].name;
  c.name = "r" + std::to_string(serial);
  c.expect = *s.rp.bytes;
  c.known.assign((c.expect.size() + kBlock - 1) / kBlock, true);
  c.remote = true;
  Op op;
  op.kind = "region-clone";
  op.argv = RpfsArgv(p, {"clone", "--from-region", kRegion, s.name, c.vm, c.name});
  // clone.held: the hold is written, the clone is not (gc releases that hold).
  op.crash_points = {{"clone.held", 1}, {"clone.before_commit", 1}};
  op.resolve = ResolveCloneCreated(std::move(c));
  return op;
}

Op CloneDelete(std::mt19937_64* rng, Model* m, const Paths& p) {
  const CloneModel& c = m->clones[(*rng)() % m->clones.size()];
  Op op;
  op.kind = "clone-delete";
  op.argv = RpfsArgv(p, {"clone-delete", c.vm, c.name});
  op.crash_points = {{"gc.before_batch", 1}};
  op.resolve = [vm = c.vm, name = c.name](const ChildResult& r, const Observed& seen,
                                          Model* model) {
    std::string bad;
    bool finished = Finished(r, &bad);
    if (!bad.empty()) return bad;
    bool listed = seen.clones.count(vm + "/" + name) != 0;
    if (finished && listed) return std::string("a deleted clone is still listed");
    if (!listed) {
      std::erase_if(model->clones,
                    [&](const CloneModel& x) { return x.vm == vm && x.name == name; });
    }
    return std::string();
  };
  return op;
}

Op Hydrate(std::mt19937_64* rng, Model* m, const Paths& p) {
  const CloneModel& c = m->clones[(*rng)() % m->clones.size()];
  Op op;
  op.kind = "hydrate";
  op.argv = RpfsArgv(p, {"hydrate", c.vm, c.name});
  op.crash_points = {{"clone.after_fill", 60}, {"clone.before_release", 1}};
  op.resolve = [vm = c.vm, name = c.name](const ChildResult& r, const Observed&, Model* model) {
    std::string bad;
    bool finished = Finished(r, &bad);
    if (!bad.empty()) return bad;
    if (finished) model->Clone(vm, name)->hydrated = true;
    return std::string();
  };
  return op;
}

// The torture binary writes through the library, which cannot reach the region: only
// clones it can read without it (local ones, hydrated region ones).
Op CloneWrite(std::mt19937_64* rng, Model* m, const Paths& p) {
  std::vector<const CloneModel*> local;
  for (const auto& c : m->clones) {
    if (!c.remote || c.hydrated) local.push_back(&c);
  }
  if (local.empty()) return Hydrate(rng, m, p);
  const CloneModel& c = *local[(*rng)() % local.size()];
  uint64_t seed = (*rng)() >> 1;
  int count = 1 + static_cast<int>((*rng)() % 12);
  Op op;
  op.kind = "clone-write";
  op.argv = {
      p.self, "--write-clone", p.store, c.vm, c.name, std::to_string(seed), std::to_string(count)};
  op.crash_points = {{"clone.after_fill", 20}};
  op.resolve = [vm = c.vm, name = c.name, seed, count](const ChildResult& r, const Observed&,
                                                       Model* model) {
    std::string bad;
    bool finished = Finished(r, &bad);
    if (!bad.empty()) return bad;
    struct Write {
      uint64_t i, off, len;
    };
    std::vector<Write> writes;
    long long acked = -1;
    std::istringstream lines(r.out);
    std::string tag;
    while (lines >> tag) {
      if (tag == "w") {
        Write w{};
        lines >> w.i >> w.off >> w.len;
        writes.push_back(w);
      } else if (tag == "a") {
        lines >> acked;
      }
    }
    if (finished && acked != count - 1) return std::string("clone writer finished unacknowledged");
    CloneModel* clone = model->Clone(vm, name);
    std::vector<std::byte> buf;
    for (const Write& w : writes) {
      if (static_cast<long long>(w.i) <= acked) {
        buf.resize(w.len);
        FillPattern(WriteSeed(seed, w.i), buf);
        clone->Apply(w.off, buf);
      } else {
        clone->Forget(w.off, w.len);
      }
    }
    return std::string();
  };
  return op;
}

// A push of an RP to the region; killed, it leaves nothing listed (gc or a later push of
// the same RP under the same name finishes it).
Op Push(std::mt19937_64* rng, Model* m, const Paths& p, int serial) {
  const VmModel* vm = PickVmWithRps(rng, *m, 1);
  const RpModel rp = vm->rps[(*rng)() % vm->rps.size()];
  const std::string name = "s" + std::to_string(serial);
  Op op;
  op.kind = "push";
  op.argv = RpfsArgv(p, {"push", vm->name, rp.name, "--name", name});
  // push.published: killed after publishing, before finishing a delete of its base that
  // waited for it (gc or a later delete finishes that).
  op.crash_points = {
      {"push.begun", 1}, {"push.manifest", 1}, {"push.chunks", 1}, {"push.published", 1}};
  op.resolve = [name, rp](const ChildResult& r, const Observed& seen, Model* model) {
    std::string bad;
    bool finished = Finished(r, &bad);
    if (!bad.empty()) return bad;
    bool listed = Has(seen.snapshots, name);
    if (finished && !listed) return std::string("a pushed snapshot is not listed");
    if (listed) model->snapshots.push_back(SnapshotModel{name, rp});
    return std::string();
  };
  return op;
}

Op RegionDelete(std::mt19937_64* rng, Model* m, const Paths& p) {
  const std::string name = m->snapshots[(*rng)() % m->snapshots.size()].name;
  Op op;
  op.kind = "region-del";
  op.argv = RpfsArgv(p, {"region", "delete", kRegion, name});
  op.crash_points = {{"region_delete.begun", 1},
                     {"region_delete.moved", 1},
                     {"reclaim.unreferenced", 2},
                     {"reclaim.manifest", 1}};
  op.resolve = [name](const ChildResult& r, const Observed& seen, Model* model) {
    std::string bad;
    bool finished = Finished(r, &bad);
    if (!bad.empty()) return bad;
    bool listed = Has(seen.snapshots, name);
    if (finished && listed) return std::string("a deleted snapshot is still listed");
    if (!listed) {
      std::erase_if(model->snapshots, [&](const SnapshotModel& s) { return s.name == name; });
    }
    return std::string();
  };
  return op;
}

// Finishes interrupted deletes and removes every push in progress (there is none but the
// killed ones: operations run one at a time).
Op RegionGc(const Paths& p) {
  Op op;
  op.kind = "region-gc";
  op.argv = RpfsArgv(p, {"region", "gc", kRegion, "--grace", "0h"});
  op.crash_points = {
      {"region_delete.moved", 1}, {"reclaim.unreferenced", 3}, {"reclaim.manifest", 1}};
  op.resolve = [](const ChildResult& r, const Observed& seen, Model* model) {
    std::string bad;
    Finished(r, &bad);
    if (!bad.empty()) return bad;
    std::vector<std::string> want;
    for (const auto& s : model->snapshots) want.push_back(s.name);
    std::sort(want.begin(), want.end());  // the region lists by name
    if (seen.snapshots != want) return std::string("gc changed the list of snapshots");
    return std::string();
  };
  return op;
}

}  // namespace

Op PickOp(std::mt19937_64* rng, Model* m, const Paths& p, int serial) {
  bool room = false;
  for (const auto& v : m->vms) room |= v.rps.size() < kMaxRpsPerVm;
  const bool any_rp = m->RpCount() > 0;
  bool prunable = false;
  for (const auto& v : m->vms) prunable |= v.rps.size() >= 2;
  const bool clones = !m->clones.empty();
  // With a region, one operation in five is a push, a region delete, a region clone or
  // a gc.
  if (m->region && (*rng)() % 5 == 0) {
    const int pick = static_cast<int>((*rng)() % 5);
    if (pick < 2 && any_rp && m->snapshots.size() < kMaxSnapshots) return Push(rng, m, p, serial);
    if (pick == 2 && !m->snapshots.empty()) return RegionDelete(rng, m, p);
    if (pick == 3 && !m->snapshots.empty() && m->clones.size() < kMaxClones) {
      return RegionClone(rng, m, p, serial);
    }
    return RegionGc(p);
  }
  for (;;) {
    switch ((*rng)() % 20) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
        if (room) return Create(rng, m, p, serial);
        break;
      case 6:
      case 7:
        if (any_rp) return Delete(rng, m, p);
        break;
      case 8:
      case 9:
        if (any_rp) return Rename(rng, m, p, serial);
        break;
      case 10:
      case 11:
        if (any_rp) return Rollback(rng, m, p);
        break;
      case 12:
        if (prunable) return Prune(rng, m, p);
        break;
      case 13:
        if (any_rp && m->clones.size() < kMaxClones) return Clone(rng, m, p, serial);
        break;
      case 14:
        if (clones) return CloneDelete(rng, m, p);
        break;
      case 15:
      case 16:
        if (clones) return Hydrate(rng, m, p);
        break;
      default:
        if (clones) return CloneWrite(rng, m, p);
        break;
    }
  }
}

}  // namespace rpfs::torture
