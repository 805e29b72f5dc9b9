// DirPrefetcher: lists guest directories ahead of a tree walk, on one background thread.
//
// `find`, `ls -R`, `tar` and `rsync` of files/ list one directory after another, and each
// listing is a round trip to the volume's sandboxed helper. On this kind of machine a round
// trip is mostly two process wake-ups, and the walk waits for every one. When someone lists a
// directory, its subdirectories are what a walk lists next: listing them here, while the
// walker is still busy with the kernel, takes the helper off the walk's path (the listings
// are kept by the volume, guest_volumes.h), on the core the walk leaves idle.
//
// Bounded: only the subdirectories of a directory someone listed, and theirs (two levels
// ahead), at most `max_queued` waiting; the newest request goes first (a walk goes depth
// first), the oldest waiting are dropped. Errors are ignored: the walk itself meets and
// reports them. Thread-safe; the thread starts on first use (after a daemon's fork).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace rpfs::fs {

struct OpenVolume;

class DirPrefetcher {
 public:
  explicit DirPrefetcher(size_t max_queued = 4096) : max_queued_(max_queued) {}
  ~DirPrefetcher();  // stops the thread; what is queued is dropped
  DirPrefetcher(const DirPrefetcher&) = delete;
  DirPrefetcher& operator=(const DirPrefetcher&) = delete;

  // Someone listed a directory of `volume`: `subdirs` (its subdirectories, in listing order)
  // go ahead of everything waiting.
  void Listed(const std::weak_ptr<OpenVolume>& volume, const std::vector<uint64_t>& subdirs);
  // Blocks until nothing waits and nothing is being listed (tests).
  void WaitIdle();
  // Directories listed here so far (tests, bench).
  uint64_t listed() const;

 private:
  // Levels below a listed directory that are listed ahead.
  static constexpr int kLevelsAhead = 2;
  // Directories listed in one helper round trip (at most guest::kMaxBatchDirs a call).
  static constexpr size_t kBatch = 32;
  struct Item {
    std::weak_ptr<OpenVolume> volume;
    uint64_t dir;
    int level;  // 1: a subdirectory of a directory someone listed
  };
  void Run();
  void DropOldest();  // past max_queued_; mu_ held

  const size_t max_queued_;
  mutable std::mutex mu_;  // guards everything below; never held while listing
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Item> queue_;
  bool busy_ = false;  // the thread is listing an item
  bool stop_ = false;
  uint64_t listed_ = 0;
  std::thread thread_;  // started by the first Listed()
};

}  // namespace rpfs::fs
