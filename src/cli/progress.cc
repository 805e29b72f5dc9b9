#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace rpfs::cli {

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  }
  return buf;
}

ProgressBar::ProgressBar(FILE* out, std::string label)
    : out_(out),
      label_(std::move(label)),
      enabled_(::isatty(::fileno(out)) == 1),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { Finish(); }

ProgressFn ProgressBar::Callback() {
  if (!enabled_) return nullptr;
  return [this](uint64_t done, uint64_t total) { Update(done, total); };
}

void ProgressBar::Update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  // A total that was an estimate (a disk that grew, a sparse size read ahead of time) grows
  // with the work: the bar never shows more done than the total, nor passes 100 %.
  total = std::max(total, done);
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100) && done < total) return;
  last_draw_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  std::string eta = "--:--";
  if (rate > 0 && total >= done) {
    auto left = static_cast<long>(static_cast<double>(total - done) / rate);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%ld:%02ld", left / 60, left % 60);
    eta = buf;
  }
  int pct = total > 0
                ? static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total))
                : 100;
  std::fprintf(out_, "\r\033[K%s %3d%%  %s / %s  %s/s  ETA %s", label_.c_str(), pct,
               HumanBytes(done).c_str(), HumanBytes(total).c_str(),
               HumanBytes(static_cast<uint64_t>(rate)).c_str(), eta.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressBar::Finish() {
  std::lock_guard lock(mu_);
  if (enabled_ && drawn_) {
    std::fprintf(out_, "\r\033[K");
    std::fflush(out_);
  }
  drawn_ = false;
}

}  // namespace rpfs::cli
