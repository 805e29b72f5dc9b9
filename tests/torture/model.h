// What the torture driver knows the store must hold: every committed RP with the bytes
// its image had when it was taken, and every clone with the bytes it must read back
// (known per block; a write that was never acknowledged makes its blocks unknown).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/hash.h"

namespace rpfs::torture {

inline constexpr uint64_t kBlock = 4096;  // clone writes are whole blocks

struct RpModel {
  std::string name;
  Digest digest;                                        // of the whole disk image
  std::shared_ptr<const std::vector<std::byte>> bytes;  // the image as it was
  // A rollback's undo RP: prune's --keep-last neither counts nor keeps it. A flag of the
  // RP, not of its name: a rename keeps it.
  bool automatic = false;
};

struct VmModel {
  std::string name;
  std::string image;         // path of its one disk, "vda"
  std::vector<RpModel> rps;  // in creation order (what --keep-last counts by)
  const RpModel* Find(const std::string& rp) const;
};

struct CloneModel {
  std::string vm;
  std::string name;
  std::vector<std::byte> expect;  // the clone's bytes where known
  std::vector<bool> known;        // per kBlock block
  bool hydrated = false;
  // Made from a region snapshot (`clone --from-region`): until hydrated, only the rpfs
  // binary (which reaches the region) reads or writes it; its chunks come from the region,
  // kept by the clone's hold even once the snapshot is deleted.
  bool remote = false;
  // An acknowledged (flushed) write: its blocks are now known.
  void Apply(uint64_t offset, std::span<const std::byte> data);
  // A write that may or may not have landed (not acknowledged before the kill).
  void Forget(uint64_t offset, uint64_t len);
};

// A region snapshot (`rpfs push`): the bytes of the RP it was pushed from.
struct SnapshotModel {
  std::string name;
  RpModel rp;
};

struct Model {
  std::vector<VmModel> vms;
  std::vector<CloneModel> clones;
  bool region = false;                   // a region is configured (--ceph-conf)
  std::vector<SnapshotModel> snapshots;  // published, in the region
  VmModel* Vm(const std::string& name);
  CloneModel* Clone(const std::string& vm, const std::string& name);
  size_t RpCount() const;
};

}  // namespace rpfs::torture
