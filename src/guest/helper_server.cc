#include "guest/helper_server.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <list>
#include <mutex>
#include <unordered_map>

#include "guest/helper_channel.h"

namespace rpfs::guest {
namespace {

// The volume as the helper sees it: every fetch is a round trip to the daemon, which reads
// its own ByteSource (and checks the range again: it does not trust the helper).
//
// A parser reads metadata a block or an inode at a time, clustered (inode tables, directory
// blocks, the journal): a small read is widened to its aligned 64 KiB window (an RP chunk,
// which the daemon decodes whole anyway) and the last 256 windows (16 MiB) are kept, so a tree
// walk costs a round trip per window, not per block. Bigger reads go straight through.
class SocketSource final : public ByteSource {
 public:
  SocketSource(int fd, uint64_t size, std::string name)
      : fd_(fd), size_(size), name_(std::move(name)) {}
  uint64_t size() const override { return size_; }
  std::string name() const override { return name_; }

  Status ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    RPFS_RETURN_IF_ERROR(CheckRange(offset, out.size(), size_, name_));
    // One request at a time on the socket, whatever the parser's threads do.
    std::lock_guard lock(mu_);
    if (out.size() > kWindow) return Fetch(offset, out);
    while (!out.empty()) {
      uint64_t index = offset / kWindow;
      auto window = Window(index);
      // A window may hold a damaged chunk this read does not need: then only what it asks.
      if (!window.ok()) return Fetch(offset, out);
      uint64_t in_window = offset - index * kWindow;
      uint64_t n = std::min<uint64_t>(out.size(), (*window)->size() - in_window);
      std::memcpy(out.data(), (*window)->data() + in_window, n);
      out = out.subspan(n);
      offset += n;
    }
    return Status::OK();
  }

 private:
  static constexpr uint64_t kWindow = 64 << 10;
  static constexpr size_t kKeptWindows = 256;

  // Window `index` (shorter at the end of the volume), fetched if not kept. mu_ held.
  Result<const std::string*> Window(uint64_t index) const {
    auto it = windows_.find(index);
    if (it != windows_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.second);
      return &it->second.first;
    }
    uint64_t start = index * kWindow;
    std::string bytes(std::min<uint64_t>(kWindow, size_ - start), '\0');
    RPFS_RETURN_IF_ERROR(Fetch(start, std::as_writable_bytes(std::span(bytes))));
    if (windows_.size() >= kKeptWindows) {
      windows_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(index);
    auto& kept = windows_[index];
    kept = {std::move(bytes), lru_.begin()};
    return &kept.first;
  }

  // Reads `out` from the daemon, in requests of at most kMaxVolumeReadBytes. mu_ held.
  Status Fetch(uint64_t offset, std::span<std::byte> out) const {
    while (!out.empty()) {
      uint64_t n = std::min<uint64_t>(out.size(), kMaxVolumeReadBytes);
      Status error;
      if (SendFrame(fd_, VolumeReadRequest{offset, n}, std::nullopt, &error) !=
          ChannelOutcome::kOk) {
        return error.WithContext(name_, ": reading ", n, " bytes at ", offset);
      }
      Received r = ReceiveFrame(fd_, std::nullopt);
      if (r.outcome != ChannelOutcome::kOk) {
        return r.error.WithContext(name_, ": reading ", n, " bytes at ", offset);
      }
      auto* data = std::get_if<VolumeData>(&r.message);
      if (data == nullptr) {
        return Status::IOError(name_ + ": the daemon answered a volume read with another message");
      }
      if (!data->status.ok()) return data->status;
      if (data->bytes.size() != n) {
        return Status::IOError(name_ + ": the daemon sent " + std::to_string(data->bytes.size()) +
                               " bytes for a read of " + std::to_string(n));
      }
      std::memcpy(out.data(), data->bytes.data(), n);
      out = out.subspan(n);
      offset += n;
    }
    return Status::OK();
  }

  int fd_;
  uint64_t size_;
  std::string name_;
  mutable std::mutex mu_;
  mutable std::list<uint64_t> lru_;  // window indexes, most recent first; mu_
  mutable std::unordered_map<uint64_t, std::pair<std::string, std::list<uint64_t>::iterator>>
      windows_;  // mu_
};

template <typename T>
HelperReply ToReply(Result<T> r) {
  if (!r.ok()) return HelperReply{r.status(), {}};
  return HelperReply{Status::OK(), ReplyPayload{std::move(r).value()}};
}

// A listing with every entry's attributes, so that the daemon needs no GetAttr round trip
// per entry. An entry whose inode is damaged goes without; an I/O error (the daemon could not
// send volume bytes) fails the listing, as it would fail that GetAttr.
Result<std::vector<DirEntry>> ReadDirWithAttrs(GuestFs& fs, uint64_t dir) {
  RPFS_ASSIGN_OR_RETURN(std::vector<DirEntry> entries, fs.ReadDir(dir));
  for (DirEntry& e : entries) {
    Result<FileAttr> a = fs.GetAttr(e.ino);
    if (a.ok()) {
      e.attr = *a;
    } else if (a.status().IsIOError()) {
      return a.status();
    }
  }
  return entries;
}

HelperReply Serve(GuestFs& fs, const HelperCall& call) {
  switch (call.op) {
    case HelperOp::kGetAttr:
      return ToReply(fs.GetAttr(call.ino));
    case HelperOp::kLookup:
      return ToReply(fs.Lookup(call.ino, call.name));
    case HelperOp::kReadDir:
      return ToReply(ReadDirWithAttrs(fs, call.ino));
    case HelperOp::kReadLink:
      return ToReply(fs.ReadLink(call.ino));
    case HelperOp::kMapFile:
      return ToReply(fs.MapFile(call.ino));
    case HelperOp::kListXattrs:
      return ToReply(fs.ListXattrs(call.ino));
    case HelperOp::kState:
      return HelperReply{Status::OK(), ReplyPayload{fs.State()}};
    case HelperOp::kReadDirs: {
      std::vector<DirListing> out;
      for (uint64_t dir : call.inos) {
        Result<std::vector<DirEntry>> r = ReadDirWithAttrs(fs, dir);
        bool io_error = !r.ok() && r.status().IsIOError();
        out.push_back({dir, r.ok() ? Status::OK() : r.status(),
                       r.ok() ? std::move(r).value() : std::vector<DirEntry>{}});
        if (io_error) break;  // the volume's bytes are not coming: the rest would fail alike
      }
      return HelperReply{Status::OK(), ReplyPayload{std::move(out)}};
    }
    case HelperOp::kMapFiles:
      return HelperReply{Status::OK(), ReplyPayload{fs.MapFiles(call.inos, call.max_extents)}};
    case HelperOp::kRead: {
      std::string bytes(call.length, '\0');
      Result<size_t> n = fs.Read(call.ino, call.offset, std::as_writable_bytes(std::span(bytes)));
      if (!n.ok()) return HelperReply{n.status(), {}};
      bytes.resize(std::min(*n, bytes.size()));
      return HelperReply{Status::OK(), ReplyPayload{FileBytes{std::move(bytes)}}};
    }
    case HelperOp::kOpen:
      break;
  }
  return HelperReply{Status::InvalidArgument("guest helper: unexpected call"), {}};
}

HelperReply Open(int fd, const OpenFn& open, const HelperCall& call, std::unique_ptr<GuestFs>* fs) {
  auto source = std::make_shared<SocketSource>(fd, call.volume_size, call.name);
  Result<std::unique_ptr<GuestFs>> opened = open(call.fs_type, source);
  if (!opened.ok()) return HelperReply{opened.status(), {}};
  *fs = std::move(opened).value();
  return HelperReply{Status::OK(), ReplyPayload{OpenedFs{(*fs)->RootIno(), (*fs)->State()}}};
}

}  // namespace

int ServeHelper(int fd, const OpenFn& open) {
  std::unique_ptr<GuestFs> fs;
  for (;;) {
    Received r = ReceiveFrame(fd, std::nullopt);
    if (r.outcome == ChannelOutcome::kClosed) return 0;
    if (r.outcome != ChannelOutcome::kOk) {
      std::fprintf(stderr, "rpfs guest helper: %s\n", r.error.ToString().c_str());
      return 1;
    }
    const auto* call = std::get_if<HelperCall>(&r.message);
    HelperReply reply;
    if (call == nullptr) {
      reply.status = Status::InvalidArgument("guest helper: expected a call");
    } else if (call->op == HelperOp::kOpen) {
      fs.reset();
      reply = Open(fd, open, *call, &fs);
    } else if (fs == nullptr) {
      reply.status = Status::InvalidArgument("guest helper: no volume is open");
    } else {
      reply = Serve(*fs, *call);
    }
    Status error;
    ChannelOutcome sent = SendFrame(fd, reply, std::nullopt, &error);
    if (sent == ChannelOutcome::kFailed && error.code() == Status::Code::kTooLarge) {
      sent = SendFrame(fd, HelperReply{error, {}}, std::nullopt, &error);  // say why instead
    }
    if (sent != ChannelOutcome::kOk) {
      std::fprintf(stderr, "rpfs guest helper: %s\n", error.ToString().c_str());
      return 1;
    }
  }
}

}  // namespace rpfs::guest
