// PollGate: at most `limit` site polls in flight across the daemon (config `polling.
// max_concurrent`), so that fifty sites due at once do not all hold a page of JSON and a TLS
// session at the same moment. A collector waits for a slot before it polls, first come first
// served, on its own timer (which stop() and poll_now() cancel); the slot is released when the
// poll has been stored. Single-threaded: every call on the event loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>

#include "http/asio.hpp"

namespace flowdrift::scheduler {

class PollGate {
 public:
  explicit PollGate(std::size_t limit) : limit_(limit < 1 ? 1 : limit) {}
  PollGate(const PollGate&) = delete;
  PollGate& operator=(const PollGate&) = delete;

  // A reload: a larger limit admits waiters at once; a smaller one admits none until enough
  // polls in flight have finished.
  void set_limit(std::size_t limit);
  std::size_t limit() const { return limit_; }
  std::size_t in_flight() const { return in_flight_; }
  std::size_t waiting() const { return waiters_.size(); }
  // Told every change of in_flight() or waiting() (the metrics).
  std::function<void(const PollGate&)> on_change;

  // One waiter: its timer is cancelled to wake it, with `granted` set when it got a slot.
  struct Waiter {
    asio::steady_timer* timer = nullptr;
    bool granted = false;
  };
  // Takes a slot now if one is free; else queues `w` (which must stay alive until granted or
  // withdrawn). Returns whether the slot is taken.
  bool try_enter(Waiter* w);
  // A queued waiter that gives up (stopping): out of the queue. If it was granted meanwhile,
  // its slot is released.
  void withdraw(Waiter* w);
  // A poll finished: its slot goes to the first waiter, or back to the pool.
  void release();
  // The daemon is going: waiters are forgotten (their frames go with the event loop) and
  // nothing is admitted or reported any more.
  void close();

 private:
  void admit();
  void changed();

  std::size_t limit_;
  std::size_t in_flight_ = 0;
  std::deque<Waiter*> waiters_;
  bool closed_ = false;
};

// A slot held for one poll; released when it goes (also when the poll throws).
class PollSlot {
 public:
  PollSlot() = default;
  explicit PollSlot(PollGate* gate) : gate_(gate) {}
  PollSlot(PollSlot&& o) noexcept : gate_(o.gate_) { o.gate_ = nullptr; }
  PollSlot& operator=(PollSlot&&) = delete;
  ~PollSlot() {
    if (gate_) gate_->release();
  }

 private:
  PollGate* gate_ = nullptr;
};

}  // namespace flowdrift::scheduler
