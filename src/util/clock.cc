#include "util/clock.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace rpfs {
namespace {

constexpr int64_t kUnpinned = INT64_MIN;

int64_t PinnedFromEnvironment() {
  const char* text = std::getenv("RPFS_TEST_NOW");
  if (text == nullptr || *text == '\0') return kUnpinned;
  if (auto iso = ParseIsoUtc(text)) return *iso;
  char* end = nullptr;
  long long secs = std::strtoll(text, &end, 10);
  return *end == '\0' && secs >= 0 ? secs * 1000000 : kUnpinned;
}

// Read by every NowMicros(): the environment is looked at once, on first use.
std::atomic<int64_t>& Pinned() {
  static std::atomic<int64_t> pinned{PinnedFromEnvironment()};
  return pinned;
}

}  // namespace

std::string FormatSeconds(int64_t micros) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(micros) / 1e6);
  return buf;
}

int64_t MonotonicMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t NowMicros() {
  int64_t pinned = Pinned().load(std::memory_order_relaxed);
  if (pinned != kUnpinned) return pinned;
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void PinClockForTesting(std::optional<int64_t> micros) {
  Pinned().store(micros.value_or(kUnpinned), std::memory_order_relaxed);
}

std::string FormatIsoUtc(int64_t micros) {
  time_t secs = static_cast<time_t>(micros / 1000000);
  struct tm tm_utc;
  gmtime_r(&secs, &tm_utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
  return buf;
}

std::optional<int64_t> ParseIsoUtc(std::string_view text) {
  std::string s(text);
  struct tm tm_utc = {};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
  if (end == nullptr || *end != '\0') return std::nullopt;
  time_t secs = timegm(&tm_utc);
  if (secs < 0) return std::nullopt;
  return static_cast<int64_t>(secs) * 1000000;
}

}  // namespace rpfs
