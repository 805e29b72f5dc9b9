// A fixed pool of worker threads for data-parallel loops (hashing, compression,
// decompression). The caller's thread takes part, so a pool of N workers runs N+1 ways.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rpfs {

class ThreadPool {
 public:
  // `workers` extra threads; 0 runs everything on the caller's thread.
  explicit ThreadPool(size_t workers);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Calls fn(i) for every i in [0, n), spread over the pool, and returns when all are done.
  // Not reentrant: one ParallelFor at a time per pool.
  void ParallelFor(size_t n, const std::function<void(size_t)>& fn);

  // Workers to use by default: hardware threads - 1 (the caller is the last one).
  static size_t DefaultWorkers();

 private:
  void WorkerLoop(uint64_t seen);
  void RunShare();

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::vector<std::thread> threads_;
  const std::function<void(size_t)>* fn_ = nullptr;
  size_t n_ = 0;
  size_t next_ = 0;
  size_t active_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace rpfs
