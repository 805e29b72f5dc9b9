#include "util/log.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "util/clock.h"
#include "util/fd.h"

namespace rpfs::log {
namespace {

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ||
        c == 0x7f) {
      return true;
    }
  }
  return false;
}

void AppendValue(std::string* out, std::string_view v) {
  static const char kHex[] = "0123456789abcdef";
  bool quote = NeedsQuotes(v);
  if (quote) out->push_back('"');
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20 || u == 0x7f) {
      *out += "\\x";
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 15]);
    } else {
      out->push_back(c);
    }
  }
  if (quote) out->push_back('"');
}

// Where lines go. Guarded by mu: lines from FUSE threads and the command server interleave
// whole, never mixed.
struct Sink {
  std::mutex mu;
  bool syslog = false;
  std::string socket_path;
  std::string fallback_file;
  UniqueFd sock;      // unbound datagram socket, sendto() the path each time (syslog restarts)
  UniqueFd fallback;  // opened on first need
};

Sink& TheSink() {
  static Sink* sink = new Sink;  // never destroyed: lines may come from threads at exit
  return *sink;
}

bool SendDatagram(Sink& s, const std::string& datagram) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (s.socket_path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, s.socket_path.c_str(), s.socket_path.size() + 1);
  if (!s.sock.valid()) s.sock = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.sock.valid()) return false;
  ssize_t n = ::sendto(s.sock.get(), datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&addr), sizeof addr);  // NOLINT
  // A full queue (a stuck syslog) drops the line rather than stall a FUSE thread.
  return n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK;
}

void AppendFallback(Sink& s, Severity severity, std::string_view message) {
  if (s.fallback_file.empty()) return;
  if (!s.fallback.valid()) {
    auto fd = OpenFile(s.fallback_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (!fd.ok()) return;
    s.fallback = std::move(*fd);
  }
  static const char* kNames[] = {"", "", "", "error", "warning", "notice", "info"};
  std::string line = FormatIsoUtc(NowMicros()) + " rpfs[" + std::to_string(::getpid()) + "] " +
                     kNames[static_cast<int>(severity)] + ": " + std::string(message) + "\n";
  (void)::write(s.fallback.get(), line.data(), line.size());
}

}  // namespace

std::string FormatMessage(std::string_view event, std::initializer_list<Field> fields) {
  std::string out(event);
  for (const Field& f : fields) {
    out.push_back(' ');
    out += f.key;
    out.push_back('=');
    AppendValue(&out, f.value);
  }
  if (out.size() > kMaxMessageBytes) {
    out.resize(kMaxMessageBytes - 3);
    out += "...";
  }
  return out;
}

std::string FormatSyslog(Severity severity, std::time_t when, int pid, std::string_view message) {
  std::tm tm{};
  ::localtime_r(&when, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
  int pri = kFacilityDaemon * 8 + static_cast<int>(severity);
  return "<" + std::to_string(pri) + ">" + stamp + " rpfs[" + std::to_string(pid) +
         "]: " + std::string(message);
}

std::string SocketPath() {
  const char* env = std::getenv(kSocketEnv);
  return env != nullptr && *env != '\0' ? env : kDefaultSocket;
}

void ToStderr() {
  Sink& s = TheSink();
  std::lock_guard lock(s.mu);
  s.syslog = false;
}

void ToSyslog(std::string socket_path, std::string fallback_file) {
  Sink& s = TheSink();
  std::lock_guard lock(s.mu);
  s.syslog = true;
  s.socket_path = std::move(socket_path);
  s.fallback_file = std::move(fallback_file);
  s.fallback.Reset();
}

void Log(Severity severity, std::string_view event, std::initializer_list<Field> fields) {
  std::string message = FormatMessage(event, fields);
  Sink& s = TheSink();
  std::lock_guard lock(s.mu);
  if (!s.syslog) {
    std::fprintf(stderr, "rpfs: %s\n", message.c_str());
    return;
  }
  if (!SendDatagram(s, FormatSyslog(severity, std::time(nullptr), ::getpid(), message))) {
    AppendFallback(s, severity, message);
  }
}

bool RepeatLimiter::Allow(const std::string& key, int64_t now_us, uint64_t* held_back) {
  std::lock_guard lock(mu_);
  auto it = seen_.find(key);
  if (it != seen_.end() && now_us - it->second.at_us < window_us_) {
    it->second.held_back++;
    return false;
  }
  *held_back = it != seen_.end() ? it->second.held_back : 0;
  if (it == seen_.end() && seen_.size() >= kMaxKeys) {
    std::erase_if(seen_, [&](const auto& kv) { return now_us - kv.second.at_us >= window_us_; });
    if (seen_.size() >= kMaxKeys) return true;  // too many distinct keys: log, remember none
  }
  seen_[key] = Seen{now_us, 0};
  return true;
}

}  // namespace rpfs::log
