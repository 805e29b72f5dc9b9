#include "guest/helper_channel.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace rpfs::guest {
namespace {

// Waits until `fd` is ready for `events` or the deadline passes. With no deadline the
// socket's own blocking does the waiting, so no poll is made (the helper's seccomp filter
// then needs no poll syscall).
ChannelOutcome WaitFor(int fd, short events, Deadline deadline, Status* error) {
  if (!deadline) return ChannelOutcome::kOk;
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - HelperClock::now());
    if (left.count() <= 0) return ChannelOutcome::kTimedOut;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), INT32_MAX)));
    if (n > 0) return ChannelOutcome::kOk;  // ready, or POLLHUP/POLLERR: the I/O call says which
    if (n < 0 && errno != EINTR) {
      *error = Status::FromErrno(errno, "polling the guest helper socket");
      return ChannelOutcome::kFailed;
    }
  }
}

// Receives exactly out.size() bytes.
ChannelOutcome ReceiveAll(int fd, std::string& out, Deadline deadline, Status* error) {
  size_t done = 0;
  while (done < out.size()) {
    ChannelOutcome w = WaitFor(fd, POLLIN, deadline, error);
    if (w != ChannelOutcome::kOk) return w;
    ssize_t n = ::recv(fd, out.data() + done, out.size() - done, deadline ? MSG_DONTWAIT : 0);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n == 0) {
      *error = Status::IOError("guest helper socket closed");
      return ChannelOutcome::kClosed;
    } else if (errno != EINTR && errno != EAGAIN) {
      if (errno == ECONNRESET) return ChannelOutcome::kClosed;
      *error = Status::FromErrno(errno, "receiving from the guest helper socket");
      return ChannelOutcome::kFailed;
    }
  }
  return ChannelOutcome::kOk;
}

}  // namespace

ChannelOutcome SendFrame(int fd, const HelperMessage& message, Deadline deadline, Status* error) {
  std::string frame = EncodeFrame(message);
  if (frame.size() - kFrameHeaderBytes > kMaxHelperFrameBytes) {
    *error = Status::TooLarge("guest helper frame of " + std::to_string(frame.size()) +
                              " bytes is over the limit");
    return ChannelOutcome::kFailed;
  }
  size_t done = 0;
  while (done < frame.size()) {
    ChannelOutcome w = WaitFor(fd, POLLOUT, deadline, error);
    if (w != ChannelOutcome::kOk) return w;
    // MSG_NOSIGNAL: a helper that died must be an error here, not SIGPIPE in the daemon.
    int flags = MSG_NOSIGNAL | (deadline ? MSG_DONTWAIT : 0);
    ssize_t n = ::send(fd, frame.data() + done, frame.size() - done, flags);
    if (n >= 0) {
      done += static_cast<size_t>(n);
    } else if (errno == EPIPE || errno == ECONNRESET) {
      *error = Status::IOError("guest helper socket closed");
      return ChannelOutcome::kClosed;
    } else if (errno != EINTR && errno != EAGAIN) {
      *error = Status::FromErrno(errno, "sending to the guest helper socket");
      return ChannelOutcome::kFailed;
    }
  }
  return ChannelOutcome::kOk;
}

Received ReceiveFrame(int fd, Deadline deadline) {
  Received r;
  std::string header(kFrameHeaderBytes, '\0');
  r.outcome = ReceiveAll(fd, header, deadline, &r.error);
  if (r.outcome != ChannelOutcome::kOk) return r;
  Result<uint32_t> length = DecodeFrameHeader(header);
  if (!length.ok()) {
    r.outcome = ChannelOutcome::kBadFrame;
    r.error = length.status();
    return r;
  }
  std::string payload(*length, '\0');
  r.outcome = ReceiveAll(fd, payload, deadline, &r.error);
  if (r.outcome != ChannelOutcome::kOk) return r;
  Result<HelperMessage> message = DecodeMessage(payload);
  if (!message.ok()) {
    r.outcome = ChannelOutcome::kBadFrame;
    r.error = message.status();
    return r;
  }
  r.message = std::move(message).value();
  return r;
}

}  // namespace rpfs::guest
