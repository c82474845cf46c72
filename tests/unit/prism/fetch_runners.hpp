// Runners for the lib/prism fetches in unit tests: the options the tests poll with, and
// fetch_v3_site / fetch_v4_site / fetch_*_snapshot run to completion on a fresh io_context
// against any HttpTransport (a SimulatedPc's, a ScriptedTransport), by one template.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>

#include <nlohmann/json.hpp>

#include "http/types.hpp"
#include "pcsim/simulator.hpp"
#include "prism/v3_client.hpp"
#include "prism/v4_client.hpp"

namespace flowdrift::test {

inline constexpr const char* kPassword = "s3cr3t-Pa55word!";

// A simulated PC that accepts test_options()' credentials.
inline pcsim::SimulatorOptions pc_options() {
  pcsim::SimulatorOptions o;
  o.password = kPassword;
  o.instance_seed = 16;
  return o;
}

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

inline const prism::V4Versions kAllV4_3{"v4.3", "v4.3", "v4.3"};

// Sets the simulated PC's VMs and what protects them (PUT /_pcsim/coverage, pcsim/coverage.cpp).
inline void set_coverage(pcsim::Simulator& sim, const nlohmann::json& doc) {
  http::HttpRequest put;
  put.method = "PUT";
  put.target = "/_pcsim/coverage";
  put.body = doc.dump();
  put.headers.push_back({"Authorization", http::basic_auth_header("admin", kPassword)});
  REQUIRE(sim.handle(put).response.status == 200);
}

// Options as the collector polls a site it has seen serve v4.3: no version probes.
inline prism::FetchOptions v4_test_options() {
  auto o = test_options();
  o.page_size = 100;
  o.v4_versions = kAllV4_3;
  return o;
}

// What one fetch gave: its result (always set once run), its stats and how long it took.
template <class Data>
struct Outcome {
  std::optional<Result<Data>> result;
  prism::FetchStats stats;
  std::chrono::milliseconds elapsed{0};
};
using FetchOutcome = Outcome<policy::V3SiteData>;
using V4FetchOutcome = Outcome<policy::V4SiteData>;
using SnapshotOutcome = Outcome<policy::Snapshot>;

// One of lib/prism's fetches: fetch_v3_site, fetch_v4_site, fetch_v3/v4_snapshot.
template <class Data>
using FetchFunction = awaitable<Result<Data>> (*)(http::HttpTransport&, prism::FetchOptions,
                                                  prism::FetchStats&);

template <class Data>
awaitable<void> run_into(FetchFunction<Data> fetch_fn, http::HttpTransport* transport,
                         prism::FetchOptions options, Outcome<Data>* out) {
  auto r = co_await fetch_fn(*transport, std::move(options), out->stats);
  out->result.emplace(std::move(r));
}

// Runs `fetch_fn` to completion on a fresh io_context (bounded by a 30 s safety net).
template <class Data>
Outcome<Data> run_fetch(FetchFunction<Data> fetch_fn, http::HttpTransport& transport,
                        prism::FetchOptions options) {
  Outcome<Data> out;
  asio::io_context io;
  const auto t0 = std::chrono::steady_clock::now();
  asio::co_spawn(io, run_into(fetch_fn, &transport, std::move(options), &out),
                 [](std::exception_ptr e) {
                   if (e) std::rethrow_exception(e);
                 });
  io.run_for(std::chrono::seconds(30));
  out.elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  REQUIRE(out.result.has_value());
  return out;
}

// The error a fetch failed with (the test stops if it did not fail).
template <class Data>
Error failure(const Outcome<Data>& out) {
  REQUIRE_FALSE(out.result->has_value());
  return out.result->error();
}

// The error a fetch failed with, checked to be of `reason`.
template <class Data>
Error failure(const Outcome<Data>& out, ErrorReason reason) {
  Error e = failure(out);
  CHECK(e.reason == reason);
  return e;
}

inline FetchOutcome fetch(http::HttpTransport& transport, prism::FetchOptions options) {
  return run_fetch(&prism::fetch_v3_site, transport, std::move(options));
}

inline V4FetchOutcome fetch_v4(http::HttpTransport& transport, prism::FetchOptions options) {
  return run_fetch(&prism::fetch_v4_site, transport, std::move(options));
}

// fetch_v4_snapshot (v4) or fetch_v3_snapshot.
inline SnapshotOutcome fetch_snapshot(http::HttpTransport& transport, prism::FetchOptions options,
                                      bool v4) {
  return run_fetch(v4 ? &prism::fetch_v4_snapshot : &prism::fetch_v3_snapshot, transport,
                   std::move(options));
}

}  // namespace flowdrift::test
