// GuestVolumes: the volumes found on the disks of each RP (guest/volumes.h) and the guest
// filesystems opened on them, for the `files/` tree of the mount (docs/guest-files.md).
//
// Lazy: nothing is read until someone lists `files/` or looks inside a volume. The scan of an
// RP's disks runs here, in the daemon (our own fuzzed parsers); a filesystem is opened
// through `opener`, which in the daemon starts the sandboxed helper process (the parsers of
// guest filesystems never run in the daemon) and in tests may open it in-process.
// Both are cached with a bound: RPs never change, so a cached answer is never stale; an
// evicted volume's helper ends when its last user lets go. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "fs/dir_prefetcher.h"
#include "guest/guest_fs.h"
#include "guest/volumes.h"
#include "rpfs/repository.h"
#include "rpfs/status.h"

namespace rpfs::fs {

using GuestOpener =
    std::function<Result<std::unique_ptr<guest::GuestFs>>(guest::FsType, guest::SourcePtr)>;

// Whether volume `v` shows a tree under files/: a filesystem we read, not known damaged.
bool ShowsTree(const guest::VolumeInfo& v);
// A guest name the mount can show: not empty, not "." or "..", no '/' or NUL (a hostile
// filesystem may store any bytes).
bool ShowableGuestName(const std::string& name);

// The volumes of one RP.
struct RpVolumes {
  std::vector<guest::VolumeInfo> volumes;
  // volumes[i]'s bytes (null for an entry that only reports an error)
  std::vector<guest::SourcePtr> sources;
  // The volume called `name`, or null.
  const guest::VolumeInfo* Find(const std::string& name) const;
  guest::SourcePtr SourceOf(const std::string& name) const;
};

// One opened guest filesystem. GuestFs is not thread-safe: every call of `fs` holds `mu`.
//
// Each call of `fs` is a round trip to the sandboxed helper, and a tree walk asks for every
// entry's attributes several times (the listing, the kernel's lookup, getxattr). The volume
// never changes, so the answers are kept (names and attributes, bounded) and the calls below
// answer from them: `ls -lR` costs one helper call per directory and one per entry. With a
// DirPrefetcher, a listing also has the subdirectories listed ahead of the walk.
//
// Locks: `mu` (a helper call) may take cache_mu_ (what is kept), never the other way round;
// an answer that is kept is given under cache_mu_ alone, so the prefetcher's helper call
// never holds up a walk that only needs what is kept.
struct OpenVolume {
  using Listing = std::vector<std::pair<std::string, guest::FileAttr>>;

  guest::SourcePtr source;
  std::mutex mu;
  std::unique_ptr<guest::GuestFs> fs;  // guarded by mu

  // fs->GetAttr / fs->Lookup, from what was kept when they can.
  Result<guest::FileAttr> GetAttr(uint64_t ino);
  Result<guest::FileAttr> Lookup(uint64_t dir, const std::string& name);
  // The showable entries of directory `dir` (ShowableGuestName) with their attributes, in
  // the filesystem's order. An entry whose inode is damaged is left out; an I/O error (the
  // helper died or timed out) fails the listing. Hands the subdirectories to the prefetcher.
  Result<Listing> ListDir(uint64_t dir);

  // fs->MapFile of regular file `ino`, from what was kept when it can. On a miss, the
  // regular files listed beside it (in the kept listing it was last seen in) whose maps are
  // not kept are mapped in the same helper round trip and kept: a walk that opens one file
  // of a directory opens the others next (`tar`, `cp -r`, `rsync`), each open then needing
  // no round trip of its own.
  Result<std::vector<guest::FileExtent>> MapFile(uint64_t ino);

  // The prefetcher's call: lists those of `dirs` not kept yet into what is kept, in one
  // helper round trip; how many it listed, and their subdirectories added to `subdirs`.
  size_t ListAhead(const std::vector<uint64_t>& dirs, std::vector<uint64_t>* subdirs);
  // Listings go to `prefetcher` (outlives this volume's users) as `self`. Before sharing.
  void PrefetchWith(DirPrefetcher* prefetcher, std::weak_ptr<OpenVolume> self) {
    prefetcher_ = prefetcher;
    self_ = std::move(self);
  }

 private:
  // Entries kept in each of attrs_, names_ and listings_; past it all three start over.
  static constexpr size_t kMaxKept = 32768;
  // The kept listing of `dir`, if any. Takes cache_mu_.
  std::optional<Listing> KeptListing(uint64_t dir);
  // Those of `dirs` whose listing is not kept, each once. Takes cache_mu_.
  std::vector<uint64_t> NotKept(const std::vector<uint64_t>& dirs);
  // ListDir without the prefetcher.
  Result<Listing> ListKept(uint64_t dir);
  // The showable entries of `entries` (listed from `dir`) with their attributes, kept.
  // mu held (it may ask the helper for an attribute the listing lacks).
  Result<Listing> Admit(uint64_t dir, std::vector<guest::DirEntry> entries);
  // Forgets everything when `more` entries would not fit. cache_mu_ held.
  void MakeRoom(size_t more);
  void Keep(uint64_t dir, const std::string& name, const guest::FileAttr& attr);  // cache_mu_
  // Up to kMapBatch - 1 regular, non-empty files listed beside `ino` whose maps are not
  // kept. cache_mu_ held.
  std::vector<uint64_t> UnmappedSiblings(uint64_t ino);
  // Keeps the map of `ino`, or only that it is too long to keep (a batch then does not ask
  // for it again). cache_mu_ held.
  void KeepMap(uint64_t ino, const std::vector<guest::FileExtent>& extents);
  // `ino` is never put in a batch again (its map is long, or a batch holding it failed).
  void NoteUnbatched(uint64_t ino);  // cache_mu_
  // Forgets every map when `more` would pass kMaxKeptExtents. cache_mu_ held.
  void MakeMapRoom(size_t more);

  // A sibling's map is asked for (and kept) only up to this many extents; a more
  // fragmented file is mapped when it is opened. Bounds what maps_ holds: at most
  // kMaxKeptExtents extents in all (2 MiB).
  static constexpr uint64_t kMaxSiblingExtents = 64;
  // Files asked for in one MapFiles call (the helper client splits larger calls anyway).
  static constexpr size_t kMapBatch = 64;
  static constexpr size_t kMaxKeptExtents = 65536;

  DirPrefetcher* prefetcher_ = nullptr;  // set before sharing, then constant
  std::weak_ptr<OpenVolume> self_;
  std::mutex cache_mu_;                                         // guards the members below
  std::unordered_map<uint64_t, guest::FileAttr> attrs_;         // cache_mu_
  std::map<std::pair<uint64_t, std::string>, uint64_t> names_;  // (dir, name) -> ino
  std::unordered_map<uint64_t, Listing> listings_;              // dir -> its entries
  size_t listed_entries_ = 0;                                   // in listings_
  std::unordered_map<uint64_t, uint64_t> parents_;  // ino -> the kept listing it was seen in
  std::unordered_map<uint64_t, std::vector<guest::FileExtent>> maps_;  // ino -> its extents
  std::unordered_set<uint64_t> unbatched_;  // files mapped only alone (see NoteUnbatched)
  size_t kept_extents_ = 0;                 // in maps_, plus one per entry of both
};

class GuestVolumes {
 public:
  // `opener` may be empty: then every volume is "error: guest files are not enabled".
  GuestVolumes(Repository* repo, GuestOpener opener, size_t max_open_volumes = 8,
               size_t max_scanned_rps = 64);

  // The volumes on the disks of RP `rp_id` of `vm`, scanned on first use.
  Result<std::shared_ptr<const RpVolumes>> Scan(const std::string& vm, uint64_t rp_id);
  // The filesystem of volume `name` of that RP, opened on first use; an error names the
  // volume (NotFound when there is none, NotSupported when it has no tree, IOError when it
  // does not open). A failed open is not cached: the next access tries again.
  Result<std::shared_ptr<OpenVolume>> Open(const std::string& vm, uint64_t rp_id,
                                           const std::string& name);
  // From now on, a directory listing has its subdirectories listed ahead on a background
  // thread (dir_prefetcher.h): what the mount wants for tree walks. Before sharing.
  void PrefetchDirectories() { prefetcher_ = std::make_unique<DirPrefetcher>(); }
  // null unless PrefetchDirectories() (tests wait on it).
  DirPrefetcher* prefetcher() { return prefetcher_.get(); }
  // Bytes read so far from the RPs' disks, by scans, guest filesystems and file reads.
  uint64_t bytes_read() const { return bytes_read_->load(std::memory_order_relaxed); }

 private:
  using RpKey = std::pair<std::string, uint64_t>;
  using VolumeKey = std::pair<RpKey, std::string>;
  Result<std::shared_ptr<const RpVolumes>> ScanUncached(const std::string& vm, uint64_t rp_id);

  Repository* repo_;
  GuestOpener opener_;
  const size_t max_open_;
  const size_t max_scanned_;
  std::mutex mu_;  // guards the caches below; never held while reading a disk or a helper
  std::map<RpKey, std::shared_ptr<const RpVolumes>> scans_;
  std::list<RpKey> scan_lru_;  // most recent first
  std::map<VolumeKey, std::shared_ptr<OpenVolume>> open_;
  std::list<VolumeKey> open_lru_;
  std::mutex open_mu_;  // serialises opening (one helper start per volume at a time)
  std::shared_ptr<std::atomic<uint64_t>> bytes_read_;
  // Last: destroyed first, so its thread ends before the volumes it lists go.
  std::unique_ptr<DirPrefetcher> prefetcher_;
};

// Reads one guest file (or a whole volume) from its extents: the bytes of kVolume extents
// straight from the volume (the RP's chunk path, no helper round trip), zeros for holes, and
// only kInline pieces through the filesystem. Thread-safe.
class GuestFileReader {
 public:
  GuestFileReader(std::shared_ptr<OpenVolume> volume, uint64_t ino, uint64_t size,
                  std::vector<guest::FileExtent> extents);
  // A raw volume: one extent over all of `source`.
  static std::shared_ptr<GuestFileReader> WholeVolume(guest::SourcePtr source);
  uint64_t size() const { return size_; }
  // Up to out.size() bytes at `offset` (fewer only at the end of the file).
  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) const;
  // What bytes [offset, offset + length) of the file are, without reading them (see
  // ByteSource::Fingerprint): equal non-empty fingerprints mean equal bytes. Empty when a
  // piece is inline data or the volume cannot tell.
  Result<std::string> Fingerprint(uint64_t offset, uint64_t length) const;

 private:
  std::shared_ptr<OpenVolume> volume_;
  uint64_t ino_;
  uint64_t size_;
  std::vector<guest::FileExtent> extents_;  // sorted by file_offset
};

// An RP disk as a guest::ByteSource (reads are checked chunk by chunk by the DiskReader),
// adding the bytes it reads to `*bytes_read` if given.
guest::SourcePtr DiskSource(std::shared_ptr<DiskReader> disk, std::string name,
                            std::shared_ptr<std::atomic<uint64_t>> bytes_read = nullptr);

}  // namespace rpfs::fs
