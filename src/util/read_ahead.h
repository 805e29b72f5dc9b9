// ReadAhead: keeps a window of chunks fetched ahead of a sequential reader, on its own
// thread.
//
// A clone of a region snapshot fills each missing chunk from RADOS on first read: fetched,
// then decompressed and checked against its SHA-256, which is CPU work. `dd` of such a
// clone reads in order, a few requests at a time, and each request alone would fetch and
// decode only its own chunks, one after the other. ReadAhead watches the ranges the reader
// asks for and, while they follow one another, hands the next `window` chunks to `fetch`
// on its thread: the next chunks are fetched and decoded while the reader decodes and
// writes the current ones. A reader that jumps around gets no read-ahead.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace rpfs {

class ReadAhead {
 public:
  // `fetch(first, last)` brings chunks [first, last] close, in pieces of at most `piece`
  // chunks (so the first of a window arrive early); `count`: chunks in the disk.
  ReadAhead(std::function<void(uint64_t, uint64_t)> fetch, uint64_t window, uint64_t piece,
            uint64_t count);
  ~ReadAhead();  // stops the thread; what is queued is dropped
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The reader is about to read chunks [first, last].
  void Reading(uint64_t first, uint64_t last);
  // Waits until nothing is queued or being fetched (tests).
  void Drain();

 private:
  void Run();

  const std::function<void(uint64_t, uint64_t)> fetch_;
  const uint64_t window_;
  const uint64_t piece_;
  const uint64_t count_;
  std::mutex mu_;                                    // guards everything below
  std::condition_variable wake_;                     // queue_ grew, or stop_
  std::condition_variable idle_;                     // queue_ empty and nothing being fetched
  std::deque<std::pair<uint64_t, uint64_t>> queue_;  // pieces to fetch, in order
  bool busy_ = false;                                // a piece is being fetched
  bool stop_ = false;
  uint64_t frontier_ = 0;   // one past the furthest chunk the reader has asked for
  uint64_t queued_to_ = 0;  // one past the last chunk queued for read-ahead
  std::thread thread_;      // started with the first read-ahead
};

}  // namespace rpfs
