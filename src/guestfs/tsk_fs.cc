#include "guestfs/tsk_fs.h"

#include <sys/stat.h>
#include <tsk/libtsk.h>

#include <algorithm>
#include <unordered_map>

namespace rpfs::guestfs {
namespace {

using guest::DirEntry;
using guest::FileAttr;
using guest::FileExtent;

constexpr size_t kMaxCachedDirs = 128;
constexpr uint32_t kDirMode = S_IFDIR | 0755;
constexpr uint32_t kFileMode = S_IFREG | 0644;

// What our read callback needs; TSK hands back only the TSK_IMG_INFO pointer.
struct ImageContext {
  guest::SourcePtr source;
  std::string last_error;
};

// TSK's external image: TSK_IMG_INFO must be the first member (TSK casts the pointer).
// Both members are standard-layout, so the cast back below is well defined.
struct TskImage {
  TSK_IMG_INFO info;
  ImageContext* context;
};

ssize_t ReadImage(TSK_IMG_INFO* img, TSK_OFF_T offset, char* buf, size_t len) {
  ImageContext* ctx = reinterpret_cast<TskImage*>(img)->context;
  uint64_t size = ctx->source->size();
  if (offset < 0 || static_cast<uint64_t>(offset) >= size) return 0;
  size_t n = static_cast<size_t>(std::min<uint64_t>(len, size - static_cast<uint64_t>(offset)));
  Status s =
      ctx->source->ReadAt(static_cast<uint64_t>(offset), std::as_writable_bytes(std::span(buf, n)));
  if (!s.ok()) {
    ctx->last_error = s.message();
    tsk_error_reset();
    tsk_error_set_errno(TSK_ERR_IMG_READ);
    tsk_error_set_errstr("%s", s.message().c_str());
    return -1;
  }
  return static_cast<ssize_t>(n);
}
void CloseImage(TSK_IMG_INFO*) {}  // TskFs owns the memory
void StatImage(TSK_IMG_INFO*, FILE*) {}

// TSK's thread-local error, then cleared.
std::string TskError() {
  const char* e = tsk_error_get();
  std::string msg = e != nullptr && *e != '\0' ? e : "unknown error";
  tsk_error_reset();
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

struct FileCloser {
  void operator()(TSK_FS_FILE* f) const { tsk_fs_file_close(f); }
};
struct DirCloser {
  void operator()(TSK_FS_DIR* d) const { tsk_fs_dir_close(d); }
};
using FilePtr = std::unique_ptr<TSK_FS_FILE, FileCloser>;
using DirPtr = std::unique_ptr<TSK_FS_DIR, DirCloser>;

uint32_t ModeOfName(TSK_FS_NAME_TYPE_ENUM type) {
  switch (type) {
    case TSK_FS_NAME_TYPE_DIR:
      return S_IFDIR;
    case TSK_FS_NAME_TYPE_REG:
      return S_IFREG;
    case TSK_FS_NAME_TYPE_LNK:
      return S_IFLNK;
    case TSK_FS_NAME_TYPE_FIFO:
      return S_IFIFO;
    case TSK_FS_NAME_TYPE_CHR:
      return S_IFCHR;
    case TSK_FS_NAME_TYPE_BLK:
      return S_IFBLK;
    case TSK_FS_NAME_TYPE_SOCK:
      return S_IFSOCK;
    default:
      return 0;
  }
}

int64_t Ns(time_t s, uint32_t ns) {
  return static_cast<int64_t>(s) * 1'000'000'000 + std::min<uint32_t>(ns, 999'999'999);
}

TSK_FS_TYPE_ENUM TskType(guest::FsType type) {
  switch (type) {
    case guest::FsType::kVfat:
      return TSK_FS_TYPE_FAT_DETECT;  // FAT12/16/32: boot sector only
    case guest::FsType::kExfat:
      return TSK_FS_TYPE_EXFAT;
    case guest::FsType::kNtfs:
      return TSK_FS_TYPE_NTFS;
    case guest::FsType::kIso9660:
      return TSK_FS_TYPE_ISO9660;
    default:
      return TSK_FS_TYPE_UNSUPP;
  }
}

class TskFs : public guest::GuestFs {
 public:
  TskFs(guest::SourcePtr volume, guest::FsType type, std::unique_ptr<ImageContext> ctx,
        std::unique_ptr<TskImage> img, TSK_FS_INFO* fs)
      : volume_(std::move(volume)),
        type_(type),
        ctx_(std::move(ctx)),
        img_(std::move(img)),
        fs_(fs) {}
  ~TskFs() override {
    tsk_fs_close(fs_);
    tsk_img_close(&img_->info);
  }

  uint64_t RootIno() const override { return fs_->root_inum; }
  std::string State() const override { return "ok"; }

  Result<FileAttr> GetAttr(uint64_t ino) override {
    RPFS_ASSIGN_OR_RETURN(FilePtr file, Open(ino));
    return AttrOf(*file->meta);
  }

  Result<FileAttr> Lookup(uint64_t dir, const std::string& name) override {
    auto cached = names_.find(dir);
    if (cached == names_.end()) {
      RPFS_ASSIGN_OR_RETURN(std::vector<DirEntry> entries, ReadDir(dir));
      if (names_.size() >= kMaxCachedDirs) names_.clear();
      auto& names = names_[dir];
      for (DirEntry& e : entries) names.emplace(std::move(e.name), e.ino);
      cached = names_.find(dir);
    }
    auto it = cached->second.find(name);
    if (it == cached->second.end()) {
      return Status::NotFound(What(dir) + ": no entry '" + name + "'");
    }
    return GetAttr(it->second);
  }

  Result<std::vector<DirEntry>> ReadDir(uint64_t dir) override {
    RPFS_ASSIGN_OR_RETURN(FilePtr file, Open(dir));
    if (!TSK_FS_IS_DIR_META(file->meta->type)) {
      return Status::NotADirectory(What(dir) + ": not a directory");
    }
    DirPtr d(tsk_fs_dir_open_meta(fs_, dir));
    if (d == nullptr) return Status::Corruption(What(dir) + ": " + Cause());
    std::vector<DirEntry> out;
    size_t n = tsk_fs_dir_getsize(d.get());
    for (size_t i = 0; i < n; ++i) {
      const TSK_FS_NAME* name = tsk_fs_dir_get_name(d.get(), i);
      if (name == nullptr || name->name == nullptr || !Shown(dir, *name)) continue;
      DirEntry e;
      e.name = name->name;
      e.ino = name->meta_addr;
      e.type = ModeOfName(name->type);
      out.push_back(std::move(e));
    }
    return out;
  }

  Result<std::string> ReadLink(uint64_t ino) override {
    RPFS_ASSIGN_OR_RETURN(FilePtr file, Open(ino));
    if (file->meta->type == TSK_FS_META_TYPE_LNK && file->meta->link != nullptr) {
      return std::string(file->meta->link);
    }
    return Status::NotSupported(What(ino) + ": symbolic links are not read on " +
                                guest::FsTypeName(type_));
  }

  Result<std::vector<FileExtent>> MapFile(uint64_t ino) override {
    RPFS_ASSIGN_OR_RETURN(FilePtr file, Open(ino));
    RPFS_RETURN_IF_ERROR(CheckRegular(ino, *file->meta));
    std::vector<FileExtent> out;
    uint64_t size = static_cast<uint64_t>(std::max<TSK_OFF_T>(file->meta->size, 0));
    if (size == 0) return out;
    const TSK_FS_ATTR* attr = tsk_fs_file_attr_get(file.get());
    if (attr == nullptr) return Status::Corruption(What(ino) + ": no data: " + Cause());
    if ((attr->flags & TSK_FS_ATTR_NONRES) == 0 ||
        (attr->flags & (TSK_FS_ATTR_COMP | TSK_FS_ATTR_ENC)) != 0) {
      out.push_back({0, size, FileExtent::Kind::kInline, 0});
      return out;
    }
    return MapRuns(ino, *attr, size);
  }

  Result<size_t> Read(uint64_t ino, uint64_t offset, std::span<std::byte> out) override {
    RPFS_ASSIGN_OR_RETURN(FilePtr file, Open(ino));
    RPFS_RETURN_IF_ERROR(CheckRegular(ino, *file->meta));
    uint64_t size = static_cast<uint64_t>(std::max<TSK_OFF_T>(file->meta->size, 0));
    if (offset >= size) return size_t{0};
    size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), size - offset));
    size_t done = 0;
    while (done < want) {
      ssize_t got = tsk_fs_file_read(file.get(), static_cast<TSK_OFF_T>(offset + done),
                                     reinterpret_cast<char*>(out.data() + done), want - done,
                                     TSK_FS_FILE_READ_FLAG_NONE);
      if (got < 0)
        return Status::IOError(What(ino) + ": read at " + std::to_string(offset + done) + ": " +
                               Cause());
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

  Result<std::vector<std::pair<std::string, std::string>>> ListXattrs(uint64_t ino) override {
    RPFS_RETURN_IF_ERROR(Open(ino).status());
    return std::vector<std::pair<std::string, std::string>>();
  }

 private:
  std::string What(uint64_t ino) const {
    return volume_->name() + ": inode " + std::to_string(ino);
  }
  // TSK's words, with the source's own message when a read failed underneath.
  std::string Cause() {
    std::string msg = TskError();
    if (!ctx_->last_error.empty()) {
      msg += " (" + ctx_->last_error + ")";
      ctx_->last_error.clear();
    }
    return msg;
  }

  Result<FilePtr> Open(uint64_t ino) {
    if (ino < fs_->first_inum || ino > fs_->last_inum) {
      return Status::NotFound(volume_->name() + ": no inode " + std::to_string(ino));
    }
    FilePtr file(tsk_fs_file_open_meta(fs_, nullptr, ino));
    if (file == nullptr || file->meta == nullptr) {
      return Status::Corruption(What(ino) + ": " + Cause());
    }
    return file;
  }

  Status CheckRegular(uint64_t ino, const TSK_FS_META& meta) const {
    if (TSK_FS_IS_DIR_META(meta.type)) return Status::IsADirectory(What(ino) + ": a directory");
    if (meta.type != TSK_FS_META_TYPE_REG && meta.type != TSK_FS_META_TYPE_VIRT) {
      return Status::InvalidArgument(What(ino) + ": not a regular file");
    }
    return Status::OK();
  }

  // Whether an entry of directory `dir` belongs to the guest's tree (see tsk_fs.h).
  bool Shown(uint64_t dir, const TSK_FS_NAME& name) const {
    if ((name.flags & TSK_FS_NAME_FLAG_ALLOC) == 0) return false;
    if (name.type == TSK_FS_NAME_TYPE_VIRT || name.type == TSK_FS_NAME_TYPE_VIRT_DIR) return false;
    std::string_view n(name.name);
    if (n.empty() || n == "." || n == ".." || n.find('/') != std::string_view::npos) return false;
    if (name.meta_addr == fs_->last_inum) return false;  // $OrphanFiles
    // NTFS metadata files: MFT records 0-15 ($MFT ... $Extend), all in the root.
    if (type_ == guest::FsType::kNtfs && dir == fs_->root_inum && name.meta_addr < 16) {
      return false;
    }
    // exFAT's special directory entries, which TSK lists as files of the root; and FAT and
    // exFAT volume labels, which TSK lists as "<label> (Volume Label Entry)".
    bool fat = type_ == guest::FsType::kExfat || type_ == guest::FsType::kVfat;
    if (fat && dir == fs_->root_inum) {
      static constexpr std::string_view kSpecial[] = {
          "$EMPTY_VOLUME_LABEL", "$VOLUME_GUID", "$ALLOC_BITMAP",
          "$UPCASE_TABLE",       "$TEX_FAT",     "$ACCESS_CONTROL_TABLE"};
      if (type_ == guest::FsType::kExfat &&
          std::find(std::begin(kSpecial), std::end(kSpecial), n) != std::end(kSpecial)) {
        return false;
      }
      constexpr std::string_view kLabel = " (Volume Label Entry)";
      if (n.size() >= kLabel.size() && n.substr(n.size() - kLabel.size()) == kLabel) return false;
    }
    return true;
  }

  FileAttr AttrOf(const TSK_FS_META& meta) const {
    FileAttr a;
    a.ino = meta.addr;
    bool dir = TSK_FS_IS_DIR_META(meta.type);
    a.mode = dir ? kDirMode : kFileMode;
    if (meta.type == TSK_FS_META_TYPE_LNK) a.mode = S_IFLNK | 0777;
    a.uid = static_cast<uint32_t>(meta.uid);
    a.gid = static_cast<uint32_t>(meta.gid);
    a.nlink = static_cast<uint32_t>(std::max(meta.nlink, 1));
    a.size = dir ? 0 : static_cast<uint64_t>(std::max<TSK_OFF_T>(meta.size, 0));
    a.mtime_ns = Ns(meta.mtime, meta.mtime_nano);
    a.atime_ns = Ns(meta.atime, meta.atime_nano);
    a.ctime_ns = Ns(meta.ctime, meta.ctime_nano);
    if (meta.mtime == 0 && meta.crtime != 0) {  // ISO 9660: only the recording time
      a.mtime_ns = a.atime_ns = a.ctime_ns = Ns(meta.crtime, meta.crtime_nano);
    }
    return a;
  }

  // The runs of a non-resident attribute as byte extents of the file. The attribute's bytes
  // start `skiplen` bytes into its first run; bytes past `initsize` were never written and
  // read as zeros.
  Result<std::vector<FileExtent>> MapRuns(uint64_t ino, const TSK_FS_ATTR& attr, uint64_t size) {
    std::vector<FileExtent> out;
    uint64_t bs = fs_->block_size;
    uint64_t skip = attr.nrd.skiplen;
    uint64_t init = static_cast<uint64_t>(
        std::clamp<TSK_OFF_T>(attr.nrd.initsize, 0, static_cast<TSK_OFF_T>(size)));
    uint64_t vol_size = volume_->size();
    uint64_t base = static_cast<uint64_t>(fs_->offset);
    uint64_t cursor = 0;  // file bytes mapped so far
    size_t runs = 0;
    for (const TSK_FS_ATTR_RUN* run = attr.nrd.run; run != nullptr && cursor < size;
         run = run->next) {
      if (++runs > (vol_size / bs) + 16) {
        return Status::Corruption(What(ino) + ": run list does not end");
      }
      if (run->len == 0) continue;
      if (run->offset > UINT64_MAX / bs / 2 || run->len > UINT64_MAX / bs / 2) {
        return Status::Corruption(What(ino) + ": run of " + std::to_string(run->len) +
                                  " blocks at " + std::to_string(run->offset));
      }
      uint64_t stream_start = run->offset * bs, stream_end = stream_start + run->len * bs;
      uint64_t start = stream_start > skip ? stream_start - skip : 0;
      uint64_t end = std::min(stream_end > skip ? stream_end - skip : 0, size);
      if (end <= start || end <= cursor) continue;
      if (start < cursor) start = cursor;
      if (start > cursor) AppendTo(out, cursor, start - cursor, FileExtent::Kind::kZero, 0);
      bool zero = (run->flags & (TSK_FS_ATTR_RUN_FLAG_SPARSE | TSK_FS_ATTR_RUN_FLAG_FILLER)) != 0;
      if ((run->flags & TSK_FS_ATTR_RUN_FLAG_ENCRYPTED) != 0) {
        AppendTo(out, start, end - start, FileExtent::Kind::kInline, 0);
      } else if (zero) {
        AppendTo(out, start, end - start, FileExtent::Kind::kZero, 0);
      } else {
        // Past initsize the file reads as zeros, whatever the blocks hold.
        uint64_t data_end = std::max(start, std::min(end, init));
        uint64_t in_run = start + skip - stream_start;
        if (run->addr > vol_size / bs) {
          return Status::Corruption(What(ino) + ": run at block " + std::to_string(run->addr) +
                                    " lies past the end of the volume");
        }
        uint64_t vol_off = base + run->addr * bs + in_run;
        if (vol_off > vol_size || data_end - start > vol_size - vol_off) {
          return Status::Corruption(What(ino) + ": run at block " + std::to_string(run->addr) +
                                    " lies past the end of the volume");
        }
        AppendTo(out, start, data_end - start, FileExtent::Kind::kVolume, vol_off);
        AppendTo(out, data_end, end - data_end, FileExtent::Kind::kZero, 0);
      }
      cursor = end;
    }
    if (cursor < size) AppendTo(out, cursor, size - cursor, FileExtent::Kind::kZero, 0);
    return out;
  }

  static void AppendTo(std::vector<FileExtent>& out, uint64_t off, uint64_t len,
                       FileExtent::Kind kind, uint64_t vol_off) {
    if (len == 0) return;
    if (!out.empty()) {
      FileExtent& last = out.back();
      if (last.kind == kind && last.file_offset + last.length == off &&
          (kind != FileExtent::Kind::kVolume || last.volume_offset + last.length == vol_off)) {
        last.length += len;
        return;
      }
    }
    out.push_back({off, len, kind, vol_off});
  }

  guest::SourcePtr volume_;
  guest::FsType type_;
  std::unique_ptr<ImageContext> ctx_;
  std::unique_ptr<TskImage> img_;
  TSK_FS_INFO* fs_;
  std::unordered_map<uint64_t, std::unordered_map<std::string, uint64_t>> names_;
};

}  // namespace

Result<std::unique_ptr<guest::GuestFs>> OpenTskFs(guest::FsType type, guest::SourcePtr volume) {
  TSK_FS_TYPE_ENUM tsk_type = TskType(type);
  if (tsk_type == TSK_FS_TYPE_UNSUPP) {
    return Status::NotSupported(volume->name() + ": The Sleuth Kit adapter does not read " +
                                guest::FsTypeName(type));
  }
  auto ctx = std::make_unique<ImageContext>();
  ctx->source = volume;
  auto img = std::make_unique<TskImage>();  // value-initialised: TSK expects a zeroed struct
  img->context = ctx.get();
  tsk_error_reset();
  if (tsk_img_open_external(img.get(), static_cast<TSK_OFF_T>(volume->size()), 512, ReadImage,
                            CloseImage, StatImage) == nullptr) {
    return Status::IOError(volume->name() + ": opening image: " + TskError());
  }
  TSK_FS_INFO* fs = tsk_fs_open_img(&img->info, 0, tsk_type);
  if (fs == nullptr) {
    std::string cause = TskError();
    if (!ctx->last_error.empty()) cause += " (" + ctx->last_error + ")";
    tsk_img_close(&img->info);
    return Status::Corruption(volume->name() + ": not a readable " + guest::FsTypeName(type) +
                              ": " + cause);
  }
  return std::unique_ptr<guest::GuestFs>(
      new TskFs(std::move(volume), type, std::move(ctx), std::move(img), fs));
}

}  // namespace rpfs::guestfs
