#include "region/remote_snapshots.h"

#include <chrono>
#include <map>
#include <mutex>

#include "region/snapshot_source.h"
#include "util/log.h"

namespace rpfs::region {
namespace {

class RegionSnapshots final : public RemoteSnapshots {
 public:
  RegionSnapshots(const Repository* repo, RegionOpener open)
      : repo_(repo), open_(std::move(open)) {}

  bool Configured() const override {
    auto regions = repo_->ListRegions();
    return regions.ok() && !regions->empty();
  }

  Result<std::vector<RpInfo>> List() override {
    std::lock_guard lock(mu_);
    RPFS_RETURN_IF_ERROR(RefreshLocked(false));
    std::vector<RpInfo> out;
    for (const auto& [name, e] : entries_) out.push_back(e.info);
    return out;
  }

  Result<std::unique_ptr<DiskReader>> OpenDisk(const std::string& snapshot, uint64_t id,
                                               const std::string& disk) override {
    std::lock_guard lock(mu_);
    RPFS_RETURN_IF_ERROR(RefreshLocked(false));
    auto known = entries_.find(snapshot);
    if (known == entries_.end() || known->second.info.id != id) {
      RPFS_RETURN_IF_ERROR(RefreshLocked(true));  // listed since the last refresh
    }
    auto it = entries_.find(snapshot);
    if (it == entries_.end() || it->second.info.id != id) {
      return Status::NotFound("no region snapshot " + snapshot);
    }
    const Entry& e = it->second;
    RPFS_ASSIGN_OR_RETURN(Manifest m, e.region->LoadManifest(e.summary));
    for (const auto& s : m.streams) {
      if (s.memory || s.name != disk) continue;
      return NewSnapshotDiskReader(e.region, &e.region->objects(),
                                   "region " + e.region->name() + ": snapshot " + e.summary.name, s,
                                   m.chunk_size);
    }
    return Status::NotFound("region snapshot " + snapshot + " has no disk " + disk);
  }

 private:
  struct Entry {
    std::shared_ptr<Region> region;
    Summary summary;
    RpInfo info;
  };

  Status RefreshLocked(bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && listed_ && now - listed_at_ < std::chrono::seconds(kListSeconds)) {
      return Status::OK();
    }
    RPFS_ASSIGN_OR_RETURN(auto regions, repo_->ListRegions());
    std::map<std::string, Entry> entries;
    for (const auto& cfg : regions) {
      Status st = AddRegion(cfg.name, regions.size() > 1, &entries);
      if (!st.ok()) {
        log::Log(log::Severity::kWarning, "region-unreachable",
                 {{"region", cfg.name}, {"error", st.message()}});
        regions_.erase(cfg.name);  // connect again next time
      }
    }
    entries_ = std::move(entries);
    listed_ = true;
    listed_at_ = now;
    return Status::OK();
  }

  Status AddRegion(const std::string& name, bool prefixed, std::map<std::string, Entry>* out) {
    std::shared_ptr<Region>& region = regions_[name];
    if (!region) {
      RPFS_ASSIGN_OR_RETURN(auto opened, open_(name));
      region = std::move(opened);
    }
    RPFS_ASSIGN_OR_RETURN(auto snaps, region->Snapshots());
    for (auto& s : snaps) {
      auto m = region->LoadManifest(s, /*with_chunks=*/false);
      if (!m.ok()) {
        // Deleted by another host since the index was read, or unreadable: left out; the
        // region's other snapshots stay.
        if (m.status().code() != Status::Code::kNotFound) {
          log::Log(log::Severity::kWarning, "region-snapshot-skipped",
                   {{"region", name}, {"snapshot", s.name}, {"error", m.status().message()}});
        }
        continue;
      }
      RpInfo info;
      // The id stands for this push (the sid), so a name pushed again is another node.
      info.id = std::hash<std::string>{}(s.sid) | 1;
      info.name = prefixed ? name + ":" + s.name : s.name;
      info.vm = s.vm;
      info.created_us = s.rp_created_us;
      info.description = s.description;
      info.logical_bytes = s.logical_bytes;
      for (const auto& stream : m->streams) {
        if (stream.memory) continue;
        RpDiskInfo d;
        d.name = stream.name;
        d.size = stream.size;
        d.uid = stream.uid;
        d.gid = stream.gid;
        d.mode = stream.mode;
        d.allocated = std::min<uint64_t>(stream.size, stream.entries * m->chunk_size);
        info.disks.push_back(d);
      }
      std::string key = info.name;
      (*out)[key] = Entry{region, std::move(s), std::move(info)};
    }
    return Status::OK();
  }

  const Repository* repo_;
  RegionOpener open_;
  std::mutex mu_;  // guards everything below; held while the cluster is asked
  std::map<std::string, std::shared_ptr<Region>> regions_;
  std::map<std::string, Entry> entries_;  // by the name .region/ shows
  bool listed_ = false;
  std::chrono::steady_clock::time_point listed_at_;
};

}  // namespace

std::shared_ptr<RemoteSnapshots> NewRegionSnapshots(const Repository* repo, RegionOpener open) {
  return std::make_shared<RegionSnapshots>(repo, std::move(open));
}

}  // namespace rpfs::region
