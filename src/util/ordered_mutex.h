// OrderedMutex: a std::mutex with a rank, and a run-time check of the lock order.
//
// Every thread keeps the ranks of the OrderedMutexes it holds. Taking one whose rank is
// not above every rank already held is a lock-order violation: two threads taking the same
// pair in opposite orders can deadlock, so the first such acquisition aborts the process
// with both names, in every build (tests exercise every path; the check costs a few
// nanoseconds next to the store work these locks guard). try_lock cannot deadlock and is
// not checked, but a lock it takes counts as held. Ranks are chosen by the layer that owns
// the locks and written in one table there (rp/lock_order.h for the repository's).
//
// Meets Lockable: use with std::lock_guard / std::unique_lock.
#pragma once

#include <mutex>

namespace rpfs {

class OrderedMutex {
 public:
  // `name` must outlive the mutex (a string literal).
  OrderedMutex(int rank, const char* name) : rank_(rank), name_(name) {}
  OrderedMutex(const OrderedMutex&) = delete;
  OrderedMutex& operator=(const OrderedMutex&) = delete;

  void lock();
  bool try_lock();
  void unlock();

  int rank() const { return rank_; }
  const char* name() const { return name_; }
  // Whether the calling thread holds it (for assertions in code that requires it).
  bool HeldByThisThread() const;

 private:
  std::mutex mu_;
  const int rank_;
  const char* const name_;
};

}  // namespace rpfs
