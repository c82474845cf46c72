// The drift lifecycle of one pair, decided: given the pair's open items and a complete
// comparison (diff result with live expectations marked), which items open, raise, change,
// become expected or unexpected, and resolve, and the pair's status. Pure: the caller passes
// `now` and stores what comes out (store/drift.hpp) in the poll's transaction.
//
// Debounce (docs/drift-lifecycle.md): an item is raised once it has been found by
// `debounce.comparisons` counted comparisons and open for `debounce.for_ms`. The comparison
// that opens an item counts once. A later comparison counts for an item only when both sites
// of the pair have completed a poll since the item was last counted: comparisons run after a
// poll of either site, and a poll of the primary says nothing new about a difference on the
// DR side. With the default of 2, a difference is raised only after it held across a whole
// interval of each site, so a one-poll flap of either site never is.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "diff/diff.hpp"
#include "drift/rules.hpp"

namespace flowdrift::drift {

struct PairIdentity {
  std::string pair;
  std::string source_site;
  std::string replica_site;
};

// The complete polls a comparison used (store poll ids; they only grow).
struct PollMarks {
  std::int64_t source_poll = 0;
  std::int64_t replica_poll = 0;
  // Both sites have completed a poll since `earlier`.
  bool both_after(const PollMarks& earlier) const {
    return source_poll > earlier.source_poll && replica_poll > earlier.replica_poll;
  }
};

// A drift item: opened when a comparison first finds it, resolved when one no longer does.
struct Item {
  std::int64_t id = 0;  // 0 until stored
  std::string pair;
  std::string source_site;   // the pair's direction when the item opened
  std::string replica_site;
  std::string object;        // policy name
  std::string kind;          // diff::to_string(DriftKind)
  std::string severity;
  std::string direction;
  std::string summary;
  std::string fields_json;   // [{"path":..,"source":..,"replica":..}]
  std::int64_t opened_ms = 0;   // first seen
  std::optional<std::int64_t> resolved_ms;
  std::int64_t updated_ms = 0;  // last time its evidence changed
  std::optional<std::int64_t> raised_ms;  // debounced: when it became drift; unset while pending
  int seen = 1;                 // counted comparisons that found it (until raised)
  std::string expectation_json; // the live expectation covering it, empty when none

  bool pending() const { return !raised_ms; }
  bool expected() const { return !expectation_json.empty(); }
  // What alerts: raised and not covered by a live expectation.
  bool alerting() const { return raised_ms && expectation_json.empty(); }
  // What it is for alerting, in the order flowdriftctl, the API and the metrics use: a live
  // expectation covers it ("expected"), else it is still debouncing ("pending"), else it is
  // drift that alerts ("raised"). A resolved item keeps the state it had when it resolved.
  const char* open_state() const;
  // "resolved", or open_state().
  const char* state() const { return resolved_ms ? "resolved" : open_state(); }
};

// One transition of an item (a drift_events row).
struct Transition {
  enum class Event { Opened, Raised, Updated, Expected, Unexpected, Resolved, Flipped } event;
  std::string detail;
};
const char* to_string(Transition::Event e);

// What to store for one item, in order.
struct Write {
  enum class Op { Insert, Update, Resolve } op;
  Item item;  // as it is after this comparison
  std::vector<Transition> events;
};

// An item's identity within its pair: (object, kind).
using ItemKey = std::pair<std::string, std::string>;
// The polls each open pending item was last counted at. Kept in memory only: an item missing
// from it (after a restart) counts at its next comparison, which is right, since every poll
// since the restart came after it was last counted.
using CountedAt = std::map<ItemKey, PollMarks>;

struct Reconciled {
  std::vector<Write> writes;  // items that changed; new ones first seen here are Inserts
  diff::PairStatus status = diff::PairStatus::InSync;  // DRIFTED when an item alerts
  int pending = 0;            // open items still debouncing
  CountedAt counted;          // for the pending items open after this comparison
};

struct Comparison {
  std::int64_t now_ms = 0;
  PollMarks polls;
  Debounce debounce;
};

// `open`: the pair's open items (any order). `result`: the comparison, expectations applied.
Reconciled reconcile(const PairIdentity& pair, std::vector<Item> open, const CountedAt& counted,
                     const diff::PairResult& result, const Comparison& comparison);

// A flip (failover or failback, docs/failover.md): the pair's open items seen from its new
// source, each updated in place (never opened or resolved; debounce and expectations as they
// were) with a `flipped` event carrying `detail`. `fresh`: the pair's last comparison diffed
// again and flipped (diff::flip); an item it holds under the flipped identity is described as
// it says, any other is turned around from what was stored (diff::flipped) and its next
// comparison completes it.
std::vector<Write> reorient(const PairIdentity& now, std::vector<Item> open,
                            const diff::PairResult* fresh, std::int64_t now_ms,
                            const std::string& detail);
// An item's kind seen from the other side: "missing" and "extra" trade places.
std::string flipped_kind(const std::string& kind);

}  // namespace flowdrift::drift
