// App: the daemon's composition root. Owns the event loop, the validated config, the store,
// one collector per site, the pair tracker, the metrics and the HTTP server; handles signals
// (SIGTERM/SIGINT: graceful stop) and systemd notification. flowdriftd's main() only parses arguments and calls into this.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/api.hpp"
#include "app/pairs.hpp"
#include "config/config.hpp"
#include "http/asio.hpp"
#include "http/server.hpp"
#include "http/web_config.hpp"
#include "metrics/metrics.hpp"
#include <boost/asio/signal_set.hpp>
#include "scheduler/collector.hpp"
#include "store/store.hpp"

namespace flowdrift::app {

// The HTTP listener's protection (flowdriftd --web.config.file, --web.read-timeout;
// docs/security.md): TLS, basic auth and response headers from the web config, and the time a
// client has to send one whole request.
struct WebOptions {
  std::optional<http::WebConfig> config;  // none: plain HTTP, no authentication
  std::chrono::milliseconds read_timeout{10000};
};

class App {
 public:
  // Opens (and migrates) the store, binds the HTTP listener and prepares a collector per site.
  // Throws config::ConfigError (unreadable credentials), store::StoreError, or
  // std::system_error (listen address unusable); nothing is polled yet.
  explicit App(config::Config config, WebOptions web = {});
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Starts collectors and signal handling, tells systemd READY (the config is loaded, the store
  // open and the listener bound by then), pings the systemd watchdog from the event loop if
  // WatchdogSec= is set, and runs the loop on the calling thread until stop() or SIGTERM/SIGINT.
  // Returns the process exit code.
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
  static awaitable<void> watchdog_loop(App* self, std::chrono::microseconds every);
  // Retention: a pruning pass every storage.prune_interval, in small transactions with the
  // loop free for polls between them (lib/store/retention.hpp).
  static awaitable<void> prune_loop(App* self);
  void begin_shutdown(const char* why);
  void on_poll(const scheduler::PollReport& report);
  std::string not_ready_reason() const;
  std::string status_line() const;  // systemd STATUS=: how many sites, each pair's state

  config::Config config_;
  asio::io_context io_{1};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<metrics::Metrics> metrics_;
  std::unique_ptr<PairTracker> tracker_;
  std::unique_ptr<Api> api_;  // /api/v1/ (read-only JSON), served by server_
  std::unique_ptr<http::HttpServer> server_;
  std::vector<std::unique_ptr<scheduler::Collector>> collectors_;
  std::map<std::string, bool> polled_;  // site -> polled at least once (readiness)
  asio::steady_timer grace_timer_;
  asio::steady_timer watchdog_timer_;
  asio::steady_timer prune_timer_;
  asio::signal_set signals_;
  bool stopping_ = false;
  bool drained_ = false;  // shutdown finished; nothing may keep the event loop alive
};

}  // namespace flowdrift::app
