// Catalog: read-only access to the store's records (VMs, RPs, clones) and the conversions
// from records to the public Info types. It takes no lock: records are read from the
// store's consistent point-in-time Gets, and every mutation that must see them unchanged
// re-reads them under the write lock (rp/write_gate.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "format/records.h"
#include "rpfs/repository.h"
#include "store/store.h"

namespace rpfs::rp {

// "rp web01/day1": how errors name an RP.
std::string RpLabel(std::string_view vm, std::string_view rp);
std::string CloneLabel(std::string_view vm, std::string_view clone);

class Catalog {
 public:
  explicit Catalog(const store::Store* store) : store_(store) {}

  // NotFound naming the VM when it does not exist.
  Result<format::VmRecord> LoadVm(const std::string& vm) const;
  // Names of every VM, in key order.
  Result<std::vector<std::string>> VmNames() const;
  // nullopt (not an error) when there is no such RP; id 0 is never an RP.
  Result<std::optional<format::RpRecord>> FindRpById(const std::string& vm, uint64_t id) const;
  Result<std::optional<format::RpRecord>> FindRp(const std::string& vm,
                                                 const std::string& name) const;
  // NotFound naming the VM or the RP.
  Result<format::RpRecord> LoadRp(const std::string& vm, const std::string& name) const;
  // The RPs of one VM, of every VM, or deleted while read (their data still held), in
  // creation order.
  Result<std::vector<format::RpRecord>> LoadRps(const std::string& vm) const;
  Result<std::vector<format::RpRecord>> LoadAllRps() const;
  Result<std::vector<format::RpRecord>> LoadDeferred() const;
  Result<std::vector<uint64_t>> DeferredIds() const;
  Result<size_t> CountRps(const std::string& vm) const;
  // NotFound naming the clone.
  Result<format::CloneRecord> LoadClone(const std::string& vm, const std::string& clone) const;
  // One VM's clones, or every VM's when `vm` is empty.
  Result<std::vector<format::CloneRecord>> LoadClones(const std::string& vm) const;
  Result<bool> HasClones(const std::string& vm) const;
  Result<std::string> ParentName(const format::RpRecord& r) const;

  static RpInfo ToInfo(const format::RpRecord& r, const std::string& parent_name);
  // The page roots an RP's streams reference (one reference each).
  static std::vector<store::ObjectId> Roots(const format::RpRecord& r);
  // The stream of disk `disk` (or of the memory state, kMemoryStream); nullptr when none.
  static const format::RpStream* FindStream(const format::RpRecord& r, const std::string& disk);

 private:
  Result<std::vector<format::RpRecord>> LoadRpsWithPrefix(const std::string& prefix) const;

  const store::Store* store_;
};

}  // namespace rpfs::rp
