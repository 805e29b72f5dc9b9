#include "rp/reader_pins.h"

#include <algorithm>
#include <utility>

namespace rpfs::rp {

void ReaderPins::Acquire(uint64_t rp_id) {
  std::lock_guard lock(mu_);
  readers_[rp_id]++;
}

bool ReaderPins::Release(uint64_t rp_id) {
  std::lock_guard lock(mu_);
  auto it = readers_.find(rp_id);
  if (it == readers_.end()) return false;
  if (--it->second > 0) return false;
  readers_.erase(it);
  // The last reader of an RP deleted meanwhile: its data may go now, but not from here
  // (this runs in a reader's close, which must not wait for write_mu), so it is queued for
  // the holder of write_mu (WriteGate::RunChores).
  if (deferred_.erase(rp_id) == 0) return false;
  releasable_.push_back(rp_id);
  return true;
}

// Runs with mu_ held by the scope, so the answer stays true until the delete commits.
bool ReaderPins::DeleteScope::DeferIfPinned(uint64_t rp_id) {
  if (pins_->readers_.count(rp_id) == 0) return false;
  pins_->deferred_.insert(rp_id);
  return true;
}

void ReaderPins::DeleteScope::CancelDeferred(uint64_t rp_id) {
  pins_->deferred_.erase(rp_id);
  auto& r = pins_->releasable_;
  r.erase(std::remove(r.begin(), r.end(), rp_id), r.end());
}

bool ReaderPins::HasReleasable() const {
  std::lock_guard lock(mu_);
  return !releasable_.empty();
}

std::vector<uint64_t> ReaderPins::TakeReleasable() {
  std::lock_guard lock(mu_);
  return std::exchange(releasable_, {});
}

size_t ReaderPins::readers(uint64_t rp_id) const {
  std::lock_guard lock(mu_);
  auto it = readers_.find(rp_id);
  return it == readers_.end() ? 0 : it->second;
}

}  // namespace rpfs::rp
