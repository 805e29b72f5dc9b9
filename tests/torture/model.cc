#include "torture/model.h"

#include <algorithm>
#include <cstring>

namespace rpfs::torture {

const RpModel* VmModel::Find(const std::string& rp) const {
  for (const auto& r : rps) {
    if (r.name == rp) return &r;
  }
  return nullptr;
}

void CloneModel::Apply(uint64_t offset, std::span<const std::byte> data) {
  std::memcpy(expect.data() + offset, data.data(), data.size());
  for (uint64_t b = offset / kBlock; b * kBlock < offset + data.size(); ++b) known[b] = true;
}

void CloneModel::Forget(uint64_t offset, uint64_t len) {
  for (uint64_t b = offset / kBlock; b * kBlock < offset + len; ++b) known[b] = false;
}

VmModel* Model::Vm(const std::string& name) {
  for (auto& v : vms) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

CloneModel* Model::Clone(const std::string& vm, const std::string& name) {
  for (auto& c : clones) {
    if (c.vm == vm && c.name == name) return &c;
  }
  return nullptr;
}

size_t Model::RpCount() const {
  size_t n = 0;
  for (const auto& v : vms) n += v.rps.size();
  return n;
}

}  // namespace rpfs::torture
