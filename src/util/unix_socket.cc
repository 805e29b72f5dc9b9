#include "util/unix_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace rpfs {
namespace {

constexpr size_t kMaxFds = 8;

// The address of dir/name; `dir_fd` keeps the directory open when the long form is used.
Result<sockaddr_un> Address(const std::string& dir, const std::string& name, UniqueFd* dir_fd) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = dir + "/" + name;
  if (path.size() >= sizeof addr.sun_path) {
    RPFS_ASSIGN_OR_RETURN(*dir_fd, OpenFile(dir, O_PATH | O_DIRECTORY | O_CLOEXEC));
    path = "/proc/self/fd/" + std::to_string(dir_fd->get()) + "/" + name;
    if (path.size() >= sizeof addr.sun_path) {
      return Status::InvalidArgument("socket name too long: " + name);
    }
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

}  // namespace

Result<UniqueFd> ListenUnix(const std::string& dir, const std::string& name) {
  UniqueFd dir_fd;
  RPFS_ASSIGN_OR_RETURN(sockaddr_un addr, Address(dir, name, &dir_fd));
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return Status::FromErrno(errno, "socket");
  ::unlink(addr.sun_path);  // a stale socket of a dead daemon (the caller holds the store lock)
  mode_t old = ::umask(0077);
  int rc = ::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0) return Status::FromErrno(errno, "binding socket " + dir + "/" + name);
  if (::listen(sock.get(), 64) != 0) return Status::FromErrno(errno, "listen on " + name);
  return sock;
}

Result<UniqueFd> AcceptUnix(int listener) {
  UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn.valid()) return Status::FromErrno(errno, "accept");
  return conn;
}

Result<UniqueFd> ConnectUnix(const std::string& dir, const std::string& name) {
  UniqueFd dir_fd;
  RPFS_ASSIGN_OR_RETURN(sockaddr_un addr, Address(dir, name, &dir_fd));
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return Status::FromErrno(errno, "socket");
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == ENOENT || errno == ECONNREFUSED) {
      return Status::NotFound("no daemon listens on " + dir + "/" + name);
    }
    return Status::FromErrno(errno, "connecting to " + dir + "/" + name);
  }
  return sock;
}

Status SendMessage(int sock, const std::string& data, const std::vector<int>& fds) {
  if (fds.size() > kMaxFds) return Status::InvalidArgument("too many descriptors to pass");
  iovec iov{const_cast<char*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Status::FromErrno(errno, "sending on socket");
  if (static_cast<size_t>(n) != data.size()) return Status::IOError("short send on socket");
  return Status::OK();
}

Result<std::string> ReceiveMessage(int sock, size_t max, std::vector<UniqueFd>* fds) {
  std::string data(max, '\0');
  iovec iov{data.data(), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Status::FromErrno(errno, "receiving on socket");
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (fds != nullptr) {
        fds->emplace_back(fd);
      } else {
        ::close(fd);
      }
    }
  }
  if ((msg.msg_flags & MSG_TRUNC) != 0) return Status::InvalidArgument("message too long");
  data.resize(static_cast<size_t>(n));
  return data;
}

Result<PeerCredentials> PeerOf(int sock) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return Status::FromErrno(errno, "SO_PEERCRED");
  }
  return PeerCredentials{cred.uid, cred.pid};
}

}  // namespace rpfs
