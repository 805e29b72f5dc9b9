// Unix-domain SOCK_SEQPACKET sockets with file-descriptor passing (SCM_RIGHTS): the
// transport between the `rpfs` CLI and the mount daemon that serves its store.
//
// Paths longer than sun_path allows are reached through /proc/self/fd/<dir fd>/<name>, so
// a store may live at any depth.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "rpfs/status.h"
#include "util/fd.h"

namespace rpfs {

// Binds and listens on `dir`/`name` (mode 0600), replacing a stale socket file.
Result<UniqueFd> ListenUnix(const std::string& dir, const std::string& name);
// Accepts one connection on a listening socket.
Result<UniqueFd> AcceptUnix(int listener);
// Connects to `dir`/`name`. NotFound when nobody listens there (no file, or a stale one).
Result<UniqueFd> ConnectUnix(const std::string& dir, const std::string& name);

// One message, with `fds` attached (they stay open in the sender).
Status SendMessage(int sock, const std::string& data, const std::vector<int>& fds = {});
// One message of at most `max` bytes; received descriptors are appended to `fds` (and
// owned by the caller). An empty result with no error is the peer closing.
Result<std::string> ReceiveMessage(int sock, size_t max, std::vector<UniqueFd>* fds = nullptr);

// The process at the other end (SO_PEERCRED, as it was when it connected).
struct PeerCredentials {
  uid_t uid = 0;
  pid_t pid = 0;
};
Result<PeerCredentials> PeerOf(int sock);

}  // namespace rpfs
