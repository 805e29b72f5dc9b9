#include "guest/helper_protocol.h"

#include <algorithm>

#include "util/coding.h"

namespace rpfs::guest {
namespace {

enum class MessageType : uint8_t { kCall = 1, kVolumeData, kVolumeRead, kReply };
constexpr uint8_t kLastFsType = static_cast<uint8_t>(FsType::kMdRaid);
constexpr uint8_t kLastExtentKind = static_cast<uint8_t>(FileExtent::Kind::kInline);

Status Bad(const std::string& what) { return Status::Corruption("guest helper frame: " + what); }

// ---- Status -------------------------------------------------------------------------------

void PutStatus(Encoder& e, const Status& s) {
  e.PutU8(static_cast<uint8_t>(s.code()));
  if (s.ok()) return;
  e.PutVarint(static_cast<uint32_t>(s.sys_errno()));
  e.PutString(s.message());
}

// Status has no public constructor from a code: go through its factories. `code` is in
// range (GetStatus checks).
Status MakeStatus(uint8_t code, std::string msg, int err) {
  using C = Status::Code;
  switch (static_cast<C>(code)) {
    case C::kOk:
      return Status::OK();
    case C::kNotFound:
      return Status::NotFound(std::move(msg));
    case C::kAlreadyExists:
      return Status::AlreadyExists(std::move(msg));
    case C::kInvalidArgument:
      return Status::InvalidArgument(std::move(msg));
    case C::kBusy:
      return Status::Busy(std::move(msg));
    case C::kCorruption:
      return Status::Corruption(std::move(msg));
    case C::kIOError:
      return Status::IOError(std::move(msg), err);
    case C::kNoSpace:
      return Status::NoSpace(std::move(msg));
    case C::kPermissionDenied:
      return Status::PermissionDenied(std::move(msg));
    case C::kNotSupported:
      return Status::NotSupported(std::move(msg));
    case C::kAborted:
      return Status::Aborted(std::move(msg));
    case C::kReadOnly:
      return Status::ReadOnly(std::move(msg));
    case C::kStale:
      return Status::Stale(std::move(msg));
    case C::kNotADirectory:
      return Status::NotADirectory(std::move(msg));
    case C::kIsADirectory:
      return Status::IsADirectory(std::move(msg));
    case C::kBadHandle:
      return Status::BadHandle(std::move(msg));
    case C::kNoData:
      return Status::NoData(std::move(msg));
    case C::kCrossDevice:
      return Status::CrossDevice(std::move(msg));
    case C::kTooLarge:
      return Status::TooLarge(std::move(msg));
    case C::kNotPermitted:
      return Status::NotPermitted(std::move(msg));
    case C::kNoAttribute:
      return Status::NoAttribute(std::move(msg));
  }
  return Status::OK();
}

// The Status carried by a message goes to *out; the return value is the decoding's own.
Status GetStatus(Decoder& d, Status* out) {
  RPFS_ASSIGN_OR_RETURN(uint8_t code, d.GetU8());
  *out = Status::OK();
  if (code == 0) return Status::OK();
  if (code > static_cast<uint8_t>(Status::Code::kNoAttribute)) {  // the last code
    return Bad("unknown status code " + std::to_string(code));
  }
  RPFS_ASSIGN_OR_RETURN(uint64_t err, d.GetVarint());
  if (err > 4095) return Bad("errno " + std::to_string(err) + " out of range");
  RPFS_ASSIGN_OR_RETURN(std::string msg, d.GetString());
  *out = MakeStatus(code, std::move(msg), static_cast<int>(err));
  return Status::OK();
}

// What to reserve for `n` items: a hostile count passes GetCount (a frame holds up to 64 Mi
// one-byte items) yet would reserve gigabytes of structs; past this the vector grows as the
// items actually decode.
uint64_t Reservable(uint64_t n) { return std::min<uint64_t>(n, 4096); }

// A count of items each at least one byte long cannot exceed the bytes left: this bounds
// every reserve() by the frame's size.
Result<uint64_t> GetCount(Decoder& d, const char* what) {
  RPFS_ASSIGN_OR_RETURN(uint64_t n, d.GetVarint());
  if (n > d.remaining())
    return Bad(std::string(what) + " count " + std::to_string(n) + " is past the frame");
  return n;
}

// ---- Calls --------------------------------------------------------------------------------

void PutInos(Encoder& e, const std::vector<uint64_t>& inos) {
  e.PutVarint(inos.size());
  for (uint64_t ino : inos) e.PutVarint(ino);
}

// A batch call's inodes, at most `max` (else "<call> <n> <plural>").
Result<std::vector<uint64_t>> GetInos(Decoder& d, size_t max, const char* what, const char* call,
                                      const char* plural) {
  RPFS_ASSIGN_OR_RETURN(uint64_t n, GetCount(d, what));
  if (n > max) return Bad(std::string(call) + " " + std::to_string(n) + " " + plural);
  std::vector<uint64_t> inos(n);
  for (uint64_t& ino : inos) {
    RPFS_ASSIGN_OR_RETURN(ino, d.GetVarint());
  }
  return inos;
}

void PutCall(Encoder& e, const HelperCall& c) {
  e.PutU8(static_cast<uint8_t>(c.op));
  switch (c.op) {
    case HelperOp::kOpen:
      e.PutU8(static_cast<uint8_t>(c.fs_type));
      e.PutVarint(c.volume_size);
      e.PutString(c.name);
      break;
    case HelperOp::kLookup:
      e.PutVarint(c.ino);
      e.PutString(c.name);
      break;
    case HelperOp::kRead:
      e.PutVarint(c.ino);
      e.PutVarint(c.offset);
      e.PutVarint(c.length);
      break;
    case HelperOp::kState:
      break;
    case HelperOp::kReadDirs:
      PutInos(e, c.inos);
      break;
    case HelperOp::kMapFiles:
      PutInos(e, c.inos);
      e.PutVarint(c.max_extents);
      break;
    default:
      e.PutVarint(c.ino);
      break;
  }
}

Result<HelperCall> GetCall(Decoder& d) {
  HelperCall c;
  RPFS_ASSIGN_OR_RETURN(uint8_t op, d.GetU8());
  c.op = static_cast<HelperOp>(op);
  if (op < static_cast<uint8_t>(HelperOp::kOpen) ||
      op > static_cast<uint8_t>(HelperOp::kMapFiles)) {
    return Bad("unknown call " + std::to_string(op));
  }
  if (c.op == HelperOp::kOpen) {
    RPFS_ASSIGN_OR_RETURN(uint8_t type, d.GetU8());
    if (type > kLastFsType) return Bad("unknown filesystem type " + std::to_string(type));
    c.fs_type = static_cast<FsType>(type);
    RPFS_ASSIGN_OR_RETURN(c.volume_size, d.GetVarint());
    RPFS_ASSIGN_OR_RETURN(c.name, d.GetString());
    return c;
  }
  if (c.op == HelperOp::kState) return c;
  if (c.op == HelperOp::kReadDirs) {
    RPFS_ASSIGN_OR_RETURN(c.inos,
                          GetInos(d, kMaxBatchDirs, "directory", "a listing of", "directories"));
    return c;
  }
  if (c.op == HelperOp::kMapFiles) {
    RPFS_ASSIGN_OR_RETURN(c.inos, GetInos(d, kMaxBatchFiles, "file", "a map of", "files"));
    RPFS_ASSIGN_OR_RETURN(c.max_extents, d.GetVarint());
    if (c.max_extents > kMaxBatchExtents) {
      return Bad("a map of up to " + std::to_string(c.max_extents) + " extents a file");
    }
    return c;
  }
  RPFS_ASSIGN_OR_RETURN(c.ino, d.GetVarint());
  if (c.op == HelperOp::kLookup) {
    RPFS_ASSIGN_OR_RETURN(c.name, d.GetString());
  } else if (c.op == HelperOp::kRead) {
    RPFS_ASSIGN_OR_RETURN(c.offset, d.GetVarint());
    RPFS_ASSIGN_OR_RETURN(c.length, d.GetVarint());
    if (c.length > kMaxFileReadBytes) {
      return Bad("read of " + std::to_string(c.length) + " bytes is over the limit");
    }
  }
  return c;
}

// ---- Reply payloads -----------------------------------------------------------------------

void PutAttr(Encoder& e, const FileAttr& a) {
  e.PutVarint(a.ino);
  e.PutVarint(a.mode);
  e.PutVarint(a.uid);
  e.PutVarint(a.gid);
  e.PutVarint(a.nlink);
  e.PutVarint(a.rdev);
  e.PutVarint(a.size);
  e.PutSignedVarint(a.atime_ns);
  e.PutSignedVarint(a.mtime_ns);
  e.PutSignedVarint(a.ctime_ns);
}

Result<uint32_t> GetU32(Decoder& d, const char* what) {
  RPFS_ASSIGN_OR_RETURN(uint64_t v, d.GetVarint());
  if (v > UINT32_MAX) return Bad(std::string(what) + " " + std::to_string(v) + " out of range");
  return static_cast<uint32_t>(v);
}

Result<FileAttr> GetAttr(Decoder& d) {
  FileAttr a;
  RPFS_ASSIGN_OR_RETURN(a.ino, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(a.mode, GetU32(d, "mode"));
  RPFS_ASSIGN_OR_RETURN(a.uid, GetU32(d, "uid"));
  RPFS_ASSIGN_OR_RETURN(a.gid, GetU32(d, "gid"));
  RPFS_ASSIGN_OR_RETURN(a.nlink, GetU32(d, "nlink"));
  RPFS_ASSIGN_OR_RETURN(a.rdev, GetU32(d, "rdev"));
  RPFS_ASSIGN_OR_RETURN(a.size, d.GetVarint());
  RPFS_ASSIGN_OR_RETURN(a.atime_ns, d.GetSignedVarint());
  RPFS_ASSIGN_OR_RETURN(a.mtime_ns, d.GetSignedVarint());
  RPFS_ASSIGN_OR_RETURN(a.ctime_ns, d.GetSignedVarint());
  return a;
}

// GuestFs's rule for entry names; the FUSE layer relies on it.
bool IsEntryName(std::string_view n) {
  return !n.empty() && n != "." && n != ".." && n.find('/') == n.npos && n.find('\0') == n.npos;
}

Result<std::vector<DirEntry>> GetEntries(Decoder& d) {
  RPFS_ASSIGN_OR_RETURN(uint64_t n, GetCount(d, "directory entry"));
  std::vector<DirEntry> out;
  out.reserve(Reservable(n));
  for (uint64_t i = 0; i < n; ++i) {
    DirEntry& e = out.emplace_back();
    RPFS_ASSIGN_OR_RETURN(e.name, d.GetString());
    if (!IsEntryName(e.name))
      return Bad("directory entry " + std::to_string(i) + " has a bad name");
    RPFS_ASSIGN_OR_RETURN(e.ino, d.GetVarint());
    RPFS_ASSIGN_OR_RETURN(e.type, GetU32(d, "entry type"));
    RPFS_ASSIGN_OR_RETURN(uint8_t has_attr, d.GetU8());
    if (has_attr > 1) return Bad("directory entry " + std::to_string(i) + " has a bad flag");
    if (has_attr == 1) {
      RPFS_ASSIGN_OR_RETURN(e.attr, GetAttr(d));
      if (e.attr->ino != e.ino) {
        return Bad("directory entry " + std::to_string(i) + " has another inode's attributes");
      }
    }
  }
  return out;
}

void PutEntries(Encoder& e, const std::vector<DirEntry>& entries) {
  e.PutVarint(entries.size());
  for (const DirEntry& x : entries) {
    e.PutString(x.name);
    e.PutVarint(x.ino);
    e.PutVarint(x.type);
    e.PutU8(x.attr ? 1 : 0);
    if (x.attr) PutAttr(e, *x.attr);
  }
}

// A ReadDirs reply. It is checked against its call by the client (HelperClient::ReadDirs).
Result<std::vector<DirListing>> GetListings(Decoder& d) {
  RPFS_ASSIGN_OR_RETURN(uint64_t n, GetCount(d, "listing"));
  if (n > kMaxBatchDirs) return Bad("a reply of " + std::to_string(n) + " listings");
  std::vector<DirListing> out(n);
  for (DirListing& l : out) {
    RPFS_ASSIGN_OR_RETURN(l.dir, d.GetVarint());
    RPFS_RETURN_IF_ERROR(GetStatus(d, &l.status));
    if (l.status.ok()) {
      RPFS_ASSIGN_OR_RETURN(l.entries, GetEntries(d));
    }
  }
  return out;
}

// At most `max` extents: more is refused before any is decoded.
Result<std::vector<FileExtent>> GetExtents(Decoder& d, uint64_t max = UINT64_MAX) {
  RPFS_ASSIGN_OR_RETURN(uint64_t n, GetCount(d, "extent"));
  if (n > max) return Bad("a file map of " + std::to_string(n) + " extents");
  std::vector<FileExtent> out;
  out.reserve(Reservable(n));
  for (uint64_t i = 0; i < n; ++i) {
    FileExtent& x = out.emplace_back();
    RPFS_ASSIGN_OR_RETURN(x.file_offset, d.GetVarint());
    RPFS_ASSIGN_OR_RETURN(x.length, d.GetVarint());
    RPFS_ASSIGN_OR_RETURN(uint8_t kind, d.GetU8());
    if (kind > kLastExtentKind) return Bad("unknown extent kind " + std::to_string(kind));
    x.kind = static_cast<FileExtent::Kind>(kind);
    RPFS_ASSIGN_OR_RETURN(x.volume_offset, d.GetVarint());
  }
  return out;
}

void PutExtents(Encoder& e, const std::vector<FileExtent>& extents) {
  e.PutVarint(extents.size());
  for (const FileExtent& x : extents) {
    e.PutVarint(x.file_offset);
    e.PutVarint(x.length);
    e.PutU8(static_cast<uint8_t>(x.kind));
    e.PutVarint(x.volume_offset);
  }
}

// A MapFiles reply. It is checked against its call by the client (HelperClient::MapFiles).
Result<std::vector<FileMap>> GetFileMaps(Decoder& d) {
  RPFS_ASSIGN_OR_RETURN(uint64_t n, GetCount(d, "file map"));
  if (n > kMaxBatchFiles) return Bad("a reply of " + std::to_string(n) + " file maps");
  std::vector<FileMap> out(n);
  for (FileMap& m : out) {
    RPFS_ASSIGN_OR_RETURN(m.ino, d.GetVarint());
    RPFS_RETURN_IF_ERROR(GetStatus(d, &m.status));
    if (m.status.ok()) {
      RPFS_ASSIGN_OR_RETURN(m.extents, GetExtents(d, kMaxBatchExtents));
    }
  }
  return out;
}

Result<Xattrs> GetXattrs(Decoder& d) {
  RPFS_ASSIGN_OR_RETURN(uint64_t n, GetCount(d, "xattr"));
  Xattrs out;
  out.reserve(Reservable(n));
  for (uint64_t i = 0; i < n; ++i) {
    auto& [name, value] = out.emplace_back();
    RPFS_ASSIGN_OR_RETURN(name, d.GetString());
    RPFS_ASSIGN_OR_RETURN(value, d.GetString());
  }
  return out;
}

// The payload's tag is its index in ReplyPayload.
struct PayloadEncoder {
  Encoder& e;
  void operator()(const std::monostate&) {}
  void operator()(const OpenedFs& o) {
    e.PutVarint(o.root_ino);
    e.PutString(o.state);
  }
  void operator()(const FileAttr& a) { PutAttr(e, a); }
  void operator()(const std::vector<DirEntry>& entries) { PutEntries(e, entries); }
  void operator()(const std::string& s) { e.PutString(s); }
  void operator()(const std::vector<FileExtent>& extents) { PutExtents(e, extents); }
  void operator()(const FileBytes& b) { e.PutString(b.bytes); }
  void operator()(const Xattrs& xattrs) {
    e.PutVarint(xattrs.size());
    for (const auto& [name, value] : xattrs) {
      e.PutString(name);
      e.PutString(value);
    }
  }
  void operator()(const std::vector<FileMap>& maps) {
    e.PutVarint(maps.size());
    for (const FileMap& m : maps) {
      e.PutVarint(m.ino);
      PutStatus(e, m.status);
      if (m.status.ok()) PutExtents(e, m.extents);
    }
  }
  void operator()(const std::vector<DirListing>& listings) {
    e.PutVarint(listings.size());
    for (const DirListing& l : listings) {
      e.PutVarint(l.dir);
      PutStatus(e, l.status);
      if (l.status.ok()) PutEntries(e, l.entries);
    }
  }
};

Result<ReplyPayload> GetPayload(Decoder& d, bool ok) {
  RPFS_ASSIGN_OR_RETURN(uint8_t tag, d.GetU8());
  if (!ok && tag != 0) return Bad("an error reply carries a payload");
  switch (tag) {
    case 0:
      if (ok) return Bad("an OK reply carries no payload");
      return ReplyPayload{};
    case 1: {
      OpenedFs o;
      RPFS_ASSIGN_OR_RETURN(o.root_ino, d.GetVarint());
      RPFS_ASSIGN_OR_RETURN(o.state, d.GetString());
      return ReplyPayload{std::move(o)};
    }
    case 2: {
      RPFS_ASSIGN_OR_RETURN(FileAttr a, GetAttr(d));
      return ReplyPayload{a};
    }
    case 3: {
      RPFS_ASSIGN_OR_RETURN(auto entries, GetEntries(d));
      return ReplyPayload{std::move(entries)};
    }
    case 4: {
      RPFS_ASSIGN_OR_RETURN(std::string s, d.GetString());
      return ReplyPayload{std::move(s)};
    }
    case 5: {
      RPFS_ASSIGN_OR_RETURN(auto extents, GetExtents(d));
      return ReplyPayload{std::move(extents)};
    }
    case 6: {
      RPFS_ASSIGN_OR_RETURN(std::string bytes, d.GetString());
      return ReplyPayload{FileBytes{std::move(bytes)}};
    }
    case 7: {
      RPFS_ASSIGN_OR_RETURN(Xattrs xattrs, GetXattrs(d));
      return ReplyPayload{std::move(xattrs)};
    }
    case 8: {
      RPFS_ASSIGN_OR_RETURN(auto listings, GetListings(d));
      return ReplyPayload{std::move(listings)};
    }
    case 9: {
      RPFS_ASSIGN_OR_RETURN(auto maps, GetFileMaps(d));
      return ReplyPayload{std::move(maps)};
    }
  }
  return Bad("unknown reply payload " + std::to_string(tag));
}

// ---- Messages -----------------------------------------------------------------------------

struct MessageEncoder {
  Encoder& e;
  void operator()(const HelperCall& c) {
    e.PutU8(static_cast<uint8_t>(MessageType::kCall));
    PutCall(e, c);
  }
  void operator()(const VolumeData& v) {
    e.PutU8(static_cast<uint8_t>(MessageType::kVolumeData));
    PutStatus(e, v.status);
    if (v.status.ok()) e.PutString(v.bytes);
  }
  void operator()(const VolumeReadRequest& r) {
    e.PutU8(static_cast<uint8_t>(MessageType::kVolumeRead));
    e.PutVarint(r.offset);
    e.PutVarint(r.length);
  }
  void operator()(const HelperReply& r) {
    e.PutU8(static_cast<uint8_t>(MessageType::kReply));
    PutStatus(e, r.status);
    e.PutU8(static_cast<uint8_t>(r.status.ok() ? r.payload.index() : 0));
    if (r.status.ok()) std::visit(PayloadEncoder{e}, r.payload);
  }
};

Result<HelperMessage> GetMessage(Decoder& d) {
  RPFS_ASSIGN_OR_RETURN(uint8_t type, d.GetU8());
  switch (static_cast<MessageType>(type)) {
    case MessageType::kCall: {
      RPFS_ASSIGN_OR_RETURN(HelperCall c, GetCall(d));
      return HelperMessage{std::move(c)};
    }
    case MessageType::kVolumeData: {
      VolumeData v;
      RPFS_RETURN_IF_ERROR(GetStatus(d, &v.status));
      if (v.status.ok()) {
        RPFS_ASSIGN_OR_RETURN(v.bytes, d.GetString());
      }
      return HelperMessage{std::move(v)};
    }
    case MessageType::kVolumeRead: {
      VolumeReadRequest r;
      RPFS_ASSIGN_OR_RETURN(r.offset, d.GetVarint());
      RPFS_ASSIGN_OR_RETURN(r.length, d.GetVarint());
      if (r.length > kMaxVolumeReadBytes) {
        return Bad("volume read of " + std::to_string(r.length) + " bytes is over the limit");
      }
      return HelperMessage{r};
    }
    case MessageType::kReply: {
      HelperReply r;
      RPFS_RETURN_IF_ERROR(GetStatus(d, &r.status));
      RPFS_ASSIGN_OR_RETURN(r.payload, GetPayload(d, r.status.ok()));
      return HelperMessage{std::move(r)};
    }
  }
  return Bad("unknown message type " + std::to_string(type));
}

}  // namespace

const char* HelperOpName(HelperOp op) {
  switch (op) {
    case HelperOp::kOpen:
      return "open";
    case HelperOp::kGetAttr:
      return "getattr";
    case HelperOp::kLookup:
      return "lookup";
    case HelperOp::kReadDir:
      return "readdir";
    case HelperOp::kReadLink:
      return "readlink";
    case HelperOp::kMapFile:
      return "mapfile";
    case HelperOp::kRead:
      return "read";
    case HelperOp::kListXattrs:
      return "listxattrs";
    case HelperOp::kState:
      return "state";
    case HelperOp::kReadDirs:
      return "readdirs";
    case HelperOp::kMapFiles:
      return "mapfiles";
  }
  return "unknown";
}

std::string EncodeFrame(const HelperMessage& message) {
  std::string frame(kFrameHeaderBytes, '\0');
  Encoder e(&frame);
  std::visit(MessageEncoder{e}, message);
  uint32_t length = static_cast<uint32_t>(frame.size() - kFrameHeaderBytes);
  for (size_t i = 0; i < kFrameHeaderBytes; ++i) frame[i] = static_cast<char>(length >> (8 * i));
  return frame;
}

Result<uint32_t> DecodeFrameHeader(std::string_view header) {
  Decoder d(header, "guest helper frame header");
  RPFS_ASSIGN_OR_RETURN(uint32_t length, d.GetFixed32());
  if (length > kMaxHelperFrameBytes) {
    return Bad("length " + std::to_string(length) + " is over the " +
               std::to_string(kMaxHelperFrameBytes >> 20) + " MiB limit");
  }
  if (length == 0) return Bad("empty frame");
  return length;
}

Result<HelperMessage> DecodeMessage(std::string_view payload) {
  Decoder d(payload, "guest helper frame");
  RPFS_ASSIGN_OR_RETURN(HelperMessage m, GetMessage(d));
  RPFS_RETURN_IF_ERROR(d.ExpectEnd());
  return m;
}

}  // namespace rpfs::guest
