// Unix milliseconds as text for people and JSON reports (flowdriftctl's status, drift, history
// and explain outputs).
#pragma once

#include <cstdint>
#include <string>

namespace flowdrift {

// Unix ms as UTC "2026-11-25T10:00:00Z" (RFC 3339, whole seconds: the milliseconds are cut).
std::string format_time(std::int64_t unix_ms);
// The same with milliseconds, "2026-11-25T10:00:00.250Z" (flowdriftd's JSON API).
std::string format_time_ms(std::int64_t unix_ms);

}  // namespace flowdrift
