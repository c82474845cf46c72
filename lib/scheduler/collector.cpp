#include "scheduler/collector.hpp"

#include <malloc.h>

#include <array>
#include <functional>
#include <stdexcept>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "http/client.hpp"
#include "http/work_pool.hpp"
#include "policy/baseline.hpp"
#include "policy/normalize_v3.hpp"
#include "prism/v3_client.hpp"
#include "prism/v4_client.hpp"
#include "policy/normalize_v4.hpp"
#include "scheduler/schedule.hpp"
#include "store/coverage.hpp"
#include "store/entity_sync.hpp"

namespace flowdrift::scheduler {
namespace {

std::shared_ptr<spdlog::logger> logger() { return log::get("collector"); }

std::string bounded(std::string s, std::size_t max = 512) {
  if (s.size() > max) s.resize(max);
  return s;
}

// "/rules/*/spec/x" of every "unmodelled: /rules/*/spec/x" finding, sorted, once.
std::vector<std::string> unmodelled_paths(const policy::Snapshot& snapshot) {
  constexpr std::string_view kPrefix = "unmodelled: ";
  std::set<std::string> paths;
  for (const auto& f : snapshot.findings) {
    if (f.kind == "unmodelled" && f.detail.rfind(kPrefix, 0) == 0) {
      paths.insert(f.detail.substr(kPrefix.size()));
    }
  }
  return {paths.begin(), paths.end()};
}

// The version a poll over `api` used: "v3", or the microseg version of a v4 poll.
std::string api_version(config::Api api, const prism::FetchStats& stats) {
  return api == config::Api::V4 ? stats.v4_versions.microseg : std::string(to_string(api));
}

// A baseline as read on the work pool.
struct BaselineRead {
  std::string fingerprint;  // of its files before they were read
  std::optional<Result<policy::LoadedBaseline>> loaded;
};

BaselineRead read_baseline_files(const std::string& path) {
  BaselineRead read;
  read.fingerprint = policy::baseline_fingerprint(path);
  try {
    read.loaded.emplace(policy::load_baseline(path));
  } catch (const std::exception& e) {  // out of memory, or a filesystem error not foreseen
    read.loaded.emplace(make_error(ErrorReason::Other, path + ": " + e.what()));
  }
  return read;
}

// VM coverage (read_coverage): a list the site does not serve (404, or 410 where an API is
// gone) is no coverage to read there, anything else a failed read.
bool coverage_absent(const Error& e) {
  return e.reason == ErrorReason::Http && (e.http_status == 404 || e.http_status == 410);
}

drift::CoverageRead coverage_read(Result<drift::CoverageData> data, std::string api) {
  using State = drift::CoverageRead::State;
  drift::CoverageRead read;
  if (!data) {
    read.state = coverage_absent(data.error()) ? State::NotServed : State::Failed;
    if (read.state == State::Failed) {
      read.reason = std::string(to_string(data.error().reason));
      read.message = bounded(data.error().message);
    }
    return read;
  }
  read.state = State::Complete;
  read.api = std::move(api);
  read.vms = static_cast<std::int64_t>(data->vms.size());
  read.data = drift::protected_only(*data);
  return read;
}

awaitable<drift::CoverageRead> read_v3_coverage(http::HttpTransport* transport,
                                               prism::FetchOptions options, int* requests) {
  prism::FetchStats stats;
  auto data = co_await prism::fetch_v3_coverage(*transport, std::move(options), stats);
  *requests += stats.requests;
  co_return coverage_read(std::move(data), "v3");
}

// The versions are kept only from a read that completed.
awaitable<drift::CoverageRead> read_v4_coverage(http::HttpTransport* transport,
                                               prism::FetchOptions options,
                                               prism::CoverageVersions* versions, int* requests) {
  prism::FetchStats stats;
  prism::CoverageVersions used = *versions;
  auto data = co_await prism::fetch_v4_coverage(*transport, std::move(options), stats, &used);
  *requests += stats.requests;
  if (data) *versions = used;
  co_return coverage_read(std::move(data), "vmm " + used.vmm + ", datapolicies " + used.datapolicies);
}

}  // namespace

std::optional<SiteProxy> site_proxy(const config::SiteConfig& site, const http::ParsedUrl& url,
                                    const std::function<const char*(const char*)>& env) {
  if (site.proxy == "none") return std::nullopt;
  std::string from = "proxy", text = site.proxy;
  if (text.empty()) {
    // curl's names: the lower-case one first; HTTP_PROXY only for a plain http:// site (a
    // CGI sets HTTP_PROXY from a request header, so it is never read for https).
    static constexpr std::array<const char*, 2> kHttps{"https_proxy", "HTTPS_PROXY"};
    static constexpr std::array<const char*, 2> kHttp{"http_proxy", "HTTP_PROXY"};
    for (const char* name : url.tls ? kHttps : kHttp) {
      const char* v = env(name);
      if (v && *v) {
        from = name;
        text = v;
        break;
      }
    }
    if (text.empty()) return std::nullopt;
    for (const char* name : {"no_proxy", "NO_PROXY"}) {
      const char* v = env(name);
      if (v && *v) {
        if (http::no_proxy_matches(v, url.host)) return std::nullopt;
        break;
      }
    }
  }
  while (!text.empty() && text.back() == '/') text.pop_back();
  auto proxy = http::parse_proxy_url(text);
  if (!proxy) {
    throw std::runtime_error("site " + site.name + ": " + from + " is not an http://HOST[:PORT] " +
                             "proxy (proxy credentials and https:// proxies are not supported)");
  }
  return SiteProxy{*proxy, from};
}

std::unique_ptr<http::HttpTransport> make_site_transport(asio::any_io_executor executor,
                                                         const config::SiteConfig& site) {
  auto url = http::parse_url(site.url);
  if (!url) throw std::runtime_error("site " + site.name + ": unusable url " + site.url);
  http::ClientOptions opts;
  if (auto proxy = site_proxy(site, *url, [](const char* name) { return std::getenv(name); })) {
    log::info(logger(), "site.proxy", {{"site", site.name},
                                       {"proxy", proxy->options.host + ":" + proxy->options.port},
                                       {"from", proxy->from}});
    opts.proxy = proxy->options;
  }
  opts.host = url->host;
  opts.port = url->port;
  opts.tls = url->tls;
  opts.ca_file = site.ca_file;
  opts.insecure = site.insecure_skip_verify;
  opts.connect_timeout = site.connect_timeout;
  opts.max_response_bytes = site.max_response_bytes;
  if (site.insecure_skip_verify) {
    log::warn(logger(), "tls.verification_disabled",
              {{"site", site.name}, {"hint", "insecure_skip_verify is set; set ca_file instead"}});
  }
  return std::make_unique<http::BeastTransport>(std::move(executor), std::move(opts));
}

std::optional<config::Api> fallback_api(config::Api tried, const Error& error) {
  if (tried == config::Api::V4 && error.reason == ErrorReason::Http && error.http_status == 404) {
    return config::Api::V3;
  }
  if (tried == config::Api::V3 && error.reason == ErrorReason::Gone) return config::Api::V4;
  return std::nullopt;
}

namespace {

// One fetch over one API (V3 or V4); detection calls it once or twice.
template <class T>
using FetchOver = std::function<awaitable<Result<T>>(config::Api)>;

void log_redetect(const std::string& site, config::Api from, config::Api to, const Error& e) {
  const std::string reason(to_string(e.reason));
  if (site.empty()) {
    log::info(logger(), "api.redetect",
              {{"from", to_string(from)}, {"to", to_string(to)}, {"reason", reason}});
  } else {
    log::info(logger(), "api.redetect", {{"site", site}, {"from", to_string(from)},
                                         {"to", to_string(to)}, {"reason", reason}});
  }
}

// api: auto detection, decided here and only here (the daemon's polls and flowdriftctl dump).
// `configured` V3 or V4: that API. Auto: `first` (the API that last gave a complete poll; v4
// when none), then, when that fails in a way fallback_api() says means the other API, the
// other one, once. `*used`: the API of the last attempt. `site` ("" for none) is logged.
template <class T>
awaitable<Result<T>> fetch_detecting_api(config::Api configured, std::optional<config::Api> first,
                                         FetchOver<T> fetch, std::string site, config::Api* used) {
  const bool detect = configured == config::Api::Auto;
  config::Api api = detect ? first.value_or(config::Api::V4) : configured;
  *used = api;
  auto fetched = co_await fetch(api);
  if (detect && !fetched) {
    if (const auto other = fallback_api(api, fetched.error())) {
      log_redetect(site, api, *other, fetched.error());
      *used = *other;
      fetched = co_await fetch(*other);
    }
  }
  co_return fetched;
}

awaitable<Result<FetchedSite>> fetch_over(http::HttpTransport& transport, config::Api api,
                                          prism::FetchOptions options, prism::FetchStats* stats) {
  FetchedSite out;
  out.api = api;
  if (api == config::Api::V4) {
    auto data = co_await prism::fetch_v4_site(transport, std::move(options), *stats);
    if (!data) co_return data.error();
    out.v4 = std::move(*data);
  } else {
    auto data = co_await prism::fetch_v3_site(transport, std::move(options), *stats);
    if (!data) co_return data.error();
    out.v3 = std::move(*data);
  }
  co_return out;
}

}  // namespace

awaitable<Result<FetchedSite>> fetch_site_data(http::HttpTransport& transport, config::Api api,
                                               std::optional<config::Api> first,
                                               prism::FetchOptions options,
                                               prism::FetchStats* stats) {
  FetchOver<FetchedSite> fetch = [&transport, options, stats](config::Api over) {
    return fetch_over(transport, over, options, stats);
  };
  config::Api used = config::Api::V4;
  co_return co_await fetch_detecting_api<FetchedSite>(api, first, std::move(fetch), "", &used);
}

awaitable<Result<policy::Snapshot>> Collector::fetch_and_canonicalize(Collector* self,
                                                                    config::Api api,
                                                                    prism::FetchOptions options,
                                                                    prism::FetchStats* stats) {
  // Canonicalized page by page: a poll holds one page of raw JSON, not the whole site.
  if (api == config::Api::V4) {
    co_return co_await prism::fetch_v4_snapshot(*self->transport_, std::move(options), *stats);
  }
  co_return co_await prism::fetch_v3_snapshot(*self->transport_, std::move(options), *stats);
}

prism::FetchOptions fetch_options(const config::SiteConfig& site, const std::string& password) {
  prism::FetchOptions opts;
  if (auto url = http::parse_url(site.url)) opts.base_path = url->base_path;
  opts.username = site.credentials.username;
  (config::uses_api_key(site) ? opts.api_key : opts.password) = password;
  opts.page_size = site.page_size;
  opts.request_timeout = site.request_timeout;
  opts.poll_timeout = site.poll_timeout;
  opts.retries = site.retries;
  opts.retry_backoff = site.retry_backoff;
  opts.allow_empty = site.allow_empty;
  return opts;
}

Collector::Collector(asio::any_io_executor executor, config::SiteConfig site,
                     std::string password, std::unique_ptr<http::HttpTransport> transport,
                     store::Store& store, PollHooks hooks)
    : executor_(executor),
      site_(std::move(site)),
      password_(std::move(password)),
      transport_(std::move(transport)),
      store_(store),
      hooks_(std::move(hooks)),
      timer_(executor),
      rng_(std::random_device{}()) {
  // Seed the empty-list guard from what the site had before a restart.
  if (auto latest = store_.latest_complete_snapshot(site_.name)) {
    last_policy_count_ = static_cast<std::size_t>(latest->policy_count);
  }
}

Collector::~Collector() = default;

void Collector::start(std::optional<std::chrono::milliseconds> first_delay) {
  if (running_) return;
  running_ = true;
  stopping_ = false;
  const auto delay = first_delay ? *first_delay : jitter_offset(site_.interval, site_.jitter, rng_);
  asio::co_spawn(executor_, loop(this, delay), [name = site_.name](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error(log::get("collector"), "collector.crashed", {{"site", name}, {"error", ex.what()}});
    }
  });
}

void Collector::stop() {
  stopping_ = true;
  timer_.cancel();
}

void Collector::poll_now() {
  poll_requested_ = true;
  timer_.cancel();
}

awaitable<void> Collector::wait_until(Collector* self, SteadyClock::time_point due) {
  const bool baseline = config::is_baseline(self->site_);
  while (!self->stopping_ && !self->poll_requested_ && SteadyClock::now() < due) {
    self->timer_.expires_at(baseline ? std::min(due, SteadyClock::now() + self->baseline_check)
                                     : due);
    boost::system::error_code ec;
    co_await self->timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (baseline && SteadyClock::now() < due && co_await baseline_changed(self)) {
      log::info(logger(), "baseline.changed",
                {{"site", self->site_.name}, {"path", self->site_.baseline}});
      break;
    }
  }
  self->poll_requested_ = false;
}

awaitable<bool> Collector::baseline_changed(Collector* self) {
  auto job = http::submit(self->work_pool_, self->executor_, [path = self->site_.baseline] {
    return policy::baseline_fingerprint(path);
  });
  const std::string now = co_await http::wait(std::move(job));
  co_return now != self->baseline_fingerprint_;
}

awaitable<void> Collector::loop(Collector* self, std::chrono::milliseconds first_delay) {
  auto planned = SteadyClock::now() + first_delay;
  for (;;) {
    co_await wait_until(self, planned);
    if (self->stopping_) break;
    if (!co_await poll_in_turn(self)) break;
    if (self->stopping_) break;
    auto next = next_poll(planned, SteadyClock::now(), self->site_.interval);
    if (next.skipped > 0) {
      log::warn(logger(), "poll.overrun",
                {{"site", self->site_.name}, {"skipped_intervals", next.skipped}});
    }
    planned = next.due + jitter_offset(self->site_.interval, self->site_.jitter, self->rng_) / 4 +
              self->backoff_;
  }
  self->running_ = false;
}

awaitable<std::optional<PollReport>> Collector::poll_in_turn(Collector* self) {
  if (!co_await enter_gate(self)) co_return std::nullopt;
  PollSlot slot(self->gate_);
  co_return co_await self->poll_once();
}

awaitable<bool> Collector::enter_gate(Collector* self) {
  if (!self->gate_) co_return true;
  PollGate::Waiter w{&self->timer_, false};
  if (self->gate_->try_enter(&w)) co_return true;
  // Woken by the gate (granted), by stop(), or by poll_now() (wait on).
  while (!w.granted && !self->stopping_) {
    self->timer_.expires_at(SteadyClock::time_point::max());
    boost::system::error_code ec;
    co_await self->timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (w.granted && !self->stopping_) co_return true;
  self->gate_->withdraw(&w);
  co_return false;
}

// A baseline is files, not a site to spare: it is never backed off.
void Collector::count_failures(bool complete, PollReport& report) {
  failures_ = complete ? 0 : failures_ + 1;
  const auto cap = config::is_baseline(site_) ? Millis{0} : site_.max_backoff;
  backoff_ = failure_backoff(site_.interval, failures_, cap, rng_);
  report.consecutive_failures = failures_;
  report.backoff = backoff_;
  if (backoff_.count() > 0) {
    log::debug(logger(), "poll.backoff", {{"site", site_.name}, {"failures", failures_},
                                          {"extra_delay_ms", backoff_.count()}});
  }
}

void Collector::remember_versions(const prism::V4Versions& used) {
  for (const auto& ns : prism::kV4Namespaces) {
    const std::string& from = v4_versions_.*ns.version;
    const std::string& to = used.*ns.version;
    if (from == to) continue;
    log::info(logger(), "api.version", {{"site", site_.name}, {"namespace", ns.name},
                                        {"from", from.empty() ? "none" : from},
                                        {"to", to.empty() ? "none" : to}});
  }
  v4_versions_ = used;
}

// Each construct the model did not know is logged once per site and API version: a PC
// upgrade that brings new ones is news, the same ones every poll are not.
void Collector::log_unmodelled(const PollReport& report) {
  for (const auto& path : report.unmodelled) {
    if (!unmodelled_logged_.insert(report.api_version + " " + path).second) continue;
    log::warn(logger(), "canon.unmodelled",
              {{"site", site_.name}, {"version", report.api_version}, {"path", path}});
  }
}

store::PollRecord Collector::poll_record(std::int64_t started_ms, bool complete,
                                         const Error& error, const std::string& api,
                                         int requests) const {
  store::PollRecord rec;
  rec.site = site_.name;
  rec.started_ms = started_ms;
  rec.finished_ms = unix_now_ms();
  rec.complete = complete;
  rec.reason = complete ? "ok" : std::string(to_string(error.reason));
  rec.message = complete ? std::string() : bounded(error.message);
  rec.api = api;
  rec.requests = requests;
  return rec;
}

void Collector::store_poll(const store::PollRecord& rec, const policy::Snapshot* snap,
                           PollReport& report) {
  // Nutanix's entity sync and the VM coverage are stored first: the pair bookkeeping reads them.
  auto extra = [this, &rec, snap, &report](store::Database& db, const store::PollOutcome& o) {
    store::PollOutcome outcome = o;
    outcome.entity_sync_changed =
        store::record_entity_sync(db, site_.name, report.entity_sync, rec.finished_ms);
    outcome.coverage_changed =
        store::record_coverage(db, site_.name, report.coverage, rec.finished_ms);
    if (hooks_.in_transaction) hooks_.in_transaction(db, rec, outcome, snap);
  };
  auto outcome = store_.record_poll(rec, snap, extra);
  if (!outcome) {
    log::error(logger(), "store.write_failed",
               {{"site", site_.name}, {"error", outcome.error().message}});
    report.stored = false;
  } else {
    report.stored = true;
    report.snapshot_changed = outcome->changed;
  }
  if (auto latest = store_.latest_complete_snapshot(site_.name)) {
    report.snapshot_id = latest->id;
    report.policy_count = latest->policy_count;
    report.snapshot_first_seen_ms = latest->first_seen_ms;
  }
}

void Collector::settle_memos(bool stored) {
  if (stored) {
    const std::size_t released = v4_memo_->release_texts() + v3_memo_->release_texts();
    if (released != 0) {
      // The texts let go were spread over the work pool's malloc arenas between what stays:
      // without a trim glibc keeps their pages. Not after a quiet poll: with nothing let go
      // there is little to win, and a trim walks every arena (tens of ms at 50 sites).
      malloc_trim(0);
      log::debug(logger(), "memo.texts_released", {{"site", site_.name}, {"policies", released}});
    }
    return;
  }
  // The snapshot may hold texts let go after an earlier poll that the store no longer has.
  v4_memo_->clear();
  v3_memo_->clear();
}

void Collector::log_poll(const PollReport& report, const policy::Snapshot* snapshot,
                         int requests) {
  if (snapshot) {
    if (last_reason_ != "ok" && !last_reason_.empty()) {
      log::info(logger(), "poll.recovered", {{"site", site_.name}, {"after", last_reason_}});
    }
    if (report.snapshot_changed) {
      log::info(logger(), "snapshot.changed",
                {{"site", site_.name},
                 {"policies", snapshot->count(policy::ObjectKind::Policy)},
                 {"hash", snapshot->hash.substr(0, 12)},
                 {"duration_ms", report.duration.count()}});
    } else {
      log::debug(logger(), "poll.unchanged",
                 {{"site", site_.name}, {"duration_ms", report.duration.count()}});
    }
  } else if (report.reason != last_reason_) {
    // Log a failure when it starts or changes; repeated identical failures go to debug.
    log::warn(logger(), "poll.failed",
              {{"site", site_.name},
               {"reason", report.reason},
               {"message", report.message},
               {"requests", requests},
               {"duration_ms", report.duration.count()}});
  } else {
    log::debug(logger(), "poll.failed", {{"site", site_.name}, {"reason", report.reason}});
  }
}

awaitable<Collector::Fetched> Collector::fetch_site(Collector* self) {
  auto opts = fetch_options(self->site_, self->password_);
  opts.previous_policy_count = self->last_policy_count_;
  opts.v4_memo = self->v4_memo_;
  opts.v3_memo = self->v3_memo_;
  opts.work_pool = self->work_pool_;
  opts.v4_versions = self->v4_versions_;
  prism::FetchStats stats;
  FetchOver<policy::Snapshot> fetch = [self, opts, &stats](config::Api over) {
    return fetch_and_canonicalize(self, over, opts, &stats);
  };
  config::Api api = config::Api::V4;
  auto fetched = co_await fetch_detecting_api<policy::Snapshot>(
      self->site_.api, self->detected_api_, std::move(fetch), self->site_.name, &api);
  if (fetched && self->detected_api_ != api) {
    log::info(logger(), "api.detected", {{"site", self->site_.name}, {"api", to_string(api)}});
    self->detected_api_ = api;
  }
  if (fetched && api == config::Api::V4) self->remember_versions(stats.v4_versions);
  Fetched out{std::move(fetched), api, std::string(to_string(api)), api_version(api, stats),
              stats.requests, {}, {}};
  if (out.snapshot && api == config::Api::V4) co_await read_entity_sync(self, opts, &out);
  if (out.snapshot) co_await read_coverage(self, opts, api, &out);
  co_return out;
}

awaitable<void> Collector::read_coverage(Collector* self, prism::FetchOptions options,
                                         config::Api api, Fetched* fetched) {
  const auto& site = self->site_;
  const auto now = SteadyClock::now();
  if (!site.vm_coverage) co_return;
  if (self->coverage_read_at_ && now - *self->coverage_read_at_ < site.vm_coverage_interval) {
    co_return;
  }
  using State = drift::CoverageRead::State;
  drift::CoverageRead read;
  if (api == config::Api::V4) {
    read = co_await read_v4_coverage(self->transport_.get(), options, &self->coverage_versions_,
                                     &fetched->requests);
  }
  if (api != config::Api::V4 || read.state == State::NotServed) {
    read = co_await read_v3_coverage(self->transport_.get(), options, &fetched->requests);
  }
  if (read.state != State::Failed) self->coverage_read_at_ = now;
  self->log_coverage(read);
  fetched->coverage = std::move(read);
}

// A read's state and API are logged when they change; a failure each time it changes.
void Collector::log_coverage(const drift::CoverageRead& read) {
  using State = drift::CoverageRead::State;
  const std::string now = std::string(drift::to_string(read.state)) + " " + read.api + " " + read.reason;
  if (now == coverage_last_) return;
  coverage_last_ = now;
  if (read.state == State::Failed) {
    log::warn(logger(), "coverage.failed", {{"site", site_.name},
                                            {"reason", read.reason},
                                            {"message", bounded(read.message)}});
  } else {
    log::info(logger(), "coverage.read",
              {{"site", site_.name},
               {"state", std::string(drift::to_string(read.state))},
               {"api", read.api},
               {"vms", read.vms},
               {"protected_vms", read.data.vms.size()}});
  }
}

awaitable<void> Collector::read_entity_sync(Collector* self, prism::FetchOptions options,
                                            Fetched* fetched) {
  const auto now = SteadyClock::now();
  if (self->entity_sync_absent_ && now - *self->entity_sync_absent_ < self->entity_sync_recheck) {
    co_return;
  }
  prism::FetchStats stats;
  auto read = co_await prism::fetch_entity_sync(*self->transport_, std::move(options),
                                                self->entity_sync_version_.value_or(""), stats);
  fetched->requests += stats.requests;
  using State = drift::EntitySyncRead::State;
  if (read.state == State::Failed) {
    log::warn(logger(), "entity_sync.failed", {{"site", self->site_.name},
                                               {"reason", read.reason},
                                               {"message", bounded(read.message)}});
  } else {
    if (self->entity_sync_version_ != read.version) {
      log::info(logger(), "entity_sync.version",
                {{"site", self->site_.name},
                 {"version", read.version.empty() ? "not served" : read.version}});
    }
    self->entity_sync_version_ = read.version;
    self->entity_sync_absent_ =
        read.state == State::NotServed ? std::optional(now) : std::nullopt;
  }
  fetched->entity_sync = std::move(read);
}

// A baseline is read off the loop, on the work pool, and its files' fingerprint taken first:
// a file written meanwhile changes the fingerprint again, so it is read again.
awaitable<Collector::Fetched> Collector::read_baseline(Collector* self) {
  auto job = http::submit(self->work_pool_, self->executor_,
                          [path = self->site_.baseline] { return read_baseline_files(path); });
  auto read = co_await http::wait(std::move(job));
  self->baseline_fingerprint_ = read.fingerprint;
  auto& loaded = *read.loaded;
  if (!loaded) co_return Fetched{loaded.error(), config::Api::V4, "baseline", "baseline", 0, {}, {}};
  // The API the baseline's content came from, as its header says.
  const auto api = loaded->info.api == "v3" ? config::Api::V3 : config::Api::V4;
  co_return Fetched{std::move(loaded->snapshot), api, "baseline", "baseline", 0, {}, {}};
}

awaitable<PollReport> Collector::poll_once() {
  polling_ = true;
  const auto started_ms = unix_now_ms();
  const auto t0 = SteadyClock::now();
  std::optional<Fetched> fetched;
  if (config::is_baseline(site_)) {
    fetched.emplace(co_await read_baseline(this));
  } else {
    fetched.emplace(co_await fetch_site(this));
  }
  const auto& result = fetched->snapshot;
  const policy::Snapshot* snapshot = result ? &*result : nullptr;

  const auto rec = poll_record(started_ms, snapshot != nullptr, result ? Error{} : result.error(),
                               fetched->api_text, fetched->requests);
  PollReport report;
  report.site = site_.name;
  report.complete = rec.complete;
  report.reason = rec.reason;
  report.message = rec.message;
  report.requests = fetched->requests;
  report.api = fetched->api;
  report.api_version = fetched->api_version;
  report.finished_ms = rec.finished_ms;
  report.duration = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0);
  report.entity_sync = std::move(fetched->entity_sync);
  report.coverage = std::move(fetched->coverage);
  store_poll(rec, snapshot, report);
  if (snapshot) settle_memos(report.stored);
  if (snapshot) {
    report.unmodelled = unmodelled_paths(*snapshot);
    log_unmodelled(report);
    last_policy_count_ = snapshot->count(policy::ObjectKind::Policy);
  }
  log_poll(report, snapshot, fetched->requests);
  count_failures(snapshot != nullptr, report);
  last_reason_ = rec.reason;
  polling_ = false;
  if (hooks_.after) hooks_.after(report);
  co_return report;
}

}  // namespace flowdrift::scheduler
