#include "scheduler/gate.hpp"

#include <algorithm>

namespace flowdrift::scheduler {

void PollGate::set_limit(std::size_t limit) {
  limit_ = limit < 1 ? 1 : limit;
  admit();
  changed();
}

bool PollGate::try_enter(Waiter* w) {
  if (waiters_.empty() && in_flight_ < limit_) {
    ++in_flight_;
    w->granted = true;
    changed();
    return true;
  }
  if (std::find(waiters_.begin(), waiters_.end(), w) == waiters_.end()) {
    waiters_.push_back(w);
    changed();
  }
  return false;
}

void PollGate::withdraw(Waiter* w) {
  if (closed_) return;
  auto it = std::find(waiters_.begin(), waiters_.end(), w);
  if (it != waiters_.end()) waiters_.erase(it);
  if (w->granted) {
    w->granted = false;
    release();
    return;
  }
  changed();
}

void PollGate::close() {
  closed_ = true;
  waiters_.clear();
  on_change = nullptr;
}

void PollGate::release() {
  if (closed_) return;
  if (in_flight_ > 0) --in_flight_;
  admit();
  changed();
}

// Slots free while there are waiters: each goes to the oldest, woken by its timer.
void PollGate::admit() {
  while (in_flight_ < limit_ && !waiters_.empty()) {
    Waiter* w = waiters_.front();
    waiters_.pop_front();
    ++in_flight_;
    w->granted = true;
    w->timer->cancel();
  }
}

void PollGate::changed() {
  if (on_change) on_change(*this);
}

}  // namespace flowdrift::scheduler
