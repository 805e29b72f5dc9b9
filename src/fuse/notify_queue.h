// NotifyQueue: the fs::KernelCache of a live FUSE session. Invalidations are queued and
// sent by one thread, because the kernel may hold the directory lock that a notification
// needs while it waits for a request of ours (an rmdir that deletes the RP being
// invalidated, say): sending from the request's own thread would deadlock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "fs/filesystem.h"

struct fuse_session;

namespace rpfs::fuse {

class NotifyQueue : public fs::KernelCache {
 public:
  explicit NotifyQueue(struct fuse_session* se);
  // Stops the thread; notifications not yet sent are dropped (the mount is going away).
  ~NotifyQueue() override;

  void InvalidateEntry(fs::InodeNo parent, const std::string& name) override;
  void InvalidateAttrs(fs::InodeNo ino) override;
  // Waits until what was queued before the call has been sent, or `max` has passed (a
  // notification can wait for a directory lock the kernel holds: bounded, never a hang).
  void Settle(std::chrono::milliseconds max) override;

 private:
  struct Item {
    fs::InodeNo ino;
    std::string name;  // empty: attributes of `ino`
  };
  void Run();
  void Push(Item item);

  struct fuse_session* se_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable sent_cv_;  // sent_ moved, or stop_
  std::deque<Item> items_;
  uint64_t queued_ = 0;  // items ever queued
  uint64_t sent_ = 0;    // items ever sent (or dropped at stop)
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace rpfs::fuse
