// Store: the SQLite audit trail (docs/schema.md). Content-addressed history: an object version
// is stored once, a snapshot lists object versions, an unchanged poll adds one poll row only.
// Owned and used by one thread (the event loop). Schema changes go through migrations.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "policy/model.hpp"
#include "store/db.hpp"  // Database, StoreError

namespace flowdrift::store {

struct PollRecord {
  std::string site;
  std::int64_t started_ms = 0;   // unix ms
  std::int64_t finished_ms = 0;  // unix ms
  bool complete = false;
  std::string reason;   // "ok" for a complete poll, else an ErrorReason string
  std::string message;  // bounded (truncated to 512 bytes by the store)
  std::string api;      // "v3" | "v4"
  int requests = 0;     // HTTP requests made, retries included
};

struct PollOutcome {
  std::int64_t poll_id = 0;
  std::optional<std::int64_t> snapshot_id;  // set for complete polls
  bool changed = false;                     // the site's latest complete snapshot changed
  // Set by the collector before its hook runs: what the entity-sync cross-check reads of this
  // site changed in this poll (store/entity_sync.hpp record_entity_sync).
  bool entity_sync_changed = false;
  // Likewise what the VM coverage check reads of this site (store/coverage.hpp record_coverage).
  bool coverage_changed = false;
};

struct SnapshotInfo {
  std::int64_t id = 0;
  std::string site;
  std::string hash;
  int canon_version = 0;
  std::int64_t first_seen_ms = 0;  // when this snapshot was first stored
  std::int64_t last_poll_ms = 0;   // finished_ms of the latest complete poll that saw it
  std::int64_t policy_count = 0;
};

// What `flowdriftctl status` shows per site: the latest poll (any outcome) and the snapshot of
// the latest complete poll. Sites appear once they have been polled.
struct SiteState {
  std::string site;
  std::int64_t last_poll_ms = 0;  // finished_ms of the latest poll
  std::string last_outcome;       // "complete" | "failed"
  std::string last_reason;        // "ok" or an ErrorReason string
  std::string last_message;
  std::optional<SnapshotInfo> current;  // last_poll_ms = latest complete poll; none if never
};

// One version of an object on one site, with the complete polls that saw it.
struct ObjectVersion {
  std::int64_t object_id = 0;
  std::string hash;
  std::string json;
  std::string policy_type;  // empty for other kinds
  std::string mode;
  std::int64_t first_seen_ms = 0;  // finished_ms of the first complete poll that saw it
  std::int64_t last_seen_ms = 0;   // finished_ms of the last complete poll that saw it
};

class Store {
 public:
  // Opens or creates the database: WAL mode, foreign keys, busy timeout, migrations applied in
  // one transaction. Throws StoreError if the file is not a flowdrift database, is newer than
  // this binary, or cannot be opened; never modifies a file it refuses.
  explicit Store(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Records one poll attempt. For a complete poll `snapshot` must be non-null: new object
  // versions and the snapshot are stored if not already present, all in one transaction with
  // the poll row. A snapshot equal to the site's latest adds the poll row only. `extra` runs in
  // the same transaction, after the poll row (drift bookkeeping uses it). On any error the
  // transaction rolls back and nothing of this poll is stored (Result error, reason Store).
  // A failed poll stores its poll row only; a snapshot passed with it is ignored. Throws
  // std::invalid_argument for a complete poll without a snapshot (a programmer error).
  Result<PollOutcome> record_poll(
      const PollRecord& poll, const policy::Snapshot* snapshot,
      const std::function<void(Database&, const PollOutcome&)>& extra = {});

  // The snapshot of the site's latest recorded complete poll (served from memory after the
  // first call). The read helpers below throw StoreError on database failure.
  std::optional<SnapshotInfo> latest_complete_snapshot(const std::string& site);
  // Objects sorted by (kind, name), findings in stored order. Throws StoreError if the id does
  // not exist.
  policy::Snapshot load_snapshot(std::int64_t snapshot_id);
  // The texts `snapshot`'s objects let go, read by hash. Throws StoreError when one is not
  // stored.
  void load_texts(policy::Snapshot& snapshot);

  int schema_version();
  Database& db();

  // Every site that has been polled, sorted by name.
  std::vector<SiteState> site_states();
  // Every version of (kind, name) that `site` had, oldest first (by first_seen_ms). Versions
  // are distinct object rows: a version that disappears and comes back is listed once.
  std::vector<ObjectVersion> object_history(const std::string& site, policy::ObjectKind kind,
                                            const std::string& name);

 private:
  struct SiteCache;
  struct Cache;
  SiteCache& site_cache(const std::string& site);
  std::int64_t insert_snapshot(std::int64_t site_id, const policy::Snapshot& snapshot,
                               std::int64_t now_ms);

  std::unique_ptr<Database> db_;
  std::unique_ptr<Cache> cache_;  // per-site latest snapshot, so a quiet poll runs one INSERT
};

// A stored snapshot (objects sorted by kind and name, findings in order) over any connection to
// the database: Store::load_snapshot, and flowdriftctl's read-only one.
policy::Snapshot read_snapshot(Database& db, std::int64_t snapshot_id);

}  // namespace flowdrift::store
