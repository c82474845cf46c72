// Nutanix's entity sync as flowdrift last read it, and the disagreements with flowdrift's own
// comparison (drift/entity_sync.hpp; docs/schema.md `entity_sync_reads`, `entity_sync`,
// `sync_disagreements`). Written inside a poll's transaction; each call throws StoreError.
#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drift/entity_sync.hpp"
#include "store/db.hpp"

namespace flowdrift::store {

// A site's last entity-sync read, and the entries of its last complete one.
struct EntitySyncStored {
  drift::EntitySyncRead::State state = drift::EntitySyncRead::State::NotRead;
  std::string version;  // of the last complete read
  std::string reason;   // of the last read, when it failed
  std::string message;
  std::int64_t read_ms = 0;                 // the last read
  std::optional<std::int64_t> complete_ms;  // the last complete read (when `entries` are from)
  std::vector<drift::EntitySync> entries;   // sorted by (entity_type, entity_name, ext_id)
};

// Records what a poll read (NotRead: nothing). A complete read replaces the site's entries, a
// NotServed one removes them, a failed one keeps them (and their complete_ms). Returns whether
// what the cross-check reads changed: the entries, or whether they are usable (complete).
bool record_entity_sync(Database& db, const std::string& site, const drift::EntitySyncRead& read,
                        std::int64_t now_ms);
// Nullopt when the site's entity sync was never read.
std::optional<EntitySyncStored> entity_sync(Database& db, const std::string& site);

struct DisagreementRecord {
  std::int64_t id = 0;
  std::string pair;
  drift::SyncDisagreement disagreement;
  std::int64_t opened_ms = 0;
  std::int64_t updated_ms = 0;
  std::optional<std::int64_t> resolved_ms;
};

// What write_disagreements changed, for the logs.
struct DisagreementChanges {
  std::vector<DisagreementRecord> opened;
  std::vector<DisagreementRecord> resolved;
};

// The pair's disagreements are now `current`: those new open, those gone resolve, the others
// keep their opened_ms (and take the current detail). One open row per (pair, entity type,
// entity name); a change of kind resolves the old row and opens a new one.
DisagreementChanges write_disagreements(Database& db, const std::string& pair,
                                        const std::vector<drift::SyncDisagreement>& current,
                                        std::int64_t now_ms);
// Open ones, by (pair, entity_type, entity_name); `pair` empty: every pair's.
std::vector<DisagreementRecord> open_disagreements(Database& db, const std::string& pair = "");

// As flowdriftctl status and the API show them; `time` formats unix ms (whole seconds for the
// CLI, milliseconds for the API). A site never read is null.
using TimeText = std::string (*)(std::int64_t unix_ms);
nlohmann::json entity_sync_json(const std::optional<EntitySyncStored>& read, TimeText time);
nlohmann::json disagreement_json(const DisagreementRecord& record, TimeText time);

}  // namespace flowdrift::store
