// Sending and receiving helper_protocol frames on a SOCK_STREAM socket, with an optional
// deadline. The daemon always passes one (a helper that stops reading or writing must not
// block it); the helper passes none (the daemon kills it if it takes too long).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "guest/helper_protocol.h"
#include "rpfs/status.h"

namespace rpfs::guest {

using HelperClock = std::chrono::steady_clock;
using Deadline = std::optional<HelperClock::time_point>;

// How a frame exchange ended. Only kOk carries a message.
enum class ChannelOutcome {
  kOk,
  kClosed,    // the peer closed the socket (before or inside a frame)
  kTimedOut,  // the deadline passed
  kBadFrame,  // a header over the limit or a payload that does not decode
  kFailed,    // a system call failed
};

struct Received {
  ChannelOutcome outcome = ChannelOutcome::kFailed;
  HelperMessage message;
  Status error;  // what went wrong, unless kOk
};

// Sends one frame. Never raises SIGPIPE (MSG_NOSIGNAL): a dead peer is kClosed.
ChannelOutcome SendFrame(int fd, const HelperMessage& message, Deadline deadline, Status* error);
// Receives and decodes one frame.
Received ReceiveFrame(int fd, Deadline deadline);

}  // namespace rpfs::guest
