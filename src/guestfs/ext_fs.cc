#include "guestfs/ext_fs.h"

#include <ext2fs/ext2fs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstddef>
#include <list>
#include <unordered_map>

#include "guest/jbd2.h"
#include "guestfs/ext_io.h"

namespace rpfs::guestfs {
namespace {

using guest::DirEntry;
using guest::FileAttr;
using guest::FileExtent;

// Bounds of the name cache: whole directories are cached, least recently used dropped.
constexpr size_t kMaxCachedDirs = 256;
constexpr size_t kMaxCachedNames = 1 << 20;
// Longest symlink target we accept (Linux' PATH_MAX; ext4 stores at most one block).
constexpr uint64_t kMaxLinkTarget = 4096;

// Which Status a libext2fs code is. The library reports bad on-disk data in many ways
// (checksums, bad headers, numbers out of range): on an immutable volume those all mean the
// guest's structures are damaged, so Corruption is the default; reads that fail are IOError.
Status ExtStatus(errcode_t code, const std::string& what, io_channel io) {
  std::string msg = what + ": " + error_message(code);
  if (code == EXT2_ET_SHORT_READ || code == EXT2_ET_LLSEEK_FAILED) {
    std::string cause = ExtIoLastError(io);
    return Status::IOError(cause.empty() ? msg : msg + " (" + cause + ")");
  }
  if (code == EXT2_ET_NO_MEMORY) return Status::IOError(msg, ENOMEM);
  if (code == EXT2_ET_UNSUPP_FEATURE || code == EXT2_ET_RO_UNSUPP_FEATURE ||
      code == EXT2_ET_DIRHASH_UNSUPP || code == EXT2_ET_UNKNOWN_CSUM ||
      code == EXT2_ET_OP_NOT_SUPPORTED) {
    return Status::NotSupported(msg);
  }
  if (code > 0 && code < 4096) return Status::IOError(msg, static_cast<int>(code));  // an errno
  return Status::Corruption(msg);
}

uint64_t InodeSize(const ext2_inode_large& inode) {
  return inode.i_size | (static_cast<uint64_t>(inode.i_size_high) << 32);
}

// A timestamp: seconds as a signed 32-bit number, then (when the inode is large enough to
// hold the field) two epoch bits extending it and 30 bits of nanoseconds.
int64_t TimeNs(uint32_t seconds, const uint32_t* extra) {
  int64_t s = static_cast<int32_t>(seconds);
  int64_t ns = 0;
  if (extra != nullptr) {
    s += static_cast<int64_t>(*extra & EXT4_EPOCH_MASK) << 32;
    ns = std::min<int64_t>(*extra >> EXT4_EPOCH_BITS, 999'999'999);
  }
  return s * 1'000'000'000 + ns;
}

uint32_t ModeOfFileType(int file_type) {
  switch (file_type) {
    case EXT2_FT_REG_FILE:
      return S_IFREG;
    case EXT2_FT_DIR:
      return S_IFDIR;
    case EXT2_FT_CHRDEV:
      return S_IFCHR;
    case EXT2_FT_BLKDEV:
      return S_IFBLK;
    case EXT2_FT_FIFO:
      return S_IFIFO;
    case EXT2_FT_SOCK:
      return S_IFSOCK;
    case EXT2_FT_SYMLINK:
      return S_IFLNK;
    default:
      return 0;
  }
}

// Appends [file_offset, +length) to `out`, merged with the previous extent when it continues it.
void Append(std::vector<FileExtent>& out, uint64_t file_offset, uint64_t length,
            FileExtent::Kind kind, uint64_t volume_offset) {
  if (length == 0) return;
  if (!out.empty()) {
    FileExtent& last = out.back();
    bool continues =
        last.kind == kind && last.file_offset + last.length == file_offset &&
        (kind != FileExtent::Kind::kVolume || last.volume_offset + last.length == volume_offset);
    if (continues) {
      last.length += length;
      return;
    }
  }
  FileExtent e;
  e.file_offset = file_offset;
  e.length = length;
  e.kind = kind;
  e.volume_offset = kind == FileExtent::Kind::kVolume ? volume_offset : 0;
  out.push_back(e);
}

// Collects a file's mapped blocks in logical order and turns them into byte extents.
class ExtentBuilder {
 public:
  ExtentBuilder(uint64_t size, uint64_t block_size, uint64_t fs_blocks, uint64_t volume_size,
                std::string what)
      : size_(size),
        bs_(block_size),
        nblocks_((size + block_size - 1) / block_size),
        fs_blocks_(fs_blocks),
        volume_size_(volume_size),
        what_(std::move(what)) {}

  uint64_t file_blocks() const { return nblocks_; }

  // Blocks [lblk, lblk + len) of the file are at pblk (zeros when `zero`).
  Status Add(uint64_t lblk, uint64_t pblk, uint64_t len, bool zero) {
    if (lblk < cursor_) {
      return Status::Corruption(what_ + ": block map goes back to logical block " +
                                std::to_string(lblk));
    }
    if (lblk >= nblocks_ || len == 0) return Status::OK();  // preallocated past the end
    len = std::min(len, nblocks_ - lblk);
    uint64_t off = lblk * bs_;
    uint64_t bytes = std::min(len * bs_, size_ - off);
    if (!zero && (pblk >= fs_blocks_ || len > fs_blocks_ - pblk || pblk > volume_size_ / bs_ ||
                  pblk * bs_ + bytes > volume_size_)) {
      return Status::Corruption(what_ + ": blocks " + std::to_string(pblk) + "+" +
                                std::to_string(len) + " lie past the end of the volume");
    }
    AddZero(lblk);
    Append(out_, off, bytes, zero ? FileExtent::Kind::kZero : FileExtent::Kind::kVolume,
           pblk * bs_);
    cursor_ = lblk + len;
    return Status::OK();
  }

  std::vector<FileExtent> Finish() {
    AddZero(nblocks_);
    return std::move(out_);
  }

 private:
  void AddZero(uint64_t until_block) {
    if (until_block <= cursor_) return;
    uint64_t off = cursor_ * bs_;
    uint64_t end = std::min(until_block * bs_, size_);
    Append(out_, off, end - off, FileExtent::Kind::kZero, 0);
    cursor_ = until_block;
  }

  uint64_t size_, bs_, nblocks_, fs_blocks_, volume_size_;
  std::string what_;
  uint64_t cursor_ = 0;
  std::vector<FileExtent> out_;
};

class ExtFs : public guest::GuestFs {
 public:
  ExtFs(guest::SourcePtr volume, std::unique_ptr<ExtIoRegistration> reg, ext2_filsys fs,
        guest::ExtReplay replay, std::string journal_error)
      : volume_(std::move(volume)),
        reg_(std::move(reg)),
        fs_(fs),
        replay_(std::move(replay)),
        journal_error_(std::move(journal_error)) {}
  ~ExtFs() override { ext2fs_close_free(&fs_); }

  uint64_t RootIno() const override { return EXT2_ROOT_INO; }

  std::string State() const override {
    if (replay_.needed) return "journal replayed";
    if (!journal_error_.empty()) return "journal not replayed: " + journal_error_;
    return "ok";
  }

  Result<FileAttr> GetAttr(uint64_t ino) override {
    RPFS_ASSIGN_OR_RETURN(ext2_inode_large inode, ReadInode(ino));
    return AttrOf(ino, inode);
  }

  Result<FileAttr> Lookup(uint64_t dir, const std::string& name) override {
    RPFS_ASSIGN_OR_RETURN(const Names* names, NamesOf(dir));
    uint64_t ino = 0;
    if (names != nullptr) {
      auto it = names->find(name);
      if (it == names->end()) return NotFound(dir, name);
      ino = it->second;
    } else {  // too big to cache: the library's linear scan
      ext2_ino_t found = 0;
      errcode_t err = ext2fs_lookup(fs_, static_cast<ext2_ino_t>(dir), name.data(),
                                    static_cast<int>(name.size()), nullptr, &found);
      if (err == EXT2_ET_FILE_NOT_FOUND) return NotFound(dir, name);
      if (err != 0) return Error(err, dir);
      ino = found;
    }
    return GetAttr(ino);
  }

  Result<std::vector<DirEntry>> ReadDir(uint64_t dir) override {
    RPFS_ASSIGN_OR_RETURN(ext2_inode_large inode, ReadInode(dir));
    if (!LINUX_S_ISDIR(inode.i_mode)) {
      return Status::NotADirectory(What(dir) + ": not a directory");
    }
    struct Ctx {
      std::vector<DirEntry> entries;
    } ctx;
    auto cb = [](ext2_ino_t, int entry, ext2_dir_entry* dirent, int, int, char*,
                 void* priv) -> int {
      if (entry == DIRENT_DOT_FILE || entry == DIRENT_DOT_DOT_FILE) return 0;
      int len = ext2fs_dirent_name_len(dirent);
      std::string name(dirent->name, static_cast<size_t>(len));
      // "." and ".." elsewhere, or a name with '/' or NUL (encrypted names, damage): no
      // path could reach them, so they are not listed.
      if (name.empty() || name == "." || name == ".." ||
          name.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
        return 0;
      }
      DirEntry e;
      e.name = std::move(name);
      e.ino = dirent->inode;
      e.type = ModeOfFileType(ext2fs_dirent_file_type(dirent));
      static_cast<Ctx*>(priv)->entries.push_back(std::move(e));
      return 0;
    };
    errcode_t err = ext2fs_dir_iterate2(fs_, static_cast<ext2_ino_t>(dir), 0, nullptr, cb, &ctx);
    if (err != 0) return Error(err, dir);
    if (!ext2fs_has_feature_filetype(fs_->super)) {
      for (DirEntry& e : ctx.entries) {
        auto child = ReadInode(e.ino);
        if (child.ok()) e.type = child->i_mode & S_IFMT;
      }
    }
    return std::move(ctx.entries);
  }

  Result<std::string> ReadLink(uint64_t ino) override {
    RPFS_ASSIGN_OR_RETURN(ext2_inode_large inode, ReadInode(ino));
    if (!LINUX_S_ISLNK(inode.i_mode)) {
      return Status::InvalidArgument(What(ino) + ": not a symbolic link");
    }
    uint64_t size = InodeSize(inode);
    if (size == 0 || size > kMaxLinkTarget) {
      return Status::Corruption(What(ino) + ": symbolic link of " + std::to_string(size) +
                                " bytes");
    }
    // Fast symlinks keep the target in i_block; inline-data and block symlinks are read
    // through the file API, which knows both.
    if (ext2fs_is_fast_symlink(reinterpret_cast<ext2_inode*>(&inode))) {
      const char* target = reinterpret_cast<const char*>(inode.i_block);
      return std::string(target, static_cast<size_t>(size));
    }
    std::string target(static_cast<size_t>(size), '\0');
    RPFS_ASSIGN_OR_RETURN(size_t got, ReadData(ino, 0, std::as_writable_bytes(std::span(target))));
    if (got != size) {
      return Status::Corruption(What(ino) + ": symbolic link shorter than its size");
    }
    return target;
  }

  Result<std::vector<FileExtent>> MapFile(uint64_t ino) override {
    RPFS_ASSIGN_OR_RETURN(ext2_inode_large inode, ReadInode(ino));
    RPFS_RETURN_IF_ERROR(CheckRegular(ino, inode));
    uint64_t size = InodeSize(inode);
    std::vector<FileExtent> out;
    if (size == 0) return out;
    if ((inode.i_flags & (EXT4_INLINE_DATA_FL | EXT4_ENCRYPT_FL)) != 0) {
      Append(out, 0, size, FileExtent::Kind::kInline, 0);
      return out;
    }
    ExtentBuilder builder(size, fs_->blocksize, ext2fs_blocks_count(fs_->super), volume_->size(),
                          What(ino));
    if ((inode.i_flags & EXT4_EXTENTS_FL) != 0) {
      RPFS_RETURN_IF_ERROR(MapExtents(ino, inode, builder));
    } else {
      RPFS_RETURN_IF_ERROR(MapBlocks(ino, builder));
    }
    std::vector<FileExtent> extents = builder.Finish();
    // Blocks the journal replay replaced are not what the daemon would read from the RP.
    return guest::MarkReplayedExtents(std::move(extents), replay_.replayed_blocks,
                                      replay_.block_size);
  }

  Result<size_t> Read(uint64_t ino, uint64_t offset, std::span<std::byte> out) override {
    RPFS_ASSIGN_OR_RETURN(ext2_inode_large inode, ReadInode(ino));
    RPFS_RETURN_IF_ERROR(CheckRegular(ino, inode));
    return ReadData(ino, offset, out);
  }

  Result<std::vector<std::pair<std::string, std::string>>> ListXattrs(uint64_t ino) override {
    RPFS_RETURN_IF_ERROR(ReadInode(ino).status());
    std::vector<std::pair<std::string, std::string>> out;
    ext2_xattr_handle* h = nullptr;
    errcode_t err = ext2fs_xattrs_open(fs_, static_cast<ext2_ino_t>(ino), &h);
    if (err == EXT2_ET_MISSING_EA_FEATURE) return out;
    if (err != 0) return Error(err, ino);
    err = ext2fs_xattrs_read(h);
    if (err == 0) {
      auto cb = [](char* name, char* value, size_t len, void* priv) -> int {
        std::string key(name);
        if (key == "system.data") return 0;  // the inline-data area, not an attribute
        static_cast<decltype(out)*>(priv)->emplace_back(std::move(key), std::string(value, len));
        return 0;
      };
      err = ext2fs_xattrs_iterate(h, cb, &out);
    }
    ext2fs_xattrs_close(&h);
    if (err != 0) return Error(err, ino);
    return out;
  }

 private:
  using Names = std::unordered_map<std::string, uint64_t>;

  std::string What(uint64_t ino) const {
    return volume_->name() + ": inode " + std::to_string(ino);
  }
  Status Error(errcode_t code, uint64_t ino) const { return ExtStatus(code, What(ino), fs_->io); }
  Status NotFound(uint64_t dir, const std::string& name) const {
    return Status::NotFound(What(dir) + ": no entry '" + name + "'");
  }

  Result<ext2_inode_large> ReadInode(uint64_t ino) {
    if (ino < 1 || ino > fs_->super->s_inodes_count) {
      return Status::NotFound(volume_->name() + ": no inode " + std::to_string(ino));
    }
    ext2_inode_large inode{};
    errcode_t err = ext2fs_read_inode2(fs_, static_cast<ext2_ino_t>(ino),
                                       reinterpret_cast<ext2_inode*>(&inode), sizeof(inode), 0);
    if (err != 0) return Error(err, ino);
    if (inode.i_mode == 0) return Status::Corruption(What(ino) + ": not in use");
    return inode;
  }

  Status CheckRegular(uint64_t ino, const ext2_inode_large& inode) const {
    if (LINUX_S_ISDIR(inode.i_mode)) return Status::IsADirectory(What(ino) + ": a directory");
    if (!LINUX_S_ISREG(inode.i_mode)) {
      return Status::InvalidArgument(What(ino) + ": not a regular file");
    }
    return Status::OK();
  }

  // The extra timestamp word at `field` when this inode's extra area holds it.
  const uint32_t* Extra(const ext2_inode_large& inode, const uint32_t* field) const {
    size_t inode_size = EXT2_INODE_SIZE(fs_->super);
    size_t end = reinterpret_cast<const char*>(field + 1) - reinterpret_cast<const char*>(&inode);
    size_t extra_end = EXT2_GOOD_OLD_INODE_SIZE + inode.i_extra_isize;
    if (inode_size <= EXT2_GOOD_OLD_INODE_SIZE || extra_end > inode_size || end > extra_end) {
      return nullptr;
    }
    return field;
  }

  FileAttr AttrOf(uint64_t ino, const ext2_inode_large& inode) const {
    FileAttr a;
    a.ino = ino;
    a.mode = inode.i_mode;
    a.uid = inode_uid(inode);
    a.gid = inode_gid(inode);
    a.nlink = inode.i_links_count;
    a.size = InodeSize(inode);
    if (LINUX_S_ISCHR(inode.i_mode) || LINUX_S_ISBLK(inode.i_mode)) {
      // Old encoding: 8-bit major/minor in i_block[0]; new: 12/20 bits in i_block[1].
      uint32_t old_dev = inode.i_block[0], new_dev = inode.i_block[1];
      a.rdev = old_dev != 0 ? makedev((old_dev >> 8) & 0xff, old_dev & 0xff)
                            : makedev((new_dev & 0xfff00) >> 8,
                                      (new_dev & 0xff) | ((new_dev >> 12) & 0xfff00));
      a.size = 0;
    }
    a.atime_ns = TimeNs(inode.i_atime, Extra(inode, &inode.i_atime_extra));
    a.mtime_ns = TimeNs(inode.i_mtime, Extra(inode, &inode.i_mtime_extra));
    a.ctime_ns = TimeNs(inode.i_ctime, Extra(inode, &inode.i_ctime_extra));
    return a;
  }

  // The cached names of directory `dir`, read on first use; nullptr when it has too many.
  Result<const Names*> NamesOf(uint64_t dir) {
    auto it = dirs_.find(dir);
    if (it != dirs_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      return &it->second.names;
    }
    RPFS_ASSIGN_OR_RETURN(std::vector<DirEntry> entries, ReadDir(dir));
    if (entries.size() > kMaxCachedNames) return static_cast<const Names*>(nullptr);
    while (!lru_.empty() &&
           (dirs_.size() >= kMaxCachedDirs || cached_names_ + entries.size() > kMaxCachedNames)) {
      auto victim = dirs_.find(lru_.back());
      cached_names_ -= victim->second.names.size();
      dirs_.erase(victim);
      lru_.pop_back();
    }
    CachedDir& cached = dirs_[dir];
    for (DirEntry& e : entries) cached.names.emplace(std::move(e.name), e.ino);
    cached_names_ += cached.names.size();
    lru_.push_front(dir);
    cached.lru = lru_.begin();
    return &cached.names;
  }

  Status MapExtents(uint64_t ino, ext2_inode_large& inode, ExtentBuilder& builder) {
    ext2_extent_handle_t h = nullptr;
    errcode_t err = ext2fs_extent_open2(fs_, static_cast<ext2_ino_t>(ino),
                                        reinterpret_cast<ext2_inode*>(&inode), &h);
    if (err != 0) return Error(err, ino);
    ext2fs_extent e{};
    // Every step visits a tree node at most twice; a loop in a damaged tree ends here.
    uint64_t steps_left = 4 * ext2fs_blocks_count(fs_->super) + 16;
    Status status;
    for (err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &e); err == 0;
         err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &e)) {
      if (steps_left-- == 0) {
        status = Status::Corruption(What(ino) + ": extent tree does not end");
        break;
      }
      if ((e.e_flags & EXT2_EXTENT_FLAGS_LEAF) == 0 ||
          (e.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT) != 0) {
        continue;
      }
      if (e.e_lblk >= builder.file_blocks()) break;  // the rest lies past the end of the file
      status =
          builder.Add(e.e_lblk, e.e_pblk, e.e_len, (e.e_flags & EXT2_EXTENT_FLAGS_UNINIT) != 0);
      if (!status.ok()) break;
    }
    ext2fs_extent_free(h);
    if (!status.ok()) return status;
    if (err != 0 && err != EXT2_ET_EXTENT_NO_NEXT) return Error(err, ino);
    return Status::OK();
  }

  Status MapBlocks(uint64_t ino, ExtentBuilder& builder) {
    struct Ctx {
      ExtentBuilder* builder;
      Status status;
    } ctx{&builder, Status::OK()};
    auto cb = [](ext2_filsys, blk64_t* blocknr, e2_blkcnt_t blockcnt, blk64_t, int,
                 void* priv) -> int {
      auto* c = static_cast<Ctx*>(priv);
      if (blockcnt < 0) return 0;  // an indirect block (DATA_ONLY should hide them)
      if (static_cast<uint64_t>(blockcnt) >= c->builder->file_blocks()) return BLOCK_ABORT;
      if (*blocknr == 0) return 0;
      c->status = c->builder->Add(static_cast<uint64_t>(blockcnt), *blocknr, 1, false);
      return c->status.ok() ? 0 : BLOCK_ABORT;
    };
    errcode_t err =
        ext2fs_block_iterate3(fs_, static_cast<ext2_ino_t>(ino),
                              BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY, nullptr, cb, &ctx);
    if (!ctx.status.ok()) return ctx.status;
    if (err != 0) return Error(err, ino);
    return Status::OK();
  }

  Result<size_t> ReadData(uint64_t ino, uint64_t offset, std::span<std::byte> out) {
    ext2_file_t file = nullptr;
    errcode_t err = ext2fs_file_open(fs_, static_cast<ext2_ino_t>(ino), 0, &file);
    if (err != 0) return Error(err, ino);
    __u64 size = 0;
    err = ext2fs_file_get_lsize(file, &size);
    size_t done = 0;
    if (err == 0 && offset < size) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), size - offset));
      err = ext2fs_file_llseek(file, offset, EXT2_SEEK_SET, nullptr);
      while (err == 0 && done < want) {
        unsigned int chunk = static_cast<unsigned int>(std::min<size_t>(want - done, 1u << 30));
        unsigned int got = 0;
        err = ext2fs_file_read(file, out.data() + done, chunk, &got);
        if (got == 0) break;
        done += got;
      }
    }
    ext2fs_file_close(file);
    if (err != 0) return Error(err, ino);
    return done;
  }

  struct CachedDir {
    Names names;
    std::list<uint64_t>::iterator lru;
  };

  guest::SourcePtr volume_;
  std::unique_ptr<ExtIoRegistration> reg_;
  ext2_filsys fs_;
  const guest::ExtReplay replay_;
  const std::string journal_error_;  // why a journal that needed replay was not replayed
  std::unordered_map<uint64_t, CachedDir> dirs_;
  std::list<uint64_t> lru_;  // most recently used first
  size_t cached_names_ = 0;
};

}  // namespace

Result<std::unique_ptr<guest::GuestFs>> OpenExtFs(guest::SourcePtr original) {
  // A crash-consistent RP: replay the committed transactions in memory first, so that the
  // files are those the guest had committed (jbd2.h). A journal that does not replay leaves
  // the on-disk view, and State() says why.
  guest::SourcePtr volume = original;
  guest::ExtReplay replay;
  std::string journal_error;
  auto replayed = guest::ReplayExtJournal(original);
  if (replayed.ok()) {
    replay = std::move(replayed).value();
    if (replay.needed) volume = replay.volume;
  } else {
    journal_error = replayed.status().message();
  }
  auto reg = std::make_unique<ExtIoRegistration>(volume);
  ext2_filsys fs = nullptr;
  errcode_t err =
      ext2fs_open2(reg->name().c_str(), nullptr, EXT2_FLAG_64BITS | EXT2_FLAG_NOFREE_ON_ERROR, 0, 0,
                   ExtIoManager(), &fs);
  if (err != 0) {
    Status s =
        ExtStatus(err, volume->name() + ": opening ext2/3/4", fs != nullptr ? fs->io : nullptr);
    if (fs != nullptr) ext2fs_free(fs);
    return s;
  }
  if (!journal_error.empty() && !ext2fs_has_feature_journal_needs_recovery(fs->super)) {
    journal_error.clear();  // nothing to replay: the journal's state does not matter
  }
  return std::unique_ptr<guest::GuestFs>(new ExtFs(std::move(volume), std::move(reg), fs,
                                                   std::move(replay), std::move(journal_error)));
}

}  // namespace rpfs::guestfs
