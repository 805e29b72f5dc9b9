// WriteGate: the one owner of the repository's mutation locks, of the reader pins, and of
// the work that must run under the write lock but may be asked for from any thread.
//
// Locks (ranks and the full order: rp/lock_order.h):
//   - create_mu: held by a create or a rollback for its whole duration, so they run one at
//     a time (the store allows one WriteTx at a time) while everything else goes on.
//   - write_mu: held for each store mutation. A create takes it only to begin its WriteTx
//     and to commit (rp/rp_creation.h); deletes, renames, clones commit in between, and the
//     store frees nothing while the WriteTx is open (store.h, "GC gate").
//
// Changes: a mutation reports what it committed to its WriteLock (Post); the lock delivers
// them to the change listener after write_mu is released, so the listener may take the
// mount's locks without ever nesting them inside ours.
//
// Chores: a reader closing the last handle of a deleted RP, or a clone disk that became
// hydrated, leaves work that needs write_mu (release the RP's data; drop the clone's hold
// on the store). They must not wait for write_mu (it may be held by a long verify), so the
// work is queued and run by whoever holds write_mu when it is released, or at once if it
// is free (try_lock, which cannot deadlock and is not order-checked).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "rp/lock_order.h"
#include "rp/reader_pins.h"
#include "rpfs/repository.h"
#include "util/ordered_mutex.h"

namespace rpfs::rp {

class WriteGate {
 public:
  // Releases the data of deleted RP `rp_id` once its last reader has gone; run with
  // write_mu held.
  using ReleaseFn = std::function<void(uint64_t rp_id)>;
  explicit WriteGate(ReleaseFn release_deferred) : release_deferred_(std::move(release_deferred)) {}
  WriteGate(const WriteGate&) = delete;
  WriteGate& operator=(const WriteGate&) = delete;

  // Holds write_mu. On destruction it releases write_mu, then delivers the changes posted
  // to it, then runs the chores queued meanwhile.
  class WriteLock {
   public:
    explicit WriteLock(WriteGate* gate) : gate_(gate), lock_(gate->write_mu_) {}
    WriteLock(WriteLock&& other) noexcept = default;
    ~WriteLock();
    // A committed namespace change, for the listener once write_mu is released.
    void Post(StoreChange::Kind kind, std::string vm, std::string rp = {}, uint64_t rp_id = 0,
              std::string new_name = {}) {
      changes_.push_back(
          StoreChange{kind, std::move(vm), std::move(rp), std::move(new_name), rp_id});
    }

   private:
    WriteGate* gate_;
    std::unique_lock<OrderedMutex> lock_;
    std::vector<StoreChange> changes_;
  };
  WriteLock LockForWrite() { return WriteLock(this); }
  // Held by a create or a rollback throughout.
  std::unique_lock<OrderedMutex> LockForCreate() { return std::unique_lock(create_mu_); }
  bool WriteLockHeld() const { return write_mu_.HeldByThisThread(); }

  // Pins RP `rp_id` for the lifetime of the returned guard: a delete meanwhile defers the
  // release of its data to the last guard's destruction (ReaderPins).
  std::shared_ptr<void> Pin(uint64_t rp_id);
  ReaderPins& pins() { return pins_; }

  // Queues `chore` to run with write_mu held, by this thread if write_mu is free now,
  // otherwise by its holder when it releases it. Chores must not post changes.
  void Defer(std::function<void()> chore);
  // Runs every queued chore and releasable RP if write_mu is free (else its holder will).
  void RunChores();

  // Replaces the change listener; nullptr removes it and waits for a call in progress.
  void SetChangeListener(ChangeListener listener);

 private:
  void Deliver(const std::vector<StoreChange>& changes);
  bool HasChores();

  const ReleaseFn release_deferred_;
  OrderedMutex create_mu_{kRankCreate, "WriteGate::create_mu"};
  OrderedMutex listener_mu_{kRankListener, "WriteGate::listener_mu"};
  mutable OrderedMutex write_mu_{kRankWrite, "WriteGate::write_mu"};
  ReaderPins pins_;
  ChangeListener listener_;  // guarded by listener_mu_
  std::mutex chores_mu_;     // leaf: guards chores_ only
  std::vector<std::function<void()>> chores_;
};

}  // namespace rpfs::rp
