// Drift bookkeeping in the audit trail: pair status and drift items that open (first seen) and
// resolve (gone), reconciled against each complete comparison inside the same transaction as
// the poll that caused it (Store::record_poll's `extra`). Schema: docs/schema.md, migration 2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "diff/diff.hpp"
#include "drift/reconcile.hpp"

namespace flowdrift::store {

class Database;


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

// Where a comparison came from, for the rows it writes.
struct ComparisonContext {
  std::int64_t poll_id = 0;
  std::int64_t source_snapshot_id = 0;
  std::int64_t replica_snapshot_id = 0;
  std::int64_t now_ms = 0;
  std::int64_t skew_ms = 0;     // between the complete polls of the two snapshots
};

// The pair's open items.
std::vector<drift::Item> open_items(Database& db, const std::string& pair);

// Stores what drift::reconcile decided for a complete comparison: inserts (setting each new
// item's id), updates and resolves items, a drift_events row per transition, and the pair's
// status and compared snapshots. Must be called inside a transaction.
void write_comparison(Database& db, const drift::PairIdentity& pair, drift::Reconciled& result,
                      const ComparisonContext& ctx);

// Marks the pair UNKNOWN (its items stay exactly as they are). Writes only if the status or
// reason changed; returns whether it wrote. `skew_ms` is recorded when the refusal is a skew.
bool set_pair_unknown(Database& db, const drift::PairIdentity& pair, const std::string& reason,
                      std::int64_t now_ms, std::optional<std::int64_t> skew_ms = std::nullopt);

// The pair's status changes (pair_status_history), newest first, at most `limit`. Throws
// StoreError (a database before schema 10 has no such table).
struct StatusChange {
  std::int64_t at_ms = 0;
  std::string status;
  std::string was;  // "" for the first one recorded
  std::string reason;
};
std::vector<StatusChange> status_history(Database& db, const std::string& pair, int limit = 50);

// The transitions of one item, oldest first (drift_events).
struct DriftEvent {
  std::int64_t at_ms = 0;
  std::string event;   // opened | raised | updated | expected | unexpected | resolved
  std::string detail;
};
std::vector<DriftEvent> drift_events(Database& db, std::int64_t item_id);

std::optional<PairRecord> pair_record(Database& db, const std::string& pair);
// A flip (drift::reorient): the items re-described in place with their events, the pairs row
// in the new direction, the compared snapshots swapped with it. Inside the caller's transaction.
void write_flip(Database& db, const drift::PairIdentity& now, const std::vector<drift::Write>& writes,
                std::int64_t now_ms);
std::vector<PairRecord> pair_records(Database& db);

struct DriftQuery {
  std::optional<std::string> pair;
  bool open_only = false;
  std::optional<std::int64_t> since_ms;  // opened or resolved at or after
};
// Items ordered by opened_ms, id.
std::vector<drift::Item> drift_items(Database& db, const DriftQuery& query);

}  // namespace flowdrift::store
