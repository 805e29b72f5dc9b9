#include "rp/catalog.h"

#include "format/keys.h"

namespace rpfs::rp {

std::string RpLabel(std::string_view vm, std::string_view rp) {
  return "rp " + std::string(vm) + "/" + std::string(rp);
}

std::string CloneLabel(std::string_view vm, std::string_view clone) {
  return "clone " + std::string(vm) + "/" + std::string(clone);
}

Result<format::VmRecord> Catalog::LoadVm(const std::string& vm) const {
  RPFS_ASSIGN_OR_RETURN(auto raw, store_->Get(format::VmKey(vm)));
  if (!raw) return Status::NotFound("vm " + vm + " does not exist");
  return format::DecodeVm(*raw);
}

Result<std::vector<std::string>> Catalog::VmNames() const {
  std::vector<std::string> names;
  RPFS_RETURN_IF_ERROR(store_->Scan(format::VmPrefix(), [&](std::string_view k, std::string_view) {
    names.push_back(format::VmNameFromKey(k));
    return true;
  }));
  return names;
}

Result<std::optional<format::RpRecord>> Catalog::FindRpById(const std::string& vm,
                                                            uint64_t id) const {
  if (id == 0) return std::optional<format::RpRecord>();
  RPFS_ASSIGN_OR_RETURN(auto raw, store_->Get(format::RpKey(vm, id)));
  if (!raw) return std::optional<format::RpRecord>();
  RPFS_ASSIGN_OR_RETURN(auto rec, format::DecodeRp(*raw));
  return std::optional<format::RpRecord>(std::move(rec));
}

Result<std::optional<format::RpRecord>> Catalog::FindRp(const std::string& vm,
                                                        const std::string& name) const {
  RPFS_ASSIGN_OR_RETURN(auto raw, store_->Get(format::RpNameKey(vm, name)));
  if (!raw) return std::optional<format::RpRecord>();
  auto id = format::DecodeRpNameIndex(*raw);
  if (!id.ok()) return id.status().WithContext(RpLabel(vm, name));
  return FindRpById(vm, *id);
}

Result<format::RpRecord> Catalog::LoadRp(const std::string& vm, const std::string& name) const {
  RPFS_RETURN_IF_ERROR(LoadVm(vm).status());
  RPFS_ASSIGN_OR_RETURN(auto rec, FindRp(vm, name));
  if (!rec) return Status::NotFound(RpLabel(vm, name) + " does not exist");
  return std::move(*rec);
}

Result<std::vector<format::RpRecord>> Catalog::LoadRps(const std::string& vm) const {
  return LoadRpsWithPrefix(format::RpPrefix(vm));
}

Result<std::vector<format::RpRecord>> Catalog::LoadAllRps() const {
  return LoadRpsWithPrefix(format::AllRpPrefix());
}

Result<std::vector<format::RpRecord>> Catalog::LoadDeferred() const {
  return LoadRpsWithPrefix(format::DeferredRpPrefix());
}

Result<std::vector<uint64_t>> Catalog::DeferredIds() const {
  std::vector<uint64_t> ids;
  RPFS_RETURN_IF_ERROR(
      store_->Scan(format::DeferredRpPrefix(), [&](std::string_view k, std::string_view) {
        if (uint64_t id = format::DeferredRpIdFromKey(k); id != 0) ids.push_back(id);
        return true;
      }));
  return ids;
}

Result<size_t> Catalog::CountRps(const std::string& vm) const {
  size_t n = 0;
  RPFS_RETURN_IF_ERROR(store_->Scan(format::RpPrefix(vm), [&](std::string_view, std::string_view) {
    ++n;
    return true;
  }));
  return n;
}

Result<std::vector<format::RpRecord>> Catalog::LoadRpsWithPrefix(const std::string& prefix) const {
  std::vector<format::RpRecord> out;
  Status err;
  RPFS_RETURN_IF_ERROR(store_->Scan(prefix, [&](std::string_view, std::string_view v) {
    auto rec = format::DecodeRp(v);
    if (!rec.ok()) {
      err = rec.status();
      return false;
    }
    out.push_back(std::move(*rec));
    return true;
  }));
  RPFS_RETURN_IF_ERROR(err);
  return out;
}

Result<format::CloneRecord> Catalog::LoadClone(const std::string& vm,
                                               const std::string& clone) const {
  RPFS_ASSIGN_OR_RETURN(auto raw, store_->Get(format::CloneKey(vm, clone)));
  if (!raw) return Status::NotFound(CloneLabel(vm, clone) + " does not exist");
  return format::DecodeClone(*raw);
}

Result<std::vector<format::CloneRecord>> Catalog::LoadClones(const std::string& vm) const {
  std::vector<format::CloneRecord> recs;
  Status err;
  RPFS_RETURN_IF_ERROR(store_->Scan(vm.empty() ? format::AllClonePrefix() : format::ClonePrefix(vm),
                                    [&](std::string_view, std::string_view v) {
                                      auto c = format::DecodeClone(v);
                                      if (!c.ok()) {
                                        err = c.status();
                                        return false;
                                      }
                                      recs.push_back(std::move(*c));
                                      return true;
                                    }));
  RPFS_RETURN_IF_ERROR(err);
  return recs;
}

Result<bool> Catalog::HasClones(const std::string& vm) const {
  bool any = false;
  RPFS_RETURN_IF_ERROR(
      store_->Scan(format::ClonePrefix(vm), [&](std::string_view, std::string_view) {
        any = true;
        return false;
      }));
  return any;
}

Result<std::string> Catalog::ParentName(const format::RpRecord& r) const {
  RPFS_ASSIGN_OR_RETURN(auto parent, FindRpById(r.vm, r.parent));
  return parent ? parent->name : std::string();
}

RpInfo Catalog::ToInfo(const format::RpRecord& r, const std::string& parent_name) {
  RpInfo info;
  info.id = r.id;
  info.vm = r.vm;
  info.name = r.name;
  info.created_us = r.created_us;
  info.description = r.description;
  info.parent = parent_name;
  info.quiesced = (r.flags & format::kRpFlagQuiesced) != 0;
  info.with_memory = (r.flags & format::kRpFlagWithMemory) != 0;
  info.is_protected = (r.flags & format::kRpFlagProtected) != 0;
  info.automatic = (r.flags & format::kRpFlagAutomatic) != 0;
  info.has_domain_xml = !r.domain_xml.empty();
  for (const auto& s : r.streams) {
    if (s.kind == format::StreamKind::kDisk)
      info.disks.push_back(
          {s.name, s.size, s.access.uid, s.access.gid, s.access.mode, s.allocated});
    if (s.kind == format::StreamKind::kMemory) info.memory_bytes = s.size;
  }
  info.logical_bytes = r.logical_bytes;
  info.data_bytes = r.data_bytes;
  info.stored_bytes = r.stored_bytes;
  info.added_bytes = r.added_bytes;
  info.create_duration_us = r.create_duration_us;
  info.drill_time_us = r.drill.time_us;
  info.drill_ok = r.drill.ok;
  info.drill_reason = r.drill.reason;
  info.drill_boot_us = r.drill.boot_us;
  return info;
}

std::vector<store::ObjectId> Catalog::Roots(const format::RpRecord& r) {
  std::vector<store::ObjectId> roots;
  for (const auto& s : r.streams)
    if (!s.root.IsZero()) roots.push_back(store::ObjectId{format::ObjectKind::kPage, s.root});
  return roots;
}

const format::RpStream* Catalog::FindStream(const format::RpRecord& r, const std::string& disk) {
  for (const auto& s : r.streams) {
    const bool match = disk == kMemoryStream
                           ? s.kind == format::StreamKind::kMemory
                           : s.kind == format::StreamKind::kDisk && s.name == disk;
    if (match) return &s;
  }
  return nullptr;
}

}  // namespace rpfs::rp
