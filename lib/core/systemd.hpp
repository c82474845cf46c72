// systemd notification protocol (sd_notify): READY/STATUS/STOPPING/WATCHDOG. No-ops when not
// started by systemd (NOTIFY_SOCKET unset).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace flowdrift::systemd {

void notify(const std::string& state);  // e.g. "READY=1\nSTATUS=polling 2 sites"
// The watchdog interval systemd expects pings within, if WatchdogSec is set for this process.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace flowdrift::systemd
