// Text forms of the config file's durations ("250ms", "30s", "5m", "1h"; a bare integer means
// seconds) and byte sizes (integer bytes or "512KiB", "64MiB", "1GiB"), both ways.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/result.hpp"

namespace flowdrift::config {

// Parses a non-negative duration. The error message says what is wrong with `text` (without
// repeating it), e.g. "unknown unit 'x' (use ms, s, m or h)".
Result<Millis> parse_duration(std::string_view text);
// Largest unit that represents `d` exactly: 90000ms -> "90s", 120000ms -> "2m", 1500ms -> "1500ms".
std::string format_duration(Millis d);

// Parses a byte count: digits with an optional KiB, MiB or GiB suffix (powers of 1024).
Result<std::uint64_t> parse_size(std::string_view text);
// Largest binary unit that represents `bytes` exactly: 67108864 -> "64MiB", 1000 -> "1000".
std::string format_size(std::uint64_t bytes);

}  // namespace flowdrift::config
