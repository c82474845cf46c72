// App: the daemon's composition root. Owns the event loop, the validated config, the store,
// one collector per site, the pair tracker, the metrics and the HTTP server; handles signals
// (SIGTERM/SIGINT: graceful stop; SIGHUP: configuration reload) and systemd notification. flowdriftd's main() only parses arguments and calls into this.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/api.hpp"
#include "app/pairs.hpp"
#include "app/reload.hpp"
#include "app/routes.hpp"
#include "config/config.hpp"
#include "http/asio.hpp"
#include "http/server.hpp"
#include "http/web_config.hpp"
#include "http/work_pool.hpp"
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
  // POST /-/reload over HTTP (--web.enable-lifecycle, as Prometheus); off: 403, SIGHUP only.
  // With a web config it requires basic_auth_users (flowdriftd refuses the flag without them).
  bool enable_lifecycle = false;
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
  // comparison, metrics), through the poll gate; returns when all have finished. For benchmarks
  // and tests; run it on io().
  awaitable<void> poll_all_once();

  // Re-reads config().file and applies it (docs/operations.md "Reloading the configuration"):
  // collectors of sites that changed (any field, the password or the CA file content) are
  // replaced, added sites start, removed ones stop; unchanged sites' collectors are not
  // touched. An invalid file, unreadable credentials or a change that needs a restart rejects
  // the whole reload and the running configuration stays as it was. Either way the attempt is
  // logged, counted in flowdrift_config_last_reload_successful and recorded in the store's
  // config_reloads table. `trigger`: "SIGHUP" or "http". Run it on the event loop (SIGHUP and
  // POST /-/reload do): it then never falls inside a poll's store transaction, which runs
  // without a suspension point from the write to the pair bookkeeping after it.
  ReloadResult reload(const std::string& trigger);
  // The collector currently polling `site`, or null (tests: a reload keeps or replaces it).
  const scheduler::Collector* collector(const std::string& site) const;

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
  // Flips requested by flowdriftctl (store/flips.hpp) are applied within a second.
  static awaitable<void> flip_loop(App* self);
  // POST /api/v1/pairs/<pair>/failover|failback.
  http::ServerReply flip_over_http(const std::string& pair, const std::string& action,
                                   const std::string& body, const std::string& user);
  void begin_shutdown(const char* why);
  ReloadResult reload_now(const std::string& trigger);  // reload() without its last-resort catch
  // reload_now's steps.
  ReloadResult reject_reload(const std::string& trigger, int status,
                             const std::vector<std::string>& problems);
  // New collectors for the sites the plan adds or changes; throws if one cannot be built.
  struct FreshCollector {
    std::unique_ptr<scheduler::Collector> collector;
    std::uint64_t generation = 0;
  };
  std::vector<FreshCollector> build_collectors(const config::Config& next, const ReloadPlan& plan,
                                               std::map<std::string, std::string>& passwords);
  void retire_collectors(const ReloadPlan& plan);
  void start_collectors(const ReloadPlan& plan, std::vector<FreshCollector> fresh);
  // A collector for `site` whose hooks act only while it is the site's current collector
  // (generation_[site] == generation): a replaced one's last poll is still recorded but
  // touches neither pairs nor metrics.
  std::unique_ptr<scheduler::Collector> make_collector(const config::SiteConfig& site,
                                                       std::string password,
                                                       std::uint64_t generation);
  bool is_current(const std::string& site, std::uint64_t generation) const;
  void reap_retired();  // frees replaced collectors once their loop has ended
  void audit_config(const std::string& trigger, bool ok, const std::string& summary);
  void on_poll(const scheduler::PollReport& report);
  // The audit chain's head (store/audit.hpp): exported after each poll, logged at start and
  // after each retention pass (audit.head), an anchor outside the database.
  void publish_audit_head();
  void log_audit_head();
  std::string not_ready_reason() const;
  std::string status_line() const;  // systemd STATUS=: how many sites, each pair's state

  config::Config config_;
  // Poll slots every collector waits for. Declared before io_: a poll still in flight when the
  // daemon stops releases its slot as io_ destroys it, so the gate must outlive io_.
  std::unique_ptr<scheduler::PollGate> gate_;
  asio::io_context io_{1};
  // Canonicalizes policy pages off the loop; joined before io_ goes (declared after it). Null
  // if no thread could be started: the loop then canonicalizes itself, as before.
  std::unique_ptr<http::WorkPool> work_pool_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<metrics::Metrics> metrics_;
  std::unique_ptr<PairTracker> tracker_;
  std::unique_ptr<Api> api_;  // /api/v1/ (read-only JSON), served by server_
  std::unique_ptr<http::HttpServer> server_;
  std::vector<std::unique_ptr<scheduler::Collector>> collectors_;
  // Replaced or removed by a reload, stopped, kept until a poll in flight has finished.
  std::vector<std::unique_ptr<scheduler::Collector>> retired_;
  std::map<std::string, std::uint64_t> generation_;  // site -> its current collector's
  std::uint64_t next_generation_ = 0;
  SecretsBySite secrets_;  // digests of each site's password and CA file, to see them change
  std::map<std::string, bool> polled_;  // site -> polled at least once (readiness)
  asio::steady_timer grace_timer_;
  asio::steady_timer watchdog_timer_;
  asio::steady_timer prune_timer_;
  asio::steady_timer flip_timer_;
  asio::signal_set signals_;
  bool started_ = false;  // run() has started the collectors
  bool pruning_ = false;  // prune_loop is running
  bool stopping_ = false;
  bool drained_ = false;  // shutdown finished; nothing may keep the event loop alive
};

}  // namespace flowdrift::app
