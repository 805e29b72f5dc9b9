#include "util/crash_point.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace rpfs {
namespace {

struct PointConfig {
  bool crash_enabled = false;
  std::string crash_name;
  long crash_target = 1;
  std::atomic<long> crash_hits{0};

  bool pause_enabled = false;
  std::string pause_name;
  std::string pause_dir;
  std::atomic<bool> paused{false};
};

PointConfig& Config() {
  static PointConfig* config = [] {
    auto* c = new PointConfig;  // leaked on purpose: used until the process dies
    const char* crash = std::getenv("RPFS_CRASH_AT");
    if (crash != nullptr && *crash != '\0') {
      std::string spec = crash;
      size_t colon = spec.rfind(':');
      if (colon != std::string::npos) {
        c->crash_target = std::strtol(spec.c_str() + colon + 1, nullptr, 10);
        spec.resize(colon);
      }
      c->crash_name = spec;
      c->crash_enabled = true;
    }
    const char* pause = std::getenv("RPFS_PAUSE_AT");
    const char* dir = std::getenv("RPFS_PAUSE_DIR");
    if (pause != nullptr && *pause != '\0' && dir != nullptr && *dir != '\0') {
      c->pause_name = pause;
      c->pause_dir = dir;
      c->pause_enabled = true;
    }
    return c;
  }();
  return *config;
}

void Pause(const std::string& dir) {
  int fd = ::open((dir + "/paused").c_str(), O_WRONLY | O_CLOEXEC);
  if (fd >= 0) ::close(fd);
  fd = ::open((dir + "/resume").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char c;
    while (::read(fd, &c, 1) > 0) {
    }
    ::close(fd);
  }
}

}  // namespace

void CrashPoint(std::string_view name) {
  PointConfig& c = Config();
  if (c.crash_enabled && name == c.crash_name && c.crash_hits.fetch_add(1) + 1 == c.crash_target) {
    ::kill(::getpid(), SIGKILL);
    ::_exit(137);  // not reached
  }
  if (c.pause_enabled && name == c.pause_name && !c.paused.exchange(true)) Pause(c.pause_dir);
}

}  // namespace rpfs
