#define FUSE_USE_VERSION 34
#include "fuse/notify_queue.h"

#include <fuse3/fuse_lowlevel.h>

namespace rpfs::fuse {

NotifyQueue::NotifyQueue(struct fuse_session* se) : se_(se), thread_([this] { Run(); }) {}

NotifyQueue::~NotifyQueue() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  sent_cv_.notify_all();
  thread_.join();
}

void NotifyQueue::Settle(std::chrono::milliseconds max) {
  std::unique_lock lock(mu_);
  const uint64_t target = queued_;
  sent_cv_.wait_for(lock, max, [&] { return stop_ || sent_ >= target; });
}

void NotifyQueue::InvalidateEntry(fs::InodeNo parent, const std::string& name) {
  Push(Item{parent, name});
}

void NotifyQueue::InvalidateAttrs(fs::InodeNo ino) { Push(Item{ino, ""}); }

void NotifyQueue::Push(Item item) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    items_.push_back(std::move(item));
    queued_++;
  }
  cv_.notify_one();
}

void NotifyQueue::Run() {
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !items_.empty(); });
      if (stop_) return;
      item = std::move(items_.front());
      items_.pop_front();
    }
    // ENOENT only says the kernel had nothing cached: nothing to do either way.
    if (item.name.empty()) {
      (void)fuse_lowlevel_notify_inval_inode(se_, item.ino, 0, 0);
    } else {
      (void)fuse_lowlevel_notify_inval_entry(se_, item.ino, item.name.c_str(), item.name.size());
    }
    {
      std::lock_guard lock(mu_);
      sent_++;
    }
    sent_cv_.notify_all();
  }
}

}  // namespace rpfs::fuse
