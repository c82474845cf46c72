// Collector: one per site. A coroutine loop on the event loop polls the site on its schedule
// (interval + jitter, at most one poll in flight), fetches every page through lib/prism,
// canonicalizes, and records the poll (and a snapshot when the content changed) in the store.
// A baseline site (config::is_baseline) is read from its files instead, on the same schedule
// and whenever they change.
// A failed or partial poll is recorded as failed and never replaces the last complete snapshot.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "config/config.hpp"
#include "core/result.hpp"
#include "drift/coverage.hpp"
#include "drift/entity_sync.hpp"
#include "http/asio.hpp"
#include "http/client.hpp"
#include "http/transport.hpp"
#include "policy/normalize_v3.hpp"
#include "policy/normalize_v4.hpp"
#include "prism/coverage.hpp"
#include "prism/v3_client.hpp"
#include "scheduler/gate.hpp"
#include "store/store.hpp"

namespace flowdrift::scheduler {

// What one poll did; handed to PollHooks::after once it is stored.
struct PollReport {
  std::string site;
  bool complete = false;
  std::string reason;  // "ok" or an ErrorReason string
  std::string message;
  std::chrono::milliseconds duration{0};
  std::int64_t finished_ms = 0;
  int requests = 0;
  bool snapshot_changed = false;
  std::optional<std::int64_t> snapshot_id;  // the site's current complete snapshot
  std::int64_t policy_count = 0;            // of the current complete snapshot
  std::int64_t snapshot_first_seen_ms = 0;  // when the current snapshot was first stored
  config::Api api = config::Api::V4;        // V3 or V4: the API this poll used (tried last)
  std::string api_version;  // "v3", or the microseg version a v4 poll used ("v4.3"; "" if none)
  // Complete polls: the schema paths of what the canonical model did not know (the snapshot's
  // "unmodelled" findings, docs/canonical-model.md), sorted, each once.
  std::vector<std::string> unmodelled;
  // Complete v4 polls: Nutanix's entity sync as read after the site (NotRead otherwise, and
  // while a site that did not serve it waits for its next check).
  drift::EntitySyncRead entity_sync;
  // Complete polls of a Prism Central: its VMs and their DR protection, when a read was due
  // (site vm_coverage, vm_coverage_interval); NotRead otherwise.
  drift::CoverageRead coverage;
  // Polls of the site that failed in a row, this one included (0 after a complete one), and
  // how much later than its interval the next poll is due for them (max_backoff).
  int consecutive_failures = 0;
  std::chrono::milliseconds backoff{0};
  bool stored = false;                      // false if the store write itself failed
};

// Hooks the daemon attaches to every poll of a site.
struct PollHooks {
  // Runs inside the poll's database transaction, after the poll row is written; `snapshot` is
  // null for a failed poll. Throwing rolls the whole poll back. (Pair drift bookkeeping.)
  std::function<void(store::Database&, const store::PollRecord&, const store::PollOutcome&,
                     const policy::Snapshot*)>
      in_transaction;
  // Runs after the transaction committed or failed (report.stored tells). Metrics, logs.
  std::function<void(const PollReport&)> after;
};

// The proxy a site is reached through, and where that was said ("proxy", or the environment
// variable's name): the site's `proxy:` ("none": direct), else https_proxy/HTTPS_PROXY
// (http_proxy/HTTP_PROXY for an http:// site) unless no_proxy/NO_PROXY exempts its host.
// Throws std::runtime_error, naming the site and the setting, for a proxy URL it cannot use.
struct SiteProxy {
  http::ProxyOptions options;
  std::string from;
};
std::optional<SiteProxy> site_proxy(const config::SiteConfig& site, const http::ParsedUrl& url,
                                    const std::function<const char*(const char*)>& env);
// Builds the production transport (BeastTransport) for a site: URL, CA file, insecure switch,
// proxy, timeouts and size cap from its config. Throws std::runtime_error on an unusable URL,
// CA or proxy.
std::unique_ptr<http::HttpTransport> make_site_transport(asio::any_io_executor executor,
                                                         const config::SiteConfig& site);

// The fetch options a site's config asks for (paging, timeouts, retries, credentials).
prism::FetchOptions fetch_options(const config::SiteConfig& site, const std::string& password);

// api: auto detection: the API to try next after `tried` (V3 or V4) failed with `error`, or
// nullopt when the failure says nothing about the API. A PC without the v4 microseg API answers
// 404 there; a PC with Flow Next-Gen enabled answers 410 (Gone) on the v3 security-rule API.
std::optional<config::Api> fallback_api(config::Api tried, const Error& error);

// One whole site as fetched, from whichever API answered: exactly one of v3/v4 is set.
struct FetchedSite {
  config::Api api = config::Api::V4;  // V3 or V4
  std::optional<policy::V3SiteData> v3;
  std::optional<policy::V4SiteData> v4;
};

// Fetches every page of a site over `api` with the detection Collector::poll_once uses (one
// function decides both, collector.cpp): auto tries `first` (v4 when none) and, when
// fallback_api() names the other API, that one once. For one-shot callers (flowdriftctl dump);
// poll_once keeps the detected API between polls and passes it as `first`.
awaitable<Result<FetchedSite>> fetch_site_data(http::HttpTransport& transport, config::Api api,
                                               std::optional<config::Api> first,
                                               prism::FetchOptions options,
                                               prism::FetchStats* stats);

class Collector {
 public:
  // `password` is read by the caller (config::read_password) so that a credential problem stops
  // start-up; it is kept in memory only and never logged.
  Collector(asio::any_io_executor executor, config::SiteConfig site, std::string password,
            std::unique_ptr<http::HttpTransport> transport, store::Store& store,
            PollHooks hooks = {});
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Starts the poll loop (first poll after a random splay of up to jitter x interval, or
  // `first_delay` when given).
  void start(std::optional<std::chrono::milliseconds> first_delay = std::nullopt);
  // Stops scheduling; a poll in flight finishes (its result is still recorded).
  void stop();
  // Polls as soon as possible: now, or once a poll in flight has finished (a reload re-reads
  // baselines this way).
  void poll_now();
  // How often a baseline's files are looked at (their sizes and times, nothing read) to read
  // it again as soon as one changes.
  std::chrono::milliseconds baseline_check{2000};
  // How long a site that serves no entity-sync-policies waits before they are looked for
  // again (a Prism Central upgrade); a site that serves them is read on every complete v4 poll.
  std::chrono::milliseconds entity_sync_recheck{std::chrono::hours(1)};
  bool running() const { return running_; }

  // One complete poll cycle: fetch, canonicalize, store. Used by the loop and by tests.
  awaitable<PollReport> poll_once();
  // poll_once within a slot of the gate (set_gate), waited for first: as the loop polls.
  // Nothing (no report) when stop() came before the slot.
  static awaitable<std::optional<PollReport>> poll_in_turn(Collector* self);

  const config::SiteConfig& site() const { return site_; }
  // Where v4 policy pages are canonicalized (null: on the event loop). Must outlive polls.
  void set_work_pool(http::WorkPool* pool) { work_pool_ = pool; }
  // Where the loop waits for a poll slot before each poll (null: none). Must outlive the loop.
  void set_gate(PollGate* gate) { gate_ = gate; }

 private:
  static awaitable<void> loop(Collector* self, std::chrono::milliseconds first_delay);
  // Waits for a poll slot (at once without a gate); false when stop() came first.
  static awaitable<bool> enter_gate(Collector* self);
  // After a poll: the failures in a row and the backoff they call for, into `report`.
  void count_failures(bool complete, PollReport& report);
  // Waits until `due`, or less: stop(), poll_now(), or a baseline whose files changed.
  static awaitable<void> wait_until(Collector* self, std::chrono::steady_clock::time_point due);
  // Whether a baseline's files changed since they were read: their fingerprint (a stat per
  // file) is taken on the work pool, off the event loop.
  static awaitable<bool> baseline_changed(Collector* self);
  // What a poll got, before it is stored: from the Prism Central, or from a baseline's files.
  struct Fetched {
    Result<policy::Snapshot> snapshot;
    config::Api api = config::Api::V4;  // the API used (a baseline: the one its content came from)
    std::string api_text;               // polls.api: "v3", "v4" or "baseline"
    std::string api_version;            // PollReport::api_version
    int requests = 0;
    drift::EntitySyncRead entity_sync;  // PollReport::entity_sync
    drift::CoverageRead coverage;       // PollReport::coverage
  };
  static awaitable<Fetched> fetch_site(Collector* self);
  static awaitable<Fetched> read_baseline(Collector* self);
  // After a complete v4 fetch: the entity-sync list, unless the site did not serve it less
  // than entity_sync_recheck ago. Adds its requests to `fetched`.
  static awaitable<void> read_entity_sync(Collector* self, prism::FetchOptions options,
                                          Fetched* fetched);
  // After a complete fetch of a Prism Central: its VM coverage, when due (v4 first on a v4 site,
  // the v3 lists where v4 serves none). Adds its requests to `fetched`.
  static awaitable<void> read_coverage(Collector* self, prism::FetchOptions options,
                                       config::Api api, Fetched* fetched);
  void log_coverage(const drift::CoverageRead& read);
  static awaitable<Result<policy::Snapshot>> fetch_and_canonicalize(Collector* self,
                                                                    config::Api api,
                                                                    prism::FetchOptions options,
                                                                    prism::FetchStats* stats);
  // Keeps the v4 versions a complete poll used; logs api.version for each one that changed.
  void remember_versions(const prism::V4Versions& used);
  void log_unmodelled(const PollReport& report);
  // poll_once's steps once the fetch has ended (none suspends): the poll row, storing it with
  // the pair bookkeeping (hooks_.in_transaction) in one transaction, and its log lines.
  store::PollRecord poll_record(std::int64_t started_ms, bool complete, const Error& error,
                                const std::string& api, int requests) const;
  void store_poll(const store::PollRecord& rec, const policy::Snapshot* snapshot,
                  PollReport& report);
  // After a complete poll's store: stored, the memos let their texts go (the store has them);
  // refused, the memos are forgotten (docs/design/memory.md).
  void settle_memos(bool stored);
  void log_poll(const PollReport& report, const policy::Snapshot* snapshot, int requests);

  asio::any_io_executor executor_;
  config::SiteConfig site_;
  std::string password_;
  std::unique_ptr<http::HttpTransport> transport_;
  store::Store& store_;
  PollHooks hooks_;
  asio::steady_timer timer_;
  std::mt19937_64 rng_;
  bool running_ = false;
  bool stopping_ = false;
  bool polling_ = false;
  bool poll_requested_ = false;      // poll_now() since the loop last waited
  std::string baseline_fingerprint_;  // of a baseline's files when last read
  std::string last_reason_;  // for logging state changes only, not every failed tick
  std::set<std::string> unmodelled_logged_;  // "version path": logged once per site and version
  std::optional<std::size_t> last_policy_count_;
  std::optional<config::Api> detected_api_;  // the API that last gave a complete poll
  // The v4 versions (per namespace) of the last complete v4 poll: the next poll reads them
  // without detecting them again (prism/v4_client.hpp).
  prism::V4Versions v4_versions_;
  // The datapolicies version that served entity sync last ("" none: not served); unset
  // until a read completed.
  std::optional<std::string> entity_sync_version_;
  std::optional<std::chrono::steady_clock::time_point> entity_sync_absent_;  // when not served
  // VM coverage: when the last read that did not fail ended, what the last read was ("" none,
  // else its state and api, for logging changes only), and the v4 versions it used.
  std::optional<std::chrono::steady_clock::time_point> coverage_read_at_;
  std::string coverage_last_;
  prism::CoverageVersions coverage_versions_;
  // The site's canonical policies by raw text and its pages by their bytes (page_memo.hpp), so
  // a poll reads only the pages and re-canonicalizes only the policies that changed.
  std::shared_ptr<policy::V4PolicyMemo> v4_memo_ = std::make_shared<policy::V4PolicyMemo>();
  std::shared_ptr<policy::V3RuleMemo> v3_memo_ = std::make_shared<policy::V3RuleMemo>();
  http::WorkPool* work_pool_ = nullptr;
  PollGate* gate_ = nullptr;
  int failures_ = 0;                         // polls failed in a row
  std::chrono::milliseconds backoff_{0};     // added to the next wait for them
};

}  // namespace flowdrift::scheduler
