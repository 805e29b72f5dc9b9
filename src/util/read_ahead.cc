#include "util/read_ahead.h"

#include <algorithm>

namespace rpfs {

ReadAhead::ReadAhead(std::function<void(uint64_t, uint64_t)> fetch, uint64_t window, uint64_t piece,
                     uint64_t count)
    : fetch_(std::move(fetch)),
      window_(std::max<uint64_t>(1, window)),
      piece_(std::max<uint64_t>(1, piece)),
      count_(count) {}

ReadAhead::~ReadAhead() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReadAhead::Reading(uint64_t first, uint64_t last) {
  std::lock_guard lock(mu_);
  // Sequential: the range starts at or before what was read or queued so far, and not far
  // behind the furthest point read (requests of one reader arrive a little out of order
  // when several are in flight).
  const bool sequential =
      first <= std::max(frontier_, queued_to_) && first + 2 * window_ >= frontier_;
  frontier_ = sequential ? std::max(frontier_, last + 1) : last + 1;
  if (!sequential) {
    queue_.clear();  // the reader went elsewhere: what was ahead of it is not wanted
    queued_to_ = last + 1;
    return;
  }
  const uint64_t to = std::min(count_, frontier_ + window_);
  uint64_t from = std::max(queued_to_, frontier_);
  // Top up only when at least a piece is missing, so queued pieces stay whole.
  if (from >= to || (to - from < std::min(piece_, window_) && to != count_)) return;
  for (; from < to; from += piece_) queue_.emplace_back(from, std::min(to, from + piece_) - 1);
  queued_to_ = to;
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  wake_.notify_one();
}

void ReadAhead::Drain() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

void ReadAhead::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    auto [first, last] = queue_.front();
    queue_.pop_front();
    // What the reader has asked for meanwhile it fetches itself: fetching it here as well
    // would only decode it twice (this thread fell behind a fast reader).
    first = std::max(first, frontier_);
    if (first > last) {
      if (queue_.empty()) idle_.notify_all();
      continue;
    }
    busy_ = true;
    lock.unlock();
    fetch_(first, last);  // outside the lock: Reading must never wait for a fetch
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
}

}  // namespace rpfs
