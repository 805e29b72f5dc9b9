#include "torture/invariants.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace rpfs::torture {

Observed Observe(const Paths& paths, std::string* error) {
  Observed seen;
  error->clear();
  auto list = RunChild(RpfsArgv(paths, {"list", "--json"}), {});
  auto clones = RunChild(RpfsArgv(paths, {"clone-list", "--json"}), {});
  if (!list.ok() || !clones.ok()) {
    *error = "listing failed after recovery: " + list.err + clones.err;
    return seen;
  }
  if (paths.region) {
    auto snaps = RunChild(RpfsArgv(paths, {"region", "snapshots", kRegion, "--json"}), {});
    if (!snaps.ok()) {
      *error = "region snapshots failed after recovery: " + snaps.err;
      return seen;
    }
    try {
      for (const auto& e : nlohmann::json::parse(snaps.out)) {
        seen.snapshots.push_back(e["name"].get<std::string>());
      }
    } catch (const std::exception& ex) {
      *error = std::string("unparseable snapshot listing: ") + ex.what();
      return seen;
    }
  }
  try {
    for (const auto& e : nlohmann::json::parse(list.out)) {
      seen.rps[e["vm"].get<std::string>()].push_back(e["name"].get<std::string>());
    }
    for (const auto& e : nlohmann::json::parse(clones.out)) {
      seen.clones[e["vm"].get<std::string>() + "/" + e["name"].get<std::string>()] =
          e["hydrated"].get<bool>();
    }
  } catch (const std::exception& ex) {
    *error = std::string("unparseable listing: ") + ex.what();
  }
  return seen;
}

std::string CheckListing(const Model& model, const Observed& seen, CheckCounters* counters) {
  for (const auto& vm : model.vms) {
    auto it = seen.rps.find(vm.name);
    std::vector<std::string> listed =
        it == seen.rps.end() ? std::vector<std::string>{} : it->second;
    std::vector<std::string> want;
    for (const auto& rp : vm.rps) want.push_back(rp.name);
    if (listed == want) continue;
    for (const auto& w : want) {
      if (std::find(listed.begin(), listed.end(), w) == listed.end()) ++counters->lost_rps;
    }
    std::string msg = "vm " + vm.name + " lists [";
    for (const auto& n : listed) msg += " " + n;
    msg += " ] but must hold [";
    for (const auto& n : want) msg += " " + n;
    return msg + " ]";
  }
  std::vector<std::string> snapshots;
  for (const auto& s : model.snapshots) snapshots.push_back(s.name);
  std::sort(snapshots.begin(), snapshots.end());
  if (seen.snapshots != snapshots) {
    std::string msg = "the region lists [";
    for (const auto& n : seen.snapshots) msg += " " + n;
    msg += " ] but must hold [";
    for (const auto& n : snapshots) msg += " " + n;
    return msg + " ]";
  }
  if (seen.clones.size() != model.clones.size()) {
    return "clone-list shows " + std::to_string(seen.clones.size()) + " clones, the model has " +
           std::to_string(model.clones.size());
  }
  for (const auto& c : model.clones) {
    auto it = seen.clones.find(c.vm + "/" + c.name);
    if (it == seen.clones.end()) return "clone " + c.vm + "/" + c.name + " is not listed";
    if (c.hydrated && !it->second) return "clone " + c.vm + "/" + c.name + " is no longer hydrated";
  }
  return "";
}

std::string CheckRegion(const Model& model, const Paths& paths, CheckCounters* counters) {
  if (!paths.region) return "";
  auto v = RunChild(RpfsArgv(paths, {"region", "verify", kRegion}), {});
  if (!v.ok()) return "region verify is not clean: " + v.out + v.err;
  // Every snapshot pulled into the checker store reads back the RP it was pushed from.
  Paths checker = paths;
  checker.store = paths.checker_store;
  for (const auto& s : model.snapshots) {
    const std::string rp = "p" + std::to_string(++counters->pulls);
    auto pull = RunChild(RpfsArgv(checker, {"pull", kRegion, s.name, "chk", rp}), {});
    if (!pull.ok()) return "pull of snapshot " + s.name + " failed: " + pull.err;
    auto r = RunChild(RpfsArgv(checker, {"export", "chk", rp, "vda", "-o", "-"}), {});
    if (!r.ok()) return "export of pulled snapshot " + s.name + " failed: " + r.err;
    if (Sha256(r.out) != s.rp.digest) {
      ++counters->wrong_reads;
      return "snapshot " + s.name + " pulls other bytes than RP " + s.rp.name + " had";
    }
    auto d = RunChild(RpfsArgv(checker, {"delete", "chk", rp}), {});
    if (!d.ok()) return "delete in the checker store failed: " + d.err;
  }
  return "";
}

std::string CheckContents(const Model& model, const Paths& paths, CheckCounters* counters) {
  for (const auto& vm : model.vms) {
    for (const auto& rp : vm.rps) {
      auto r = RunChild(RpfsArgv(paths, {"export", vm.name, rp.name, "vda", "-o", "-"}), {});
      if (!r.ok()) return "export of " + vm.name + "/" + rp.name + " failed: " + r.err;
      ++counters->exports;
      if (Sha256(r.out) != rp.digest) {
        ++counters->wrong_reads;
        return "export of " + vm.name + "/" + rp.name + " differs from the image it was taken of";
      }
    }
  }
  auto v = RunChild(RpfsArgv(paths, {"verify"}), {});
  if (!v.ok()) return "verify is not clean: " + v.out + v.err;
  ++counters->verifies;
  if (auto e = CheckRegion(model, paths, counters); !e.empty()) return e;
  for (const auto& c : model.clones) {
    if (c.remote && !c.hydrated) continue;  // read when a hydrate of it succeeds
    auto r = RunChild({paths.self, "--read-clone", paths.store, c.vm, c.name}, {});
    if (!r.ok()) return "reading clone " + c.vm + "/" + c.name + " failed: " + r.err;
    ++counters->clone_reads;
    if (r.out.size() != c.expect.size()) return "clone " + c.name + " has the wrong size";
    for (size_t b = 0; b < c.known.size(); ++b) {
      if (!c.known[b]) continue;
      size_t off = b * kBlock, len = std::min<size_t>(kBlock, c.expect.size() - off);
      ++counters->clone_blocks;
      if (std::memcmp(r.out.data() + off, c.expect.data() + off, len) != 0) {
        ++counters->wrong_reads;
        return "clone " + c.vm + "/" + c.name + " block at offset " + std::to_string(off) +
               " differs from what was acknowledged";
      }
    }
  }
  return "";
}

}  // namespace rpfs::torture
