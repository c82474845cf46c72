// Pure request-loop helpers: Retry-After parsing, status mapping, backoff, path encoding.
#include <catch2/catch.hpp>

#include "prism/retry.hpp"

using namespace flowdrift;
using namespace flowdrift::prism;
using namespace std::chrono_literals;

namespace {

// 1994-11-06 08:49:37 UTC, the RFC 7231 example date.
std::chrono::system_clock::time_point rfc_example() {
  using namespace std::chrono;
  return sys_days(year{1994} / November / 6) + 8h + 49min + 37s;
}

http::HttpResponse response(int status, std::string body = {}) {
  http::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("Retry-After delta-seconds", "[prism][retry_after]") {
  const auto now = std::chrono::system_clock::now();
  CHECK(parse_retry_after("1", now) == 1000ms);
  CHECK(parse_retry_after(" 120 ", now) == 120000ms);
  CHECK(parse_retry_after("0", now) == 0ms);
  CHECK(parse_retry_after("99999999999999999999", now) == std::chrono::milliseconds(7 * 24 * 3600 * 1000LL));
  CHECK_FALSE(parse_retry_after("", now));
  CHECK_FALSE(parse_retry_after("-1", now));
  CHECK_FALSE(parse_retry_after("1.5", now));
  CHECK_FALSE(parse_retry_after("soon", now));
}

TEST_CASE("Retry-After HTTP-date in all three forms", "[prism][retry_after]") {
  const auto now = rfc_example() - 30s;
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == 30000ms);
  CHECK(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now) == 30000ms);
  CHECK(parse_retry_after("Sun Nov  6 08:49:37 1994", now) == 30000ms);
  // In the past: retry now.
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", rfc_example()) == 0ms);
  CHECK_FALSE(parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", now));
  CHECK_FALSE(parse_retry_after("Sun, 31 Feb 1994 08:49:37 GMT", now));
  CHECK_FALSE(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT trailing", now));
}

TEST_CASE("HTTP status mapping", "[prism][status]") {
  const auto now = std::chrono::system_clock::now();
  CHECK_FALSE(error_for_status(response(200), "x", now));
  CHECK_FALSE(error_for_status(response(202), "x", now));
  struct Row {
    int status;
    ErrorReason reason;
    bool retryable;
  };
  for (auto row : {Row{401, ErrorReason::Auth, false}, Row{403, ErrorReason::Forbidden, false},
                   Row{410, ErrorReason::Gone, false}, Row{429, ErrorReason::RateLimited, true},
                   Row{500, ErrorReason::ServerError, true},
                   Row{502, ErrorReason::ServerError, true},
                   Row{503, ErrorReason::ServerError, true},
                   Row{504, ErrorReason::ServerError, true}, Row{404, ErrorReason::Http, false},
                   Row{409, ErrorReason::Http, false}, Row{501, ErrorReason::Http, false},
                   Row{302, ErrorReason::Http, false}}) {
    INFO(row.status);
    auto e = error_for_status(response(row.status), "rules/list offset 0", now);
    REQUIRE(e);
    CHECK(e->reason == row.reason);
    CHECK(e->retryable == row.retryable);
    CHECK(e->http_status == row.status);
    CHECK(e->message.rfind("rules/list offset 0: HTTP " + std::to_string(row.status), 0) == 0);
  }
}

TEST_CASE("error envelopes are quoted, Retry-After is kept", "[prism][status]") {
  const auto now = std::chrono::system_clock::now();
  auto v3 = error_for_status(
      response(410, R"({"code":410,"message_list":[{"reason":"GONE_ERROR","message":"gone"},)"
                    R"({"reason":"X","message":"y"}]})"),
      "w", now);
  REQUIRE(v3);
  CHECK(v3->message == "w: HTTP 410 (v3 API gone (Flow Next-Gen?)): GONE_ERROR: gone (+1 more)");
  auto old = error_for_status(
      response(500, R"({"status":"failure","code":500,"reason":"INTERNAL_ERROR","message":"m"})"),
      "w", now);
  REQUIRE(old);
  CHECK(old->message == "w: HTTP 500: INTERNAL_ERROR: m");
  auto plain = error_for_status(response(401, "<html>Unauthorized</html>"), "w", now);
  REQUIRE(plain);
  CHECK(plain->message == "w: HTTP 401 (authentication failed)");

  auto limited = response(429);
  limited.headers.push_back({"retry-after", "3"});
  auto e = error_for_status(limited, "w", now);
  REQUIRE(e);
  CHECK(e->retry_after == 3000ms);
  auto no_header = error_for_status(response(429), "w", now);
  REQUIRE(no_header);
  CHECK_FALSE(no_header->retry_after);
}

TEST_CASE("backoff is full jitter under an exponential ceiling", "[prism][backoff]") {
  std::mt19937_64 rng(42);
  for (int attempt = 0; attempt < 6; ++attempt) {
    const auto ceiling = std::chrono::milliseconds(100LL << attempt);
    std::chrono::milliseconds max_seen{0};
    for (int i = 0; i < 200; ++i) {
      auto d = backoff_delay(100ms, attempt, 60000ms, rng);
      CHECK(d >= 0ms);
      CHECK(d <= ceiling);
      max_seen = std::max(max_seen, d);
    }
    // Jitter spreads over the whole range, not just the bottom of it.
    CHECK(max_seen > ceiling / 2);
  }
  for (int i = 0; i < 50; ++i) CHECK(backoff_delay(500ms, 40, 2000ms, rng) <= 2000ms);
  CHECK(backoff_delay(0ms, 3, 2000ms, rng) == 0ms);
}
