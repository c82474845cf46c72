#include "metrics/metrics.hpp"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <set>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <sys/resource.h>
#include <unistd.h>

#include "core/clock.hpp"
#include "core/printable.hpp"
#include "core/result.hpp"
#include "metrics/text_format.hpp"

namespace flowdrift::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Paths come from what a site sent: their series are bounded per site (the count is not).
constexpr std::size_t kMaxUnmodelledSeries = 20;

MetricFamily family(std::string name, std::string help, MetricType type = MetricType::Gauge) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);  // one line, no backslash: prometheus-cpp does not escape HELP
  f.type = type;
  return f;
}

void add(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

double seconds(std::int64_t ms) { return static_cast<double>(ms) / 1000.0; }

const prometheus::Histogram::BucketBoundaries kPollBuckets{0.05, 0.1, 0.25, 0.5, 1,
                                                           2.5,  5,   10,   30,  60};

// Removes every series of `family` whose label `key` is `value` (a site or pair that left the
// configuration). prometheus-cpp finds a series only by its whole label set, so the label sets
// come from the family's own collection; Add() with an existing label set returns that series.
template <typename T, typename... Args>
void remove_series(prometheus::Family<T>& family, const std::string& key,
                   const std::string& value, const Args&... args) {
  std::vector<prometheus::Labels> doomed;
  for (const auto& f : family.Collect()) {
    for (const auto& m : f.metric) {
      prometheus::Labels labels;
      for (const auto& l : m.label) labels[l.name] = l.value;
      auto it = labels.find(key);
      if (it != labels.end() && it->second == value) doomed.push_back(std::move(labels));
    }
  }
  for (const auto& labels : doomed) family.Remove(&family.Add(labels, args...));
}

// Appends the families that have series, in the order given.
void keep(std::vector<MetricFamily>& out, std::initializer_list<MetricFamily*> families) {
  for (auto* f : families) {
    if (!f->metric.empty()) out.push_back(std::move(*f));
  }
}

// Entries of /proc/self/fd, the one this count opens excluded; nothing when it cannot be read.
std::optional<std::size_t> count_open_fds() {
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/self/fd", ec);
  if (ec) return std::nullopt;
  std::size_t n = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    ++n;
  }
  return n > 0 ? n - 1 : 0;
}

// Process metrics from /proc (prometheus-cpp 1.0.1 has no process collector).
void process_metrics(std::vector<MetricFamily>& out, std::int64_t start_ms) {
  auto rss = family("process_resident_memory_bytes", "Resident memory size in bytes.");
  auto cpu = family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                    MetricType::Counter);
  auto start = family("process_start_time_seconds",
                      "Start time of the process since unix epoch in seconds.");
  std::ifstream stat("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the parenthesised command name: state is field 3; utime 14, stime 15, rss 24.
  auto close = content.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(content.substr(close + 2));
    std::vector<std::string> fields;
    std::string field;
    while (rest >> field) fields.push_back(field);
    if (fields.size() > 21) {
      const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
      add(cpu, {}, (std::stod(fields[11]) + std::stod(fields[12])) / ticks);
      add(rss, {}, std::stod(fields[21]) * page);
    }
  }
  add(start, {}, seconds(start_ms));
  auto open_fds = family("process_open_fds", "Number of open file descriptors.");
  if (auto n = count_open_fds()) add(open_fds, {}, static_cast<double>(*n));
  auto max_fds = family("process_max_fds", "Maximum number of open file descriptors.");
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
    add(max_fds, {}, static_cast<double>(files.rlim_cur));
  }
  keep(out, {&rss, &cpu, &start, &open_fds, &max_fds});
}

}  // namespace

Metrics::Metrics(std::vector<std::string> sites, std::vector<PairLabels> pairs,
                 std::size_t policy_series_cap, BuildLabels build)
    : sites_(std::move(sites)),
      cap_(policy_series_cap),
      build_(std::move(build)),
      start_ms_(unix_now_ms()),
      registry_(std::make_shared<prometheus::Registry>()) {
  for (const auto& s : sites_) site_state_[s];
  for (auto& p : pairs) {
    PairState st;
    st.labels = p;
    pair_state_.emplace(p.name, std::move(st));
  }
  polls_ = &prometheus::BuildCounter()
                .Name("flowdrift_site_polls_total")
                .Help("Poll attempts per site, complete or not.")
                .Register(*registry_);
  poll_failures_ = &prometheus::BuildCounter()
                        .Name("flowdrift_site_poll_failures_total")
                        .Help("Polls that did not give a complete snapshot, by bounded reason.")
                        .Register(*registry_);
  poll_duration_ = &prometheus::BuildHistogram()
                        .Name("flowdrift_site_poll_duration_seconds")
                        .Help("Duration of a whole poll: every page, retry, canonicalization and store write.")
                        .Register(*registry_);
  store_writes_ = &prometheus::BuildCounter()
                       .Name("flowdrift_store_writes_total")
                       .Help("Database write transactions, by operation.")
                       .Register(*registry_);
  store_errors_ = &prometheus::BuildCounter()
                       .Name("flowdrift_store_write_errors_total")
                       .Help("Database write transactions that failed and were rolled back.")
                       .Register(*registry_);
  detected_ = &prometheus::BuildCounter()
                   .Name("flowdrift_drift_detected_total")
                   .Help("Drift items raised (past the debounce), by pair and kind.")
                   .Register(*registry_);
  resolved_ = &prometheus::BuildCounter()
                   .Name("flowdrift_drift_resolved_total")
                   .Help("Raised drift items resolved, by pair and kind.")
                   .Register(*registry_);
  dropped_ = &prometheus::BuildCounter()
                  .Name("flowdrift_policy_drift_series_dropped_total")
                  .Help("Per-policy drift series the series cap left out of a scrape, each counted once: at the first scrape that left it out.")
                  .Register(*registry_);
  pruned_ = &prometheus::BuildCounter()
                 .Name("flowdrift_store_pruned_rows_total")
                 .Help("Rows deleted by retention (storage.retention), by table.")
                 .Register(*registry_);
  // Avoid missing metrics: every series we know may exist starts at 0.
  for (const auto& s : sites_) add_site_series(s);
  for (const char* op : {"poll", "drift"}) {
    store_writes_->Add({{"operation", op}});
    store_errors_->Add({{"operation", op}});
  }
  for (const auto& [name, st] : pair_state_) add_pair_series(name);
  dropped_->Add({});
}

void Metrics::add_site_series(const std::string& site) {
  polls_->Add({{"site", site}});
  for (auto r : kAllErrorReasons) {
    poll_failures_->Add({{"site", site}, {"reason", std::string(to_string(r))}});
  }
  poll_duration_->Add({{"site", site}}, kPollBuckets);
}

void Metrics::add_pair_series(const std::string& pair) {
  for (auto k : diff::kAllKinds) {
    detected_->Add({{"pair", pair}, {"kind", std::string(diff::to_string(k))}});
    resolved_->Add({{"pair", pair}, {"kind", std::string(diff::to_string(k))}});
  }
}

void Metrics::reconfigure(const std::vector<std::string>& sites,
                          const std::vector<PairLabels>& pairs, std::size_t policy_series_cap) {
  std::lock_guard lock(mu_);
  cap_ = policy_series_cap;
  const std::set<std::string> keep_sites(sites.begin(), sites.end());
  for (auto it = site_state_.begin(); it != site_state_.end();) {
    if (keep_sites.count(it->first) != 0) {
      ++it;
      continue;
    }
    remove_series(*polls_, "site", it->first);
    remove_series(*poll_failures_, "site", it->first);
    remove_series(*poll_duration_, "site", it->first, kPollBuckets);
    it = site_state_.erase(it);
  }
  for (const auto& s : sites) {
    if (site_state_.count(s) == 0) {
      site_state_[s];
      add_site_series(s);
    }
  }
  sites_ = sites;

  std::map<std::string, const PairLabels*> keep_pairs;
  for (const auto& p : pairs) keep_pairs[p.name] = &p;
  for (auto it = pair_state_.begin(); it != pair_state_.end();) {
    if (keep_pairs.count(it->first) != 0) {
      ++it;
      continue;
    }
    remove_series(*detected_, "pair", it->first);
    remove_series(*resolved_, "pair", it->first);
    it = pair_state_.erase(it);
  }
  for (const auto& [name, labels] : keep_pairs) {
    auto [pos, added] = pair_state_.try_emplace(name);
    pos->second.labels = *labels;
    if (added) add_pair_series(name);
  }
}

Metrics::~Metrics() = default;

void Metrics::site_restored(const std::string& site, std::int64_t last_success_ms,
                            std::int64_t policies, std::int64_t snapshot_first_ms) {
  std::lock_guard lock(mu_);
  auto it = site_state_.find(site);
  if (it == site_state_.end()) return;
  it->second.last_success_ms = last_success_ms;
  it->second.policies = policies;
  it->second.snapshot_first_ms = snapshot_first_ms;
}

void Metrics::poll_finished(const SitePoll& poll) {
  std::lock_guard lock(mu_);
  auto& st = site_state_[poll.site];
  st.polled = true;
  st.up = poll.complete;
  st.last_poll_ms = poll.finished_ms;
  if (poll.complete) st.last_success_ms = poll.finished_ms;
  if (poll.policies) st.policies = poll.policies;
  if (poll.snapshot_first_ms) st.snapshot_first_ms = poll.snapshot_first_ms;
  if (poll.complete && !poll.api.empty()) {
    st.api = poll.api;
    st.api_version = poll.api_version;
  }
  if (poll.complete) st.unmodelled = poll.unmodelled;
  st.consecutive_failures = poll.consecutive_failures;
  st.backoff_seconds = poll.backoff_seconds;
  polls_->Add({{"site", poll.site}}).Increment();
  if (!poll.complete) poll_failures_->Add({{"site", poll.site}, {"reason", poll.reason}}).Increment();
  poll_duration_->Add({{"site", poll.site}}, kPollBuckets).Observe(poll.duration_seconds);
}

void Metrics::poll_gate(std::size_t in_flight, std::size_t waiting, std::size_t limit) {
  std::lock_guard lock(mu_);
  polls_in_flight_ = in_flight;
  polls_waiting_ = waiting;
  polls_limit_ = limit;
}

bool Metrics::site_up(const std::string& site) const {
  std::lock_guard lock(mu_);
  const auto it = site_state_.find(site);
  return it != site_state_.end() && it->second.up;
}

void Metrics::store_write(std::string_view operation, bool ok, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  store_writes_->Add({{"operation", std::string(operation)}}).Increment();
  if (ok) {
    last_store_write_ms_ = now_ms;
  } else {
    store_errors_->Add({{"operation", std::string(operation)}}).Increment();
  }
}

void Metrics::audit_head(std::int64_t seq) {
  std::lock_guard lock(mu_);
  audit_head_seq_ = seq;
}

void Metrics::config_loaded(bool ok, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  config_ok_ = ok;
  if (ok) config_ok_ms_ = now_ms;
}

void Metrics::pair_state(const std::string& pair, diff::PairStatus status,
                         std::vector<OpenItem> open, double comparison_seconds,
                         std::optional<std::int64_t> compared_ms,
                         std::optional<std::int64_t> skew_ms) {
  std::lock_guard lock(mu_);
  auto& st = pair_state_[pair];
  if (st.labels.name.empty()) st.labels.name = pair;
  st.status = status;
  st.open = std::move(open);
  st.comparison_seconds = comparison_seconds;
  if (compared_ms) st.compared_ms = compared_ms;
  if (skew_ms) st.skew_ms = skew_ms;
}

void Metrics::pair_direction(const std::string& pair, const std::string& source,
                             const std::string& replica, bool failed_over,
                             std::optional<std::int64_t> last_flip_ms) {
  std::lock_guard lock(mu_);
  auto& st = pair_state_[pair];
  st.labels = {pair, source, replica};
  st.failed_over = failed_over;
  st.last_flip_ms = last_flip_ms;
}

void Metrics::pair_expectations(const std::string& pair,
                                std::vector<ExpectationInfo> expectations) {
  std::lock_guard lock(mu_);
  auto& st = pair_state_[pair];
  if (st.labels.name.empty()) st.labels.name = pair;
  st.expectations = std::move(expectations);
}

void Metrics::entity_sync(const std::string& site, const drift::EntitySyncRead& read) {
  using State = drift::EntitySyncRead::State;
  if (read.state == State::NotRead) return;
  std::lock_guard lock(mu_);
  auto& st = site_state_[site];
  if (read.state == State::NotServed) {
    st.entity_sync_up.reset();
    st.entity_sync.clear();
    return;
  }
  st.entity_sync_up = read.state == State::Complete;
  if (read.state != State::Complete) return;
  st.entity_sync.clear();
  for (const auto& e : read.entries) {
    ++st.entity_sync[{std::string(drift::entity_sync_label(e.entity_type)),
                      std::string(drift::entity_sync_label(e.status))}];
  }
}

void Metrics::sync_disagreements(const std::string& pair, const std::vector<std::string>& kinds) {
  std::lock_guard lock(mu_);
  auto& st = pair_state_[pair];
  if (st.labels.name.empty()) st.labels.name = pair;
  st.disagreements.clear();
  for (const auto& k : kinds) ++st.disagreements[k];
}

void Metrics::vm_coverage(const std::string& site, const drift::CoverageRead& read) {
  using State = drift::CoverageRead::State;
  if (read.state == State::NotRead) return;
  std::lock_guard lock(mu_);
  auto& st = site_state_[site];
  if (read.state == State::NotServed) {
    st.coverage_up.reset();
    return;
  }
  st.coverage_up = read.state == State::Complete;
  if (read.state != State::Complete) return;
  st.vms = read.vms;
  st.protected_vms = static_cast<std::int64_t>(read.data.vms.size());
}

void Metrics::coverage_gaps(const std::string& pair, const std::vector<std::string>& kinds) {
  std::lock_guard lock(mu_);
  auto& st = pair_state_[pair];
  if (st.labels.name.empty()) st.labels.name = pair;
  st.coverage_gaps.clear();
  for (const auto& k : kinds) ++st.coverage_gaps[k];
}

void Metrics::pruned(const std::string& table, std::int64_t rows) {
  pruned_->Add({{"table", table}}).Increment(static_cast<double>(rows));
}

void Metrics::drift_opened(const std::string& pair, diff::DriftKind kind) {
  detected_->Add({{"pair", pair}, {"kind", std::string(diff::to_string(kind))}}).Increment();
}

void Metrics::drift_resolved(const std::string& pair, diff::DriftKind kind) {
  resolved_->Add({{"pair", pair}, {"kind", std::string(diff::to_string(kind))}}).Increment();
}

namespace {

// Appends the families that have series, in order.
// A site's entity-sync series: every known (type, status) pair, 0 when none, and OTHER only
// when the site served a value flowdrift does not know.
void add_entity_sync(const std::string& site, const std::optional<bool>& up,
                     const std::map<std::pair<std::string, std::string>, int>& counts,
                     MetricFamily& up_family, MetricFamily& family) {
  if (!up) return;
  add(up_family, {{"site", site}}, *up ? 1 : 0);
  auto count = [&counts](std::string_view type, std::string_view status) {
    auto it = counts.find({std::string(type), std::string(status)});
    return it == counts.end() ? 0 : it->second;
  };
  for (auto type : drift::kEntitySyncTypes) {
    for (auto status : drift::kEntitySyncStatuses) {
      add(family, {{"entity_type", std::string(type)}, {"site", site}, {"status", std::string(status)}},
          count(type, status));
    }
  }
  for (const auto& [key, n] : counts) {
    if (key.first != drift::kEntitySyncOther && key.second != drift::kEntitySyncOther) continue;
    add(family, {{"entity_type", key.first}, {"site", site}, {"status", key.second}}, n);
  }
}

using KindSeverity = std::pair<diff::DriftKind, diff::Severity>;

// A pair's open items counted by state, kind and severity, and the oldest alerting item of
// each kind.
struct OpenCounts {
  std::map<KindSeverity, int> raised, pending, expected;
  std::map<diff::DriftKind, std::int64_t> oldest_ms;

  explicit OpenCounts(const std::vector<OpenItem>& open) {
    for (const auto& it : open) {
      if (it.state != ItemState::Raised) {
        ++(it.state == ItemState::Pending ? pending : expected)[{it.kind, it.severity}];
        continue;
      }
      ++raised[{it.kind, it.severity}];
      auto [pos, inserted] = oldest_ms.emplace(it.kind, it.opened_ms);
      if (!inserted) pos->second = std::min(pos->second, it.opened_ms);
    }
  }
  static int count(const std::map<KindSeverity, int>& m, KindSeverity key) {
    auto c = m.find(key);
    return c == m.end() ? 0 : c->second;
  }
};

}  // namespace

void Metrics::render_daemon(Families& out) const {
  auto build = family("flowdrift_build_info", "Build information; always 1.");
  add(build, {{"branch", build_.branch}, {"compiler", build_.compiler}, {"revision", build_.revision},
              {"sqlite", build_.sqlite}, {"version", build_.version}}, 1);
  auto start = family("flowdrift_start_time_seconds", "Unix time the daemon started.");
  add(start, {}, seconds(start_ms_));
  auto cfg_ok = family("flowdrift_config_last_reload_successful", "1 if the last configuration load or reload succeeded, else 0.");
  add(cfg_ok, {}, config_ok_ ? 1 : 0);
  auto cfg_ts = family("flowdrift_config_last_reload_success_timestamp_seconds", "Unix time of the last successful configuration load or reload.");
  if (config_ok_ms_ > 0) add(cfg_ts, {}, seconds(config_ok_ms_));
  auto nsites = family("flowdrift_sites", "Configured sites.");
  add(nsites, {}, static_cast<double>(site_state_.size()));
  auto npairs = family("flowdrift_pairs", "Configured pairs.");
  add(npairs, {}, static_cast<double>(pair_state_.size()));
  auto audit = family("flowdrift_audit_log_head_seq", "Sequence number of the audit chain's last entry (flowdriftctl verify); it only grows, so a step back means entries were removed from its end.");
  if (audit_head_seq_ >= 0) add(audit, {}, static_cast<double>(audit_head_seq_));
  auto in_flight = family("flowdrift_polls_in_flight", "Site polls running now (at most flowdrift_polls_max_concurrent).");
  auto waiting = family("flowdrift_polls_waiting", "Site polls due and waiting for a slot (polling.max_concurrent).");
  auto limit = family("flowdrift_polls_max_concurrent", "Site polls allowed in flight at once (polling.max_concurrent).");
  if (polls_limit_ > 0) {
    add(in_flight, {}, static_cast<double>(polls_in_flight_));
    add(waiting, {}, static_cast<double>(polls_waiting_));
    add(limit, {}, static_cast<double>(polls_limit_));
  }
  keep(out, {&build, &start, &cfg_ok, &cfg_ts, &nsites, &npairs, &audit, &in_flight, &waiting, &limit});
}

void Metrics::render_sites(Families& out) const {
  auto up = family("flowdrift_site_up", "1 if the last poll of the site gave a complete snapshot, else 0.");
  auto last_poll = family("flowdrift_site_last_poll_timestamp_seconds", "Unix time of the last poll attempt; absent before the first.");
  auto last_ok = family("flowdrift_site_last_successful_poll_timestamp_seconds", "Unix time of the last complete poll; absent before the first.");
  auto policies = family("flowdrift_site_policies", "Policies in the site's current complete snapshot.");
  auto snap_ts = family("flowdrift_site_snapshot_timestamp_seconds", "Unix time the site's current snapshot content was first seen.");
  auto api = family("flowdrift_site_api_info", "The Prism Central API the site was last polled with completely (v3 or v4) and its version (v3, or the microseg version of v4: v4.0 to v4.3); always 1.");
  auto unmodelled = family("flowdrift_site_unmodelled_constructs", "Distinct members, enum values and rule types the canonical model did not know in the site's last complete poll (kept opaque and compared structurally).");
  auto unmodelled_info = family("flowdrift_site_unmodelled_info", "One series per construct the canonical model did not know in the site's last complete poll, by API version and schema path (at most 20 per site); always 1.");
  auto sync_up = family("flowdrift_nutanix_entity_sync_up", "1 if the last read of the site's datapolicies entity-sync-policies was complete, 0 if it failed; absent where the Prism Central does not serve them (v4.1 and later) or before the first read.");
  auto sync = family("flowdrift_nutanix_entity_sync_entities", "Entities Nutanix synchronizes from the site to a remote Prism Central, by entity type and Nutanix's sync status, as of the last complete read (OTHER: a value flowdrift does not know).");
  auto cov_up = family("flowdrift_vm_coverage_up", "1 if the last read of the site's VMs and their DR protection was complete, 0 if it failed; absent where neither the v4 nor the v3 lists are served, with vm_coverage off, or before the first read.");
  auto cov_vms = family("flowdrift_vm_coverage_vms", "VMs the site listed in its last complete VM coverage read.");
  auto cov_protected = family("flowdrift_vm_coverage_protected_vms", "VMs a protection policy or recovery plan of the site sends to the other site, as of its last complete VM coverage read.");
  auto failures = family("flowdrift_site_consecutive_failed_polls", "Polls of the site that failed in a row, the last one included; 0 after a complete poll.");
  auto backoff = family("flowdrift_site_poll_backoff_seconds", "How much later than its interval the site is polled next, because its last polls failed in a row (capped by max_backoff); 0 when none.");
  for (const auto& [name, st] : site_state_) {
    add(up, {{"site", name}}, st.up ? 1 : 0);
    if (st.polled) {
      add(failures, {{"site", name}}, st.consecutive_failures);
      add(backoff, {{"site", name}}, st.backoff_seconds);
    }
    add_entity_sync(name, st.entity_sync_up, st.entity_sync, sync_up, sync);
    if (st.coverage_up) {
      add(cov_up, {{"site", name}}, *st.coverage_up ? 1 : 0);
      add(cov_vms, {{"site", name}}, static_cast<double>(st.vms));
      add(cov_protected, {{"site", name}}, static_cast<double>(st.protected_vms));
    }
    if (st.polled) add(unmodelled, {{"site", name}}, static_cast<double>(st.unmodelled.size()));
    for (std::size_t i = 0; i < std::min(st.unmodelled.size(), kMaxUnmodelledSeries); ++i) {
      add(unmodelled_info,
          {{"path", printable(st.unmodelled[i], 200)}, {"site", name}, {"version", st.api_version}}, 1);
    }
    if (st.polled) add(last_poll, {{"site", name}}, seconds(st.last_poll_ms));
    if (st.last_success_ms > 0) add(last_ok, {{"site", name}}, seconds(st.last_success_ms));
    if (st.policies) add(policies, {{"site", name}}, static_cast<double>(*st.policies));
    if (st.snapshot_first_ms) add(snap_ts, {{"site", name}}, seconds(*st.snapshot_first_ms));
    if (!st.api.empty()) add(api, {{"api", st.api}, {"site", name}, {"version", st.api_version}}, 1);
  }
  keep(out, {&up, &last_poll, &last_ok, &policies, &snap_ts, &api, &unmodelled, &unmodelled_info,
             &sync_up, &sync, &cov_up, &cov_vms, &cov_protected, &failures, &backoff});
}

void Metrics::render_pairs(Families& out, SeriesKeys& dropped) const {
  auto info = family("flowdrift_pair_info", "Current direction of each pair; always 1.");
  auto failed_over = family("flowdrift_pair_failed_over", "1 while the pair is failed over (its configured replica is the source), else 0.");
  auto flipped_ts = family("flowdrift_pair_last_flip_timestamp_seconds", "Unix time of the pair's last applied failover or failback; absent when it never flipped.");
  auto status = family("flowdrift_pair_status", "1 for the pair's current status (IN_SYNC, DRIFTED or UNKNOWN), 0 for the others.");
  auto items = family("flowdrift_drift_items", "Open drift items that alert: raised (debounced) and not covered by an expected difference, by pair, kind and severity.");
  auto pending = family("flowdrift_drift_pending_items", "Open drift items still debouncing (found by fewer counted comparisons than configured), by pair, kind and severity.");
  auto expected = family("flowdrift_drift_expected_items", "Open drift items covered by a live expected difference (suppressed, not alerting), by pair, kind and severity.");
  auto expiry = family("flowdrift_expected_difference_expiry_timestamp_seconds", "Unix time each declared expected difference of the pair expires.");
  auto skew = family("flowdrift_pair_snapshot_skew_seconds", "Time between the complete polls of the two snapshots the pair last compared (or refused to compare).");
  auto oldest = family("flowdrift_drift_oldest_detected_timestamp_seconds", "Unix time the oldest alerting drift item of the pair and kind was first seen; absent when none is open.");
  auto cmp = family("flowdrift_comparison_duration_seconds", "Duration of the pair's last comparison.");
  auto cmp_ts = family("flowdrift_pair_last_comparison_success_timestamp_seconds", "Unix time of the pair's last comparison of two complete snapshots; absent before the first.");
  auto cmp_ts_old = family("flowdrift_last_comparison_success_timestamp_seconds", "Deprecated name of flowdrift_pair_last_comparison_success_timestamp_seconds, the same value; removed in 0.3.0.");
  auto per_policy = family("flowdrift_policy_drift", "1 for each currently drifted policy of a pair (capped; see flowdrift_policy_drift_series_dropped_total).");
  auto disagreements = family("flowdrift_entity_sync_disagreements", "Open disagreements between Nutanix's entity sync status (of the pair's source) and flowdrift's comparison of the pair, by kind: nutanix_in_sync_flowdrift_differs or nutanix_out_of_sync_flowdrift_equal.");
  auto gaps = family("flowdrift_vm_coverage_gaps", "VMs the pair's source protects for DR that its policies select today and that the replica's policies would not select the same way after a failover, by kind: unprotected (no replica policy would select it) or protected_differently.");
  std::size_t emitted = 0;
  for (const auto& [name, st] : pair_state_) {
    add(info, {{"pair", name}, {"replica", st.labels.replica}, {"source", st.labels.source}}, 1);
    add(failed_over, {{"pair", name}}, st.failed_over ? 1 : 0);
    if (st.last_flip_ms) add(flipped_ts, {{"pair", name}}, seconds(*st.last_flip_ms));
    for (auto kind : drift::kDisagreementKinds) {
      auto it = st.disagreements.find(std::string(kind));
      add(disagreements, {{"kind", std::string(kind)}, {"pair", name}},
          it == st.disagreements.end() ? 0 : it->second);
    }
    for (auto kind : drift::kCoverageGapKinds) {
      auto it = st.coverage_gaps.find(std::string(kind));
      add(gaps, {{"kind", std::string(kind)}, {"pair", name}},
          it == st.coverage_gaps.end() ? 0 : it->second);
    }
    for (auto s : {diff::PairStatus::InSync, diff::PairStatus::Drifted, diff::PairStatus::Unknown}) {
      add(status, {{"pair", name}, {"status", std::string(diff::to_string(s))}}, st.status == s ? 1 : 0);
    }
    for (const auto& it : st.open) {
      if (it.state != ItemState::Raised) continue;
      const std::string kind(diff::to_string(it.kind));
      if (emitted == cap_) {
        dropped.insert(name + '\0' + kind + '\0' + it.policy);
        continue;
      }
      add(per_policy, {{"kind", kind}, {"pair", name},
                       {"policy", it.policy}, {"severity", std::string(diff::to_string(it.severity))}}, 1);
      ++emitted;
    }
    const OpenCounts counts(st.open);
    for (auto k : diff::kAllKinds) {
      for (auto sev : diff::kAllSeverities) {
        const std::vector<ClientMetric::Label> labels{{"kind", std::string(diff::to_string(k))}, {"pair", name},
                            {"severity", std::string(diff::to_string(sev))}};
        add(items, labels, OpenCounts::count(counts.raised, {k, sev}));
        add(pending, labels, OpenCounts::count(counts.pending, {k, sev}));
        add(expected, labels, OpenCounts::count(counts.expected, {k, sev}));
      }
      if (auto o = counts.oldest_ms.find(k); o != counts.oldest_ms.end()) {
        add(oldest, {{"kind", std::string(diff::to_string(k))}, {"pair", name}}, seconds(o->second));
      }
    }
    for (const auto& e : st.expectations) {
      add(expiry, {{"pair", name}, {"selector", e.selector}}, seconds(e.expires_ms));
    }
    if (st.skew_ms) add(skew, {{"pair", name}}, seconds(*st.skew_ms));
    add(cmp, {{"pair", name}}, st.comparison_seconds);
    if (st.compared_ms) {
      add(cmp_ts, {{"pair", name}}, seconds(*st.compared_ms));
      add(cmp_ts_old, {{"pair", name}}, seconds(*st.compared_ms));
    }
  }
  keep(out, {&info, &failed_over, &flipped_ts, &status, &items, &pending, &expected, &expiry, &skew, &oldest, &cmp, &cmp_ts,
             &cmp_ts_old, &per_policy, &disagreements, &gaps});
}

void Metrics::count_newly_dropped(SeriesKeys dropped) const {
  std::size_t fresh = 0;
  for (const auto& key : dropped) fresh += dropped_last_.count(key) == 0 ? 1 : 0;
  if (fresh > 0) dropped_->Add({}).Increment(static_cast<double>(fresh));
  dropped_last_ = std::move(dropped);
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  Families own;
  render_daemon(own);
  render_sites(own);
  SeriesKeys dropped;
  render_pairs(own, dropped);
  auto dropped_now = family("flowdrift_policy_drift_series_dropped", "Per-policy drift series left out of this scrape by the series cap.");
  add(dropped_now, {}, static_cast<double>(dropped.size()));
  count_newly_dropped(std::move(dropped));
  auto store_ts = family("flowdrift_store_last_successful_write_timestamp_seconds", "Unix time of the last successful database write; absent before the first.");
  if (last_store_write_ms_ > 0) add(store_ts, {}, seconds(last_store_write_ms_));
  keep(own, {&dropped_now, &store_ts});

  // Collected last, so the dropped-series counter includes this scrape.
  auto fams = registry_->Collect();
  for (auto& f : own) fams.push_back(std::move(f));
  process_metrics(fams, start_ms_);
  return text_format(fams);
}

}  // namespace flowdrift::metrics
