// The single catalogue of flowdrift's Prometheus metrics (docs/metrics.md mirrors it) and their
// text rendering via prometheus-cpp core. Counters and histograms live in a Registry; gauges
// derived from current state (site health, pair status, open drift) are rebuilt from that
// state at every scrape, so series of vanished sites and resolved drift disappear by
// themselves. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/build_info.hpp"
#include "diff/diff.hpp"
#include "drift/coverage.hpp"
#include "drift/entity_sync.hpp"

namespace prometheus {
class Registry;
class Counter;
class Histogram;
template <typename T>
class Family;
struct MetricFamily;
}  // namespace prometheus

namespace flowdrift::metrics {

struct PairLabels {
  std::string name;
  std::string source;
  std::string replica;
};

// Where an open item stands: only Raised items alert (flowdrift_drift_items and the
// per-policy series); pending (debouncing) and expected ones have their own gauges.
enum class ItemState { Pending, Raised, Expected };

// One open drift item as exported (per-policy series and aggregates).
struct OpenItem {
  std::string policy;
  diff::DriftKind kind = diff::DriftKind::Modified;
  diff::Severity severity = diff::Severity::Info;
  std::int64_t opened_ms = 0;
  ItemState state = ItemState::Raised;
};

// A declared expected difference, exported with its expiry so it can be reviewed and renewed.
struct ExpectationInfo {
  std::string selector;
  std::int64_t expires_ms = 0;
};

struct SitePoll {
  std::string site;
  bool complete = false;
  std::string reason;  // "ok" or an ErrorReason string
  double duration_seconds = 0;
  std::int64_t finished_ms = 0;
  std::optional<std::int64_t> policies;            // policies in the current complete snapshot
  std::optional<std::int64_t> snapshot_first_ms;   // when the current snapshot was first seen
  std::string api;                                 // "v3" | "v4": the API the poll used
  std::string api_version;  // "v3", or the microseg version of a v4 poll: "v4.0" .. "v4.3"
  std::vector<std::string> unmodelled;  // complete polls: what the canonical model did not know
  int consecutive_failures = 0;         // polls of the site failed in a row (0 after a complete one)
  double backoff_seconds = 0;           // added to the interval before the next poll for them
};

// flowdrift_build_info's labels, as node_exporter's: what the binary was built from
// (core/build_info.hpp) and the SQLite library it runs with ("3.40.1").
struct BuildLabels : BuildInfo {
  std::string sqlite;
};

class Metrics {
 public:
  Metrics(std::vector<std::string> sites, std::vector<PairLabels> pairs,
          std::size_t policy_series_cap, BuildLabels build);
  ~Metrics();

  // A configuration reload: the sites and pairs (and the per-policy series cap) from now on.
  // Series of removed sites and pairs vanish, counters included; added ones start at 0 like
  // at start; a kept pair takes its new direction labels. Kept sites' and pairs' state and
  // counters are untouched.
  void reconfigure(const std::vector<std::string>& sites, const std::vector<PairLabels>& pairs,
                   std::size_t policy_series_cap);

  void poll_finished(const SitePoll& poll);
  // What flowdrift_site_up says of `site` (false for an unknown site).
  bool site_up(const std::string& site) const;
  // At start: what the store knows of a site's last complete poll, so a restart does not hide
  // how stale the site is (the last-success timestamp) until the next complete poll. The
  // site is not marked up or polled.
  void site_restored(const std::string& site, std::int64_t last_success_ms,
                     std::int64_t policies, std::int64_t snapshot_first_ms);
  void store_write(std::string_view operation, bool ok, std::int64_t now_ms);
  // The audit chain's last entry (store/audit.hpp), after each poll.
  void audit_head(std::int64_t seq);
  // The configuration was loaded (at start) or a reload was attempted.
  void config_loaded(bool ok, std::int64_t now_ms);
  // The pair's state after a comparison (or UNKNOWN with its items kept as they were).
  void pair_state(const std::string& pair, diff::PairStatus status, std::vector<OpenItem> open,
                  double comparison_seconds, std::optional<std::int64_t> compared_ms,
                  std::optional<std::int64_t> skew_ms = std::nullopt);
  // The pair's current direction (flowdrift_pair_info; after a failover the configured replica
  // is the source) and its last applied flip (docs/failover.md).
  void pair_direction(const std::string& pair, const std::string& source,
                      const std::string& replica, bool failed_over,
                      std::optional<std::int64_t> last_flip_ms);
  // The pair's declared expected differences (at start and on reload).
  void pair_expectations(const std::string& pair, std::vector<ExpectationInfo> expectations);
  // Rows a retention pass deleted from `table`.
  void pruned(const std::string& table, std::int64_t rows);
  void drift_opened(const std::string& pair, diff::DriftKind kind);
  void drift_resolved(const std::string& pair, diff::DriftKind kind);
  // What a poll read of the site's entity sync: Complete sets the counts and up, Failed sets
  // up to 0 and keeps the counts, NotServed removes the series, NotRead changes nothing.
  void entity_sync(const std::string& site, const drift::EntitySyncRead& read);
  // The pair's open disagreements with Nutanix's entity sync, by kind
  // (drift::kDisagreementKinds).
  void sync_disagreements(const std::string& pair, const std::vector<std::string>& kinds);
  // The daemon's poll slots (scheduler/gate.hpp): polls in flight, waiting, and the limit.
  void poll_gate(std::size_t in_flight, std::size_t waiting, std::size_t limit);
  // What a poll read of the site's VM coverage: Complete sets up and the counts, Failed sets
  // up to 0 and keeps the counts, NotServed removes the series, NotRead changes nothing.
  void vm_coverage(const std::string& site, const drift::CoverageRead& read);
  // The pair's open VM coverage gaps, by kind (drift::kCoverageGapKinds).
  void coverage_gaps(const std::string& pair, const std::vector<std::string>& kinds);

  // Prometheus text exposition format 0.0.4.
  std::string render() const;
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct SiteState {
    bool up = false;
    bool polled = false;
    std::int64_t last_poll_ms = 0;
    std::int64_t last_success_ms = 0;
    std::optional<std::int64_t> policies;
    std::optional<std::int64_t> snapshot_first_ms;
    std::string api;
    std::string api_version;
    std::vector<std::string> unmodelled;  // of the last complete poll
    int consecutive_failures = 0;
    double backoff_seconds = 0;
    // Entity sync, once a poll read it on a site that serves it.
    std::optional<bool> entity_sync_up;
    std::map<std::pair<std::string, std::string>, int> entity_sync;  // (type, status) labels
    // VM coverage, once a poll read it on a site that serves it.
    std::optional<bool> coverage_up;
    std::int64_t vms = 0;
    std::int64_t protected_vms = 0;
  };
  struct PairState {
    PairLabels labels;
    diff::PairStatus status = diff::PairStatus::Unknown;
    std::vector<OpenItem> open;
    double comparison_seconds = 0;
    std::optional<std::int64_t> compared_ms;
    std::optional<std::int64_t> skew_ms;
    std::vector<ExpectationInfo> expectations;
    std::map<std::string, int> disagreements;  // open, by kind
    std::map<std::string, int> coverage_gaps;  // open, by kind
    bool failed_over = false;
    std::optional<std::int64_t> last_flip_ms;
  };

  void add_site_series(const std::string& site);
  void add_pair_series(const std::string& pair);

  // render()'s steps, each appending its families in exposition order (mu_ held).
  using Families = std::vector<prometheus::MetricFamily>;
  void render_daemon(Families& out) const;
  void render_sites(Families& out) const;
  // `dropped`: the per-policy series the cap left out of this scrape, by pair, kind and policy.
  using SeriesKeys = std::set<std::string>;
  void render_pairs(Families& out, SeriesKeys& dropped) const;
  // Adds to the dropped counter the series of `dropped` the last scrape did not drop, and keeps
  // `dropped` as the last scrape's.
  void count_newly_dropped(SeriesKeys dropped) const;

  mutable std::mutex mu_;
  std::vector<std::string> sites_;
  std::map<std::string, SiteState> site_state_;
  std::map<std::string, PairState> pair_state_;
  std::size_t cap_;
  BuildLabels build_;
  std::int64_t start_ms_;
  // The series the cap left out of the last scrape: the dropped counter counts a series once,
  // at the first scrape that leaves it out, however many scrapes follow.
  mutable SeriesKeys dropped_last_;
  std::int64_t last_store_write_ms_ = 0;
  bool config_ok_ = true;
  std::int64_t audit_head_seq_ = -1;  // unset
  std::size_t polls_in_flight_ = 0;
  std::size_t polls_waiting_ = 0;
  std::size_t polls_limit_ = 0;       // 0: no gate reported yet
  std::int64_t config_ok_ms_ = 0;

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* polls_ = nullptr;
  prometheus::Family<prometheus::Counter>* poll_failures_ = nullptr;
  prometheus::Family<prometheus::Histogram>* poll_duration_ = nullptr;
  prometheus::Family<prometheus::Counter>* store_writes_ = nullptr;
  prometheus::Family<prometheus::Counter>* store_errors_ = nullptr;
  prometheus::Family<prometheus::Counter>* detected_ = nullptr;
  prometheus::Family<prometheus::Counter>* resolved_ = nullptr;
  prometheus::Family<prometheus::Counter>* dropped_ = nullptr;
  prometheus::Family<prometheus::Counter>* pruned_ = nullptr;
};

}  // namespace flowdrift::metrics
