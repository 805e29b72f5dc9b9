// The guest helper's side of helper_protocol.h: the loop a sandboxed helper process runs.
// It reads the volume through the daemon (each ByteSource::ReadAt is a VolumeReadRequest on
// the same socket) and answers GuestFs calls, one at a time, on one thread.
#pragma once

#include <functional>
#include <memory>

#include "guest/byte_source.h"
#include "guest/guest_fs.h"
#include "guest/volumes.h"
#include "rpfs/status.h"

namespace rpfs::guest {

using OpenFn = std::function<Result<std::unique_ptr<GuestFs>>(FsType, SourcePtr)>;

// Serves the daemon on `fd` (a connected SOCK_STREAM socket) until it closes the socket:
// waits for Open, opens the filesystem with `open` over a ByteSource that reads through the
// socket, then answers every call with its Status and payload. A failed Open is replied and
// the helper waits for another Open. Returns 0 when the daemon closed the socket, 1 on a
// frame it cannot decode or a socket error (one line on stderr).
int ServeHelper(int fd, const OpenFn& open);

}  // namespace rpfs::guest
