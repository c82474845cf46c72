// Drift bookkeeping in the audit trail: pair status and drift items that open (first seen) and
// resolve (gone), reconciled against each complete comparison inside the same transaction as
// the poll that caused it (Store::record_poll's `extra`). Schema: docs/schema.md, migration 2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "diff/diff.hpp"

namespace flowdrift::store {

class Database;

struct StoredDriftItem {
  std::int64_t id = 0;
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
  int seen = 1;                 // consecutive complete comparisons that found it (until raised)
  std::string expectation_json; // the live expectation covering it, empty when none

  bool pending() const { return !raised_ms; }
  bool expected() const { return !expectation_json.empty(); }
  // What alerts: raised and not covered by a live expectation.
  bool alerting() const { return raised_ms && expectation_json.empty(); }
};

struct PairRecord {
  std::string pair;
  std::string source_site;
  std::string replica_site;
  std::string status;  // IN_SYNC | DRIFTED | UNKNOWN
  std::string reason;  // for UNKNOWN
  std::int64_t since_ms = 0;    // when it entered this status
  std::int64_t updated_ms = 0;  // last comparison or status write
  std::optional<std::int64_t> source_snapshot_id;  // compared snapshots (last complete comparison)
  std::optional<std::int64_t> replica_snapshot_id;
  std::optional<std::int64_t> skew_ms;  // poll time skew of the last comparison (or refusal)
};

struct DriftChanges {
  std::vector<StoredDriftItem> opened;      // first seen (pending, or raised at once)
  std::vector<StoredDriftItem> raised;      // became drift: debounce passed (incl. opened ones)
  std::vector<StoredDriftItem> resolved;
  std::vector<StoredDriftItem> updated;     // still open, evidence or severity changed
  std::vector<StoredDriftItem> expected;    // a live expectation now covers it
  std::vector<StoredDriftItem> unexpected;  // its expectation expired or was removed
  std::string status;                       // IN_SYNC or DRIFTED, as written
  int pending = 0;                          // open items still debouncing after this
};

// How a pair turns comparison results into raised drift (config: pairs[].debounce).
struct Debounce {
  int comparisons = 1;          // consecutive complete comparisons that must find an item
  std::int64_t for_ms = 0;      // and for at least this long since first seen
};

struct ComparisonContext {
  std::int64_t poll_id = 0;
  std::int64_t source_snapshot_id = 0;
  std::int64_t replica_snapshot_id = 0;
  std::int64_t now_ms = 0;
  std::int64_t skew_ms = 0;     // between the complete polls of the two snapshots
  Debounce debounce;
};

struct PairIdentity {
  std::string pair;
  std::string source_site;
  std::string replica_site;
};

// Reconciles the pair's open items with a complete comparison (items already marked by
// diff::apply_expectations): items not open yet open at `now_ms`, pending; open items no longer
// present resolve; the rest keep their open time (evidence updated if it changed). A pending
// item is raised once `debounce` is met. Every transition is a drift_events row. Writes the
// pair status: DRIFTED when an item is raised and not expected, else IN_SYNC. Must be called
// inside a transaction.
DriftChanges apply_pair_result(Database& db, const PairIdentity& pair,
                               const diff::PairResult& result, const ComparisonContext& ctx);

// Marks the pair UNKNOWN (its items stay exactly as they are). Writes only if the status or
// reason changed; returns whether it wrote. `skew_ms` is recorded when the refusal is a skew.
bool set_pair_unknown(Database& db, const PairIdentity& pair, const std::string& reason,
                      std::int64_t now_ms, std::optional<std::int64_t> skew_ms = std::nullopt);

// The transitions of one item, oldest first (drift_events).
struct DriftEvent {
  std::int64_t at_ms = 0;
  std::string event;   // opened | raised | updated | expected | unexpected | resolved
  std::string detail;
};
std::vector<DriftEvent> drift_events(Database& db, std::int64_t item_id);

std::optional<PairRecord> pair_record(Database& db, const std::string& pair);
std::vector<PairRecord> pair_records(Database& db);

struct DriftQuery {
  std::optional<std::string> pair;
  bool open_only = false;
  std::optional<std::int64_t> since_ms;  // opened or resolved at or after
};
// Items ordered by opened_ms, id.
std::vector<StoredDriftItem> drift_items(Database& db, const DriftQuery& query);

}  // namespace flowdrift::store
