// GuestFs: read-only access to one guest filesystem, knowing nothing of FUSE or of the
// library behind it (libext2fs, The Sleuth Kit). The daemon never holds a real one: the
// parsers run in the sandboxed helper process (helper_client.h) and the daemon talks to a
// GuestFs that forwards each call there. File data does not cross that socket: MapFile says
// which bytes of the volume hold a file, and the daemon reads them itself.
//
// Inode numbers are the filesystem's own (ext inode, TSK metadata address). Every call on a
// damaged filesystem returns an error naming the object (Corruption, IOError), never wrong
// data and never a crash. Not thread-safe: callers serialise (the helper is one thread).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "guest/byte_source.h"
#include "rpfs/status.h"

namespace rpfs::guest {

struct FileAttr {
  uint64_t ino = 0;
  uint32_t mode = 0;  // st_mode: S_IFMT type bits and the permission bits as the guest has them
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 1;
  uint32_t rdev = 0;  // device nodes: the guest's major/minor (makedev), else 0
  uint64_t size = 0;
  int64_t atime_ns = 0;  // since the epoch, UTC
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
};

struct DirEntry {
  std::string name;  // any bytes but '/' and NUL; never "." or ".."
  uint64_t ino = 0;
  uint32_t type = 0;  // S_IFMT bits of the entry (S_IFREG, S_IFDIR, ...), 0 when unknown
  // What GetAttr(ino) answers, when the listing carries it: the helper's does (one round
  // trip per directory, not one per entry), except for an entry whose inode is damaged.
  std::optional<FileAttr> attr;
};

// Where bytes [file_offset, file_offset + length) of a file are.
struct FileExtent {
  enum class Kind : uint8_t {
    kVolume,  // at volume_offset of the volume: the daemon reads them itself
    kZero,    // a hole or an unwritten extent: zeros
    kInline,  // only the filesystem can produce them (inline, resident, compressed or
              // journal-replayed data): read them with GuestFs::Read
  };
  uint64_t file_offset = 0;
  uint64_t length = 0;
  Kind kind = Kind::kZero;
  uint64_t volume_offset = 0;
};

// One directory of GuestFs::ReadDirs: its entries, or why it could not be listed.
struct DirListing {
  uint64_t dir = 0;
  Status status;
  std::vector<DirEntry> entries;  // empty unless status is OK
};

// One file of GuestFs::MapFiles: its extents, or why it was not mapped.
struct FileMap {
  uint64_t ino = 0;
  Status status;
  std::vector<FileExtent> extents;  // empty unless status is OK
};

class GuestFs {
 public:
  virtual ~GuestFs() = default;
  virtual uint64_t RootIno() const = 0;
  // The state line of this volume for `.volumes` ("ok", "journal replayed").
  virtual std::string State() const = 0;
  virtual Result<FileAttr> GetAttr(uint64_t ino) = 0;
  // The entry `name` of directory `dir` (NotFound when none, NotADirectory when `dir` is not one).
  virtual Result<FileAttr> Lookup(uint64_t dir, const std::string& name) = 0;
  // Every entry of directory `dir` but "." and "..", in the filesystem's order.
  virtual Result<std::vector<DirEntry>> ReadDir(uint64_t dir) = 0;
  // ReadDir of each of `dirs`, in order, each with its own outcome: the helper's answers
  // them in one round trip (what a walk's prefetcher wants). An IOError of one stops the
  // rest (they would fail alike): the list is then shorter.
  virtual std::vector<DirListing> ReadDirs(const std::vector<uint64_t>& dirs) {
    std::vector<DirListing> out;
    for (uint64_t dir : dirs) {
      Result<std::vector<DirEntry>> r = ReadDir(dir);
      bool io_error = !r.ok() && r.status().IsIOError();
      out.push_back({dir, r.ok() ? Status::OK() : r.status(),
                     r.ok() ? std::move(r).value() : std::vector<DirEntry>{}});
      if (io_error) break;
    }
    return out;
  }
  virtual Result<std::string> ReadLink(uint64_t ino) = 0;
  // The extents of regular file `ino`, sorted, covering [0, size) without gaps.
  virtual Result<std::vector<FileExtent>> MapFile(uint64_t ino) = 0;
  // MapFile of each of `inos`, in order, each with its own outcome: the helper answers them
  // in one round trip (what an open that maps the files beside it wants). A file of more
  // than `max_extents` extents is answered TooLarge without them (map it alone); an IOError
  // of one stops the rest (the list is then shorter).
  virtual std::vector<FileMap> MapFiles(const std::vector<uint64_t>& inos, uint64_t max_extents) {
    std::vector<FileMap> out;
    for (uint64_t ino : inos) {
      Result<std::vector<FileExtent>> r = MapFile(ino);
      FileMap& m = out.emplace_back();
      m.ino = ino;
      if (!r.ok()) {
        m.status = r.status();
        if (m.status.IsIOError()) break;
      } else if (r->size() > max_extents) {
        m.status = Status::TooLarge("file " + std::to_string(ino) + " has " +
                                    std::to_string(r->size()) + " extents");
      } else {
        m.extents = std::move(r).value();
      }
    }
    return out;
  }
  // Reads up to out.size() bytes of file `ino` at `offset` (fewer only at its end).
  virtual Result<size_t> Read(uint64_t ino, uint64_t offset, std::span<std::byte> out) = 0;
  // Extended attributes as the guest has them (name -> value); empty when none or unsupported.
  virtual Result<std::vector<std::pair<std::string, std::string>>> ListXattrs(uint64_t ino) = 0;
};

}  // namespace rpfs::guest
