// Runners for the lib/prism fetches in unit tests: the options the tests poll with, and
// fetch_v3_site / fetch_v4_site / fetch_*_snapshot run to completion on a fresh io_context
// against any HttpTransport (a SimulatedPc's, a ScriptedTransport).
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>

#include "prism/v3_client.hpp"
#include "prism/v4_client.hpp"

namespace flowdrift::test {

inline constexpr const char* kPassword = "s3cr3t-Pa55word!";

inline prism::FetchOptions test_options() {
  prism::FetchOptions o;
  o.username = "admin";
  o.password = kPassword;
  o.page_size = 500;
  o.request_timeout = std::chrono::milliseconds(5000);
  o.poll_timeout = std::chrono::milliseconds(10000);
  o.retries = 3;
  o.retry_backoff = std::chrono::milliseconds(1);
  return o;
}

struct FetchOutcome {
  std::optional<Result<policy::V3SiteData>> result;
  prism::FetchStats stats;
  std::chrono::milliseconds elapsed{0};
};

inline awaitable<void> run_fetch(http::HttpTransport* transport, prism::FetchOptions options,
                                 FetchOutcome* out) {
  auto r = co_await prism::fetch_v3_site(*transport, std::move(options), out->stats);
  out->result.emplace(std::move(r));
}

// Runs fetch_v3_site to completion on a fresh io_context (bounded by a 30 s safety net).
inline FetchOutcome fetch(http::HttpTransport& transport, prism::FetchOptions options) {
  FetchOutcome out;
  asio::io_context io;
  const auto t0 = std::chrono::steady_clock::now();
  asio::co_spawn(io, run_fetch(&transport, std::move(options), &out),
                 [](std::exception_ptr e) {
                   if (e) std::rethrow_exception(e);
                 });
  io.run_for(std::chrono::seconds(30));
  out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t0);
  REQUIRE(out.result.has_value());
  return out;
}

inline const prism::V4Versions kAllV4_3{"v4.3", "v4.3", "v4.3"};

// Options as the collector polls a site it has seen serve v4.3: no version probes.
inline prism::FetchOptions v4_test_options() {
  auto o = test_options();
  o.page_size = 100;
  o.v4_versions = kAllV4_3;
  return o;
}

struct V4FetchOutcome {
  std::optional<Result<policy::V4SiteData>> result;
  prism::FetchStats stats;
  std::chrono::milliseconds elapsed{0};
};

inline awaitable<void> run_v4_fetch(http::HttpTransport* transport, prism::FetchOptions options,
                                    V4FetchOutcome* out) {
  auto r = co_await prism::fetch_v4_site(*transport, std::move(options), out->stats);
  out->result.emplace(std::move(r));
}

// Runs fetch_v4_site to completion on a fresh io_context (bounded by a 30 s safety net).
inline V4FetchOutcome fetch_v4(http::HttpTransport& transport, prism::FetchOptions options) {
  V4FetchOutcome out;
  asio::io_context io;
  const auto t0 = std::chrono::steady_clock::now();
  asio::co_spawn(io, run_v4_fetch(&transport, std::move(options), &out), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run_for(std::chrono::seconds(30));
  out.elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  REQUIRE(out.result.has_value());
  return out;
}

struct SnapshotOutcome {
  std::optional<Result<policy::Snapshot>> result;
  prism::FetchStats stats;
};

inline awaitable<void> run_snapshot(http::HttpTransport* transport, prism::FetchOptions options,
                                    bool v4, SnapshotOutcome* out) {
  // (No co_await inside a conditional expression: g++ 12 miscompiles it.)
  if (v4) {
    auto r = co_await prism::fetch_v4_snapshot(*transport, std::move(options), out->stats);
    out->result.emplace(std::move(r));
  } else {
    auto r = co_await prism::fetch_v3_snapshot(*transport, std::move(options), out->stats);
    out->result.emplace(std::move(r));
  }
}

// Runs fetch_v4_snapshot (v4) or fetch_v3_snapshot to completion on a fresh io_context.
inline SnapshotOutcome fetch_snapshot(http::HttpTransport& transport, prism::FetchOptions options,
                                      bool v4) {
  SnapshotOutcome out;
  asio::io_context io;
  asio::co_spawn(io, run_snapshot(&transport, std::move(options), v4, &out),
                 [](std::exception_ptr e) {
                   if (e) std::rethrow_exception(e);
                 });
  io.run_for(std::chrono::seconds(30));
  REQUIRE(out.result.has_value());
  return out;
}

}  // namespace flowdrift::test
