// When a pair is compared, and what it is between comparisons: the decisions behind
// app::PairTracker, pure (no store, no clock; `now` is passed in).
//
// After every poll of a site, for each pair that site is in:
//  - failed poll: the pair becomes UNKNOWN(reason); its drift items stay exactly as they were;
//  - complete poll, the other side's latest poll this run complete: if the two polls are
//    further apart than the pair's max_skew, the pair is UNKNOWN(skew); else the two latest
//    complete snapshots are compared when either changed since the last comparison, the pair
//    was UNKNOWN, an item is still debouncing, or an expected difference started or stopped
//    being live (and always once after start: the config may have changed);
//  - the other side not polled yet since start: nothing changes (a restart changes nothing).
// A decision takes effect (commit) only once the caller has stored what it did.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "diff/diff.hpp"
#include "drift/reconcile.hpp"
#include "drift/rules.hpp"

namespace flowdrift::drift {

// One finished poll of a site, as the tracker needs it.
struct SitePoll {
  std::string site;
  bool complete = false;
  std::string reason;                       // why it is not complete
  std::optional<std::int64_t> snapshot_id;  // its snapshot, when complete
  std::int64_t finished_ms = 0;
  std::int64_t poll_id = 0;
};

// What the store says about a pair at start (its last status and comparison).
struct StoredPair {
  std::string source_site;
  std::string replica_site;
  diff::PairStatus status = diff::PairStatus::Unknown;
  std::string reason;
  std::optional<std::int64_t> source_snapshot_id;
  std::optional<std::int64_t> replica_snapshot_id;
  std::optional<std::int64_t> skew_ms;
  bool pending_items = false;  // an open item is still debouncing
};

// What to do about one pair after a poll.
struct Decision {
  enum class Action { Unknown, Compare } action = Action::Unknown;
  std::string pair;
  std::string reason;                   // Unknown
  std::optional<std::int64_t> skew_ms;  // between the two snapshots' polls, when both complete
  // Compare: the two snapshots, and which one the poll just took.
  std::int64_t source_snapshot = 0;
  std::int64_t replica_snapshot = 0;
  bool polled_source = false;
  Comparison comparison;      // now, the polls compared, the debounce
  std::vector<bool> live;     // which expectations are live now
};

// The outcome of a Compare decision, once stored.
struct Compared {
  diff::PairStatus status = diff::PairStatus::InSync;
  int pending = 0;
  CountedAt counted;
};

class Tracker {
 public:
  struct Pair {
    PairIdentity id;  // as configured: decisions and the diff run in this direction
    bool flipped = false;  // failed over: the configured replica is the source (docs/failover.md)
    PairRules rules;
    diff::PairStatus status = diff::PairStatus::Unknown;
    std::string reason;
    std::optional<std::int64_t> compared_source;  // snapshots of the last complete comparison
    std::optional<std::int64_t> compared_replica;
    bool compared_since_start = false;
    bool pending_items = false;       // an open item is still debouncing
    std::vector<bool> live_expected;  // which expectations were live at the last comparison
    std::optional<std::int64_t> skew_ms;
    CountedAt counted;  // when each pending item was last counted (reconcile.hpp)
    // The direction items, the pairs row and the metrics are in: `id`, turned round when flipped.
    PairIdentity current() const {
      return flipped ? PairIdentity{id.pair, id.replica_site, id.source_site} : id;
    }
  };

  // Pairs as at start: rules from the config, state from what was stored (nullopt: never
  // compared, or stored with another direction). `source`: the pair's source by its latest
  // applied flip (store/flips.hpp), when it has one.
  void add_site(const std::string& name);
  void add_pair(const config::PairConfig& p, const std::optional<StoredPair>& stored,
                const std::optional<std::string>& source = std::nullopt);
  // A flip was stored (app::PairTracker::apply_flips): the pair now points the other way.
  // Pending items' debounce marks follow their kinds (missing and extra trade places).
  void set_flipped(const std::string& pair, bool flipped);

  // What the poll means for each of the site's pairs. Changes nothing.
  std::vector<Decision> decide(const SitePoll& poll, std::int64_t now_ms) const;
  // The poll and its decisions were stored: take them in. `compared` has one entry per
  // Compare decision, in order.
  void commit(const SitePoll& poll, const std::vector<Decision>& decisions,
              const std::vector<Compared>& compared);

  // A configuration reload. Sites in `reset_sites` (their connection changed) count as not
  // polled since start, so no pair compares across the change. Added pairs, and pairs whose
  // direction changed, start as at start (`stored` gives their stored state); every other kept
  // pair listed in `changed_pairs` takes its new rules and is compared afresh at its next poll.
  // Other pairs are left exactly as they are. Returns the pairs that started over or changed.
  using StoredFn = std::function<std::optional<StoredPair>(const std::string& pair)>;
  using SourceFn = std::function<std::optional<std::string>(const std::string& pair)>;
  std::vector<std::string> reconfigure(const config::Config& config,
                                       const std::vector<std::string>& reset_sites,
                                       const std::vector<std::string>& changed_pairs,
                                       const StoredFn& stored, const SourceFn& source = {});

  const Pair& pair(const std::string& name) const { return pairs_.at(name); }
  Pair& pair(const std::string& name) { return pairs_.at(name); }
  const std::map<std::string, Pair>& pairs() const { return pairs_; }

 private:
  struct Site {
    bool polled = false;    // polled at least once since start
    bool complete = false;  // its latest poll was complete
    std::string reason;
    std::optional<std::int64_t> snapshot_id;  // latest complete snapshot
    std::int64_t complete_ms = 0;             // when its latest complete poll finished
    std::int64_t complete_poll = 0;           // and its id
  };
  Site after(const SitePoll& poll) const;
  std::optional<Decision> decide_pair(const Pair& pair, const SitePoll& poll, const Site& self,
                                      std::int64_t now_ms) const;
  static Pair start(const config::PairConfig& p, const std::optional<StoredPair>& stored,
                    const std::optional<std::string>& source);

  std::map<std::string, Site> sites_;
  std::map<std::string, Pair> pairs_;
};

}  // namespace flowdrift::drift
