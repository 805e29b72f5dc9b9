#include "rp/write_gate.h"

#include <utility>

namespace rpfs::rp {

WriteGate::WriteLock::~WriteLock() {
  if (!lock_.owns_lock()) return;  // moved from
  lock_.unlock();
  // Delivered outside write_mu: the listener takes the mount's locks (lock_order.h).
  gate_->Deliver(changes_);
  gate_->RunChores();
}

void WriteGate::Deliver(const std::vector<StoreChange>& changes) {
  if (changes.empty()) return;
  std::lock_guard lock(listener_mu_);
  if (!listener_) return;
  for (const StoreChange& c : changes) listener_(c);
}

void WriteGate::SetChangeListener(ChangeListener listener) {
  std::lock_guard lock(listener_mu_);
  listener_ = std::move(listener);
}

std::shared_ptr<void> WriteGate::Pin(uint64_t rp_id) {
  pins_.Acquire(rp_id);
  return std::shared_ptr<void>(nullptr, [this, rp_id](void*) {
    if (pins_.Release(rp_id)) RunChores();
  });
}

void WriteGate::Defer(std::function<void()> chore) {
  {
    std::lock_guard lock(chores_mu_);
    chores_.push_back(std::move(chore));
  }
  RunChores();
}

bool WriteGate::HasChores() {
  if (pins_.HasReleasable()) return true;
  std::lock_guard lock(chores_mu_);
  return !chores_.empty();
}

void WriteGate::RunChores() {
  // Why the loop is enough: a thread that queues work and fails the try_lock does so
  // while another thread holds write_mu; that holder checks HasChores() after its unlock,
  // so it sees the work and takes the lock to run it.
  while (HasChores()) {
    std::unique_lock lock(write_mu_, std::try_to_lock);
    if (!lock.owns_lock()) return;
    for (uint64_t id : pins_.TakeReleasable()) release_deferred_(id);
    std::vector<std::function<void()>> chores;
    {
      std::lock_guard l(chores_mu_);
      chores.swap(chores_);
    }
    for (auto& chore : chores) chore();
  }
}

}  // namespace rpfs::rp
