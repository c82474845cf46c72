#include "app/pairs.hpp"

#include <algorithm>
#include <chrono>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "diff/diff.hpp"
#include "drift/entity_sync.hpp"
#include "store/db.hpp"

namespace flowdrift::app {
namespace {

using Event = drift::Transition::Event;

std::shared_ptr<spdlog::logger> logger() { return log::get("drift"); }

diff::PairStatus parse_status(const std::string& s) {
  if (s == "IN_SYNC") return diff::PairStatus::InSync;
  if (s == "DRIFTED") return diff::PairStatus::Drifted;
  return diff::PairStatus::Unknown;
}

diff::DriftKind kind_of(const drift::Item& it) {
  return diff::parse_kind(it.kind).value_or(diff::DriftKind::Modified);
}

std::vector<metrics::OpenItem> to_open_items(const std::vector<drift::Item>& items) {
  std::vector<metrics::OpenItem> out;
  for (const auto& it : items) {
    metrics::OpenItem o;
    o.policy = it.object;
    o.kind = kind_of(it);
    o.severity = diff::parse_severity(it.severity).value_or(diff::Severity::Critical);
    o.opened_ms = it.opened_ms;
    o.state = it.expected()  ? metrics::ItemState::Expected
              : it.pending() ? metrics::ItemState::Pending
                             : metrics::ItemState::Raised;
    out.push_back(std::move(o));
  }
  return out;
}

drift::SitePoll site_poll(const store::PollRecord& poll, const store::PollOutcome& outcome) {
  return {poll.site, poll.complete, poll.reason, outcome.snapshot_id, poll.finished_ms,
          outcome.poll_id};
}

}  // namespace

PairTracker::PairTracker(const config::Config& config, store::Store& store,
                         metrics::Metrics& metrics, Clock clock)
    : store_(store), metrics_(metrics), clock_(clock ? std::move(clock) : Clock(unix_now_ms)) {
  for (const auto& s : config.sites) tracker_.add_site(s.name);
  for (const auto& p : config.pairs) {
    const auto open = store::open_items(store_.db(), p.name);  // read once for both
    tracker_.add_pair(p, stored_pair(p.name, open), stored_source(p.name));
    publish_restored(p, open);
  }
}

std::optional<std::string> PairTracker::stored_source(const std::string& pair) const {
  auto flip = store::last_applied_flip(store_.db(), pair);
  if (!flip) return std::nullopt;
  return flip->source_site;
}

void PairTracker::publish_direction(const std::string& pair) {
  const auto& run = tracker_.pair(pair);
  const auto now = run.current();
  const auto flip = store::last_applied_flip(store_.db(), pair);
  metrics_.pair_direction(pair, now.source_site, now.replica_site, run.flipped,
                          flip ? flip->applied_ms : std::nullopt);
}

void PairTracker::publish_restored(const config::PairConfig& p,
                                   const std::vector<drift::Item>& open) {
  publish_direction(p.name);
  publish_expectations(p);
  publish(p.name, open, 0, std::nullopt);
  publish_disagreements(p.name);
  publish_gaps(p.name);
}

void PairTracker::publish_disagreements(const std::string& pair) {
  std::vector<std::string> kinds;
  for (const auto& d : store::open_disagreements(store_.db(), pair)) {
    kinds.emplace_back(d.disagreement.kind());
  }
  metrics_.sync_disagreements(pair, kinds);
}

std::optional<drift::StoredPair> PairTracker::stored_pair(
    const std::string& pair, const std::vector<drift::Item>& open) const {
  auto rec = store::pair_record(store_.db(), pair);
  if (!rec) return std::nullopt;
  return drift::StoredPair{
      rec->source_site, rec->replica_site, parse_status(rec->status), rec->reason,
      rec->source_snapshot_id, rec->replica_snapshot_id, rec->skew_ms,
      std::any_of(open.begin(), open.end(), [](const auto& it) { return it.pending(); })};
}

void PairTracker::publish_expectations(const config::PairConfig& p) {
  std::vector<metrics::ExpectationInfo> exp;
  for (const auto& e : tracker_.pair(p.name).rules.expected) {
    exp.push_back({e.selector(), e.expires_ms});
  }
  metrics_.pair_expectations(p.name, std::move(exp));
}

void PairTracker::reconfigure(const config::Config& config,
                              const std::vector<std::string>& reset_sites,
                              const std::vector<std::string>& changed_pairs) {
  // Nothing is half-done: a poll's in_transaction and after_poll run without a suspension
  // point between them, and a reload runs on the same event loop.
  pending_.clear();
  sync_changes_.clear();
  gap_changes_.clear();
  pending_poll_.reset();
  const auto touched = tracker_.reconfigure(
      config, reset_sites, changed_pairs,
      [this](const std::string& pair) {
        return stored_pair(pair, store::open_items(store_.db(), pair));
      },
      [this](const std::string& pair) { return stored_source(pair); });
  for (const auto& p : config.pairs) {
    if (std::find(touched.begin(), touched.end(), p.name) == touched.end()) {
      publish_direction(p.name);  // the metrics took the configured direction
      continue;
    }
    publish_restored(p, store::open_items(store_.db(), p.name));
  }
}

void PairTracker::in_transaction(store::Database& db, const store::PollRecord& poll,
                                 const store::PollOutcome& outcome,
                                 const policy::Snapshot* snapshot) {
  pending_.clear();
  sync_changes_.clear();
  gap_changes_.clear();
  pending_poll_ = site_poll(poll, outcome);
  for (auto& d : tracker_.decide(*pending_poll_, clock_())) {
    const auto& pair = tracker_.pair(d.pair);
    Pending p{std::move(d), pair.status, pair.reason, 0, std::nullopt};
    if (p.decision.action == drift::Decision::Action::Unknown) {
      store::set_pair_unknown(db, pair.current(), p.decision.reason, p.decision.comparison.now_ms,
                              p.decision.skew_ms);
    } else {
      const auto t0 = SteadyClock::now();
      p.result = compare(db, p.decision, outcome, *snapshot);
      p.seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
    }
    pending_.push_back(std::move(p));
  }
  if (outcome.entity_sync_changed || outcome.coverage_changed) {
    check_uncompared(db, poll.site, outcome, clock_());
  }
}

void PairTracker::cross_check(store::Database& db, const std::string& pair,
                              const policy::Snapshot& source, const policy::Snapshot& replica,
                              std::int64_t now_ms) {
  const auto& run = tracker_.pair(pair);
  const auto stored = store::entity_sync(db, run.id.source_site);
  if (stored && stored->state == drift::EntitySyncRead::State::Failed) return;
  std::vector<drift::SyncDisagreement> now;
  if (stored && stored->state == drift::EntitySyncRead::State::Complete) {
    const auto open = store::open_items(db, pair);
    now = drift::cross_check({&stored->entries, &open, &source, &replica, &run.rules.mapping});
  }
  auto changes = store::write_disagreements(db, pair, now, now_ms);
  if (!changes.opened.empty() || !changes.resolved.empty()) {
    sync_changes_.emplace_back(pair, std::move(changes));
  }
}

void PairTracker::check_uncompared(store::Database& db, const std::string& site,
                                   const store::PollOutcome& outcome, std::int64_t now_ms) {
  for (const auto& [name, run] : tracker_.pairs()) {
    if (run.status == diff::PairStatus::Unknown) continue;
    if (!run.compared_source || !run.compared_replica) continue;
    const bool decided = std::any_of(pending_.begin(), pending_.end(),
                                     [&](const Pending& p) { return p.decision.pair == name; });
    if (decided) continue;  // compared (and checked) or UNKNOWN in this poll
    const bool sync = outcome.entity_sync_changed && run.id.source_site == site;
    const bool coverage = outcome.coverage_changed && run.current().source_site == site;
    if (!sync && !coverage) continue;
    const auto source = store_.load_snapshot(*run.compared_source);
    const auto replica = store_.load_snapshot(*run.compared_replica);
    if (sync) cross_check(db, name, source, replica, now_ms);
    if (coverage) check_coverage(db, name, source, replica, run.flipped, now_ms);
  }
}

drift::Reconciled PairTracker::compare(store::Database& db, const drift::Decision& d,
                                       const store::PollOutcome& outcome,
                                       const policy::Snapshot& polled) {
  const auto& pair = tracker_.pair(d.pair);
  const policy::Snapshot other =
      store_.load_snapshot(d.polled_source ? d.replica_snapshot : d.source_snapshot);
  // The polled side's snapshot is in hand, less the texts its memo let go (docs/design/
  // memory.md): those of objects the other side holds equal are taken from there, and the
  // rest (objects that differ and did not change in this poll) from the store by hash.
  std::optional<policy::Snapshot> filled;
  if (!polled.has_all_texts()) {
    filled = polled;
    if (policy::fill_texts(*filled, other) > 0) store_.load_texts(*filled);
  }
  const policy::Snapshot& in_hand = filled ? *filled : polled;
  const policy::Snapshot& src = d.polled_source ? in_hand : other;
  const policy::Snapshot& rep = d.polled_source ? other : in_hand;
  auto result = drift::compare_pair(src, rep, &pair.rules, pair.flipped, d.comparison.now_ms);
  auto reconciled = drift::reconcile(pair.current(), store::open_items(db, d.pair), pair.counted,
                                     result, d.comparison);
  store::ComparisonContext ctx;
  ctx.poll_id = outcome.poll_id;
  // Stored in the pair's current direction, like its sites.
  ctx.source_snapshot_id = pair.flipped ? d.replica_snapshot : d.source_snapshot;
  ctx.replica_snapshot_id = pair.flipped ? d.source_snapshot : d.replica_snapshot;
  ctx.now_ms = d.comparison.now_ms;
  ctx.skew_ms = d.skew_ms.value_or(0);
  store::write_comparison(db, pair.current(), reconciled, ctx);
  cross_check(db, d.pair, src, rep, d.comparison.now_ms);
  check_coverage(db, d.pair, src, rep, pair.flipped, d.comparison.now_ms);
  return reconciled;
}

void PairTracker::after_poll(bool committed) {
  if (!committed || !pending_poll_) {
    pending_.clear();
    sync_changes_.clear();
    gap_changes_.clear();
    pending_poll_.reset();
    return;
  }
  std::vector<drift::Decision> decisions;
  std::vector<drift::Compared> compared;
  for (const auto& p : pending_) {
    decisions.push_back(p.decision);
    if (p.result) compared.push_back({p.result->status, p.result->pending, p.result->counted});
  }
  tracker_.commit(*pending_poll_, decisions, compared);
  pending_poll_.reset();
  for (const auto& p : pending_) {
    const auto& name = p.decision.pair;
    const auto& pair = tracker_.pair(name);
    if (pair.status != p.was || pair.reason != p.was_reason) {
      log::info(logger(), "pair.status",
                {{"pair", name},
                 {"status", std::string(diff::to_string(pair.status))},
                 {"was", std::string(diff::to_string(p.was))},
                 {"reason", pair.reason}});
    }
    if (p.result) log_changes(name, *p.result);
    publish(name, store::open_items(store_.db(), name), p.seconds,
            p.result ? std::optional<std::int64_t>(p.decision.comparison.now_ms) : std::nullopt,
            p.decision.skew_ms);
  }
  pending_.clear();
  flush_check_changes();
}

void PairTracker::flush_check_changes() {
  for (const auto& [pair, changes] : sync_changes_) {
    log_disagreements(pair, changes);
    publish_disagreements(pair);
  }
  sync_changes_.clear();
  for (const auto& [pair, changes] : gap_changes_) {
    log_gaps(pair, changes);
    publish_gaps(pair);
  }
  gap_changes_.clear();
}

void PairTracker::log_disagreements(const std::string& pair,
                                    const store::DisagreementChanges& changes) {
  for (const auto& r : changes.opened) {
    const auto& d = r.disagreement;
    log::warn(logger(), "entity_sync.disagreement",
              {{"pair", pair}, {"entity_type", d.entity_type}, {"entity", d.entity_name},
               {"kind", std::string(d.kind())}, {"nutanix", d.nutanix},
               {"flowdrift", d.flowdrift}, {"detail", d.detail}});
  }
  for (const auto& r : changes.resolved) {
    const auto& d = r.disagreement;
    log::info(logger(), "entity_sync.agreed",
              {{"pair", pair}, {"entity_type", d.entity_type}, {"entity", d.entity_name},
               {"kind", std::string(d.kind())}});
  }
}

void PairTracker::log_changes(const std::string& pair, const drift::Reconciled& r) {
  for (const auto& w : r.writes) {
    const auto& it = w.item;
    for (const auto& e : w.events) {
      switch (e.event) {
        case Event::Opened:
          log::info(logger(), "drift.opened",
                    {{"pair", pair}, {"policy", it.object}, {"kind", it.kind},
                     {"severity", it.severity}, {"direction", it.direction},
                     {"state", std::string(it.state())}, {"summary", it.summary}});
          break;
        case Event::Raised:
          if (!it.expected()) {
            log::info(logger(), "drift.raised",
                      {{"pair", pair}, {"policy", it.object}, {"kind", it.kind},
                       {"severity", it.severity}, {"seen", it.seen}});
          }
          metrics_.drift_opened(pair, kind_of(it));
          break;
        case Event::Expected:
          log::info(logger(), "drift.expected",
                    {{"pair", pair}, {"policy", it.object}, {"kind", it.kind},
                     {"expectation", it.expectation_json}});
          break;
        case Event::Unexpected:
          log::warn(logger(), "drift.unexpected",
                    {{"pair", pair}, {"policy", it.object}, {"kind", it.kind},
                     {"severity", it.severity},
                     {"reason", std::string("its expected difference expired or was removed")}});
          break;
        case Event::Updated:
          log::info(logger(), "drift.updated",
                    {{"pair", pair}, {"policy", it.object}, {"kind", it.kind},
                     {"severity", it.severity}, {"summary", it.summary}});
          break;
        case Event::Flipped:
          break;  // logged once for the pair (pair.flipped)
        case Event::Resolved:
          log::info(logger(), "drift.resolved",
                    {{"pair", pair}, {"policy", it.object}, {"kind", it.kind},
                     {"open_seconds", (*it.resolved_ms - it.opened_ms) / 1000},
                     {"raised", !it.pending()}});
          if (!it.pending()) metrics_.drift_resolved(pair, kind_of(it));
          break;
      }
    }
  }
}

void PairTracker::publish(const std::string& pair, const std::vector<drift::Item>& open,
                          double seconds, std::optional<std::int64_t> compared_ms,
                          std::optional<std::int64_t> skew_ms) {
  const auto& run = tracker_.pair(pair);
  metrics_.pair_state(pair, run.status, to_open_items(open), seconds, compared_ms,
                      skew_ms ? skew_ms : run.skew_ms);
}

std::vector<PairTracker::PairView> PairTracker::pairs() const {
  std::vector<PairView> out;
  for (const auto& [name, run] : tracker_.pairs()) {
    const auto now = run.current();
    out.push_back({name, now.source_site, now.replica_site, run.status, run.reason});
  }
  return out;
}

}  // namespace flowdrift::app
