// A syslog stand-in for tests: a unix datagram socket bound at a path, read without blocking.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace rpfs::testing {

class DatagramSink {
 public:
  explicit DatagramSink(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    bound_ = fd_ >= 0 &&
             ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;  // NOLINT
  }
  ~DatagramSink() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  DatagramSink(const DatagramSink&) = delete;
  DatagramSink& operator=(const DatagramSink&) = delete;

  bool bound() const { return bound_; }
  // Every datagram received so far, waiting up to `wait_ms` for the first one.
  std::vector<std::string> Drain(int wait_ms = 0) {
    std::vector<std::string> out;
    char buf[65536];
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, out.empty() ? wait_ms : 0) <= 0) break;
      ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0) break;
      out.emplace_back(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

}  // namespace rpfs::testing
