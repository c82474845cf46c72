#include "store/drift.hpp"

#include "store/audit.hpp"
#include "store/db.hpp"

namespace flowdrift::store {
namespace {

std::int64_t pair_id(Database& db, const drift::PairIdentity& p) {
  auto& ins = db.cached(
      "INSERT INTO pairs(name, source_site, replica_site) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(name) DO UPDATE SET source_site = excluded.source_site, "
      "replica_site = excluded.replica_site "
      "WHERE source_site <> excluded.source_site OR replica_site <> excluded.replica_site");
  ins.bind(1, p.pair).bind(2, p.source_site).bind(3, p.replica_site).exec();
  auto& sel = db.cached("SELECT id FROM pairs WHERE name = ?1");
  sel.bind(1, p.pair);
  auto id = sel.query_int64();
  if (!id) throw StoreError("pair row missing after insert: " + p.pair, 0);
  return *id;
}

constexpr const char* kItemColumns =
    "d.id, p.name, d.source_site, d.replica_site, d.object, d.kind, d.severity, d.direction, "
    "d.summary, d.fields, d.opened_ms, d.resolved_ms, d.updated_ms, d.raised_ms, d.seen, "
    "coalesce(d.expectation, '')";

drift::Item read_item(const Statement& st) {
  drift::Item it;
  it.id = st.column_int64(0);
  it.pair = st.column_text(1);
  it.source_site = st.column_text(2);
  it.replica_site = st.column_text(3);
  it.object = st.column_text(4);
  it.kind = st.column_text(5);
  it.severity = st.column_text(6);
  it.direction = st.column_text(7);
  it.summary = st.column_text(8);
  it.fields_json = st.column_text(9);
  it.opened_ms = st.column_int64(10);
  it.resolved_ms = st.column_optional_int64(11);
  it.updated_ms = st.column_int64(12);
  it.raised_ms = st.column_optional_int64(13);
  it.seen = static_cast<int>(st.column_int64(14));
  it.expectation_json = st.column_text(15);
  return it;
}

void add_event(Database& db, std::int64_t item_id, std::int64_t at_ms,
               std::optional<std::int64_t> poll_id, const char* event, const std::string& detail) {
  auto& st = db.cached(
      "INSERT INTO drift_events(item_id, at_ms, poll_id, event, detail) VALUES(?1, ?2, ?3, ?4, ?5)");
  st.bind(1, item_id).bind(2, at_ms).bind(3, poll_id).bind(4, std::string(event)).bind(5, detail);
  st.exec();
  audit_row(db, "drift_events", db.last_insert_rowid(), at_ms);
}

// A change of the pair's status, kept in its history (audited).
void record_status_change(Database& db, std::int64_t pid, const std::string& status,
                          const std::string& reason, std::int64_t now_ms) {
  auto& cur = db.cached("SELECT status FROM pair_states WHERE pair_id = ?1");
  cur.bind(1, pid);
  std::optional<std::string> was;
  if (cur.step()) was = cur.column_text(0);
  cur.reset();
  if (was == status) return;
  db.cached("INSERT INTO pair_status_history (pair_id, at_ms, status, was, reason) "
            "VALUES (?1, ?2, ?3, ?4, ?5)")
      .bind(1, pid)
      .bind(2, now_ms)
      .bind(3, status)
      .bind(4, was)
      .bind(5, reason)
      .exec();
  audit_row(db, "pair_status_history", db.last_insert_rowid(), now_ms);
}

void write_status(Database& db, std::int64_t pid, const std::string& status,
                  const std::string& reason, std::int64_t now_ms,
                  std::optional<std::int64_t> src_snap, std::optional<std::int64_t> rep_snap,
                  std::optional<std::int64_t> skew_ms) {
  record_status_change(db, pid, status, reason, now_ms);
  auto& st = db.cached(
      "INSERT INTO pair_states(pair_id, status, reason, since_ms, updated_ms, "
      "source_snapshot_id, replica_snapshot_id, skew_ms) VALUES(?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7) "
      "ON CONFLICT(pair_id) DO UPDATE SET "
      "since_ms = CASE WHEN status = excluded.status THEN since_ms ELSE excluded.since_ms END, "
      "status = excluded.status, reason = excluded.reason, updated_ms = excluded.updated_ms, "
      "source_snapshot_id = coalesce(excluded.source_snapshot_id, source_snapshot_id), "
      "replica_snapshot_id = coalesce(excluded.replica_snapshot_id, replica_snapshot_id), "
      "skew_ms = coalesce(excluded.skew_ms, skew_ms)");
  st.bind(1, pid).bind(2, status).bind(3, reason).bind(4, now_ms).bind(5, src_snap).bind(6, rep_snap);
  st.bind(7, skew_ms);
  st.exec();
}

}  // namespace

namespace {

std::optional<std::string> null_if_empty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

void insert_item(Database& db, std::int64_t pid, drift::Item& s, const ComparisonContext& ctx) {
  auto& ins = db.cached(
      "INSERT INTO drift_items(pair_id, source_site, replica_site, object, kind, severity, "
      "direction, summary, fields, opened_ms, opened_poll_id, updated_ms, "
      "source_snapshot_id, replica_snapshot_id, raised_ms, seen, expectation) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?10, ?12, ?13, ?14, ?15, ?16)");
  ins.bind(1, pid).bind(2, s.source_site).bind(3, s.replica_site).bind(4, s.object);
  ins.bind(5, s.kind).bind(6, s.severity).bind(7, s.direction).bind(8, s.summary);
  ins.bind(9, s.fields_json).bind(10, s.opened_ms).bind(11, ctx.poll_id);
  ins.bind(12, ctx.source_snapshot_id).bind(13, ctx.replica_snapshot_id).bind(14, s.raised_ms);
  ins.bind(15, static_cast<std::int64_t>(s.seen)).bind(16, null_if_empty(s.expectation_json));
  ins.exec();
  s.id = db.last_insert_rowid();
}

void update_item(Database& db, const drift::Item& s) {
  auto& upd = db.cached(
      "UPDATE drift_items SET severity = ?2, direction = ?3, summary = ?4, fields = ?5, "
      "updated_ms = ?6, raised_ms = ?7, seen = ?8, expectation = ?9, kind = ?10, "
      "source_site = ?11, replica_site = ?12 WHERE id = ?1");
  upd.bind(1, s.id).bind(2, s.severity).bind(3, s.direction).bind(4, s.summary);
  upd.bind(5, s.fields_json).bind(6, s.updated_ms).bind(7, s.raised_ms);
  upd.bind(8, static_cast<std::int64_t>(s.seen)).bind(9, null_if_empty(s.expectation_json));
  upd.bind(10, s.kind).bind(11, s.source_site).bind(12, s.replica_site);
  upd.exec();
}

void resolve_item(Database& db, const drift::Item& s, const ComparisonContext& ctx) {
  auto& res = db.cached(
      "UPDATE drift_items SET resolved_ms = ?2, resolved_poll_id = ?3 WHERE id = ?1");
  res.bind(1, s.id).bind(2, *s.resolved_ms).bind(3, ctx.poll_id).exec();
}

}  // namespace

void write_flip(Database& db, const drift::PairIdentity& now, const std::vector<drift::Write>& writes,
                std::int64_t now_ms) {
  const auto pid = pair_id(db, now);  // the pairs row takes the new direction
  for (const auto& w : writes) {
    update_item(db, w.item);
    for (const auto& e : w.events) {
      add_event(db, w.item.id, now_ms, std::nullopt, drift::to_string(e.event), e.detail);
    }
  }
  // The compared snapshots are stored by side: they trade places with the sites.
  db.cached("UPDATE pair_states SET source_snapshot_id = replica_snapshot_id, "
            "replica_snapshot_id = source_snapshot_id WHERE pair_id = ?1")
      .bind(1, pid)
      .exec();
}

std::vector<StatusChange> status_history(Database& db, const std::string& pair, int limit) {
  auto st = db.prepare(
      "SELECT h.at_ms, h.status, coalesce(h.was, ''), h.reason FROM pair_status_history h "
      "JOIN pairs p ON p.id = h.pair_id WHERE p.name = ?1 ORDER BY h.id DESC LIMIT ?2");
  st.bind(1, pair).bind(2, static_cast<std::int64_t>(limit));
  std::vector<StatusChange> out;
  while (st.step()) {
    out.push_back({st.column_int64(0), st.column_text(1), st.column_text(2), st.column_text(3)});
  }
  return out;
}

std::vector<drift::Item> open_items(Database& db, const std::string& pair) {
  DriftQuery q;
  q.pair = pair;
  q.open_only = true;
  return drift_items(db, q);
}

void write_comparison(Database& db, const drift::PairIdentity& pair, drift::Reconciled& result,
                      const ComparisonContext& ctx) {
  const auto pid = pair_id(db, pair);
  for (auto& w : result.writes) {
    switch (w.op) {
      case drift::Write::Op::Insert: insert_item(db, pid, w.item, ctx); break;
      case drift::Write::Op::Update: update_item(db, w.item); break;
      case drift::Write::Op::Resolve: resolve_item(db, w.item, ctx); break;
    }
    for (const auto& e : w.events) {
      add_event(db, w.item.id, ctx.now_ms, ctx.poll_id, drift::to_string(e.event), e.detail);
    }
  }
  write_status(db, pid, std::string(diff::to_string(result.status)), "", ctx.now_ms,
               ctx.source_snapshot_id, ctx.replica_snapshot_id, ctx.skew_ms);
}

bool set_pair_unknown(Database& db, const drift::PairIdentity& pair, const std::string& reason,
                      std::int64_t now_ms, std::optional<std::int64_t> skew_ms) {
  const auto pid = pair_id(db, pair);
  auto& sel = db.cached("SELECT status, reason FROM pair_states WHERE pair_id = ?1");
  sel.bind(1, pid);
  if (sel.step()) {
    const bool same = sel.column_text(0) == "UNKNOWN" && sel.column_text(1) == reason;
    sel.reset();
    if (same) return false;
  }
  write_status(db, pid, "UNKNOWN", reason, now_ms, std::nullopt, std::nullopt, skew_ms);
  return true;
}

namespace {
PairRecord read_pair(const Statement& st) {
  PairRecord r;
  r.pair = st.column_text(0);
  r.source_site = st.column_text(1);
  r.replica_site = st.column_text(2);
  r.status = st.column_text(3);
  r.reason = st.column_text(4);
  r.since_ms = st.column_int64(5);
  r.updated_ms = st.column_int64(6);
  r.source_snapshot_id = st.column_optional_int64(7);
  r.replica_snapshot_id = st.column_optional_int64(8);
  r.skew_ms = st.column_optional_int64(9);
  return r;
}
constexpr const char* kPairSelect =
    "SELECT p.name, p.source_site, p.replica_site, s.status, s.reason, s.since_ms, s.updated_ms, "
    "s.source_snapshot_id, s.replica_snapshot_id, s.skew_ms FROM pairs p JOIN pair_states s ON s.pair_id = p.id";
}  // namespace

std::optional<PairRecord> pair_record(Database& db, const std::string& pair) {
  auto st = db.prepare(std::string(kPairSelect) + " WHERE p.name = ?1");
  st.bind(1, pair);
  if (!st.step()) return std::nullopt;
  auto r = read_pair(st);
  st.reset();
  return r;
}

std::vector<PairRecord> pair_records(Database& db) {
  std::vector<PairRecord> out;
  auto st = db.prepare(std::string(kPairSelect) + " ORDER BY p.name");
  while (st.step()) out.push_back(read_pair(st));
  return out;
}

std::vector<drift::Item> drift_items(Database& db, const DriftQuery& q) {
  std::string sql = std::string("SELECT ") + kItemColumns +
                    " FROM drift_items d JOIN pairs p ON p.id = d.pair_id WHERE 1=1";
  if (q.pair) sql += " AND p.name = :pair";
  if (q.open_only) sql += " AND d.resolved_ms IS NULL";
  if (q.since_ms) sql += " AND (d.opened_ms >= :since OR d.resolved_ms >= :since)";
  sql += " ORDER BY d.opened_ms, d.id";
  auto st = db.prepare(sql);
  if (q.pair) st.bind(st.parameter_index(":pair"), *q.pair);
  if (q.since_ms) st.bind(st.parameter_index(":since"), *q.since_ms);
  std::vector<drift::Item> out;
  while (st.step()) out.push_back(read_item(st));
  return out;
}

std::vector<DriftEvent> drift_events(Database& db, std::int64_t item_id) {
  auto st = db.prepare(
      "SELECT at_ms, event, detail FROM drift_events WHERE item_id = ?1 ORDER BY id");
  st.bind(1, item_id);
  std::vector<DriftEvent> out;
  while (st.step()) out.push_back({st.column_int64(0), st.column_text(1), st.column_text(2)});
  return out;
}

}  // namespace flowdrift::store
