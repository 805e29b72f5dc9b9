#include "region/remote_chunks.h"

#include <cstring>

#include "region/snapshot_source.h"

namespace rpfs::region {
namespace {

constexpr char kSourcePrefix[] = "region:";

class RegionChunks final : public RemoteChunks {
 public:
  explicit RegionChunks(std::unique_ptr<Region> region) : region_(std::move(region)) {}

  Status Read(std::string_view digest, std::span<std::byte> out) override {
    RPFS_ASSIGN_OR_RETURN(Digest d, Digest::FromBytes(digest));
    const std::string what = "region " + region_->name() + ": chunk " + d.Hex();
    auto bodies = region_->objects().ReadMany({ChunkObject(d)});
    if (!bodies[0].ok()) return Status::IOError(what + ": " + bodies[0].status().message(), EIO);
    std::string raw;
    Status st = CheckChunk(*bodies[0], d, &raw);
    if (st.ok() && raw.size() != out.size()) st = Status::Corruption("wrong length");
    if (!st.ok()) return Status::IOError(what + " is damaged in the region: " + st.message(), EIO);
    std::memcpy(out.data(), raw.data(), raw.size());
    return Status::OK();
  }

 private:
  std::unique_ptr<Region> region_;
};

}  // namespace

std::string CloneSource(const std::string& region, const std::string& snapshot) {
  return kSourcePrefix + region + ":" + snapshot;
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
