#include "app/pairs.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "diff/diff.hpp"
#include "diff/expect.hpp"
#include "store/db.hpp"

namespace flowdrift::app {
namespace {

std::shared_ptr<spdlog::logger> logger() { return log::get("drift"); }

diff::PairStatus parse_status(const std::string& s) {
  if (s == "IN_SYNC") return diff::PairStatus::InSync;
  if (s == "DRIFTED") return diff::PairStatus::Drifted;
  return diff::PairStatus::Unknown;
}

std::vector<metrics::OpenItem> to_open_items(const std::vector<store::StoredDriftItem>& items) {
  std::vector<metrics::OpenItem> out;
  for (const auto& it : items) {
    metrics::OpenItem o;
    o.policy = it.object;
    o.kind = diff::parse_kind(it.kind).value_or(diff::DriftKind::Modified);
    o.severity = diff::parse_severity(it.severity).value_or(diff::Severity::Critical);
    o.opened_ms = it.opened_ms;
    o.state = it.expected()  ? metrics::ItemState::Expected
              : it.pending() ? metrics::ItemState::Pending
                             : metrics::ItemState::Raised;
    out.push_back(std::move(o));
  }
  return out;
}

std::string seconds_text(std::int64_t ms) {
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + "s";
}

}  // namespace

PairTracker::PairTracker(const config::Config& config, store::Store& store,
                         metrics::Metrics& metrics)
    : store_(store), metrics_(metrics) {
  for (const auto& s : config.sites) sites_[s.name];
  for (const auto& p : config.pairs) {
    pairs_.emplace(p.name, load_pair(p));
    std::vector<metrics::ExpectationInfo> exp;
    for (const auto& e : p.expected) exp.push_back({e.selector(), e.expires_ms});
    metrics_.pair_expectations(p.name, std::move(exp));
    publish(p.name, 0, std::nullopt);
  }
}

void PairTracker::apply_settings(PairRun& run, const config::PairConfig& p) {
  run.mapping = p.mapping;
  run.expected = p.expected;
  run.debounce = {p.debounce_comparisons, p.debounce_for.count()};
  run.max_skew_ms = p.max_skew.count();
}

PairTracker::PairRun PairTracker::load_pair(const config::PairConfig& p) const {
  PairRun run;
  run.id = {p.name, p.source, p.replica};
  apply_settings(run, p);
  if (auto rec = store::pair_record(store_.db(), p.name)) {
    // Keep what was stored, unless the pair's direction changed in the config.
    if (rec->source_site == p.source && rec->replica_site == p.replica) {
      run.status = parse_status(rec->status);
      run.reason = rec->reason;
      run.compared_source = rec->source_snapshot_id;
      run.compared_replica = rec->replica_snapshot_id;
      run.skew_ms = rec->skew_ms;
    }
  } else {
    run.reason = "not compared yet";
  }
  return run;
}

void PairTracker::reconfigure(const config::Config& config,
                              const std::vector<std::string>& reset_sites,
                              const std::vector<std::string>& changed_pairs) {
  // Nothing is half-done: a poll's in_transaction and after_poll run without a suspension
  // point between them, and a reload runs on the same event loop.
  pending_.clear();
  pending_sites_.clear();
  auto listed = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  std::map<std::string, SiteRun> sites;
  for (const auto& s : config.sites) {
    auto it = sites_.find(s.name);
    sites[s.name] = (it == sites_.end() || listed(reset_sites, s.name)) ? SiteRun{} : it->second;
  }
  sites_ = std::move(sites);

  std::map<std::string, PairRun> pairs;
  std::vector<std::string> touched;  // pairs whose metrics are published afresh
  for (const auto& p : config.pairs) {
    auto it = pairs_.find(p.name);
    if (it == pairs_.end() || it->second.id.source_site != p.source ||
        it->second.id.replica_site != p.replica) {
      pairs.emplace(p.name, load_pair(p));  // new, or reversed: as at start
      touched.push_back(p.name);
      continue;
    }
    PairRun run = std::move(it->second);
    if (listed(changed_pairs, p.name)) {
      // What the comparison depends on changed: compare again at the next poll even if
      // neither snapshot changed (as after a restart).
      apply_settings(run, p);
      run.compared_since_start = false;
      touched.push_back(p.name);
    }
    pairs.emplace(p.name, std::move(run));
  }
  pairs_ = std::move(pairs);
  for (const auto& p : config.pairs) {
    if (!listed(touched, p.name)) continue;
    std::vector<metrics::ExpectationInfo> exp;
    for (const auto& e : p.expected) exp.push_back({e.selector(), e.expires_ms});
    metrics_.pair_expectations(p.name, std::move(exp));
    publish(p.name, 0, std::nullopt);
  }
}

void PairTracker::in_transaction(store::Database& db, const store::PollRecord& poll,
                                 const store::PollOutcome& outcome,
                                 const policy::Snapshot* snapshot) {
  pending_.clear();
  pending_sites_.clear();
  SiteRun self = sites_[poll.site];
  self.polled = true;
  self.complete = poll.complete;
  self.reason = poll.complete ? "" : poll.reason;
  if (outcome.snapshot_id) self.snapshot_id = outcome.snapshot_id;
  if (poll.complete) self.complete_ms = poll.finished_ms;
  pending_sites_[poll.site] = self;
  const auto now_ms = unix_now_ms();

  for (auto& [name, pair] : pairs_) {
    const bool is_source = pair.id.source_site == poll.site;
    const bool is_replica = pair.id.replica_site == poll.site;
    if (!is_source && !is_replica) continue;
    const std::string& other_name = is_source ? pair.id.replica_site : pair.id.source_site;
    const SiteRun& other = sites_[other_name];

    std::string unknown_reason;
    if (!self.complete) {
      unknown_reason = "site " + poll.site + ": " + poll.reason;
    } else if (!other.polled) {
      continue;  // nothing new to say until the other side has been polled since start
    } else if (!other.complete) {
      unknown_reason = "site " + other_name + ": " + other.reason;
    }
    Pending p;
    p.pair = name;
    p.now_ms = now_ms;
    const auto src_id = is_source ? self.snapshot_id : other.snapshot_id;
    const auto rep_id = is_source ? other.snapshot_id : self.snapshot_id;
    if (unknown_reason.empty() && (!src_id || !rep_id)) continue;
    std::optional<std::int64_t> skew;
    if (unknown_reason.empty()) {
      // Two snapshots taken far apart can show a change on one side that the other has
      // already caught up with (or not yet made): refuse rather than page on it.
      skew = std::llabs(self.complete_ms - other.complete_ms);
      if (*skew > pair.max_skew_ms) {
        // Stable text (the skew itself is in pair_states.skew_ms and the skew metric), so a
        // pair that stays skewed is written and logged once, not at every poll.
        unknown_reason = "snapshots polled more than max_skew (" +
                         seconds_text(pair.max_skew_ms) + ") apart";
      }
    }
    if (!unknown_reason.empty()) {
      if (pair.status == diff::PairStatus::Unknown && pair.reason == unknown_reason) continue;
      store::set_pair_unknown(db, pair.id, unknown_reason, now_ms, skew);
      p.status = diff::PairStatus::Unknown;
      p.reason = unknown_reason;
      p.skew_ms = skew;
      pending_.push_back(std::move(p));
      continue;
    }
    std::vector<bool> live;
    for (const auto& e : pair.expected) live.push_back(e.live(now_ms));
    if (pair.compared_since_start && pair.status != diff::PairStatus::Unknown &&
        pair.compared_source == src_id && pair.compared_replica == rep_id &&
        !pair.pending_items && live == pair.live_expected) {
      continue;  // quiet cycle: nothing changed that could change the outcome; nothing to write
    }
    const auto t0 = SteadyClock::now();
    // The polled side's snapshot is in hand; the other comes from the store.
    const policy::Snapshot other_snap = store_.load_snapshot(*(is_source ? rep_id : src_id));
    const policy::Snapshot& src = is_source ? *snapshot : other_snap;
    const policy::Snapshot& rep = is_source ? other_snap : *snapshot;
    auto result = diff::diff_snapshots(src, rep, pair.mapping);
    p.live_expected = diff::apply_expectations(result, pair.expected, now_ms);
    store::ComparisonContext ctx;
    ctx.poll_id = outcome.poll_id;
    ctx.source_snapshot_id = *src_id;
    ctx.replica_snapshot_id = *rep_id;
    ctx.now_ms = now_ms;
    ctx.skew_ms = *skew;
    ctx.debounce = pair.debounce;
    p.changes = store::apply_pair_result(db, pair.id, result, ctx);
    p.status = p.changes.status == "DRIFTED" ? diff::PairStatus::Drifted : diff::PairStatus::InSync;
    p.compared = true;
    p.source_snapshot = src_id;
    p.replica_snapshot = rep_id;
    p.skew_ms = skew;
    p.seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
    pending_.push_back(std::move(p));
  }
}

void PairTracker::after_poll(bool committed) {
  if (!committed) {
    pending_.clear();
    pending_sites_.clear();
    return;
  }
  for (auto& [name, run] : pending_sites_) sites_[name] = run;
  pending_sites_.clear();
  for (auto& p : pending_) {
    auto& pair = pairs_.at(p.pair);
    if (pair.status != p.status || pair.reason != p.reason) {
      log::info(logger(), "pair.status",
                {{"pair", p.pair},
                 {"status", std::string(diff::to_string(p.status))},
                 {"was", std::string(diff::to_string(pair.status))},
                 {"reason", p.reason}});
    }
    pair.status = p.status;
    pair.reason = p.reason;
    if (p.skew_ms) pair.skew_ms = p.skew_ms;
    if (p.compared) {
      pair.compared_source = p.source_snapshot;
      pair.compared_replica = p.replica_snapshot;
      pair.compared_since_start = true;
      pair.pending_items = p.changes.pending > 0;
      pair.live_expected = p.live_expected;
    }
    for (const auto& it : p.changes.opened) {
      log::info(logger(), "drift.opened",
                {{"pair", p.pair}, {"policy", it.object}, {"kind", it.kind},
                 {"severity", it.severity}, {"direction", it.direction},
                 {"state", std::string(it.expected() ? "expected"
                                       : it.pending() ? "pending"
                                                      : "raised")},
                 {"summary", it.summary}});
    }
    for (const auto& it : p.changes.raised) {
      if (!it.expected()) {
        log::info(logger(), "drift.raised",
                  {{"pair", p.pair}, {"policy", it.object}, {"kind", it.kind},
                   {"severity", it.severity}, {"seen", it.seen}});
      }
      metrics_.drift_opened(p.pair, diff::parse_kind(it.kind).value_or(diff::DriftKind::Modified));
    }
    for (const auto& it : p.changes.expected) {
      log::info(logger(), "drift.expected",
                {{"pair", p.pair}, {"policy", it.object}, {"kind", it.kind},
                 {"expectation", it.expectation_json}});
    }
    for (const auto& it : p.changes.unexpected) {
      log::warn(logger(), "drift.unexpected",
                {{"pair", p.pair}, {"policy", it.object}, {"kind", it.kind},
                 {"severity", it.severity},
                 {"reason", std::string("its expected difference expired or was removed")}});
    }
    for (const auto& it : p.changes.updated) {
      log::info(logger(), "drift.updated",
                {{"pair", p.pair}, {"policy", it.object}, {"kind", it.kind},
                 {"severity", it.severity}, {"summary", it.summary}});
    }
    for (const auto& it : p.changes.resolved) {
      log::info(logger(), "drift.resolved",
                {{"pair", p.pair}, {"policy", it.object}, {"kind", it.kind},
                 {"open_seconds", (*it.resolved_ms - it.opened_ms) / 1000},
                 {"raised", !it.pending()}});
      if (!it.pending()) {
        metrics_.drift_resolved(p.pair,
                                diff::parse_kind(it.kind).value_or(diff::DriftKind::Modified));
      }
    }
    publish(p.pair, p.seconds, p.compared ? std::optional<std::int64_t>(p.now_ms) : std::nullopt,
            p.skew_ms);
  }
  pending_.clear();
}

void PairTracker::publish(const std::string& pair, double seconds,
                          std::optional<std::int64_t> compared_ms,
                          std::optional<std::int64_t> skew_ms) {
  auto& run = pairs_.at(pair);
  store::DriftQuery q;
  q.pair = pair;
  q.open_only = true;
  auto open = store::drift_items(store_.db(), q);
  // After a restart, an item that was debouncing must go on being counted.
  if (!run.compared_since_start) {
    run.pending_items = std::any_of(open.begin(), open.end(),
                                    [](const auto& it) { return it.pending(); });
  }
  metrics_.pair_state(pair, run.status, to_open_items(open), seconds, compared_ms,
                      skew_ms ? skew_ms : run.skew_ms);
}

std::vector<PairTracker::PairView> PairTracker::pairs() const {
  std::vector<PairView> out;
  for (const auto& [name, run] : pairs_) {
    out.push_back({name, run.id.source_site, run.id.replica_site, run.status, run.reason});
  }
  return out;
}

}  // namespace flowdrift::app
