#include "app/app.hpp"

#include <boost/asio/post.hpp>

#include <csignal>

#include "app/routes.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/systemd.hpp"
#include "store/retention.hpp"

namespace flowdrift::app {
namespace {
std::shared_ptr<spdlog::logger> logger() { return log::get("app"); }

// "host:port" / "[v6]:port" (validated by the config loader).
std::pair<std::string, std::uint16_t> split_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") host = "127.0.0.1";
  return {host, static_cast<std::uint16_t>(std::stoi(listen.substr(colon + 1)))};
}
}  // namespace

App::App(config::Config config, WebOptions web)
    : config_(std::move(config)),
      grace_timer_(io_),
      watchdog_timer_(io_),
      prune_timer_(io_),
      signals_(io_, SIGINT, SIGTERM, SIGHUP) {
  store_ = std::make_unique<store::Store>(config_.storage.path);

  std::vector<std::string> site_names;
  for (const auto& s : config_.sites) site_names.push_back(s.name);
  std::vector<metrics::PairLabels> pair_labels;
  for (const auto& p : config_.pairs) pair_labels.push_back({p.name, p.source, p.replica});
  metrics_ = std::make_unique<metrics::Metrics>(site_names, pair_labels,
                                                config_.server.policy_series_cap, FLOWDRIFT_VERSION);
  metrics_->config_loaded(true, unix_now_ms());
  for (const auto& s : config_.sites) {
    if (auto snap = store_->latest_complete_snapshot(s.name)) {
      metrics_->site_restored(s.name, snap->last_poll_ms, snap->policy_count, snap->first_seen_ms);
    }
  }
  tracker_ = std::make_unique<PairTracker>(config_, *store_, *metrics_);

  auto [host, port] = split_listen(config_.server.listen);
  http::ServerOptions opts;
  opts.address = host;
  opts.port = port;
  // Every route is a GET: a body is never needed, so a small cap costs nothing. Header bytes,
  // field count, the connection cap and idle_timeout keep ServerOptions' defaults
  // (docs/security.md lists them all).
  opts.max_body_bytes = 64u * 1024u;
  opts.read_timeout = web.read_timeout;
  api_ = std::make_unique<Api>(config_, *store_);
  RouteContext ctx;
  ctx.version = FLOWDRIFT_VERSION;
  ctx.render_metrics = [this] { return metrics_->render(); };
  ctx.ready = [this] { return not_ready_reason().empty(); };
  ctx.ready_detail = [this] { return not_ready_reason(); };
  ctx.api = [this](const http::HttpRequest& r) { return api_->handle(r); };
  if (web.config) {
    opts.tls = web.config->tls;
    ctx.auth = std::make_shared<http::BasicAuth>(web.config->users);
    ctx.response_headers = web.config->headers;
    log::info(logger(), "web.config_loaded",
              {{"file", web.config->path},
               {"tls", opts.tls ? "yes" : "no"},
               {"basic_auth_users", web.config->users.size()}});
  }
  server_ = std::make_unique<http::HttpServer>(
      io_.get_executor(), opts,
      [ctx = std::move(ctx)](const http::HttpRequest& r) { return route(r, ctx); });

  for (const auto& site : config_.sites) {
    auto password = config::read_password(site);
    auto transport = scheduler::make_site_transport(io_.get_executor(), site);
    scheduler::PollHooks hooks;
    hooks.in_transaction = [this](store::Database& db, const store::PollRecord& rec,
                                  const store::PollOutcome& outcome,
                                  const policy::Snapshot* snapshot) {
      tracker_->in_transaction(db, rec, outcome, snapshot);
    };
    hooks.after = [this](const scheduler::PollReport& r) { on_poll(r); };
    polled_[site.name] = false;
    collectors_.push_back(std::make_unique<scheduler::Collector>(
        io_.get_executor(), site, std::move(password), std::move(transport), *store_,
        std::move(hooks)));
  }
}

void App::on_poll(const scheduler::PollReport& r) {
  tracker_->after_poll(r.stored);
  polled_[r.site] = true;
  metrics::SitePoll p;
  p.site = r.site;
  p.complete = r.complete && r.stored;
  p.reason = r.stored ? r.reason : "store";
  p.duration_seconds = std::chrono::duration<double>(r.duration).count();
  p.finished_ms = r.finished_ms;
  p.api = r.api;
  if (r.snapshot_id) {
    p.policies = r.policy_count;
    p.snapshot_first_ms = r.snapshot_first_seen_ms;
  }
  metrics_->poll_finished(p);
  metrics_->store_write("poll", r.stored, unix_now_ms());
  systemd::notify("STATUS=" + status_line());
}

std::string App::status_line() const {
  std::string status = "polling " + std::to_string(collectors_.size()) + " site(s);";
  for (const auto& pv : tracker_->pairs()) {
    status += " " + pv.name + "=" + std::string(diff::to_string(pv.status));
  }
  return status;
}

std::string App::not_ready_reason() const {
  std::string waiting;
  for (const auto& [site, polled] : polled_) {
    if (!polled) waiting += (waiting.empty() ? "" : ", ") + site;
  }
  return waiting.empty() ? "" : "waiting for the first poll of " + waiting;
}

App::~App() = default;

int App::run() {
  asio::co_spawn(io_, signal_loop(this), asio::detached);
  server_->start();
  for (auto& c : collectors_) c->start();
  log::info(logger(), "daemon.started",
            {{"sites", config_.sites.size()}, {"pairs", config_.pairs.size()},
             {"database", config_.storage.path},
             {"listen", config_.server.listen},
             {"port", server_->port()}});
  // The pairs' states here are the stored ones (a restart keeps them) until both sites are polled.
  systemd::notify("READY=1\nSTATUS=" + status_line());
  if (auto interval = systemd::watchdog_interval()) {
    asio::co_spawn(io_, watchdog_loop(this, *interval / 2), asio::detached);
  }
  if (config_.storage.retention.count() > 0) {
    asio::co_spawn(io_, prune_loop(this), asio::detached);
  }
  io_.run();
  log::info(logger(), "daemon.stopped");
  return 0;
}

namespace {

// One site's poll within poll_all_once; the last one to finish wakes the waiter.
awaitable<void> poll_one_of_all(scheduler::Collector* collector, std::size_t* pending,
                                asio::steady_timer* all_done) {
  co_await collector->poll_once();
  if (--*pending == 0) all_done->cancel();
}

}  // namespace

awaitable<void> App::poll_all_once() {
  // Every site at once, as the scheduled loops run them: one event loop, overlapping I/O.
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer all_done(executor, asio::steady_timer::time_point::max());
  std::size_t pending = collectors_.size();
  for (auto& c : collectors_) {
    asio::co_spawn(executor, poll_one_of_all(c.get(), &pending, &all_done), asio::detached);
  }
  while (pending > 0) {
    boost::system::error_code ec;
    co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void App::stop() {
  asio::post(io_, [this] { begin_shutdown("requested"); });
}

void App::begin_shutdown(const char* why) {
  if (stopping_) {
    // A second request: stop now, whatever is in flight (SQLite transactions are atomic).
    io_.stop();
    return;
  }
  stopping_ = true;
  systemd::notify(std::string("STOPPING=1\nSTATUS=stopping (") + why + ")");
  log::info(logger(), "daemon.stopping", {{"why", why}});
  for (auto& c : collectors_) c->stop();
  server_->stop();
  // Polls in flight finish and record their result; past the grace period we stop anyway.
  grace_timer_.expires_after(shutdown_grace);
  grace_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) {
      log::warn(logger(), "daemon.shutdown_grace_expired",
                {{"grace_ms", static_cast<long long>(shutdown_grace.count())}});
      io_.stop();
    }
  });
  // Once every collector has stopped the loop has nothing left but these waits.
  asio::co_spawn(io_, wait_for_collectors(this), asio::detached);
}

awaitable<void> App::wait_for_collectors(App* self) {
  asio::steady_timer t(self->io_);
  for (;;) {
    bool busy = false;
    for (auto& c : self->collectors_) busy = busy || c->running();
    if (!busy) break;
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(asio::use_awaitable);
  }
  self->drained_ = true;
  self->grace_timer_.cancel();
  self->watchdog_timer_.cancel();
  self->prune_timer_.cancel();
  self->signals_.cancel();
}

// The pings come from a timer on the event loop itself, so a handler that blocks the loop stops
// them and systemd restarts the daemon (WatchdogSec=). They go on through a graceful stop, which
// can outlast one interval while a poll finishes, and end once it has drained.
awaitable<void> App::watchdog_loop(App* self, std::chrono::microseconds every) {
  while (!self->drained_) {
    systemd::notify("WATCHDOG=1");
    self->watchdog_timer_.expires_after(every);
    boost::system::error_code ec;
    co_await self->watchdog_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

awaitable<void> App::prune_loop(App* self) {
  // The first pass soon after start (not at once: the first polls matter more), then one per
  // interval.
  auto wait = std::min<std::chrono::milliseconds>(self->config_.storage.prune_interval,
                                                  std::chrono::minutes(1));
  while (!self->stopping_) {
    self->prune_timer_.expires_after(wait);
    boost::system::error_code ec;
    co_await self->prune_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (self->stopping_) break;
    wait = self->config_.storage.prune_interval;
    const auto started = SteadyClock::now();
    const auto cutoff = unix_now_ms() - self->config_.storage.retention.count();
    store::Pruner pruner(self->store_->db(), cutoff);
    try {
      for (;;) {
        if (!pruner.step()) break;
        self->metrics_->store_write("prune", true, unix_now_ms());
        // Let polls and scrapes run between the small transactions.
        self->prune_timer_.expires_after(std::chrono::milliseconds(1));
        co_await self->prune_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (self->stopping_) break;
      }
    } catch (const std::exception& e) {
      self->metrics_->store_write("prune", false, unix_now_ms());
      log::warn(logger(), "store.prune_failed", {{"error", std::string(e.what())}});
      continue;
    }
    for (const auto& [table, n] : pruner.stats().deleted) self->metrics_->pruned(table, n);
    if (pruner.stats().total() > 0) {
      log::info(logger(), "store.pruned",
                {{"cutoff", cutoff},
                 {"rows", pruner.stats().total()},
                 {"transactions", pruner.stats().transactions},
                 {"seconds", std::chrono::duration<double>(SteadyClock::now() - started).count()}});
    }
  }
}

awaitable<void> App::signal_loop(App* self) {
  for (;;) {
    boost::system::error_code ec;
    int sig = co_await self->signals_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    if (sig == SIGHUP) {
      log::warn(logger(), "config.reload_unsupported",
                {{"hint", "this version applies config changes on restart only"}});
      continue;
    }
    // Keep listening after the first: a second signal forces the stop.
    self->begin_shutdown(sig == SIGINT ? "SIGINT" : "SIGTERM");
  }
}

}  // namespace flowdrift::app
