#include "util/thread_pool.h"

namespace rpfs {

ThreadPool::ThreadPool(size_t workers) {
  threads_.reserve(workers);
  // Each worker starts from generation 0, so a ParallelFor issued before it first runs
  // is still seen as new work (it must not sit the first call out).
  for (size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { WorkerLoop(0); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

size_t ThreadPool::DefaultWorkers() {
  unsigned hw = std::thread::hardware_concurrency();
  return hw > 1 ? hw - 1 : 0;
}

// Claims indices one at a time until none are left. Called with mu_ held.
void ThreadPool::RunShare() {
  while (next_ < n_) {
    size_t i = next_++;
    ++active_;
    const auto* fn = fn_;
    mu_.unlock();
    (*fn)(i);
    mu_.lock();
    --active_;
  }
  if (active_ == 0) done_cv_.notify_all();
}

void ThreadPool::WorkerLoop(uint64_t seen) {
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    RunShare();
  }
}

void ThreadPool::ParallelFor(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  std::unique_lock lock(mu_);
  fn_ = &fn;
  n_ = n;
  next_ = 0;
  ++generation_;
  work_cv_.notify_all();
  RunShare();
  done_cv_.wait(lock, [&] { return next_ >= n_ && active_ == 0; });
  fn_ = nullptr;
  n_ = 0;
}

}  // namespace rpfs
