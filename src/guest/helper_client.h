// HelperClient: the GuestFs the daemon holds. Every call is forwarded to a sandboxed helper
// process (helper_server.h inside sandbox.h) that runs the real parser; the helper reads the
// volume back through the same socket, and this class answers those reads from `volume`.
//
// Failure is per call: a helper that crashes, hangs past the call's deadline or sends a bad
// frame is killed and reaped, that call is an IOError naming the volume and the cause, and
// the next call starts a new helper and opens the volume again. Thread-safe: one mutex
// serialises calls (the helper is one thread); a call holds it for at most call_timeout
// (twice when it must start a new helper first).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "guest/byte_source.h"
#include "guest/guest_fs.h"
#include "guest/helper_channel.h"
#include "guest/helper_process.h"
#include "guest/helper_protocol.h"
#include "guest/volumes.h"
#include "rpfs/status.h"

namespace rpfs::guest {

struct HelperOptions {
  // The helper program and its arguments; argv[0] is an absolute path. The daemon uses
  // {"/proc/self/exe", "__guest-helper"}: the very binary it runs, even after a package
  // upgrade replaced the file, so both ends always speak the same protocol.
  std::vector<std::string> argv;
  // The longest a call may take, volume reads included.
  std::chrono::milliseconds call_timeout{30000};
};

class HelperClient final : public GuestFs {
 public:
  // Starts a helper and opens `volume` (of type `type`) in it. The Open's own error (e.g.
  // NotSupported, Corruption) when the helper cannot open it.
  static Result<std::unique_ptr<HelperClient>> Start(HelperOptions options, FsType type,
                                                     SourcePtr volume);
  ~HelperClient() override = default;  // ~HelperProcess kills and reaps

  uint64_t RootIno() const override { return root_ino_; }
  // As the first Open replied it.
  std::string State() const override { return state_; }
  Result<FileAttr> GetAttr(uint64_t ino) override;
  Result<FileAttr> Lookup(uint64_t dir, const std::string& name) override;
  Result<std::vector<DirEntry>> ReadDir(uint64_t dir) override;
  // One round trip per kMaxBatchDirs directories. A failed call (the helper died, timed out
  // or answered wrongly) is an IOError listing for the first directory it covered.
  std::vector<DirListing> ReadDirs(const std::vector<uint64_t>& dirs) override;
  Result<std::string> ReadLink(uint64_t ino) override;
  Result<std::vector<FileExtent>> MapFile(uint64_t ino) override;
  // One round trip per kMaxBatchFiles files (max_extents is capped at kMaxBatchExtents). A
  // failed call ends the list with one entry carrying its error, as ReadDirs does.
  std::vector<FileMap> MapFiles(const std::vector<uint64_t>& inos, uint64_t max_extents) override;
  Result<size_t> Read(uint64_t ino, uint64_t offset, std::span<std::byte> out) override;
  Result<std::vector<std::pair<std::string, std::string>>> ListXattrs(uint64_t ino) override;

  // The running helper's pid, 0 when none runs (tests and log lines).
  pid_t helper_pid() const;

 private:
  HelperClient(HelperOptions options, FsType type, SourcePtr volume)
      : options_(std::move(options)), type_(type), volume_(std::move(volume)) {}

  // One call, with a fresh deadline, starting a helper first when none runs; a reply of
  // another kind than T kills the helper.
  template <typename T>
  Result<T> CallFor(const HelperCall& call);
  // `call` for each `batch` of `inos` in turn (call.inos set to the batch). The answers must
  // be for the items asked (ItemIno), in order, possibly stopping early, and each `sane`:
  // anything else is a confused or hostile helper, which is killed, and none of its answers
  // is taken. A failed call ends the list with one entry carrying its error.
  template <typename Item, typename Sane>
  std::vector<Item> Batched(HelperCall call, const std::vector<uint64_t>& inos, size_t batch,
                            const char* what, const Sane& sane);
  Status StartLocked();
  // Sends `call` and serves the helper's volume reads until its reply.
  Result<ReplyPayload> ExchangeLocked(const HelperCall& call);
  // Kills and reaps the helper; the IOError that says why.
  Status KillLocked(ChannelOutcome outcome, const Status& cause);

  const HelperOptions options_;
  const FsType type_;
  const SourcePtr volume_;
  uint64_t root_ino_ = 0;  // set once by Start, before the object is shared
  std::string state_;
  mutable std::mutex mu_;
  std::unique_ptr<HelperProcess> process_;  // guarded by mu_; null when none runs
};

// The same as a GuestFs (what the daemon's volume table holds).
Result<std::unique_ptr<GuestFs>> StartGuestHelper(HelperOptions options, FsType type,
                                                  SourcePtr volume);

// A helper that is this very program (`/proc/self/exe __guest-helper`, 30 s per call): what
// the mount and `rpfs cat`/`cp` use.
Result<std::unique_ptr<GuestFs>> StartSelfHelper(FsType type, SourcePtr volume);

}  // namespace rpfs::guest
