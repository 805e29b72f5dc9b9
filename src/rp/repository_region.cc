// The Repository API that copies RPs elsewhere (a region, docs/region.md): an RP as its
// chunks for a push, an RP made from streams for a pull, and the stored region configs.
#include <filesystem>

#include "format/keys.h"
#include "rp/repository_parts.h"
#include "rp/rp_creation.h"
#include "rpfs/names.h"
#include "rpfs/repository.h"
#include "util/clock.h"

namespace rpfs {
namespace {

class PinnedRpChunks final : public RpChunks {
 public:
  PinnedRpChunks(rp::RepositoryParts* parts, std::shared_ptr<void> pin, format::RpRecord rec,
                 RpInfo info)
      : parts_(parts), pin_(std::move(pin)), rec_(std::move(rec)), info_(std::move(info)) {}

  const RpInfo& info() const override { return info_; }
  uint32_t chunk_size() const override { return parts_->store->config().chunk_size; }
  const std::string& domain_xml() const override { return rec_.domain_xml; }

  Status ForEachChunk(const std::string& stream,
                      const std::function<bool(uint64_t, std::string_view)>& fn) const override {
    const format::RpStream* s = rp::Catalog::FindStream(rec_, stream);
    if (s == nullptr) {
      return Status::NotFound(rp::RpLabel(rec_.vm, rec_.name) + " has no stream " + stream);
    }
    const auto& cfg = parts_->store->config();
    rp::ExtentMap map(&parts_->pages, cfg.page_fanout, cfg.chunk_size, *s);
    return map.ForEachChunk([&](uint64_t index, const Digest& d) { return fn(index, d.View()); });
  }

  Result<std::string> StoredChunk(std::string_view digest) const override {
    RPFS_ASSIGN_OR_RETURN(Digest d, Digest::FromBytes(digest));
    return parts_->store->GetObjectBody(format::ObjectId{format::ObjectKind::kChunk, d});
  }

 private:
  rp::RepositoryParts* parts_;
  std::shared_ptr<void> pin_;  // keeps the RP's data while this lives
  format::RpRecord rec_;
  RpInfo info_;
};

RegionConfig ToConfig(const format::RegionRecord& r) {
  return RegionConfig{r.name, r.ceph_conf, r.pool, r.client_id, r.created_us};
}

}  // namespace

Result<std::unique_ptr<RpChunks>> Repository::OpenRpChunks(const std::string& vm,
                                                           const std::string& rp) const {
  RPFS_ASSIGN_OR_RETURN(auto found, impl_->catalog.LoadRp(vm, rp));
  auto pin = impl_->gate.Pin(found.id);
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->catalog.FindRpById(vm, found.id));
  if (!rec) return Status::NotFound(rp::RpLabel(vm, rp) + " does not exist");  // deleted meanwhile
  RPFS_ASSIGN_OR_RETURN(std::string parent, impl_->catalog.ParentName(*rec));
  RpInfo info = rp::Catalog::ToInfo(*rec, parent);
  return std::unique_ptr<RpChunks>(
      std::make_unique<PinnedRpChunks>(impl_.get(), std::move(pin), std::move(*rec), info));
}

Result<RpInfo> Repository::ImportRp(const std::string& vm, const std::string& rp,
                                    std::vector<ImportedStream> streams, const ImportOptions& opts,
                                    const ProgressFn& progress) {
  RPFS_RETURN_IF_ERROR(ValidateName(rp, "rp name"));
  rp::PointInput input;
  for (auto& s : streams) {
    rp::DiskInput d;
    d.memory = s.name == kMemoryStream;
    d.name = d.memory ? "memory" : s.name;
    if (!d.memory) RPFS_RETURN_IF_ERROR(ValidateName(s.name, "disk name"));
    d.source = std::move(s.source);
    d.access = format::StreamAccess{s.uid, s.gid, s.mode & 0777};
    input.disks.push_back(std::move(d));
  }
  CreateOptions copts;
  copts.description = opts.description;
  auto create_lock = impl_->gate.LockForCreate();
  RPFS_ASSIGN_OR_RETURN(
      auto creation,
      rp::RpCreation::PrepareImport(impl_.get(), vm, rp, copts, std::move(input), opts.domain_xml));
  RPFS_RETURN_IF_ERROR(creation->Ingest(progress));
  return creation->Commit();
}

void Repository::SetRemoteSnapshots(std::shared_ptr<RemoteSnapshots> snapshots) {
  impl_->remote.store(std::move(snapshots));
}

std::shared_ptr<RemoteSnapshots> Repository::remote_snapshots() const {
  return impl_->remote.load();
}

Status Repository::AddRegion(const RegionConfig& region) {
  RPFS_RETURN_IF_ERROR(ValidateName(region.name, "region name"));
  if (region.ceph_conf.empty()) {
    return Status::InvalidArgument("region " + region.name + ": --ceph-conf is required");
  }
  if (region.pool.empty()) return Status::InvalidArgument("region " + region.name + ": empty pool");
  format::RegionRecord rec;
  rec.name = region.name;
  rec.ceph_conf = std::filesystem::absolute(region.ceph_conf).lexically_normal().string();
  rec.pool = region.pool;
  rec.client_id = region.client_id.empty() ? "admin" : region.client_id;
  rec.created_us = NowMicros();
  auto lock = impl_->gate.LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto existing, impl_->store->Get(format::RegionKey(region.name)));
  if (existing) return Status::AlreadyExists("region " + region.name + " already exists");
  store::Mutation m;
  m.Put(format::RegionKey(region.name), format::EncodeRegion(rec));
  return impl_->store->Commit(m).WithContext("adding region ", region.name);
}

Status Repository::RemoveRegion(const std::string& name) {
  auto lock = impl_->gate.LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto existing, impl_->store->Get(format::RegionKey(name)));
  if (!existing) return Status::NotFound("region " + name + " does not exist");
  store::Mutation m;
  m.Delete(format::RegionKey(name));
  return impl_->store->Commit(m).WithContext("removing region ", name);
}

Result<RegionConfig> Repository::GetRegion(const std::string& name) const {
  RPFS_ASSIGN_OR_RETURN(auto raw, impl_->store->Get(format::RegionKey(name)));
  if (!raw) return Status::NotFound("region " + name + " does not exist (see rpfs region add)");
  RPFS_ASSIGN_OR_RETURN(auto rec, format::DecodeRegion(*raw));
  return ToConfig(rec);
}

std::string Repository::StoreId() const {
  return "store-" + std::to_string(impl_->store->config().created_us);
}

Result<std::vector<RegionConfig>> Repository::ListRegions() const {
  std::vector<RegionConfig> out;
  Status decode_error;
  RPFS_RETURN_IF_ERROR(
      impl_->store->Scan(format::RegionPrefix(), [&](std::string_view, std::string_view value) {
        auto rec = format::DecodeRegion(value);
        if (!rec.ok()) {
          decode_error = rec.status();
          return false;
        }
        out.push_back(ToConfig(*rec));
        return true;
      }));
  RPFS_RETURN_IF_ERROR(decode_error);
  return out;
}

}  // namespace rpfs
