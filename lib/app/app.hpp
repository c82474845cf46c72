// App: the daemon's composition root. Owns the event loop, the validated config, the store,
// one collector per site, the pair tracker, the metrics and the HTTP server; handles signals
// (SIGTERM/SIGINT: graceful stop) and systemd notification. flowdriftd's main() only parses arguments and calls into this.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/pairs.hpp"
#include "config/config.hpp"
#include "http/asio.hpp"
#include "http/server.hpp"
#include "metrics/metrics.hpp"
#include <boost/asio/signal_set.hpp>
#include "scheduler/collector.hpp"
#include "store/store.hpp"

namespace flowdrift::app {

class App {
 public:
  // Opens (and migrates) the store, binds the HTTP listener and prepares a collector per site.
  // Throws config::ConfigError (unreadable credentials), store::StoreError, or
  // std::system_error (listen address unusable); nothing is polled yet.
  explicit App(config::Config config);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Starts collectors and signal handling, tells systemd READY, and runs the event loop on the
  // calling thread until stop() or SIGTERM/SIGINT. Returns the process exit code.
  int run();
  // Graceful stop: no new polls; polls in flight get `grace` to finish. Thread-safe.
  void stop();
  // One poll of every site, concurrently, with everything a scheduled poll does (store, pair
  // comparison, metrics); returns when all have finished. For benchmarks and tests; run it on io().
  awaitable<void> poll_all_once();

  asio::io_context& io() { return io_; }
  store::Store& store() { return *store_; }
  metrics::Metrics& metrics() { return *metrics_; }
  std::uint16_t http_port() const { return server_->port(); }
  const config::Config& config() const { return config_; }

  std::chrono::milliseconds shutdown_grace{10000};

 private:
  static awaitable<void> signal_loop(App* self);
  static awaitable<void> wait_for_collectors(App* self);
  void begin_shutdown(const char* why);
  void on_poll(const scheduler::PollReport& report);
  std::string not_ready_reason() const;

  config::Config config_;
  asio::io_context io_{1};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<metrics::Metrics> metrics_;
  std::unique_ptr<PairTracker> tracker_;
  std::unique_ptr<http::HttpServer> server_;
  std::vector<std::unique_ptr<scheduler::Collector>> collectors_;
  std::map<std::string, bool> polled_;  // site -> polled at least once (readiness)
  asio::steady_timer grace_timer_;
  asio::signal_set signals_;
  bool stopping_ = false;
};

}  // namespace flowdrift::app
