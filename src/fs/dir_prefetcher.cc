#include "fs/dir_prefetcher.h"

#include "fs/guest_volumes.h"

namespace rpfs::fs {

DirPrefetcher::~DirPrefetcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DirPrefetcher::DropOldest() {
  while (queue_.size() > max_queued_) queue_.pop_back();
}

void DirPrefetcher::Listed(const std::weak_ptr<OpenVolume>& volume,
                           const std::vector<uint64_t>& subdirs) {
  if (subdirs.empty()) return;
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    // In reverse, so that the first subdirectory ends up first, as a walk takes them.
    for (auto it = subdirs.rbegin(); it != subdirs.rend(); ++it) {
      queue_.push_front({volume, *it, 1});
    }
    DropOldest();
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  wake_.notify_one();
}

namespace {
bool SameVolume(const std::weak_ptr<OpenVolume>& a, const std::weak_ptr<OpenVolume>& b) {
  return !a.owner_before(b) && !b.owner_before(a);
}
}  // namespace

void DirPrefetcher::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    // The first waiting and those right behind it on the same volume and level: one helper
    // round trip lists them all.
    Item first = std::move(queue_.front());
    queue_.pop_front();
    std::vector<uint64_t> dirs{first.dir};
    while (!queue_.empty() && dirs.size() < kBatch && queue_.front().level == first.level &&
           SameVolume(queue_.front().volume, first.volume)) {
      dirs.push_back(queue_.front().dir);
      queue_.pop_front();
    }
    busy_ = true;
    lock.unlock();
    std::vector<uint64_t> subdirs;
    size_t listed = 0;
    // An evicted volume is not opened again for a guess.
    if (std::shared_ptr<OpenVolume> volume = first.volume.lock()) {
      try {
        listed = volume->ListAhead(dirs, &subdirs);
      } catch (...) {  // no allocation failure of a guess may end the daemon
        subdirs.clear();
      }
    }
    lock.lock();
    busy_ = false;
    listed_ += listed;
    // Deeper levels wait behind what was asked for nearer the walk.
    if (!stop_ && first.level < kLevelsAhead) {
      for (uint64_t d : subdirs) queue_.push_back({first.volume, d, first.level + 1});
      DropOldest();
    }
    if (queue_.empty()) idle_.notify_all();
  }
}

void DirPrefetcher::WaitIdle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return stop_ || !thread_.joinable() || (queue_.empty() && !busy_); });
}

uint64_t DirPrefetcher::listed() const {
  std::lock_guard lock(mu_);
  return listed_;
}

}  // namespace rpfs::fs
