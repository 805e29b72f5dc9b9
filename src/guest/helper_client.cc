#include "guest/helper_client.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "guest/helper_channel.h"

namespace rpfs::guest {
namespace {

// The position of T in ReplyPayload: what a call's reply must hold.
template <typename T, typename... Ts>
constexpr size_t IndexIn(std::variant<Ts...>*) {
  size_t i = 0;
  ((std::is_same_v<T, Ts> ? false : (++i, true)) && ...);
  return i;
}
template <typename T>
constexpr size_t kPayloadIndex = IndexIn<T>(static_cast<ReplyPayload*>(nullptr));

std::string Seconds(std::chrono::milliseconds ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", static_cast<double>(ms.count()) / 1000.0);
  return text;
}

HelperCall CallOn(HelperOp op, uint64_t ino) {
  HelperCall call;
  call.op = op;
  call.ino = ino;
  return call;
}

}  // namespace

Result<std::unique_ptr<HelperClient>> HelperClient::Start(HelperOptions options, FsType type,
                                                          SourcePtr volume) {
  std::unique_ptr<HelperClient> client(
      new HelperClient(std::move(options), type, std::move(volume)));
  std::lock_guard lock(client->mu_);
  RPFS_RETURN_IF_ERROR(client->StartLocked());
  return client;
}

Result<std::unique_ptr<GuestFs>> StartGuestHelper(HelperOptions options, FsType type,
                                                  SourcePtr volume) {
  RPFS_ASSIGN_OR_RETURN(auto client,
                        HelperClient::Start(std::move(options), type, std::move(volume)));
  return std::unique_ptr<GuestFs>(std::move(client));
}

pid_t HelperClient::helper_pid() const {
  std::lock_guard lock(mu_);
  return process_ ? process_->pid() : 0;
}

Status HelperClient::StartLocked() {
  RPFS_ASSIGN_OR_RETURN(process_, HelperProcess::Spawn(options_.argv));
  HelperCall open;
  open.op = HelperOp::kOpen;
  open.fs_type = type_;
  open.volume_size = volume_->size();
  open.name = volume_->name();
  Result<ReplyPayload> reply = ExchangeLocked(open);
  const OpenedFs* opened = reply.ok() ? std::get_if<OpenedFs>(&*reply) : nullptr;
  if (opened == nullptr) {
    // A helper that cannot open the volume is of no use: stop it now, not at the next call.
    if (process_ != nullptr) process_->KillAndReap();
    process_.reset();
    if (!reply.ok()) return reply.status();
    return Status::IOError("guest helper for " + volume_->name() + " answered open wrongly");
  }
  // A restarted helper re-opens the same bytes: the first answer stays (State() is const).
  if (root_ino_ == 0) {
    root_ino_ = opened->root_ino;
    state_ = opened->state;
  }
  return Status::OK();
}

Result<ReplyPayload> HelperClient::ExchangeLocked(const HelperCall& call) {
  // One deadline for the whole call, volume reads included: a helper looping over corrupt
  // metadata that keeps asking for bytes is as stuck as one that asks nothing.
  const Deadline deadline = HelperClock::now() + options_.call_timeout;
  const int sock = process_->socket();
  Status error;
  ChannelOutcome sent = SendFrame(sock, call, deadline, &error);
  if (sent != ChannelOutcome::kOk) return KillLocked(sent, error);
  for (;;) {
    Received r = ReceiveFrame(sock, deadline);
    if (r.outcome != ChannelOutcome::kOk) return KillLocked(r.outcome, r.error);
    if (auto* reply = std::get_if<HelperReply>(&r.message)) {
      if (!reply->status.ok()) return reply->status;
      return std::move(reply->payload);
    }
    const auto* want = std::get_if<VolumeReadRequest>(&r.message);
    if (want == nullptr) {
      return KillLocked(ChannelOutcome::kBadFrame,
                        Status::Corruption("a daemon-to-helper message from the helper"));
    }
    // The decoder capped the length; the range check is volume_->ReadAt's, on our side.
    VolumeData data;
    data.bytes.resize(want->length);
    data.status = volume_->ReadAt(want->offset, std::as_writable_bytes(std::span(data.bytes)));
    if (!data.status.ok()) data.bytes.clear();
    sent = SendFrame(sock, data, deadline, &error);
    if (sent != ChannelOutcome::kOk) return KillLocked(sent, error);
  }
}

Status HelperClient::KillLocked(ChannelOutcome outcome, const Status& cause) {
  // Whatever went wrong, the helper's state is unknown (half a frame may be in flight):
  // only a new process is safe. KillAndReap waits for it, so no zombie is left behind.
  std::string how = process_->KillAndReap();
  process_.reset();
  const std::string who = "guest helper for " + volume_->name();
  switch (outcome) {
    case ChannelOutcome::kTimedOut:
      return Status::IOError(who + " timed out after " + Seconds(options_.call_timeout) + " s");
    case ChannelOutcome::kBadFrame:
      return Status::IOError(who + " sent a bad frame (" + cause.message() + "), killed it");
    case ChannelOutcome::kFailed:
      return Status::IOError(who + " failed (" + cause.message() + "), killed it",
                             cause.sys_errno());
    default:
      return Status::IOError(who + " died (" + how + ")");
  }
}

template <typename T>
Result<T> HelperClient::CallFor(const HelperCall& call) {
  std::lock_guard lock(mu_);
  if (process_ == nullptr) RPFS_RETURN_IF_ERROR(StartLocked());
  RPFS_ASSIGN_OR_RETURN(ReplyPayload payload, ExchangeLocked(call));
  if (payload.index() != kPayloadIndex<T>) {
    return KillLocked(
        ChannelOutcome::kBadFrame,
        Status::Corruption(std::string("a reply of the wrong kind to ") + HelperOpName(call.op)));
  }
  return std::get<T>(std::move(payload));
}

Result<FileAttr> HelperClient::GetAttr(uint64_t ino) {
  return CallFor<FileAttr>(CallOn(HelperOp::kGetAttr, ino));
}

Result<FileAttr> HelperClient::Lookup(uint64_t dir, const std::string& name) {
  HelperCall call = CallOn(HelperOp::kLookup, dir);
  call.name = name;
  return CallFor<FileAttr>(call);
}

Result<std::vector<DirEntry>> HelperClient::ReadDir(uint64_t dir) {
  return CallFor<std::vector<DirEntry>>(CallOn(HelperOp::kReadDir, dir));
}

namespace {
uint64_t ItemIno(const DirListing& l) { return l.dir; }
uint64_t ItemIno(const FileMap& m) { return m.ino; }
}  // namespace

template <typename Item, typename Sane>
std::vector<Item> HelperClient::Batched(HelperCall call, const std::vector<uint64_t>& inos,
                                        size_t batch, const char* what, const Sane& sane) {
  std::vector<Item> out;
  for (size_t first = 0; first < inos.size(); first += batch) {
    size_t end = std::min(inos.size(), first + batch);
    call.inos.assign(inos.begin() + static_cast<std::ptrdiff_t>(first),
                     inos.begin() + static_cast<std::ptrdiff_t>(end));
    Result<std::vector<Item>> got = CallFor<std::vector<Item>>(call);
    if (!got.ok()) {
      out.push_back({inos[first], got.status(), {}});
      return out;
    }
    bool matches = got->size() <= call.inos.size();
    for (size_t i = 0; matches && i < got->size(); ++i) {
      matches = ItemIno((*got)[i]) == call.inos[i] && sane((*got)[i]);
    }
    if (!matches) {
      Status bad = Status::Corruption(std::string("a ") + what + " not asked for");
      std::lock_guard lock(mu_);
      out.push_back({inos[first], process_ ? KillLocked(ChannelOutcome::kBadFrame, bad) : bad, {}});
      return out;
    }
    bool short_reply = got->size() < call.inos.size();
    for (Item& item : *got) out.push_back(std::move(item));
    if (short_reply) return out;
  }
  return out;
}

std::vector<DirListing> HelperClient::ReadDirs(const std::vector<uint64_t>& dirs) {
  HelperCall call;
  call.op = HelperOp::kReadDirs;
  return Batched<DirListing>(call, dirs, kMaxBatchDirs, "listing of directories",
                             [](const DirListing&) { return true; });
}

Result<std::string> HelperClient::ReadLink(uint64_t ino) {
  return CallFor<std::string>(CallOn(HelperOp::kReadLink, ino));
}

Result<std::vector<FileExtent>> HelperClient::MapFile(uint64_t ino) {
  return CallFor<std::vector<FileExtent>>(CallOn(HelperOp::kMapFile, ino));
}

std::vector<FileMap> HelperClient::MapFiles(const std::vector<uint64_t>& inos,
                                            uint64_t max_extents) {
  HelperCall call;
  call.op = HelperOp::kMapFiles;
  call.max_extents = std::min(max_extents, kMaxBatchExtents);
  return Batched<FileMap>(call, inos, kMaxBatchFiles, "map of files", [&call](const FileMap& m) {
    return m.extents.size() <= call.max_extents;
  });
}

Result<Xattrs> HelperClient::ListXattrs(uint64_t ino) {
  return CallFor<Xattrs>(CallOn(HelperOp::kListXattrs, ino));
}

// Split into calls of at most kMaxFileReadBytes; a short answer is the end of the file.
Result<size_t> HelperClient::Read(uint64_t ino, uint64_t offset, std::span<std::byte> out) {
  size_t done = 0;
  while (done < out.size()) {
    uint64_t want = std::min<uint64_t>(out.size() - done, kMaxFileReadBytes);
    HelperCall call = CallOn(HelperOp::kRead, ino);
    call.offset = offset + done;
    call.length = want;
    RPFS_ASSIGN_OR_RETURN(FileBytes got, CallFor<FileBytes>(call));
    if (got.bytes.size() > want) {
      return Status::IOError("guest helper for " + volume_->name() + " returned " +
                             std::to_string(got.bytes.size()) + " bytes for a read of " +
                             std::to_string(want));
    }
    std::memcpy(out.data() + done, got.bytes.data(), got.bytes.size());
    done += got.bytes.size();
    if (got.bytes.size() < want) break;
  }
  return done;
}

Result<std::unique_ptr<GuestFs>> StartSelfHelper(FsType type, SourcePtr volume) {
  HelperOptions options{{"/proc/self/exe", "__guest-helper"}, std::chrono::seconds(30)};
  return StartGuestHelper(std::move(options), type, std::move(volume));
}

}  // namespace rpfs::guest
