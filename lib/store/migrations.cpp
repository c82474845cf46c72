#include "store/migrations.hpp"

#include <string>

#include "core/log.hpp"
#include "store/db.hpp"

namespace flowdrift::store {
namespace {

// Version 1: sites, content-addressed objects, snapshots and their members, findings, polls.
// Drift tables (items, events, failover flips, reloads) come in a later step; nothing here
// depends on them. Every table and column is documented in docs/schema.md.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE sites (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);

CREATE TABLE objects (
  id            INTEGER PRIMARY KEY,
  kind          TEXT NOT NULL
                CHECK (kind IN ('policy', 'address_group', 'service_group', 'category')),
  name          TEXT NOT NULL,
  hash          TEXT NOT NULL,
  json          TEXT NOT NULL,
  policy_type   TEXT,
  mode          TEXT,
  first_seen_ms INTEGER NOT NULL,
  UNIQUE (kind, name, hash)
);
CREATE INDEX objects_hash ON objects (hash);

CREATE TABLE snapshots (
  id            INTEGER PRIMARY KEY,
  site_id       INTEGER NOT NULL REFERENCES sites (id),
  hash          TEXT NOT NULL,
  canon_version INTEGER NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  policy_count  INTEGER NOT NULL,
  object_count  INTEGER NOT NULL,
  UNIQUE (site_id, hash, canon_version)
);

CREATE TABLE snapshot_objects (
  snapshot_id INTEGER NOT NULL REFERENCES snapshots (id),
  object_id   INTEGER NOT NULL REFERENCES objects (id),
  PRIMARY KEY (snapshot_id, object_id)
) WITHOUT ROWID;
CREATE INDEX snapshot_objects_object ON snapshot_objects (object_id, snapshot_id);

CREATE TABLE findings (
  id          INTEGER PRIMARY KEY,
  snapshot_id INTEGER NOT NULL REFERENCES snapshots (id),
  kind        TEXT NOT NULL,
  object      TEXT NOT NULL,
  detail      TEXT NOT NULL
);
CREATE INDEX findings_snapshot ON findings (snapshot_id);

CREATE TABLE polls (
  id          INTEGER PRIMARY KEY,
  site_id     INTEGER NOT NULL REFERENCES sites (id),
  started_ms  INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL,
  outcome     TEXT NOT NULL CHECK (outcome IN ('complete', 'failed')),
  reason      TEXT NOT NULL,
  message     TEXT NOT NULL DEFAULT '' CHECK (length(CAST(message AS BLOB)) <= 512),
  api         TEXT NOT NULL,
  requests    INTEGER NOT NULL,
  snapshot_id INTEGER REFERENCES snapshots (id),
  changed     INTEGER NOT NULL CHECK (changed IN (0, 1)),
  CHECK ((outcome = 'complete') = (snapshot_id IS NOT NULL)),
  CHECK (outcome = 'complete' OR changed = 0)
);
CREATE INDEX polls_site ON polls (site_id, id);
CREATE INDEX polls_site_time ON polls (site_id, finished_ms);
CREATE INDEX polls_snapshot ON polls (snapshot_id, finished_ms);
)sql";

// Version 2: pairs, their status, and drift items that open and resolve (lib/store/drift.cpp).
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE pairs (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  source_site  TEXT NOT NULL,
  replica_site TEXT NOT NULL
);

CREATE TABLE pair_states (
  pair_id             INTEGER PRIMARY KEY REFERENCES pairs (id),
  status              TEXT NOT NULL CHECK (status IN ('IN_SYNC', 'DRIFTED', 'UNKNOWN')),
  reason              TEXT NOT NULL DEFAULT '',
  since_ms            INTEGER NOT NULL,
  updated_ms          INTEGER NOT NULL,
  source_snapshot_id  INTEGER REFERENCES snapshots (id),
  replica_snapshot_id INTEGER REFERENCES snapshots (id)
);

CREATE TABLE drift_items (
  id                  INTEGER PRIMARY KEY,
  pair_id             INTEGER NOT NULL REFERENCES pairs (id),
  source_site         TEXT NOT NULL,
  replica_site        TEXT NOT NULL,
  object              TEXT NOT NULL,
  kind                TEXT NOT NULL,
  severity            TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  direction           TEXT NOT NULL,
  summary             TEXT NOT NULL,
  fields              TEXT NOT NULL,
  opened_ms           INTEGER NOT NULL,
  opened_poll_id      INTEGER REFERENCES polls (id),
  resolved_ms         INTEGER,
  resolved_poll_id    INTEGER REFERENCES polls (id),
  updated_ms          INTEGER NOT NULL,
  source_snapshot_id  INTEGER REFERENCES snapshots (id),
  replica_snapshot_id INTEGER REFERENCES snapshots (id),
  CHECK (resolved_ms IS NULL OR resolved_ms >= opened_ms)
);
CREATE UNIQUE INDEX drift_items_open ON drift_items (pair_id, object, kind)
  WHERE resolved_ms IS NULL;
CREATE INDEX drift_items_pair_time ON drift_items (pair_id, opened_ms);
)sql";

// Version 3: debounce (an item is raised only after consecutive sightings), expected
// differences (the live expectation covering an item), the snapshot time skew of each
// comparison, and drift_events: every transition of every item, for the audit trail. Items
// stored before this version were raised when they opened; their events are backfilled.
constexpr std::string_view kSchemaV3 = R"sql(
ALTER TABLE drift_items ADD COLUMN raised_ms INTEGER;
ALTER TABLE drift_items ADD COLUMN seen INTEGER NOT NULL DEFAULT 1;
ALTER TABLE drift_items ADD COLUMN expectation TEXT;
UPDATE drift_items SET raised_ms = opened_ms;
ALTER TABLE pair_states ADD COLUMN skew_ms INTEGER;

CREATE TABLE drift_events (
  id      INTEGER PRIMARY KEY,
  item_id INTEGER NOT NULL REFERENCES drift_items (id),
  at_ms   INTEGER NOT NULL,
  poll_id INTEGER REFERENCES polls (id),
  event   TEXT NOT NULL CHECK (event IN ('opened', 'raised', 'updated', 'expected',
                                         'unexpected', 'resolved')),
  detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX drift_events_item ON drift_events (item_id, id);
CREATE INDEX drift_events_time ON drift_events (at_ms);

INSERT INTO drift_events (item_id, at_ms, poll_id, event)
  SELECT id, opened_ms, opened_poll_id, 'opened' FROM drift_items ORDER BY id;
INSERT INTO drift_events (item_id, at_ms, poll_id, event)
  SELECT id, opened_ms, opened_poll_id, 'raised' FROM drift_items ORDER BY id;
INSERT INTO drift_events (item_id, at_ms, poll_id, event)
  SELECT id, resolved_ms, resolved_poll_id, 'resolved' FROM drift_items
  WHERE resolved_ms IS NOT NULL ORDER BY id;
)sql";

// Version 4: config_reloads, the audit trail of every configuration load (start) and reload
// attempt (SIGHUP, POST /-/reload), applied or rejected (lib/store/reloads.cpp).
constexpr std::string_view kSchemaV4 = R"sql(
CREATE TABLE config_reloads (
  id      INTEGER PRIMARY KEY,
  at_ms   INTEGER NOT NULL,
  trigger TEXT NOT NULL CHECK (trigger IN ('start', 'SIGHUP', 'http')),
  ok      INTEGER NOT NULL CHECK (ok IN (0, 1)),
  file    TEXT NOT NULL,
  sha256  TEXT,
  summary TEXT NOT NULL
);
CREATE INDEX config_reloads_time ON config_reloads (at_ms);
)sql";

// Version 5: entity groups (v4.1+) are objects too. SQLite cannot change a CHECK constraint in
// place, so the table is rebuilt (its 12-step procedure; migrate() runs with foreign keys off
// and checks them before committing). Ids are kept, so snapshot_objects stays valid.
constexpr std::string_view kSchemaV5 = R"sql(
CREATE TABLE objects_v5 (
  id            INTEGER PRIMARY KEY,
  kind          TEXT NOT NULL
                CHECK (kind IN ('policy', 'address_group', 'service_group', 'category',
                                'entity_group')),
  name          TEXT NOT NULL,
  hash          TEXT NOT NULL,
  json          TEXT NOT NULL,
  policy_type   TEXT,
  mode          TEXT,
  first_seen_ms INTEGER NOT NULL,
  UNIQUE (kind, name, hash)
);
INSERT INTO objects_v5 (id, kind, name, hash, json, policy_type, mode, first_seen_ms)
  SELECT id, kind, name, hash, json, policy_type, mode, first_seen_ms FROM objects;
DROP TABLE objects;
ALTER TABLE objects_v5 RENAME TO objects;
CREATE INDEX objects_hash ON objects (hash);
)sql";

// flowdriftctl apply's audit trail (docs/plan.md): one row per apply, one per request it sent.
constexpr std::string_view kSchemaV6 = R"sql(
CREATE TABLE applies (
  id              INTEGER PRIMARY KEY,
  started_ms      INTEGER NOT NULL,
  finished_ms     INTEGER,
  os_user         TEXT NOT NULL,
  plan_hash       TEXT NOT NULL,
  pair            TEXT NOT NULL DEFAULT '',
  target_site     TEXT NOT NULL,
  target_snapshot TEXT NOT NULL,
  writes_planned  INTEGER NOT NULL,
  writes_done     INTEGER NOT NULL DEFAULT 0,
  outcome         TEXT NOT NULL CHECK (outcome IN ('running', 'complete', 'stopped', 'refused')),
  message         TEXT NOT NULL DEFAULT '',
  after_snapshot  TEXT
);
CREATE TABLE apply_requests (
  id            INTEGER PRIMARY KEY,
  apply_id      INTEGER NOT NULL REFERENCES applies (id),
  step          INTEGER NOT NULL,
  op            TEXT NOT NULL,
  kind          TEXT NOT NULL,
  name          TEXT NOT NULL,
  method        TEXT NOT NULL,
  path          TEXT NOT NULL,
  request_body  TEXT NOT NULL,
  status        INTEGER NOT NULL,
  response_body TEXT NOT NULL,
  sent_ms       INTEGER NOT NULL,
  duration_ms   INTEGER NOT NULL
);
CREATE INDEX apply_requests_apply ON apply_requests (apply_id, step);
)sql";

// Version 7: Nutanix's entity sync as last read per site, and where it disagrees with
// flowdrift's comparison of a pair (drift/entity_sync.hpp, docs/entity-sync.md).
constexpr std::string_view kSchemaV7 = R"sql(
CREATE TABLE entity_sync_reads (
  site        TEXT PRIMARY KEY,
  state       TEXT NOT NULL CHECK (state IN ('not_served', 'complete', 'failed')),
  version     TEXT NOT NULL DEFAULT '',
  reason      TEXT NOT NULL DEFAULT '',
  message     TEXT NOT NULL DEFAULT '',
  read_ms     INTEGER NOT NULL,
  complete_ms INTEGER
);
CREATE TABLE entity_sync (
  site          TEXT NOT NULL,
  ext_id        TEXT NOT NULL,
  entity_type   TEXT NOT NULL,
  entity_name   TEXT NOT NULL,
  entity_ext_id TEXT NOT NULL,
  remote_ext_id TEXT NOT NULL,
  status        TEXT NOT NULL,
  PRIMARY KEY (site, ext_id)
) WITHOUT ROWID;
CREATE TABLE sync_disagreements (
  id          INTEGER PRIMARY KEY,
  pair        TEXT NOT NULL,
  entity_type TEXT NOT NULL,
  entity_name TEXT NOT NULL,
  nutanix     TEXT NOT NULL,
  flowdrift   TEXT NOT NULL,
  detail      TEXT NOT NULL,
  opened_ms   INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL,
  resolved_ms INTEGER,
  CHECK (resolved_ms IS NULL OR resolved_ms >= opened_ms)
);
CREATE UNIQUE INDEX sync_disagreements_open ON sync_disagreements (pair, entity_type, entity_name)
  WHERE resolved_ms IS NULL;
)sql";

// Version 8: the tamper-evident audit trail (store/audit.hpp, docs/security.md): one entry
// per write to an audited table, chained by SHA-256; checkpoints and bridges written by
// retention. The start entry (what the chain does not cover) is written by the store on open.
constexpr std::string_view kSchemaV8 = R"sql(
CREATE TABLE audit_log (
  seq    INTEGER PRIMARY KEY,
  at_ms  INTEGER NOT NULL,
  tbl    TEXT NOT NULL,
  row_id INTEGER NOT NULL,
  digest TEXT NOT NULL,
  note   TEXT NOT NULL DEFAULT '',
  chain  TEXT NOT NULL
);
CREATE INDEX audit_log_row ON audit_log (tbl, row_id);
CREATE TABLE audit_bridges (
  seq            INTEGER PRIMARY KEY,
  prev_chain     TEXT NOT NULL,
  checkpoint_seq INTEGER NOT NULL
);
)sql";

// Version 9: failover and failback (store/flips.hpp, docs/failover.md). A flip is requested
// by flowdriftctl or the API (outcome 'pending') and applied by the daemon, which re-describes
// the pair's open items from the new source and records the outcome. Audited (audit_log).
constexpr std::string_view kSchemaV9 = R"sql(
CREATE TABLE pair_flips (
  id           INTEGER PRIMARY KEY,
  pair         TEXT NOT NULL,
  action       TEXT NOT NULL CHECK (action IN ('failover', 'failback')),
  source_site  TEXT NOT NULL,
  replica_site TEXT NOT NULL,
  requested_ms INTEGER NOT NULL,
  requested_by TEXT NOT NULL,
  via          TEXT NOT NULL CHECK (via IN ('cli', 'api')),
  reason       TEXT NOT NULL CHECK (length(reason) > 0),
  outcome      TEXT NOT NULL DEFAULT 'pending'
               CHECK (outcome IN ('pending', 'applied', 'unchanged', 'refused')),
  applied_ms   INTEGER,
  message      TEXT NOT NULL DEFAULT '',
  items        INTEGER NOT NULL DEFAULT 0,
  CHECK (source_site <> replica_site),
  CHECK ((outcome = 'pending') = (applied_ms IS NULL))
);
CREATE INDEX pair_flips_pair ON pair_flips (pair, id);
CREATE INDEX pair_flips_pending ON pair_flips (id) WHERE outcome = 'pending';
-- A flip re-describes open items in place: drift_events gains the 'flipped' event. SQLite cannot
-- change a CHECK, so the table is copied; ids and values are kept (its audit entries still match).
CREATE TABLE drift_events_v9 (
  id      INTEGER PRIMARY KEY,
  item_id INTEGER NOT NULL REFERENCES drift_items (id),
  at_ms   INTEGER NOT NULL,
  poll_id INTEGER REFERENCES polls (id),
  event   TEXT NOT NULL CHECK (event IN ('opened', 'raised', 'updated', 'expected',
                                         'unexpected', 'resolved', 'flipped')),
  detail  TEXT NOT NULL DEFAULT ''
);
INSERT INTO drift_events_v9 (id, item_id, at_ms, poll_id, event, detail)
  SELECT id, item_id, at_ms, poll_id, event, detail FROM drift_events;
DROP TABLE drift_events;
ALTER TABLE drift_events_v9 RENAME TO drift_events;
CREATE INDEX drift_events_item ON drift_events (item_id, id);
CREATE INDEX drift_events_time ON drift_events (at_ms);
-- The digest of a site's stored entity-sync entries: a poll compares it instead of reading
-- every entry back. '' (rows from version 8) differs from any digest: rewritten once.
ALTER TABLE entity_sync_reads ADD COLUMN entries_sha256 TEXT NOT NULL DEFAULT '';
)sql";

// Version 10: the pair's status history (every change of IN_SYNC, DRIFTED, UNKNOWN), audited,
// started from each pair's current status.
constexpr std::string_view kSchemaV10 = R"sql(
CREATE TABLE pair_status_history (
  id      INTEGER PRIMARY KEY,
  pair_id INTEGER NOT NULL REFERENCES pairs (id),
  at_ms   INTEGER NOT NULL,
  status  TEXT NOT NULL CHECK (status IN ('IN_SYNC', 'DRIFTED', 'UNKNOWN')),
  was     TEXT CHECK (was IS NULL OR was IN ('IN_SYNC', 'DRIFTED', 'UNKNOWN')),
  reason  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX pair_status_history_pair ON pair_status_history (pair_id, id);
INSERT INTO pair_status_history (pair_id, at_ms, status, was, reason)
  SELECT pair_id, since_ms, status, NULL, reason FROM pair_states ORDER BY pair_id;
)sql";

// Version 11: VM coverage (store/coverage.hpp, docs/vm-coverage.md). A site's inputs are kept
// once per distinct content (only its protected VMs and its protections); each site's last read
// points at them. Gaps open and resolve per pair and VM, audited (audit_log).
constexpr std::string_view kSchemaV11 = R"sql(
CREATE TABLE coverage_inputs (
  sha256        TEXT PRIMARY KEY,
  text          TEXT NOT NULL,
  vms           INTEGER NOT NULL,
  first_seen_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE coverage_reads (
  site         TEXT PRIMARY KEY,
  state        TEXT NOT NULL CHECK (state IN ('not_served', 'complete', 'failed')),
  api          TEXT NOT NULL DEFAULT '',
  reason       TEXT NOT NULL DEFAULT '',
  message      TEXT NOT NULL DEFAULT '',
  read_ms      INTEGER NOT NULL,
  complete_ms  INTEGER,
  vms          INTEGER NOT NULL DEFAULT 0,
  input_sha256 TEXT REFERENCES coverage_inputs (sha256)
);
CREATE INDEX coverage_reads_input ON coverage_reads (input_sha256);
CREATE TABLE coverage_gaps (
  id           INTEGER PRIMARY KEY,
  pair         TEXT NOT NULL,
  vm_id        TEXT NOT NULL,
  vm           TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('unprotected', 'protected_differently')),
  protected_by TEXT NOT NULL,
  facts        TEXT NOT NULL,
  detail       TEXT NOT NULL,
  opened_ms    INTEGER NOT NULL,
  updated_ms   INTEGER NOT NULL,
  resolved_ms  INTEGER,
  CHECK (resolved_ms IS NULL OR resolved_ms >= opened_ms)
);
CREATE UNIQUE INDEX coverage_gaps_open ON coverage_gaps (pair, vm_id) WHERE resolved_ms IS NULL;
)sql";

// Version 12: views for the sqlite3 shell, with times as ISO-8601 UTC text (as the JSON API
// writes them) instead of unix milliseconds: what an auditor reads first (docs/schema.md,
// "Views"). A later migration that rebuilds a table these read must drop and recreate them.
constexpr std::string_view kSchemaV12 = R"sql(
CREATE VIEW open_drift AS
SELECT p.name AS pair, d.source_site, d.replica_site, d.object AS policy, d.kind, d.severity,
       CASE WHEN d.expectation IS NOT NULL THEN 'expected'
            WHEN d.raised_ms IS NULL THEN 'pending' ELSE 'raised' END AS state,
       strftime('%Y-%m-%dT%H:%M:%fZ', d.opened_ms / 1000.0, 'unixepoch') AS opened,
       strftime('%Y-%m-%dT%H:%M:%fZ', d.raised_ms / 1000.0, 'unixepoch') AS raised,
       strftime('%Y-%m-%dT%H:%M:%fZ', d.updated_ms / 1000.0, 'unixepoch') AS updated,
       d.summary, d.id AS item_id
FROM drift_items AS d JOIN pairs AS p ON p.id = d.pair_id
WHERE d.resolved_ms IS NULL;

CREATE VIEW drift_history AS
SELECT p.name AS pair, d.source_site, d.replica_site, d.object AS policy, d.kind, d.severity,
       strftime('%Y-%m-%dT%H:%M:%fZ', d.opened_ms / 1000.0, 'unixepoch') AS opened,
       strftime('%Y-%m-%dT%H:%M:%fZ', d.raised_ms / 1000.0, 'unixepoch') AS raised,
       strftime('%Y-%m-%dT%H:%M:%fZ', d.resolved_ms / 1000.0, 'unixepoch') AS resolved,
       (d.resolved_ms - d.opened_ms) / 1000.0 AS duration_seconds,
       d.summary, d.id AS item_id
FROM drift_items AS d JOIN pairs AS p ON p.id = d.pair_id;

CREATE VIEW poll_history AS
SELECT s.name AS site,
       strftime('%Y-%m-%dT%H:%M:%fZ', p.started_ms / 1000.0, 'unixepoch') AS started,
       strftime('%Y-%m-%dT%H:%M:%fZ', p.finished_ms / 1000.0, 'unixepoch') AS finished,
       p.outcome, p.reason, p.message, p.api, p.requests, sn.policy_count AS policies,
       sn.hash AS snapshot_hash, p.changed, p.id AS poll_id
FROM polls AS p JOIN sites AS s ON s.id = p.site_id
LEFT JOIN snapshots AS sn ON sn.id = p.snapshot_id;

CREATE VIEW reload_history AS
SELECT strftime('%Y-%m-%dT%H:%M:%fZ', at_ms / 1000.0, 'unixepoch') AS at, trigger,
       CASE ok WHEN 1 THEN 'applied' ELSE 'rejected' END AS result, file, sha256, summary,
       id AS reload_id
FROM config_reloads;

CREATE VIEW apply_history AS
SELECT strftime('%Y-%m-%dT%H:%M:%fZ', started_ms / 1000.0, 'unixepoch') AS started,
       strftime('%Y-%m-%dT%H:%M:%fZ', finished_ms / 1000.0, 'unixepoch') AS finished,
       os_user, pair, target_site, plan_hash, writes_planned, writes_done, outcome, message,
       target_snapshot, after_snapshot, id AS apply_id
FROM applies;

CREATE VIEW flip_history AS
SELECT pair, action, source_site, replica_site,
       strftime('%Y-%m-%dT%H:%M:%fZ', requested_ms / 1000.0, 'unixepoch') AS requested,
       requested_by, via, reason, outcome,
       strftime('%Y-%m-%dT%H:%M:%fZ', applied_ms / 1000.0, 'unixepoch') AS applied, message,
       items, id AS flip_id
FROM pair_flips;
)sql";

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> steps = {
      {1, "initial schema: sites, objects, snapshots, findings, polls", kSchemaV1},
      {2, "pairs, pair states and drift items", kSchemaV2},
      {3, "debounce, expected differences, snapshot skew and drift events", kSchemaV3},
      {4, "config reload audit trail", kSchemaV4},
      {5, "entity groups in the objects table", kSchemaV5},
      {6, "apply audit trail", kSchemaV6},
      {7, "entity sync reads and sync disagreements", kSchemaV7},
      {8, "tamper-evident audit log", kSchemaV8},
      {9, "failover and failback flips, entity-sync digests", kSchemaV9},
      {10, "pair status history", kSchemaV10},
      {11, "VM coverage reads, inputs and gaps", kSchemaV11},
      {12, "views with ISO-8601 times for the sqlite3 shell", kSchemaV12},
  };
  return steps;
}

int latest_schema_version() { return migrations().back().version; }

int migrate(Database& db) {
  int applied = 0;
  for (const Migration& m : migrations()) {
    Transaction tx(db);
    // Read inside the write lock: another process may have migrated since we looked.
    const auto current = static_cast<int>(db.query_int64("PRAGMA user_version").value_or(0));
    if (current > latest_schema_version()) {
      throw StoreError(db.path() + ": schema version " + std::to_string(current) +
                           " is newer than this binary (" +
                           std::to_string(latest_schema_version()) + ")",
                       0);
    }
    if (m.version <= current) continue;  // tx rolls back an empty transaction
    db.exec(m.sql);
    if (db.query_text("PRAGMA foreign_key_check")) {
      throw StoreError(db.path() + ": migration " + std::to_string(m.version) +
                           " would break a foreign key; nothing was changed",
                       0);
    }
    db.exec("PRAGMA user_version = " + std::to_string(m.version));
    db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
    tx.commit();
    ++applied;
    log::info(log::get("store"), "store.migrated",
              {{"path", db.path()}, {"version", m.version}, {"step", m.name}});
  }
  return applied;
}

}  // namespace flowdrift::store
