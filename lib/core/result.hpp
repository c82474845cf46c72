// Result<T> and Error: the outcome of every operation that can fail for reasons outside the
// program (network, remote API, input files). Shaped like C++23 std::expected so a later move
// is mechanical. Exceptions remain for start-up, configuration and programmer errors.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace flowdrift {

// Bounded set of failure reasons: each one is a value of the `reason` metric label, so adding
// one is a deliberate change (docs/metrics.md lists them).
enum class ErrorReason {
  Timeout,      // connect, request or total deadline passed
  Connect,      // TCP connect refused / unreachable / reset before a response
  Tls,          // handshake or certificate verification failed
  Auth,         // HTTP 401
  Forbidden,    // HTTP 403
  Gone,         // HTTP 410 (v3 API disabled once Flow Next-Gen is on)
  RateLimited,  // HTTP 429
  ServerError,  // HTTP 5xx
  Http,         // any other unexpected HTTP status
  Malformed,    // body did not parse or did not have the expected shape
  Truncated,    // fewer entities than the server's total, or a body cut short
  TotalMoved,   // the server's total changed between pages
  EmptyList,    // an empty list from a site that had policies before
  TooLarge,     // response larger than the configured cap
  Store,        // database error
  Other,
};

constexpr std::string_view to_string(ErrorReason r) {
  switch (r) {
    case ErrorReason::Timeout: return "timeout";
    case ErrorReason::Connect: return "connect";
    case ErrorReason::Tls: return "tls";
    case ErrorReason::Auth: return "auth";
    case ErrorReason::Forbidden: return "forbidden";
    case ErrorReason::Gone: return "gone";
    case ErrorReason::RateLimited: return "rate_limited";
    case ErrorReason::ServerError: return "server_error";
    case ErrorReason::Http: return "http";
    case ErrorReason::Malformed: return "malformed";
    case ErrorReason::Truncated: return "truncated";
    case ErrorReason::TotalMoved: return "total_moved";
    case ErrorReason::EmptyList: return "empty_list";
    case ErrorReason::TooLarge: return "too_large";
    case ErrorReason::Store: return "store";
    case ErrorReason::Other: return "other";
  }
  return "other";
}

inline constexpr ErrorReason kAllErrorReasons[] = {
    ErrorReason::Timeout,   ErrorReason::Connect,    ErrorReason::Tls,
    ErrorReason::Auth,      ErrorReason::Forbidden,  ErrorReason::Gone,
    ErrorReason::RateLimited, ErrorReason::ServerError, ErrorReason::Http,
    ErrorReason::Malformed, ErrorReason::Truncated,  ErrorReason::TotalMoved,
    ErrorReason::EmptyList, ErrorReason::TooLarge,   ErrorReason::Store,
    ErrorReason::Other};

struct Error {
  ErrorReason reason = ErrorReason::Other;
  std::string message;  // human readable; never contains credentials
  int http_status = 0;  // 0 when no HTTP response was received
  bool retryable = false;
  std::optional<std::chrono::milliseconds> retry_after;  // from a Retry-After header
};

inline Error make_error(ErrorReason reason, std::string message, bool retryable = false) {
  Error e;
  e.reason = reason;
  e.message = std::move(message);
  e.retryable = retryable;
  return e;
}

// Marker so `return Unexpected{err};` reads like std::unexpected.
struct Unexpected {
  Error error;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}          // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}      // NOLINT
  Result(Unexpected u) : v_(std::in_place_index<1>, std::move(u.error)) {}   // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }
  Error& error() { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}      // NOLINT
  Result(Unexpected u) : e_(std::move(u.error)) {}   // NOLINT
  bool has_value() const { return !e_.has_value(); }
  explicit operator bool() const { return has_value(); }
  const Error& error() const { return *e_; }
  Error& error() { return *e_; }

 private:
  std::optional<Error> e_;
};

}  // namespace flowdrift
