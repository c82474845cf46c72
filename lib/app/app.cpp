#include "app/app.hpp"

#include <system_error>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iterator>
#include <set>

#include "app/routes.hpp"
#include "core/build_info.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/sha256.hpp"
#include "core/systemd.hpp"
#include "drift/rules.hpp"
#include "core/printable.hpp"
#include "report/documents.hpp"
#include "store/audit.hpp"
#include "store/db.hpp"
#include "store/flips.hpp"
#include "store/reloads.hpp"
#include "store/retention.hpp"

namespace flowdrift::app {
namespace {
std::shared_ptr<spdlog::logger> logger() { return log::get("app"); }

constexpr std::chrono::seconds kMinHttpReloadGap{1};

metrics::BuildLabels build_labels() { return {build_info(), store::sqlite_version()}; }

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

std::optional<std::string> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return content;
}

std::optional<std::string> file_sha256(const std::string& path) {
  auto bytes = read_bytes(path);
  if (!bytes) return std::nullopt;
  return sha256_hex(*bytes);
}

// Reads the site's password (throws config::ConfigError, never showing it) and digests what
// its connection depends on outside the config file.
SiteSecrets read_secrets(const config::SiteConfig& site, std::string& password) {
  password = config::read_password(site);
  SiteSecrets out;
  out.password_sha256 = sha256_hex(password);
  if (!site.ca_file.empty()) {
    // Unreadable now: the transport built from it fails and says why.
    out.ca_file_sha256 = file_sha256(site.ca_file).value_or("unreadable");
  }
  return out;
}

// As flowdriftd's --config parsing of log.format (which a reload cannot change).
log::Format log_format(const std::string& f) {
  return log::parse_format(f).value_or(log::Format::Auto);
}

std::vector<std::string> site_names(const config::Config& c) {
  std::vector<std::string> out;
  for (const auto& s : c.sites) out.push_back(s.name);
  return out;
}

std::vector<metrics::PairLabels> pair_labels(const config::Config& c) {
  std::vector<metrics::PairLabels> out;
  for (const auto& p : c.pairs) out.push_back({p.name, p.source, p.replica});
  return out;
}

template <typename Map>
std::vector<std::string> names_of(const Map& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

std::string lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : "\n") + s;
  return out;
}
}  // namespace

App::App(config::Config config, WebOptions web)
    : config_(std::move(config)),
      grace_timer_(io_),
      watchdog_timer_(io_),
      prune_timer_(io_),
      flip_timer_(io_),
      signals_(io_, SIGINT, SIGTERM, SIGHUP) {
  try {
    work_pool_ = std::make_unique<http::WorkPool>();
  } catch (const std::system_error& e) {
    // e.g. a seccomp filter or a tasks limit refusing threads: slower, not broken.
    log::warn(logger(), "work_pool.unavailable",
              {{"error", e.what()}, {"effect", "policies are canonicalized on the event loop"}});
  }
  store_ = std::make_unique<store::Store>(config_.storage.path);

  metrics_ = std::make_unique<metrics::Metrics>(site_names(config_), pair_labels(config_),
                                                config_.server.policy_series_cap, build_labels());
  metrics_->config_loaded(true, unix_now_ms());
  for (const auto& s : config_.sites) {
    if (auto snap = store_->latest_complete_snapshot(s.name)) {
      metrics_->site_restored(s.name, snap->last_poll_ms, snap->policy_count, snap->first_seen_ms);
    }
  }
  tracker_ = std::make_unique<PairTracker>(config_, *store_, *metrics_);
  gate_ = std::make_unique<scheduler::PollGate>(static_cast<std::size_t>(config_.polling.max_concurrent));
  gate_->on_change = [this](const scheduler::PollGate& g) {
    metrics_->poll_gate(g.in_flight(), g.waiting(), g.limit());
  };
  metrics_->poll_gate(0, 0, gate_->limit());

  auto [host, port] = split_listen(config_.server.listen);
  http::ServerOptions opts;
  opts.address = host;
  opts.port = port;
  // Every route but POST /-/reload (which ignores it) is a GET: a body is never needed, so a
  // small cap costs nothing. Header bytes,
  // field count, the connection cap and idle_timeout keep ServerOptions' defaults
  // (docs/security.md lists them all).
  opts.max_body_bytes = 64u * 1024u;
  opts.read_timeout = web.read_timeout;
  api_ = std::make_unique<Api>(config_, *store_,
                               [this](const std::string& site) { return metrics_->site_up(site); });
  RouteContext ctx;
  ctx.version = build_info().version;
  ctx.render_metrics = [this] { return metrics_->render(); };
  ctx.ready = [this] { return not_ready_reason().empty(); };
  ctx.ready_detail = [this] { return not_ready_reason(); };
  ctx.api = [this](const http::HttpRequest& r) { return api_->handle(r); };
  // The server runs its handlers on io_, the loop every poll runs on (see reload()). At most
  // one HTTP reload a second: each writes an audit row, and a loop of POSTs must not flood it.
  if (web.enable_lifecycle) {
    ctx.reload = [this, last = SteadyTime()]() mutable {
      const auto now = SteadyClock::now();
      if (last != SteadyTime() && now - last < kMinHttpReloadGap) {
        return ReloadResult{false, 429, "reloads over HTTP are limited to one a second"};
      }
      auto result = reload("http");
      last = SteadyClock::now();  // from the end: a slow reload does not open the gate early
      return result;
    };
  }
  if (web.config) {
    opts.tls = web.config->tls;
    ctx.auth = std::make_shared<http::BasicAuth>(web.config->users);
    if (ctx.auth->enabled()) {
      ctx.flip = [this](const std::string& pair, const std::string& action,
                        const std::string& body, const std::string& user) {
        return flip_over_http(pair, action, body, user);
      };
    }
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
    std::string password;
    secrets_[site.name] = read_secrets(site, password);
    const auto generation = ++next_generation_;
    collectors_.push_back(make_collector(site, std::move(password), generation));
    generation_[site.name] = generation;
    polled_[site.name] = false;
  }
  audit_config("start", true, std::to_string(config_.sites.size()) + " sites, " +
                                  std::to_string(config_.pairs.size()) + " pairs");
  log_audit_head();
}

std::unique_ptr<scheduler::Collector> App::make_collector(const config::SiteConfig& site,
                                                          std::string password,
                                                          std::uint64_t generation) {
  // A baseline is read from disk: no connection.
  auto transport = config::is_baseline(site)
                       ? nullptr
                       : scheduler::make_site_transport(io_.get_executor(), site);
  scheduler::PollHooks hooks;
  hooks.in_transaction = [this, name = site.name, generation](
                             store::Database& db, const store::PollRecord& rec,
                             const store::PollOutcome& outcome, const policy::Snapshot* snapshot) {
    if (is_current(name, generation)) tracker_->in_transaction(db, rec, outcome, snapshot);
  };
  hooks.after = [this, name = site.name, generation](const scheduler::PollReport& r) {
    if (is_current(name, generation)) {
      on_poll(r);
    } else {
      log::info(logger(), "poll.of_replaced_collector",
                {{"site", name}, {"reason", r.reason}, {"stored", r.stored}});
    }
  };
  auto collector = std::make_unique<scheduler::Collector>(
      io_.get_executor(), site, std::move(password), std::move(transport), *store_,
      std::move(hooks));
  collector->set_work_pool(work_pool_.get());
  collector->set_gate(gate_.get());
  return collector;
}

bool App::is_current(const std::string& site, std::uint64_t generation) const {
  auto it = generation_.find(site);
  return it != generation_.end() && it->second == generation;
}

const scheduler::Collector* App::collector(const std::string& site) const {
  for (const auto& c : collectors_) {
    if (c->site().name == site) return c.get();
  }
  return nullptr;
}

void App::reap_retired() {
  retired_.erase(std::remove_if(retired_.begin(), retired_.end(),
                                [](const auto& c) { return !c->running(); }),
                 retired_.end());
}

void App::audit_config(const std::string& trigger, bool ok, const std::string& summary) {
  store::ConfigReload row;
  row.at_ms = unix_now_ms();
  row.trigger = trigger;
  row.ok = ok;
  row.file = config_.file;
  row.sha256 = file_sha256(config_.file);
  row.summary = summary;
  try {
    store::record_config_reload(store_->db(), row);
    metrics_->store_write("reload", true, row.at_ms);
  } catch (const store::StoreError& e) {
    // The reload itself stands (or stays rejected); only its audit row is missing.
    metrics_->store_write("reload", false, row.at_ms);
    log::error(logger(), "store.write_failed", {{"table", "config_reloads"}, {"error", e.what()}});
  }
}

ReloadResult App::reload(const std::string& trigger) {
  try {
    return reload_now(trigger);
  } catch (const std::exception& e) {
    // Only a database failure gets here (reading stored pair state for the new settings):
    // rare, and logged loudly, since part of the reload may have been applied.
    metrics_->config_loaded(false, unix_now_ms());
    log::error(logger(), "config.reload_failed",
               {{"trigger", trigger}, {"file", config_.file}, {"problems", 1},
                {"error", std::string(e.what())},
                {"hint", "restart the daemon to apply the configuration in full"}});
    audit_config(trigger, false, e.what());
    return {false, 500, e.what()};
  }
}

ReloadResult App::reject_reload(const std::string& trigger, int status,
                               const std::vector<std::string>& problems) {
  metrics_->config_loaded(false, unix_now_ms());
  log::error(logger(), "config.reload_failed",
             {{"trigger", trigger}, {"file", config_.file}, {"problems", problems.size()},
              {"error", lines(problems)},
              {"hint", "the previous configuration keeps running"}});
  audit_config(trigger, false, lines(problems));
  return ReloadResult{false, status, lines(problems)};
}

std::vector<App::FreshCollector> App::build_collectors(
    const config::Config& next, const ReloadPlan& plan,
    std::map<std::string, std::string>& passwords) {
  std::vector<FreshCollector> fresh;
  for (const auto& site : next.sites) {
    if (std::find(plan.sites_unchanged.begin(), plan.sites_unchanged.end(), site.name) !=
        plan.sites_unchanged.end()) {
      continue;
    }
    const auto generation = ++next_generation_;
    fresh.push_back({make_collector(site, passwords[site.name], generation), generation});
  }
  return fresh;
}

void App::retire_collectors(const ReloadPlan& plan) {
  auto removed_or_changed = plan.sites_removed;
  for (const auto& name : names_of(plan.sites_changed)) removed_or_changed.push_back(name);
  for (const auto& name : removed_or_changed) {
    auto it = std::find_if(collectors_.begin(), collectors_.end(),
                           [&](const auto& c) { return c->site().name == name; });
    if (it == collectors_.end()) continue;
    (*it)->stop();  // a poll in flight finishes and is recorded, without pair bookkeeping
    retired_.push_back(std::move(*it));
    collectors_.erase(it);
    generation_.erase(name);
  }
  for (const auto& name : plan.sites_removed) polled_.erase(name);
}

void App::start_collectors(const ReloadPlan& plan, std::vector<FreshCollector> fresh) {
  for (auto& f : fresh) {
    const std::string name = f.collector->site().name;
    generation_[name] = f.generation;
    if (std::find(plan.sites_added.begin(), plan.sites_added.end(), name) !=
        plan.sites_added.end()) {
      polled_[name] = false;
      if (auto snap = store_->latest_complete_snapshot(name)) {
        metrics_->site_restored(name, snap->last_poll_ms, snap->policy_count,
                                snap->first_seen_ms);
      }
    }
    if (started_) {
      f.collector->start();
      log::info(logger(), "collector.started", {{"site", name}, {"cause", "reload"}});
    }
    collectors_.push_back(std::move(f.collector));
  }
}

ReloadResult App::reload_now(const std::string& trigger) {
  if (stopping_) {
    log::warn(logger(), "config.reload_refused", {{"trigger", trigger}, {"reason", "stopping"}});
    return {false, 503, "the daemon is stopping"};
  }
  config::Config next;
  std::map<std::string, std::string> passwords;
  SecretsBySite secrets;
  try {
    next = drift::load_config(config_.file);
    next.flags = config_.flags;  // the command line still overrides the file
    config::apply_flags(next);
    for (const auto& site : next.sites) secrets[site.name] = read_secrets(site, passwords[site.name]);
  } catch (const config::ConfigError& e) {
    return reject_reload(trigger, 400, e.problems());
  }
  const auto plan = plan_reload(config_, secrets_, next, secrets);
  if (!plan.needs_restart.empty()) return reject_reload(trigger, 400, plan.needs_restart);

  // Everything new is built before anything running is touched: a site whose transport cannot
  // be built rejects the reload as a whole.
  std::vector<FreshCollector> fresh;
  try {
    fresh = build_collectors(next, plan, passwords);
  } catch (const store::StoreError& e) {
    return reject_reload(trigger, 500, {e.what()});
  } catch (const std::exception& e) {
    return reject_reload(trigger, 400, {e.what()});  // an unusable URL or CA file
  }

  // Apply. Nothing below suspends, so no poll runs in between.
  retire_collectors(plan);
  metrics_->reconfigure(site_names(next), pair_labels(next), next.server.policy_series_cap);
  gate_->set_limit(static_cast<std::size_t>(next.polling.max_concurrent));
  start_collectors(plan, std::move(fresh));
  tracker_->reconfigure(next, names_of(plan.sites_changed), names_of(plan.pairs_changed));
  if (next.log.level != config_.log.level) log::setup(next.log.level, log_format(next.log.format));
  const std::string file = config_.file;
  config_ = std::move(next);
  secrets_ = std::move(secrets);
  if (started_ && !pruning_ && config_.storage.retention.count() > 0) {
    pruning_ = true;
    asio::co_spawn(io_, prune_loop(this), asio::detached);
  }
  reap_retired();
  // A reload re-reads every baseline, changed on disk or not (a `git pull` then SIGHUP).
  for (auto& c : collectors_) {
    if (started_ && config::is_baseline(c->site())) c->poll_now();
  }

  const auto summary = plan.summary();
  metrics_->config_loaded(true, unix_now_ms());
  log::info(logger(), "config.reloaded",
            {{"trigger", trigger}, {"file", file}, {"changes", summary},
             {"sites_unchanged", plan.sites_unchanged.size()}});
  audit_config(trigger, true, summary);
  systemd::notify("STATUS=" + status_line());
  return {true, 200, summary};
}

void App::on_poll(const scheduler::PollReport& r) {
  reap_retired();
  tracker_->after_poll(r.stored);
  polled_[r.site] = true;
  metrics::SitePoll p;
  p.site = r.site;
  p.complete = r.complete && r.stored;
  p.reason = r.stored ? r.reason : "store";
  p.duration_seconds = std::chrono::duration<double>(r.duration).count();
  p.finished_ms = r.finished_ms;
  p.api = config::to_string(r.api);
  p.api_version = r.api_version;
  p.unmodelled = r.unmodelled;
  p.consecutive_failures = r.consecutive_failures;
  p.backoff_seconds = std::chrono::duration<double>(r.backoff).count();
  if (r.snapshot_id) {
    p.policies = r.policy_count;
    p.snapshot_first_ms = r.snapshot_first_seen_ms;
  }
  metrics_->poll_finished(p);
  if (r.stored) metrics_->entity_sync(r.site, r.entity_sync);
  if (r.stored) metrics_->vm_coverage(r.site, r.coverage);
  publish_audit_head();
  metrics_->store_write("poll", r.stored, unix_now_ms());
  systemd::notify("STATUS=" + status_line());
}

void App::publish_audit_head() {
  try {
    metrics_->audit_head(store::audit_head(store_->db()).seq);
  } catch (const store::StoreError& e) {
    log::debug(logger(), "audit.head_unread", {{"error", std::string(e.what())}});
  }
}

void App::log_audit_head() {
  try {
    const auto head = store::audit_head(store_->db());
    log::info(logger(), "audit.head", {{"seq", head.seq}, {"chain", head.chain}});
    metrics_->audit_head(head.seq);
  } catch (const store::StoreError& e) {
    log::warn(logger(), "audit.head_unread", {{"error", std::string(e.what())}});
  }
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

App::~App() {
  // The collectors and the metrics go before the gate does, and polls in flight with io_.
  if (gate_) gate_->close();
}

int App::run() {
  asio::co_spawn(io_, signal_loop(this), asio::detached);
  server_->start();
  started_ = true;
  for (auto& c : collectors_) {
    c->start();
    log::info(logger(), "collector.started", {{"site", c->site().name}, {"cause", "start"}});
  }
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
    pruning_ = true;
    asio::co_spawn(io_, prune_loop(this), asio::detached);
  }
  asio::co_spawn(io_, flip_loop(this), asio::detached);
  io_.run();
  log::info(logger(), "daemon.stopped");
  return 0;
}

namespace {

// One site's poll within poll_all_once; the last one to finish wakes the waiter.
awaitable<void> poll_one_of_all(scheduler::Collector* collector, std::size_t* pending,
                                asio::steady_timer* all_done) {
  co_await scheduler::Collector::poll_in_turn(collector);
  if (--*pending == 0) all_done->cancel();
}

}  // namespace

awaitable<void> App::poll_all_once() {
  // Every site at once, as the scheduled loops run them: one event loop, overlapping I/O, at
  // most polling.max_concurrent polls in flight.
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
    for (auto& c : self->retired_) busy = busy || c->running();
    if (!busy) break;
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(asio::use_awaitable);
  }
  self->drained_ = true;
  self->grace_timer_.cancel();
  self->watchdog_timer_.cancel();
  self->prune_timer_.cancel();
  self->flip_timer_.cancel();
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
    // A reload may have set retention to 0 (keep everything) or changed the interval.
    if (self->config_.storage.retention.count() <= 0) break;
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
      self->log_audit_head();
    }
  }
  self->pruning_ = false;
}

awaitable<void> App::flip_loop(App* self) {
  while (!self->stopping_) {
    try {
      self->tracker_->apply_flips();
    } catch (const std::exception& e) {
      log::warn(logger(), "pair.flips_unread", {{"error", std::string(e.what())}});
    }
    self->flip_timer_.expires_after(std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await self->flip_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

http::ServerReply App::flip_over_http(const std::string& pair, const std::string& action,
                                      const std::string& body, const std::string& user) {
  auto answer = [](int status, nlohmann::json j) {
    http::ServerReply r;
    r.response.status = status;
    r.response.headers.push_back({"Content-Type", "application/json"});
    r.response.body = j.dump() + "\n";
    return r;
  };
  const config::PairConfig* p = nullptr;
  for (const auto& c : config_.pairs) {
    if (c.name == pair) p = &c;
  }
  if (!p) return answer(404, {{"error", "no pair " + printable(pair, 64) + " in the configuration"}});
  const auto request = nlohmann::json::parse(body, nullptr, false);
  if (!request.is_object() || !request.contains("reason") || !request.at("reason").is_string()) {
    return answer(400, {{"error", "the body must be a JSON object with a string \"reason\""}});
  }
  store::FlipAsk ask{action, request.at("reason").get<std::string>(), user, "api", unix_now_ms()};
  try {
    auto checked = store::check_flip(store_->db(), *p, ask);
    if (auto* refused = std::get_if<store::FlipRefused>(&checked)) {
      return answer(refused->conflict ? 409 : 400, {{"error", refused->message}});
    }
    const auto id = store::request_flip(store_->db(), std::get<store::FlipRecord>(checked));
    for (const auto& f : tracker_->apply_flips()) {
      if (f.id == id) return answer(f.outcome == "refused" ? 409 : 200, report::flip_document(f));
    }
    return answer(500, {{"error", "flip " + std::to_string(id) + " was recorded and could not be "
                                  "applied yet; flowdriftd retries it every second"}});
  } catch (const std::exception& e) {
    return answer(500, {{"error", std::string(e.what())}});
  }
}

awaitable<void> App::signal_loop(App* self) {
  for (;;) {
    boost::system::error_code ec;
    int sig = co_await self->signals_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    if (sig == SIGHUP) {
      self->reload("SIGHUP");  // logs, counts and records its outcome itself
      continue;
    }
    // Keep listening after the first: a second signal forces the stop.
    self->begin_shutdown(sig == SIGINT ? "SIGINT" : "SIGTERM");
  }
}

}  // namespace flowdrift::app
