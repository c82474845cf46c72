#include <catch2/catch.hpp>

#include "scheduler/schedule.hpp"

using namespace flowdrift::scheduler;
using namespace std::chrono_literals;

TEST_CASE("next poll is planned from the previous plan, not from completion", "[unit][schedule]") {
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;
  auto n = next_poll(t0, t0 + 3s, 60s);
  CHECK(n.due == t0 + 60s);
  CHECK(n.skipped == 0);
}

TEST_CASE("overrunning polls skip whole intervals instead of bunching", "[unit][schedule]") {
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;
  auto n = next_poll(t0, t0 + 150s, 60s);  // planned+60 and planned+120 are both past
  CHECK(n.due == t0 + 180s);
  CHECK(n.skipped == 2);
  auto exact = next_poll(t0, t0 + 60s, 60s);  // due exactly now: skip it, run at +120
  CHECK(exact.skipped == 1);
  CHECK(exact.due == t0 + 120s);
}

TEST_CASE("jitter stays within its fraction of the interval and varies", "[unit][schedule]") {
  std::mt19937_64 rng(42);
  Millis lo = 10000s, hi = 0s;
  for (int i = 0; i < 1000; ++i) {
    auto j = jitter_offset(60s, 0.1, rng);
    lo = std::min(lo, j);
    hi = std::max(hi, j);
    REQUIRE(j >= 0s);
    REQUIRE(j <= 6s);
  }
  CHECK(hi - lo > 4s);  // actually spread, not a constant
  CHECK(jitter_offset(60s, 0.0, rng) == 0s);
}

TEST_CASE("failed polls in a row back off: doubling, capped, with half of it jittered",
          "[unit][schedule][backoff]") {
  std::mt19937_64 rng(7);
  // None for a complete poll or a first failure: the interval alone.
  CHECK(failure_backoff(60s, 0, 15min, rng) == 0s);
  CHECK(failure_backoff(60s, 1, 15min, rng) == 0s);
  // From the second failure: interval * (2^(n-1) - 1), of which a random half or more.
  auto within = [&](int failures, Millis lo, Millis hi) {
    for (int i = 0; i < 200; ++i) {
      const auto b = failure_backoff(60s, failures, 15min, rng);
      REQUIRE(b >= lo);
      REQUIRE(b <= hi);
    }
  };
  within(2, 30s, 60s);
  within(3, 90s, 180s);
  within(4, 210s, 420s);
  // Capped, and no overflow however long the site has been failing.
  within(10, 450s, 900s);
  within(1000, 450s, 900s);
  // Spread, so that sites that failed together do not return together.
  Millis lo = 1h, hi = 0s;
  for (int i = 0; i < 200; ++i) {
    const auto b = failure_backoff(60s, 3, 15min, rng);
    lo = std::min(lo, b);
    hi = std::max(hi, b);
  }
  CHECK(hi - lo > 60s);
  // A cap of 0 turns it off.
  CHECK(failure_backoff(60s, 5, 0s, rng) == 0s);
}
