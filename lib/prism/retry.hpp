// Pure helpers for the request loop of lib/prism: how an HTTP status maps to an Error, how
// long Retry-After asks us to wait, and the jittered exponential backoff. No I/O.
#pragma once

#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "http/types.hpp"

namespace flowdrift::prism {

// Retry-After as delta-seconds or an HTTP-date (IMF-fixdate, RFC 850 or asctime), relative to
// `now`; a date in the past is 0. nullopt if the value is neither.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

// Error for a non-2xx response (nullopt for 2xx). `where` (endpoint and offset) starts the
// message; the v3 error envelope's reason/message are appended when the body carries one.
// 429 and 500/502/503/504 are retryable; 429/503 carry Retry-After when the header parses.
std::optional<Error> error_for_status(const http::HttpResponse& response, std::string_view where,
                                      std::chrono::system_clock::time_point now);

// Full jitter: uniform in [0, base * 2^attempt] (attempt counts from 0), capped at `cap`.
std::chrono::milliseconds backoff_delay(std::chrono::milliseconds base, int attempt,
                                        std::chrono::milliseconds cap, std::mt19937_64& rng);


}  // namespace flowdrift::prism
