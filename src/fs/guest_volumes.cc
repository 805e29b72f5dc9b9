#include "fs/guest_volumes.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

namespace rpfs::fs {
namespace {

class DiskByteSource final : public guest::ByteSource {
 public:
  DiskByteSource(std::shared_ptr<DiskReader> disk, std::string name,
                 std::shared_ptr<std::atomic<uint64_t>> bytes_read)
      : disk_(std::move(disk)), name_(std::move(name)), bytes_read_(std::move(bytes_read)) {}
  uint64_t size() const override { return disk_->size(); }
  std::string name() const override { return name_; }
  Result<std::string> Fingerprint(uint64_t offset, uint64_t length) const override {
    RPFS_RETURN_IF_ERROR(guest::CheckRange(offset, length, disk_->size(), name_));
    return disk_->Fingerprint(offset, length);
  }
  Status ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    RPFS_RETURN_IF_ERROR(guest::CheckRange(offset, out.size(), disk_->size(), name_));
    if (bytes_read_) bytes_read_->fetch_add(out.size(), std::memory_order_relaxed);
    size_t done = 0;
    while (done < out.size()) {
      RPFS_ASSIGN_OR_RETURN(size_t n, disk_->ReadAt(offset + done, out.subspan(done)));
      if (n == 0)
        return Status::IOError(name_ + ": short read at " + std::to_string(offset + done));
      done += n;
    }
    return Status::OK();
  }

 private:
  std::shared_ptr<DiskReader> disk_;
  std::string name_;
  std::shared_ptr<std::atomic<uint64_t>> bytes_read_;  // may be null
};

// Moves `key` to the front of `lru` (adding it) and drops entries of `cache` past `cap`.
template <typename K, typename V>
void Touch(std::list<K>& lru, std::map<K, V>& cache, const K& key, size_t cap) {
  lru.remove(key);
  lru.push_front(key);
  while (lru.size() > cap) {
    cache.erase(lru.back());
    lru.pop_back();
  }
}

}  // namespace

guest::SourcePtr DiskSource(std::shared_ptr<DiskReader> disk, std::string name,
                            std::shared_ptr<std::atomic<uint64_t>> bytes_read) {
  return std::make_shared<DiskByteSource>(std::move(disk), std::move(name), std::move(bytes_read));
}

bool ShowsTree(const guest::VolumeInfo& v) {
  return guest::SupportsTree(v.fs.type) && v.state.rfind("error", 0) != 0;
}

bool ShowableGuestName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string("/\0", 2)) == std::string::npos;
}

void OpenVolume::MakeRoom(size_t more) {
  if (attrs_.size() + more <= kMaxKept && names_.size() + more <= kMaxKept &&
      listed_entries_ + more <= kMaxKept) {
    return;
  }
  attrs_.clear();
  names_.clear();
  listings_.clear();
  parents_.clear();
  listed_entries_ = 0;
}

void OpenVolume::Keep(uint64_t dir, const std::string& name, const guest::FileAttr& attr) {
  MakeRoom(1);
  attrs_[attr.ino] = attr;
  if (!name.empty()) names_[{dir, name}] = attr.ino;
}

Result<guest::FileAttr> OpenVolume::GetAttr(uint64_t ino) {
  {
    std::lock_guard cached(cache_mu_);
    auto it = attrs_.find(ino);
    if (it != attrs_.end()) return it->second;
  }
  std::lock_guard lock(mu);
  RPFS_ASSIGN_OR_RETURN(guest::FileAttr a, fs->GetAttr(ino));
  std::lock_guard cached(cache_mu_);
  Keep(0, "", a);
  return a;
}

Result<guest::FileAttr> OpenVolume::Lookup(uint64_t dir, const std::string& name) {
  {
    std::lock_guard cached(cache_mu_);
    auto it = names_.find({dir, name});
    if (it != names_.end()) {
      auto attr = attrs_.find(it->second);
      if (attr != attrs_.end()) return attr->second;
    }
  }
  std::lock_guard lock(mu);
  RPFS_ASSIGN_OR_RETURN(guest::FileAttr a, fs->Lookup(dir, name));
  std::lock_guard cached(cache_mu_);
  Keep(dir, name, a);
  return a;
}

std::optional<OpenVolume::Listing> OpenVolume::KeptListing(uint64_t dir) {
  std::lock_guard cached(cache_mu_);
  auto listed = listings_.find(dir);
  if (listed == listings_.end()) return std::nullopt;
  return listed->second;
}

Result<OpenVolume::Listing> OpenVolume::Admit(uint64_t dir, std::vector<guest::DirEntry> entries) {
  Listing out;
  out.reserve(entries.size());
  for (auto& e : entries) {
    if (!ShowableGuestName(e.name)) continue;
    std::optional<guest::FileAttr> attr = e.attr;
    if (!attr) {
      std::lock_guard cached(cache_mu_);
      auto kept = attrs_.find(e.ino);
      if (kept != attrs_.end()) attr = kept->second;
    }
    if (!attr) {
      Result<guest::FileAttr> asked = fs->GetAttr(e.ino);
      if (!asked.ok()) {
        if (asked.status().IsIOError()) return asked.status();
        continue;
      }
      attr = *asked;
    }
    out.emplace_back(std::move(e.name), *attr);
  }
  std::lock_guard cached(cache_mu_);
  // Room first, so that making it never drops what this listing just kept.
  MakeRoom(out.size());
  for (const auto& [name, attr] : out) Keep(dir, name, attr);
  // A huge directory is listed again rather than kept; one listed twice is counted once.
  if (out.size() <= kMaxKept / 4 && !listings_.contains(dir)) {
    listed_entries_ += out.size();
    listings_[dir] = out;
    for (const auto& [name, attr] : out) parents_[attr.ino] = dir;
  }
  return out;
}

std::vector<uint64_t> OpenVolume::UnmappedSiblings(uint64_t ino) {
  std::vector<uint64_t> out;
  auto parent = parents_.find(ino);
  if (parent == parents_.end()) return out;
  auto listing = listings_.find(parent->second);
  if (listing == listings_.end()) return out;
  const Listing& entries = listing->second;
  // From the file onwards (what a walk opens next), then from the top.
  size_t at = 0;
  while (at < entries.size() && entries[at].second.ino != ino) ++at;
  for (size_t k = 0; k < entries.size() && out.size() + 1 < kMapBatch; ++k) {
    const guest::FileAttr& attr = entries[(at + k) % entries.size()].second;
    if (!S_ISREG(attr.mode) || attr.size == 0 || attr.ino == ino || maps_.contains(attr.ino) ||
        unbatched_.contains(attr.ino) || std::find(out.begin(), out.end(), attr.ino) != out.end()) {
      continue;
    }
    out.push_back(attr.ino);
  }
  return out;
}

void OpenVolume::KeepMap(uint64_t ino, const std::vector<guest::FileExtent>& extents) {
  if (extents.size() > kMaxSiblingExtents) return NoteUnbatched(ino);
  if (maps_.contains(ino)) return;
  MakeMapRoom(extents.size() + 1);
  maps_[ino] = extents;
  kept_extents_ += extents.size() + 1;
}

void OpenVolume::NoteUnbatched(uint64_t ino) {
  if (unbatched_.contains(ino)) return;
  MakeMapRoom(1);
  unbatched_.insert(ino);
  ++kept_extents_;
}

void OpenVolume::MakeMapRoom(size_t more) {
  if (kept_extents_ + more <= kMaxKeptExtents) return;
  maps_.clear();
  unbatched_.clear();
  kept_extents_ = 0;
}

Result<std::vector<guest::FileExtent>> OpenVolume::MapFile(uint64_t ino) {
  auto kept = [&]() -> std::optional<std::vector<guest::FileExtent>> {
    std::lock_guard cached(cache_mu_);
    auto it = maps_.find(ino);
    if (it == maps_.end()) return std::nullopt;
    return it->second;
  };
  if (auto extents = kept()) return std::move(*extents);
  std::vector<uint64_t> batch{ino};
  {
    std::lock_guard cached(cache_mu_);
    // A file known to be long (or to have been in a batch that failed) goes alone.
    if (!unbatched_.contains(ino)) {
      std::vector<uint64_t> siblings = UnmappedSiblings(ino);
      batch.insert(batch.end(), siblings.begin(), siblings.end());
    }
  }
  std::lock_guard lock(mu);
  // An earlier open's batch may have mapped it while we waited for the helper.
  if (auto extents = kept()) return std::move(*extents);
  std::vector<guest::FileMap> maps;
  if (batch.size() > 1) maps = fs->MapFiles(batch, kMaxSiblingExtents);
  {
    std::lock_guard cached(cache_mu_);
    for (const guest::FileMap& m : maps) {
      if (m.status.ok()) KeepMap(m.ino, m.extents);
      if (m.status.code() == Status::Code::kTooLarge) NoteUnbatched(m.ino);
    }
    // The batch is a guess made for the files beside this one: when it failed as a whole
    // (a helper that died, hung or lied, maybe over one of them), none of those files is
    // batched again, and this one is asked for alone below, from a new helper.
    if (!maps.empty() && maps.back().status.IsIOError()) {
      for (uint64_t other : batch) NoteUnbatched(other);
    }
  }
  // The file itself: its own map or its own error from a batch that answered; otherwise
  // (alone, too fragmented for a batch, a batch that failed or stopped early) one call.
  if (!maps.empty() && maps.front().ino == ino && !maps.front().status.IsIOError() &&
      maps.front().status.code() != Status::Code::kTooLarge) {
    RPFS_RETURN_IF_ERROR(maps.front().status);
    return std::move(maps.front().extents);
  }
  RPFS_ASSIGN_OR_RETURN(std::vector<guest::FileExtent> extents, fs->MapFile(ino));
  std::lock_guard cached(cache_mu_);
  KeepMap(ino, extents);
  return extents;
}

Result<OpenVolume::Listing> OpenVolume::ListKept(uint64_t dir) {
  if (auto kept = KeptListing(dir)) return std::move(*kept);
  std::lock_guard lock(mu);
  // The prefetcher may have listed it while we waited for the helper.
  if (auto kept = KeptListing(dir)) return std::move(*kept);
  RPFS_ASSIGN_OR_RETURN(std::vector<guest::DirEntry> entries, fs->ReadDir(dir));
  return Admit(dir, std::move(entries));
}

namespace {
std::vector<uint64_t> SubdirsOf(const OpenVolume::Listing& listing) {
  std::vector<uint64_t> dirs;
  for (const auto& [name, attr] : listing) {
    if (S_ISDIR(attr.mode)) dirs.push_back(attr.ino);
  }
  return dirs;
}
}  // namespace

Result<OpenVolume::Listing> OpenVolume::ListDir(uint64_t dir) {
  RPFS_ASSIGN_OR_RETURN(Listing out, ListKept(dir));
  if (prefetcher_ != nullptr) prefetcher_->Listed(self_, SubdirsOf(out));
  return out;
}

std::vector<uint64_t> OpenVolume::NotKept(const std::vector<uint64_t>& dirs) {
  std::vector<uint64_t> out;
  std::lock_guard cached(cache_mu_);
  for (uint64_t dir : dirs) {
    if (!listings_.contains(dir) && std::find(out.begin(), out.end(), dir) == out.end()) {
      out.push_back(dir);
    }
  }
  return out;
}

size_t OpenVolume::ListAhead(const std::vector<uint64_t>& dirs, std::vector<uint64_t>* subdirs) {
  if (NotKept(dirs).empty()) return 0;
  std::lock_guard lock(mu);
  // A walk may have listed some of them while we waited for the helper.
  std::vector<uint64_t> want = NotKept(dirs);
  if (want.empty()) return 0;
  // One round trip for all of them (the helper's ReadDirs).
  size_t listed = 0;
  for (guest::DirListing& l : fs->ReadDirs(want)) {
    // A directory that fails is met again by the walk, which reports it. An I/O error (the
    // helper died or timed out) ends the guess: the rest would wait for a new helper alike.
    if (!l.status.ok()) {
      if (l.status.IsIOError()) break;
      continue;
    }
    Result<Listing> admitted = Admit(l.dir, std::move(l.entries));
    if (!admitted.ok()) {
      if (admitted.status().IsIOError()) break;
      continue;
    }
    std::vector<uint64_t> below = SubdirsOf(*admitted);
    subdirs->insert(subdirs->end(), below.begin(), below.end());
    ++listed;
  }
  return listed;
}

const guest::VolumeInfo* RpVolumes::Find(const std::string& name) const {
  for (const auto& v : volumes) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

guest::SourcePtr RpVolumes::SourceOf(const std::string& name) const {
  for (size_t i = 0; i < volumes.size(); ++i) {
    if (volumes[i].name == name) return sources[i];
  }
  return nullptr;
}

GuestVolumes::GuestVolumes(Repository* repo, GuestOpener opener, size_t max_open_volumes,
                           size_t max_scanned_rps)
    : repo_(repo),
      opener_(std::move(opener)),
      max_open_(std::max<size_t>(1, max_open_volumes)),
      max_scanned_(std::max<size_t>(1, max_scanned_rps)),
      bytes_read_(std::make_shared<std::atomic<uint64_t>>(0)) {}

Result<std::shared_ptr<const RpVolumes>> GuestVolumes::ScanUncached(const std::string& vm,
                                                                    uint64_t rp_id) {
  RPFS_ASSIGN_OR_RETURN(RpInfo rp, repo_->GetRpById(vm, rp_id));
  auto out = std::make_shared<RpVolumes>();
  for (const RpDiskInfo& d : rp.disks) {
    RPFS_ASSIGN_OR_RETURN(std::unique_ptr<DiskReader> reader,
                          repo_->OpenDiskById(vm, rp_id, d.name));
    guest::SourcePtr disk =
        DiskSource(std::shared_ptr<DiskReader>(std::move(reader)), d.name, bytes_read_);
    RPFS_ASSIGN_OR_RETURN(std::vector<guest::VolumeInfo> found, guest::ScanDisk(d.name, disk));
    for (auto& v : found) {
      guest::SourcePtr src;
      if (!v.map.empty()) {
        auto mapped = v.map.size() == 1 && !v.map[0].zero && v.map[0].offset == 0
                          ? guest::Slice(disk, v.map[0].base_offset, v.map[0].length, v.name)
                          : guest::Mapped(disk, v.map, v.name);
        if (mapped.ok()) {
          src = *mapped;
        } else if (v.state.rfind("error", 0) != 0) {
          v.state = "error: " + mapped.status().message();
        }
      }
      out->volumes.push_back(std::move(v));
      out->sources.push_back(std::move(src));
    }
  }
  return std::shared_ptr<const RpVolumes>(std::move(out));
}

Result<std::shared_ptr<const RpVolumes>> GuestVolumes::Scan(const std::string& vm, uint64_t rp_id) {
  RpKey key{vm, rp_id};
  {
    std::lock_guard lock(mu_);
    auto it = scans_.find(key);
    if (it != scans_.end()) {
      auto found = it->second;
      Touch(scan_lru_, scans_, key, max_scanned_);
      return found;
    }
  }
  // Two first lookers may both scan; the answers are equal (the RP never changes).
  RPFS_ASSIGN_OR_RETURN(std::shared_ptr<const RpVolumes> scanned, ScanUncached(vm, rp_id));
  std::lock_guard lock(mu_);
  scans_[key] = scanned;
  Touch(scan_lru_, scans_, key, max_scanned_);
  return scanned;
}

Result<std::shared_ptr<OpenVolume>> GuestVolumes::Open(const std::string& vm, uint64_t rp_id,
                                                       const std::string& name) {
  VolumeKey key{{vm, rp_id}, name};
  {
    std::lock_guard lock(mu_);
    auto it = open_.find(key);
    if (it != open_.end()) {
      auto found = it->second;
      Touch(open_lru_, open_, key, max_open_);
      return found;
    }
  }
  RPFS_ASSIGN_OR_RETURN(std::shared_ptr<const RpVolumes> vols, Scan(vm, rp_id));
  const guest::VolumeInfo* info = vols->Find(name);
  if (info == nullptr) return Status::NotFound("no volume " + name);
  if (info->state.rfind("error", 0) == 0) return Status::IOError(name + ": " + info->state, EIO);
  if (!guest::SupportsTree(info->fs.type)) {
    return Status::NotSupported(name + ": no files shown for " + info->state);
  }
  if (!opener_) return Status::NotSupported(name + ": guest files are not enabled in this mount");
  std::lock_guard opening(open_mu_);
  {
    std::lock_guard lock(mu_);  // opened by another caller while we waited?
    auto it = open_.find(key);
    if (it != open_.end()) return it->second;
  }
  auto vol = std::make_shared<OpenVolume>();
  vol->source = vols->SourceOf(name);
  auto fs = opener_(info->fs.type, vol->source);
  if (!fs.ok()) {
    Status s = fs.status();
    return Status::IOError(name + ": " + s.message(), EIO);
  }
  vol->fs = std::move(fs).value();
  if (prefetcher_) vol->PrefetchWith(prefetcher_.get(), vol);
  std::lock_guard lock(mu_);
  open_[key] = vol;
  Touch(open_lru_, open_, key, max_open_);
  return vol;
}

GuestFileReader::GuestFileReader(std::shared_ptr<OpenVolume> volume, uint64_t ino, uint64_t size,
                                 std::vector<guest::FileExtent> extents)
    : volume_(std::move(volume)), ino_(ino), size_(size), extents_(std::move(extents)) {}

std::shared_ptr<GuestFileReader> GuestFileReader::WholeVolume(guest::SourcePtr source) {
  auto vol = std::make_shared<OpenVolume>();
  uint64_t size = source->size();
  vol->source = std::move(source);
  std::vector<guest::FileExtent> all{{0, size, guest::FileExtent::Kind::kVolume, 0}};
  return std::make_shared<GuestFileReader>(std::move(vol), 0, size, std::move(all));
}

Result<size_t> GuestFileReader::ReadAt(uint64_t offset, std::span<std::byte> out) const {
  if (offset >= size_) return size_t{0};
  size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), size_ - offset));
  // The first extent ending after `offset`.
  auto it = std::upper_bound(
      extents_.begin(), extents_.end(), offset,
      [](uint64_t o, const guest::FileExtent& e) { return o < e.file_offset + e.length; });
  size_t done = 0;
  while (done < want) {
    uint64_t pos = offset + done;
    if (it == extents_.end() || it->file_offset > pos) {
      // The helper promised extents without gaps; a gap is its bug or a hostile image.
      return Status::IOError(
          "guest file " + std::to_string(ino_) + ": no extent at " + std::to_string(pos), EIO);
    }
    uint64_t in_ext = pos - it->file_offset;
    size_t n = static_cast<size_t>(std::min<uint64_t>(it->length - in_ext, want - done));
    auto piece = out.subspan(done, n);
    switch (it->kind) {
      case guest::FileExtent::Kind::kZero:
        std::memset(piece.data(), 0, n);
        break;
      case guest::FileExtent::Kind::kVolume:
        RPFS_RETURN_IF_ERROR(volume_->source->ReadAt(it->volume_offset + in_ext, piece));
        break;
      case guest::FileExtent::Kind::kInline: {
        std::lock_guard lock(volume_->mu);
        if (!volume_->fs) return Status::IOError("guest file: no filesystem for inline data", EIO);
        size_t got = 0;
        while (got < n) {
          RPFS_ASSIGN_OR_RETURN(size_t r, volume_->fs->Read(ino_, pos + got, piece.subspan(got)));
          if (r == 0) break;
          got += r;
        }
        if (got < n) std::memset(piece.data() + got, 0, n - got);
        break;
      }
    }
    done += n;
    ++it;
  }
  return done;
}

Result<std::string> GuestFileReader::Fingerprint(uint64_t offset, uint64_t length) const {
  if (offset > size_ || length > size_ - offset) {
    return Status::InvalidArgument("guest file " + std::to_string(ino_) +
                                   ": fingerprint past its end");
  }
  auto it = std::upper_bound(
      extents_.begin(), extents_.end(), offset,
      [](uint64_t o, const guest::FileExtent& e) { return o < e.file_offset + e.length; });
  std::string out;
  for (uint64_t done = 0; done < length; ++it) {
    uint64_t pos = offset + done;
    if (it == extents_.end() || it->file_offset > pos) return std::string();  // ReadAt says why
    uint64_t in_ext = pos - it->file_offset;
    uint64_t n = std::min<uint64_t>(it->length - in_ext, length - done);
    std::string piece;
    switch (it->kind) {
      case guest::FileExtent::Kind::kZero:
        piece = "z" + std::to_string(n);
        break;
      case guest::FileExtent::Kind::kVolume: {
        RPFS_ASSIGN_OR_RETURN(piece, volume_->source->Fingerprint(it->volume_offset + in_ext, n));
        break;
      }
      case guest::FileExtent::Kind::kInline:
        break;
    }
    if (piece.empty()) return piece;
    out += std::to_string(piece.size()) + "|" + piece;
    done += n;
  }
  return out;
}

}  // namespace rpfs::fs
