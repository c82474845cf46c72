// Pure scheduling arithmetic for the per-site poll loop: when the next poll is due, with jitter
// against thundering herds, and without drift (the next poll is planned from the previous plan,
// not from when the previous poll happened to finish).
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace flowdrift::scheduler {

using Millis = std::chrono::milliseconds;

// Random offset in [0, interval * jitter] (jitter clamped to [0, 1]).
Millis jitter_offset(Millis interval, double jitter, std::mt19937_64& rng);

struct NextPoll {
  std::chrono::steady_clock::time_point due;
  std::int64_t skipped = 0;  // whole intervals skipped because a poll overran them
};

// The poll planned at `planned` finished at `now`: the next one is planned one interval later;
// intervals already entirely in the past are skipped (and counted) instead of run back to back.
NextPoll next_poll(std::chrono::steady_clock::time_point planned,
                   std::chrono::steady_clock::time_point now, Millis interval);

// How much later than its interval a site is polled again after `failures` polls in a row
// failed (0: none): the interval doubled per failure after the first, capped at `cap`, with
// "equal jitter" (a random half of it), so that sites that failed together do not return
// together. The wait stays within [step / 2, step], step = min(interval * (2^(failures-1) - 1),
// cap). A `cap` of 0 turns backoff off.
Millis failure_backoff(Millis interval, int failures, Millis cap, std::mt19937_64& rng);

}  // namespace flowdrift::scheduler
