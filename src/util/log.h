// The daemon's log: one line per event, as `event key=value ...` (values quoted when they
// hold spaces, control bytes escaped, at most kMaxMessageBytes). With `rpfs mount -f` lines
// go to stderr; in the background to syslog as RFC 3164 datagrams sent to a unix datagram
// socket (default /dev/log, or $RPFS_LOG_SOCKET), never blocking: a full socket drops the
// line. When the socket cannot be reached the line is appended to a fallback file
// (`<store>/rpfs.log`). docs/security-parts/limits-and-logs.md.
#pragma once

#include <cstdint>
#include <ctime>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace rpfs::log {

enum class Severity { kError = 3, kWarning = 4, kNotice = 5, kInfo = 6 };

inline constexpr char kDefaultSocket[] = "/dev/log";
inline constexpr char kSocketEnv[] = "RPFS_LOG_SOCKET";
inline constexpr size_t kMaxMessageBytes = 960;  // the datagram stays within RFC 3164's 1024
inline constexpr int kFacilityDaemon = 3;

struct Field {
  std::string_view key;
  std::string value;
};

// "event k1=v1 k2=\"v 2\"": values with spaces, quotes, '=' or nothing are quoted; \ and "
// escaped; bytes < 0x20 and 0x7f as \xNN. Cut to kMaxMessageBytes (ending in "...").
std::string FormatMessage(std::string_view event, std::initializer_list<Field> fields);
// "<PRI>Mmm dd hh:mm:ss rpfs[PID]: MESSAGE" with PRI = facility daemon * 8 + severity and
// the local time of `when`, as syslog(3) sends it.
std::string FormatSyslog(Severity severity, std::time_t when, int pid, std::string_view message);

// The socket the background daemon logs to: $RPFS_LOG_SOCKET if set, else /dev/log.
std::string SocketPath();
// Where lines go from now on (process-wide; stderr until told otherwise).
void ToStderr();
void ToSyslog(std::string socket_path, std::string fallback_file);

// Writes one line.
void Log(Severity severity, std::string_view event, std::initializer_list<Field> fields);

// Holds back a line already written for the same key within `window_us` (the kernel retries
// a failed read page by page: one read(2) of a damaged chunk becomes several requests).
// Thread-safe; remembers at most kMaxKeys keys.
class RepeatLimiter {
 public:
  static constexpr size_t kMaxKeys = 4096;
  explicit RepeatLimiter(int64_t window_us) : window_us_(window_us) {}
  // True when `key` should be logged now; then *held_back is how many were held back
  // since it was last logged.
  bool Allow(const std::string& key, int64_t now_us, uint64_t* held_back);

 private:
  struct Seen {
    int64_t at_us = 0;
    uint64_t held_back = 0;
  };
  const int64_t window_us_;
  std::mutex mu_;
  std::map<std::string, Seen> seen_;
};

}  // namespace rpfs::log
