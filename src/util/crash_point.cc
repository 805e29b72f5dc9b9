#include "util/crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace rpfs {
namespace {

struct CrashConfig {
  std::string name;
  long target = 1;
  std::atomic<long> hits{0};
  bool enabled = false;
};

CrashConfig& Config() {
  static CrashConfig* config = [] {
    auto* c = new CrashConfig;  // leaked on purpose: used until the process dies
    const char* env = std::getenv("RPFS_CRASH_AT");
    if (env != nullptr && *env != '\0') {
      std::string spec = env;
      size_t colon = spec.rfind(':');
      if (colon != std::string::npos) {
        c->target = std::strtol(spec.c_str() + colon + 1, nullptr, 10);
        spec.resize(colon);
      }
      c->name = spec;
      c->enabled = true;
    }
    return c;
  }();
  return *config;
}

}  // namespace

void CrashPoint(std::string_view name) {
  CrashConfig& c = Config();
  if (!c.enabled || name != c.name) return;
  if (c.hits.fetch_add(1) + 1 == c.target) {
    ::kill(::getpid(), SIGKILL);
    ::_exit(137);  // not reached
  }
}

}  // namespace rpfs
