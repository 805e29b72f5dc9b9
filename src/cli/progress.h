// A one-line progress bar (bytes, rate, ETA) on the command's stderr, drawn only when
// that is a terminal so scripts and logs stay quiet.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

#include "rpfs/repository.h"

namespace rpfs::cli {

class ProgressBar {
 public:
  ProgressBar(FILE* out, std::string label);
  ~ProgressBar();
  // Progress callback to hand to long operations. Thread-safe.
  ProgressFn Callback();
  void Update(uint64_t done, uint64_t total);
  void Finish();

 private:
  FILE* out_;
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::mutex mu_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// "1.5 GiB", "512 B"
std::string HumanBytes(uint64_t bytes);

}  // namespace rpfs::cli
