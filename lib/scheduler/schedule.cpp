#include "scheduler/schedule.hpp"

#include <algorithm>

namespace flowdrift::scheduler {

Millis jitter_offset(Millis interval, double jitter, std::mt19937_64& rng) {
  jitter = std::clamp(jitter, 0.0, 1.0);
  const auto span = static_cast<std::int64_t>(static_cast<double>(interval.count()) * jitter);
  if (span <= 0) return Millis{0};
  std::uniform_int_distribution<std::int64_t> dist(0, span);
  return Millis{dist(rng)};
}

NextPoll next_poll(std::chrono::steady_clock::time_point planned,
                   std::chrono::steady_clock::time_point now, Millis interval) {
  NextPoll out;
  out.due = planned + interval;
  if (interval.count() <= 0) {
    out.due = now;
    return out;
  }
  if (out.due <= now) {
    const auto behind = std::chrono::duration_cast<Millis>(now - out.due);
    const auto missed = behind.count() / interval.count() + 1;
    out.skipped = missed;
    out.due += interval * missed;
  }
  return out;
}

Millis failure_backoff(Millis interval, int failures, Millis cap, std::mt19937_64& rng) {
  if (failures <= 1 || cap.count() <= 0 || interval.count() <= 0) return Millis{0};
  // interval * (2^(failures-1) - 1), without overflow: once past the cap, the cap.
  std::int64_t step = 0;
  std::int64_t factor = 1;
  for (int i = 1; i < failures && step < cap.count(); ++i) {
    step += interval.count() * factor;
    factor *= 2;
  }
  step = std::min(step, cap.count());
  std::uniform_int_distribution<std::int64_t> half(step / 2, step);
  return Millis{half(rng)};
}

}  // namespace flowdrift::scheduler
