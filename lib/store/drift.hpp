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
  std::int64_t opened_ms = 0;
  std::optional<std::int64_t> resolved_ms;
  std::int64_t updated_ms = 0;  // last time its evidence changed
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
};

struct DriftChanges {
  std::vector<StoredDriftItem> opened;
  std::vector<StoredDriftItem> resolved;
  std::vector<StoredDriftItem> updated;  // still open, evidence or severity changed
};

struct PairIdentity {
  std::string pair;
  std::string source_site;
  std::string replica_site;
};

// Reconciles the pair's open items with a complete comparison: items not open yet open at
// `now_ms`, open items no longer present resolve at `now_ms`, the rest keep their open time
// (their evidence is updated if it changed). Writes the pair status (IN_SYNC/DRIFTED). Must be
// called inside a transaction.
DriftChanges apply_pair_result(Database& db, const PairIdentity& pair, const diff::PairResult& result,
                               std::int64_t poll_id, std::int64_t source_snapshot_id,
                               std::int64_t replica_snapshot_id, std::int64_t now_ms);

// Marks the pair UNKNOWN (its items stay exactly as they are). Writes only if the status or
// reason changed; returns whether it wrote.
bool set_pair_unknown(Database& db, const PairIdentity& pair, const std::string& reason,
                      std::int64_t now_ms);

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
