#include "drift/tracker.hpp"

#include <algorithm>
#include <cstdlib>

namespace flowdrift::drift {
namespace {

std::string seconds_text(std::int64_t ms) {
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + "s";
}

bool listed(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

Tracker::Pair Tracker::start(const config::PairConfig& p, const std::optional<StoredPair>& stored,
                             const std::optional<std::string>& source) {
  Pair run;
  run.id = {p.name, p.source, p.replica};
  run.rules = make_rules(p);
  // Failed over: the latest applied flip names the configured replica as the source.
  run.flipped = source && *source == p.replica;
  const PairIdentity now = run.current();
  // Keep what was stored, unless the pair's direction changed in the config. The store holds
  // the pair in its current direction; the tracker compares in the configured one.
  if (stored && stored->source_site == now.source_site && stored->replica_site == now.replica_site) {
    run.status = stored->status;
    run.reason = stored->reason;
    run.compared_source = run.flipped ? stored->replica_snapshot_id : stored->source_snapshot_id;
    run.compared_replica = run.flipped ? stored->source_snapshot_id : stored->replica_snapshot_id;
    run.skew_ms = stored->skew_ms;
    run.pending_items = stored->pending_items;
  } else if (!stored) {
    run.reason = "not compared yet";
  }
  return run;
}

void Tracker::add_site(const std::string& name) { sites_[name]; }

void Tracker::add_pair(const config::PairConfig& p, const std::optional<StoredPair>& stored,
                       const std::optional<std::string>& source) {
  pairs_.insert_or_assign(p.name, start(p, stored, source));
}

void Tracker::set_flipped(const std::string& pair, bool flipped) {
  Pair& run = pairs_.at(pair);
  if (run.flipped == flipped) return;
  run.flipped = flipped;
  CountedAt counted;
  for (auto& [key, marks] : run.counted) counted.emplace(ItemKey{key.first, flipped_kind(key.second)}, marks);
  run.counted = std::move(counted);
}

Tracker::Site Tracker::after(const SitePoll& poll) const {
  auto it = sites_.find(poll.site);
  Site s = it == sites_.end() ? Site{} : it->second;
  s.polled = true;
  s.complete = poll.complete;
  s.reason = poll.complete ? "" : poll.reason;
  if (poll.snapshot_id) s.snapshot_id = poll.snapshot_id;
  if (poll.complete) {
    s.complete_ms = poll.finished_ms;
    s.complete_poll = poll.poll_id;
  }
  return s;
}

std::vector<Decision> Tracker::decide(const SitePoll& poll, std::int64_t now_ms) const {
  const Site self = after(poll);
  std::vector<Decision> out;
  for (const auto& [name, pair] : pairs_) {
    if (pair.id.source_site != poll.site && pair.id.replica_site != poll.site) continue;
    if (auto d = decide_pair(pair, poll, self, now_ms)) out.push_back(std::move(*d));
  }
  return out;
}

std::optional<Decision> Tracker::decide_pair(const Pair& pair, const SitePoll& poll,
                                             const Site& self, std::int64_t now_ms) const {
  const bool is_source = pair.id.source_site == poll.site;
  const std::string& other_name = is_source ? pair.id.replica_site : pair.id.source_site;
  const auto found = sites_.find(other_name);
  const Site other = found == sites_.end() ? Site{} : found->second;

  Decision d;
  d.pair = pair.id.pair;
  if (!self.complete) {
    d.reason = "site " + poll.site + ": " + poll.reason;
  } else if (!other.polled) {
    return std::nullopt;  // nothing new to say until the other side has been polled since start
  } else if (!other.complete) {
    d.reason = "site " + other_name + ": " + other.reason;
  }
  const auto& src = is_source ? self : other;
  const auto& rep = is_source ? other : self;
  if (d.reason.empty()) {
    if (!src.snapshot_id || !rep.snapshot_id) return std::nullopt;
    // Two snapshots taken far apart can show a change on one side that the other has already
    // caught up with (or not yet made): refuse rather than page on it.
    d.skew_ms = std::llabs(self.complete_ms - other.complete_ms);
    if (*d.skew_ms > pair.rules.max_skew_ms) {
      // Stable text (the skew itself is in pair_states.skew_ms and the skew metric), so a pair
      // that stays skewed is written and logged once, not at every poll.
      d.reason = "snapshots polled more than max_skew (" + seconds_text(pair.rules.max_skew_ms) +
                 ") apart";
    }
  }
  if (!d.reason.empty()) {
    if (pair.status == diff::PairStatus::Unknown && pair.reason == d.reason) return std::nullopt;
    return d;
  }
  for (const auto& e : pair.rules.expected) d.live.push_back(e.live(now_ms));
  if (pair.compared_since_start && pair.status != diff::PairStatus::Unknown &&
      pair.compared_source == src.snapshot_id && pair.compared_replica == rep.snapshot_id &&
      !pair.pending_items && d.live == pair.live_expected) {
    return std::nullopt;  // quiet cycle: nothing changed that could change the outcome
  }
  d.action = Decision::Action::Compare;
  d.source_snapshot = *src.snapshot_id;
  d.replica_snapshot = *rep.snapshot_id;
  d.polled_source = is_source;
  d.comparison.now_ms = now_ms;
  d.comparison.polls = {src.complete_poll, rep.complete_poll};
  d.comparison.debounce = pair.rules.debounce;
  return d;
}

void Tracker::commit(const SitePoll& poll, const std::vector<Decision>& decisions,
                     const std::vector<Compared>& compared) {
  sites_[poll.site] = after(poll);
  std::size_t next = 0;
  for (const auto& d : decisions) {
    auto& pair = pairs_.at(d.pair);
    if (d.skew_ms) pair.skew_ms = d.skew_ms;
    if (d.action == Decision::Action::Unknown) {
      pair.status = diff::PairStatus::Unknown;
      pair.reason = d.reason;
      continue;
    }
    const auto& c = compared.at(next++);
    pair.status = c.status;
    pair.reason.clear();
    pair.compared_source = d.source_snapshot;
    pair.compared_replica = d.replica_snapshot;
    pair.compared_since_start = true;
    pair.pending_items = c.pending > 0;
    pair.live_expected = d.live;
    pair.counted = c.counted;
  }
}

std::vector<std::string> Tracker::reconfigure(const config::Config& config,
                                              const std::vector<std::string>& reset_sites,
                                              const std::vector<std::string>& changed_pairs,
                                              const StoredFn& stored, const SourceFn& source) {
  std::map<std::string, Site> sites;
  for (const auto& s : config.sites) {
    auto it = sites_.find(s.name);
    sites[s.name] = (it == sites_.end() || listed(reset_sites, s.name)) ? Site{} : it->second;
  }
  sites_ = std::move(sites);

  std::map<std::string, Pair> pairs;
  std::vector<std::string> touched;
  for (const auto& p : config.pairs) {
    auto it = pairs_.find(p.name);
    if (it == pairs_.end() || it->second.id.source_site != p.source ||
        it->second.id.replica_site != p.replica) {
      // New, or reversed: as at start.
      pairs.emplace(p.name, start(p, stored(p.name), source ? source(p.name) : std::nullopt));
      touched.push_back(p.name);
      continue;
    }
    Pair run = std::move(it->second);
    if (listed(changed_pairs, p.name)) {
      // What the comparison depends on changed: compare again at the next poll even if
      // neither snapshot changed (as after a restart).
      run.rules = make_rules(p);
      run.compared_since_start = false;
      touched.push_back(p.name);
    }
    pairs.emplace(p.name, std::move(run));
  }
  pairs_ = std::move(pairs);
  return touched;
}

}  // namespace flowdrift::drift
