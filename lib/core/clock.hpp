// Time sources: system time (unix seconds) for anything stored or exported, the steady clock
// for intervals and deadlines.
#pragma once

#include <chrono>
#include <cstdint>

namespace flowdrift {

using SteadyClock = std::chrono::steady_clock;
using SteadyTime = SteadyClock::time_point;

// Unix time in seconds (UTC), as stored in the database and exported in metrics.
inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Unix time in milliseconds, for sub-second precision where it matters (poll rows).
inline std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace flowdrift
