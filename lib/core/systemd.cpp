#include "core/systemd.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>

namespace flowdrift::systemd {

void notify(const std::string& state) { sd_notify(0, state.c_str()); }

std::optional<std::chrono::microseconds> watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    return std::chrono::microseconds(static_cast<std::int64_t>(usec));
  }
  return std::nullopt;
}

}  // namespace flowdrift::systemd
