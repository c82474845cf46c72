// The tamper-evident audit trail (docs/schema.md `audit_log`, docs/security.md): every write to
// an audited table appends an entry to audit_log with the SHA-256 of the row as written, and
// each entry's `chain` is the SHA-256 of the previous entry's chain and its own fields. So an
// edit, an insert or a delete made outside flowdrift (the sqlite3 shell) no longer matches, and
// verify_audit names the row. Retention removes the entries of the rows it prunes and appends a
// checkpoint entry that carries the hash of what it removed, with bridges that keep the chain
// verifiable across the gaps. What no hash chain can show on its own is the removal of its last
// entries: the head is logged and exported so that a truncation shows elsewhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/db.hpp"

namespace flowdrift::store {

// The audited tables: every row of each is in the chain (rows older than the chain's start
// entry, from a database created before schema version 8, are counted and not verified).
inline constexpr std::string_view kAuditedTables[] = {
    "polls",      "drift_events", "config_reloads",     "applies",
    "apply_requests", "pair_flips", "pair_status_history", "coverage_gaps"};

// Appends the entry for row `row_id` of `table` as it is now. Call inside the transaction that
// wrote the row, after every insert or update of an audited row. Throws StoreError.
void audit_row(Database& db, std::string_view table, std::int64_t row_id, std::int64_t at_ms);

// The start entry (the highest id of each audited table the chain does not cover), written once
// when the chain begins. Store's constructor calls it.
void ensure_audit_start(Database& db, std::int64_t at_ms);

// Retention: removes the entries of `row_ids` of `table` (rows being deleted in the same
// transaction), bridges the entries after each gap, and appends a checkpoint entry with the
// hash of the removed entries and of the bridges. No-op without entries.
void audit_prune(Database& db, std::string_view table, const std::vector<std::int64_t>& row_ids,
                 std::int64_t at_ms);

// The chain's last entry: logged after each retention pass and exported, so that the removal
// of the newest entries (which no chain shows by itself) shows as a step back.
struct AuditHead {
  std::int64_t seq = 0;
  std::string chain;
};
AuditHead audit_head(Database& db);

struct AuditProblem {
  std::int64_t seq = 0;  // where in the chain (0: a row with no entry)
  std::string message;   // names the table and row, or the entry
};

struct AuditReport {
  std::int64_t entries = 0;     // audit_log entries walked
  std::int64_t rows = 0;        // audited rows checked
  std::int64_t unchained = 0;   // rows from before the chain's start
  std::int64_t checkpoints = 0;
  std::string head;             // the last entry's chain
  std::int64_t head_seq = 0;
  std::vector<AuditProblem> problems;  // in chain order; the first is the first broken link
  bool intact() const { return problems.empty(); }
};

// Walks the chain and every audited row. Throws StoreError on a database error.
AuditReport verify_audit(Database& db);

}  // namespace flowdrift::store
