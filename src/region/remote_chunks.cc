#include "region/remote_chunks.h"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "region/snapshot_source.h"
#include "util/log.h"

namespace rpfs::region {
namespace {

constexpr char kSourcePrefix[] = "region:";

// Reads chunks through a region. Prefetched chunks wait, decoded and checked, in a small
// bounded buffer until their Read takes them. A chunk being prefetched is not fetched a
// second time: a Read of it waits for it (read-ahead and the reader overlap on purpose).
class RegionChunks final : public RemoteChunks {
 public:
  explicit RegionChunks(std::unique_ptr<Region> region) : region_(std::move(region)) {}
  ~RegionChunks() override {
    // What this source cost, once per clone disk: fetched = read from RADOS; unused =
    // prefetched but never read (dropped); a large share unused means read-ahead waste.
    log::Log(log::Severity::kInfo, "region-chunks-closed",
             {{"region", region_->name()},
              {"fetched", std::to_string(fetched_.load())},
              {"prefetched", std::to_string(prefetched_.load())},
              {"unused", std::to_string(ready_.size() + dropped_)}});
  }

  Status Read(std::string_view digest, std::span<std::byte> out) override {
    RPFS_ASSIGN_OR_RETURN(Digest d, Digest::FromBytes(digest));
    std::string raw;
    if (!TakePrefetched(d, &raw)) {
      fetched_++;
      auto bodies = region_->objects().ReadMany({ChunkObject(d)});
      RPFS_RETURN_IF_ERROR(Decode(d, bodies[0], &raw));
    }
    if (raw.size() != out.size()) {
      return Status::IOError(What(d) + " is damaged in the region: wrong length", EIO);
    }
    std::memcpy(out.data(), raw.data(), raw.size());
    return Status::OK();
  }

  Status Release(const std::string& source) override {
    const std::string hold = HoldOfCloneSource(source);
    if (hold.empty()) return Status::OK();  // a clone made before holds: it holds nothing
    RPFS_ASSIGN_OR_RETURN(DeleteResult released, region_->Release(hold));
    for (const auto& name : released.also_finished) {
      log::Log(log::Severity::kInfo, "region-delete-finished",
               {{"region", region_->name()}, {"snapshot", name}, {"hold", hold}});
    }
    return Status::OK();
  }

  void Prefetch(const std::vector<std::string>& digests) override {
    std::vector<Digest> wanted;
    std::vector<std::string> oids;
    {
      std::lock_guard lock(mu_);
      for (const auto& raw : digests) {
        auto d = Digest::FromBytes(raw);
        if (!d.ok() || ready_.count(*d) != 0 || in_flight_.count(*d) != 0) continue;
        wanted.push_back(*d);
        oids.push_back(ChunkObject(*d));
      }
      if (wanted.size() < 2) return;  // one chunk: its Read fetches it as fast
      for (const auto& d : wanted) in_flight_.insert(d);
    }
    fetched_ += wanted.size();
    prefetched_ += wanted.size();
    // All in flight at once; each is checked as it arrives, while the rest are on the way.
    region_->objects().ReadEach(oids, [&](size_t i, Result<std::string> body) {
      std::string raw;
      const bool ok = Decode(wanted[i], body, &raw).ok();  // else Read fetches and reports it
      std::lock_guard lock(mu_);
      in_flight_.erase(wanted[i]);
      if (ok) Keep(wanted[i], std::move(raw));
      arrived_.notify_all();
    });
    // Whatever ReadEach left (it reports every object, but a Read must never wait forever).
    std::lock_guard lock(mu_);
    for (const auto& d : wanted) in_flight_.erase(d);
    arrived_.notify_all();
  }

  size_t waiting() const {
    std::lock_guard lock(mu_);
    return waiting_;
  }

 private:
  static constexpr size_t kMaxReadyBytes = 32ull << 20;  // whatever the chunk size

  // Called with mu_ held.
  void Keep(const Digest& d, std::string raw) {
    const size_t n = raw.size();
    if (ready_.emplace(d, std::move(raw)).second) {
      order_.push_back(d);
      ready_bytes_ += n;
    }
    while (ready_bytes_ > kMaxReadyBytes && !order_.empty()) {
      // Unread for long: dropped, fetched again if it is read after all.
      auto it = ready_.find(order_.front());
      if (it != ready_.end()) {
        ready_bytes_ -= it->second.size();
        ready_.erase(it);
        dropped_++;
      }
      order_.pop_front();
    }
  }

  std::string What(const Digest& d) const {
    return "region " + region_->name() + ": chunk " + d.Hex();
  }

  Status Decode(const Digest& d, const Result<std::string>& body, std::string* raw) const {
    if (!body.ok()) return Status::IOError(What(d) + ": " + body.status().message(), EIO);
    Status st = CheckChunk(*body, d, raw);
    if (!st.ok())
      return Status::IOError(What(d) + " is damaged in the region: " + st.message(), EIO);
    return Status::OK();
  }

  bool TakePrefetched(const Digest& d, std::string* raw) {
    std::unique_lock lock(mu_);
    waiting_++;
    arrived_.wait(lock, [&] { return in_flight_.count(d) == 0; });
    waiting_--;
    auto it = ready_.find(d);
    if (it == ready_.end()) return false;
    *raw = std::move(it->second);
    ready_bytes_ -= raw->size();
    ready_.erase(it);  // its place in order_ is skipped when it comes up
    return true;
  }

  std::unique_ptr<Region> region_;
  mutable std::mutex mu_;  // guards ready_, order_, in_flight_ and waiting_
  size_t waiting_ = 0;     // Reads in TakePrefetched, waiting while their chunk is in flight
  std::condition_variable arrived_;                   // a chunk left in_flight_
  std::unordered_set<Digest, DigestHash> in_flight_;  // being fetched by a Prefetch
  std::unordered_map<Digest, std::string, DigestHash> ready_;
  std::deque<Digest> order_;  // insertion order, for the bound
  size_t ready_bytes_ = 0;
  uint64_t dropped_ = 0;  // guarded by mu_
  std::atomic<uint64_t> fetched_{0};
  std::atomic<uint64_t> prefetched_{0};
};

}  // namespace

std::string CloneSource(const std::string& region, const std::string& snapshot,
                        const std::string& hold) {
  // Names never hold '/', so the hold's id follows the last one.
  return kSourcePrefix + region + ":" + snapshot + (hold.empty() ? "" : "/" + hold);
}

std::string HoldOfCloneSource(const std::string& source) {
  if (source.rfind(kSourcePrefix, 0) != 0) return "";
  const size_t slash = source.rfind('/');
  return slash == std::string::npos ? "" : source.substr(slash + 1);
}

Result<std::string> RegionOfCloneSource(const std::string& source) {
  const std::string_view prefix = kSourcePrefix;
  const size_t colon = source.find(':', prefix.size());
  if (source.compare(0, prefix.size(), prefix) != 0 || colon == std::string::npos) {
    return Status::InvalidArgument("unknown clone source " + source);
  }
  return source.substr(prefix.size(), colon - prefix.size());
}

std::shared_ptr<RemoteChunks> NewRegionChunks(std::unique_ptr<Region> region) {
  return std::make_shared<RegionChunks>(std::move(region));
}

size_t ReadsWaitingForPrefetch(const RemoteChunks& chunks) {
  const auto* region = dynamic_cast<const RegionChunks*>(&chunks);
  return region != nullptr ? region->waiting() : 0;
}

std::vector<RemoteDisk> RemoteDisksOf(const Manifest& manifest) {
  std::vector<RemoteDisk> out;
  for (const auto& s : manifest.streams) {
    if (s.memory) continue;
    RemoteDisk d;
    d.name = s.name;
    d.size = s.size;
    d.uid = s.uid;
    d.gid = s.gid;
    d.mode = s.mode;
    for (const auto& c : s.chunks) d.chunks.emplace_back(c.index, std::string(c.digest.View()));
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace rpfs::region
