// In-process integration harness: pcsim sites served over real HTTPS (a generated CA per site)
// on 127.0.0.1 with free ports, and helpers that run a coroutine on the test's io_context
// under a hard deadline so that a hang fails the test instead of blocking the suite.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "http/asio.hpp"
#include "http/server.hpp"
#include "pcsim/simulator.hpp"
#include "support/selfsigned.hpp"
#include "support/temp_dir.hpp"

namespace flowdrift::test {

inline constexpr const char* kSimPassword = "s3cret-Pa55";

struct SimSite {
  SimSite(asio::io_context& io, const std::string& dir, const pcsim::SiteData& data,
          const std::string& name)
      : pki(generate_test_pki(dir, name)),
        sim(data, pcsim::SimulatorOptions{"admin", kSimPassword, std::nullopt, false, {}}),
        server(io.get_executor(),
               http::ServerOptions{"127.0.0.1", 0, http::TlsFiles{pki.cert_file, pki.key_file}},
               [this](const http::HttpRequest& r) { return sim.handle(r); }) {
    server.start();
  }
  ~SimSite() { server.stop(); }

  // A site config pointing at this simulator, verifying its certificate with its CA.
  config::SiteConfig site_config(const std::string& name) const {
    config::SiteConfig s;
    s.name = name;
    s.url = "https://127.0.0.1:" + std::to_string(server.port());
    s.api = config::Api::V3;  // the fault cases name v3 endpoints; v4 tests set their own
    s.credentials.username = "admin";
    s.credentials.password_env = "UNUSED_IN_PROCESS";
    s.ca_file = pki.ca_file;
    s.interval = std::chrono::seconds(60);
    s.connect_timeout = std::chrono::seconds(2);
    s.request_timeout = std::chrono::seconds(5);
    s.poll_timeout = std::chrono::seconds(20);
    s.retries = 1;
    s.retry_backoff = std::chrono::milliseconds(10);
    s.page_size = 500;
    return s;
  }

  GeneratedPki pki;
  pcsim::Simulator sim;
  http::HttpServer server;
};

// Runs `aw` on `io` (which also serves the simulators) until it completes or `limit` passes.
template <class T>
T run_until(asio::io_context& io, awaitable<T> aw,
            std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  std::optional<T> result;
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result.emplace(std::move(value));
    done = true;
    io.stop();
  });
  asio::steady_timer deadline(io);
  deadline.expires_after(limit);
  deadline.async_wait([&](boost::system::error_code ec) {
    if (!ec) io.stop();
  });
  io.restart();
  io.run();
  deadline.cancel();
  if (error) std::rethrow_exception(error);
  REQUIRE(done);  // otherwise the deadline passed: the operation hung
  return std::move(*result);
}

}  // namespace flowdrift::test
