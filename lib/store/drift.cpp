#include "store/drift.hpp"

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "store/db.hpp"

namespace flowdrift::store {
namespace {

std::int64_t pair_id(Database& db, const PairIdentity& p) {
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

std::string fields_json(const diff::DriftItem& item) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& f : item.fields) {
    arr.push_back({{"path", f.path}, {"source", f.source}, {"replica", f.replica}});
  }
  return arr.dump();
}

constexpr const char* kItemColumns =
    "d.id, p.name, d.source_site, d.replica_site, d.object, d.kind, d.severity, d.direction, "
    "d.summary, d.fields, d.opened_ms, d.resolved_ms, d.updated_ms";

StoredDriftItem read_item(const Statement& st) {
  StoredDriftItem it;
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
  return it;
}

void write_status(Database& db, std::int64_t pid, const std::string& status,
                  const std::string& reason, std::int64_t now_ms,
                  std::optional<std::int64_t> src_snap, std::optional<std::int64_t> rep_snap) {
  auto& st = db.cached(
      "INSERT INTO pair_states(pair_id, status, reason, since_ms, updated_ms, "
      "source_snapshot_id, replica_snapshot_id) VALUES(?1, ?2, ?3, ?4, ?4, ?5, ?6) "
      "ON CONFLICT(pair_id) DO UPDATE SET "
      "since_ms = CASE WHEN status = excluded.status THEN since_ms ELSE excluded.since_ms END, "
      "status = excluded.status, reason = excluded.reason, updated_ms = excluded.updated_ms, "
      "source_snapshot_id = coalesce(excluded.source_snapshot_id, source_snapshot_id), "
      "replica_snapshot_id = coalesce(excluded.replica_snapshot_id, replica_snapshot_id)");
  st.bind(1, pid).bind(2, status).bind(3, reason).bind(4, now_ms).bind(5, src_snap).bind(6, rep_snap);
  st.exec();
}

}  // namespace

DriftChanges apply_pair_result(Database& db, const PairIdentity& pair,
                               const diff::PairResult& result, std::int64_t poll_id,
                               std::int64_t source_snapshot_id, std::int64_t replica_snapshot_id,
                               std::int64_t now_ms) {
  DriftChanges changes;
  const auto pid = pair_id(db, pair);
  std::map<std::pair<std::string, std::string>, StoredDriftItem> open;
  {
    auto st = db.prepare(std::string("SELECT ") + kItemColumns +
                         " FROM drift_items d JOIN pairs p ON p.id = d.pair_id "
                         "WHERE d.pair_id = ?1 AND d.resolved_ms IS NULL");
    st.bind(1, pid);
    while (st.step()) {
      auto it = read_item(st);
      open.emplace(std::make_pair(it.object, it.kind), std::move(it));
    }
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& item : result.items) {
    const std::string kind(diff::to_string(item.kind));
    const std::string severity(diff::to_string(item.severity));
    const std::string direction(diff::to_string(item.direction));
    const auto fields = fields_json(item);
    auto key = std::make_pair(item.object, kind);
    seen.insert(key);
    auto existing = open.find(key);
    if (existing == open.end()) {
      auto& ins = db.cached(
          "INSERT INTO drift_items(pair_id, source_site, replica_site, object, kind, severity, "
          "direction, summary, fields, opened_ms, opened_poll_id, updated_ms, "
          "source_snapshot_id, replica_snapshot_id) "
          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?10, ?12, ?13)");
      ins.bind(1, pid).bind(2, pair.source_site).bind(3, pair.replica_site).bind(4, item.object);
      ins.bind(5, kind).bind(6, severity).bind(7, direction).bind(8, item.summary).bind(9, fields);
      ins.bind(10, now_ms).bind(11, poll_id).bind(12, source_snapshot_id).bind(13, replica_snapshot_id);
      ins.exec();
      StoredDriftItem s;
      s.id = db.last_insert_rowid();
      s.pair = pair.pair;
      s.source_site = pair.source_site;
      s.replica_site = pair.replica_site;
      s.object = item.object;
      s.kind = kind;
      s.severity = severity;
      s.direction = direction;
      s.summary = item.summary;
      s.fields_json = fields;
      s.opened_ms = now_ms;
      s.updated_ms = now_ms;
      changes.opened.push_back(std::move(s));
    } else if (existing->second.severity != severity || existing->second.fields_json != fields ||
               existing->second.direction != direction) {
      auto& upd = db.cached(
          "UPDATE drift_items SET severity = ?2, direction = ?3, summary = ?4, fields = ?5, "
          "updated_ms = ?6 WHERE id = ?1");
      upd.bind(1, existing->second.id).bind(2, severity).bind(3, direction).bind(4, item.summary);
      upd.bind(5, fields).bind(6, now_ms).exec();
      auto s = existing->second;
      s.severity = severity;
      s.direction = direction;
      s.summary = item.summary;
      s.fields_json = fields;
      s.updated_ms = now_ms;
      changes.updated.push_back(std::move(s));
    }
  }
  for (auto& [key, item] : open) {
    if (seen.count(key)) continue;
    auto& res = db.cached(
        "UPDATE drift_items SET resolved_ms = ?2, resolved_poll_id = ?3 WHERE id = ?1");
    res.bind(1, item.id).bind(2, now_ms).bind(3, poll_id).exec();
    item.resolved_ms = now_ms;
    changes.resolved.push_back(item);
  }
  write_status(db, pid, std::string(diff::to_string(result.status)), "", now_ms,
               source_snapshot_id, replica_snapshot_id);
  return changes;
}

bool set_pair_unknown(Database& db, const PairIdentity& pair, const std::string& reason,
                      std::int64_t now_ms) {
  const auto pid = pair_id(db, pair);
  auto& sel = db.cached("SELECT status, reason FROM pair_states WHERE pair_id = ?1");
  sel.bind(1, pid);
  if (sel.step()) {
    const bool same = sel.column_text(0) == "UNKNOWN" && sel.column_text(1) == reason;
    sel.reset();
    if (same) return false;
  }
  write_status(db, pid, "UNKNOWN", reason, now_ms, std::nullopt, std::nullopt);
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
  return r;
}
constexpr const char* kPairSelect =
    "SELECT p.name, p.source_site, p.replica_site, s.status, s.reason, s.since_ms, s.updated_ms, "
    "s.source_snapshot_id, s.replica_snapshot_id FROM pairs p JOIN pair_states s ON s.pair_id = p.id";
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

std::vector<StoredDriftItem> drift_items(Database& db, const DriftQuery& q) {
  std::string sql = std::string("SELECT ") + kItemColumns +
                    " FROM drift_items d JOIN pairs p ON p.id = d.pair_id WHERE 1=1";
  if (q.pair) sql += " AND p.name = :pair";
  if (q.open_only) sql += " AND d.resolved_ms IS NULL";
  if (q.since_ms) sql += " AND (d.opened_ms >= :since OR d.resolved_ms >= :since)";
  sql += " ORDER BY d.opened_ms, d.id";
  auto st = db.prepare(sql);
  if (q.pair) st.bind(st.parameter_index(":pair"), *q.pair);
  if (q.since_ms) st.bind(st.parameter_index(":since"), *q.since_ms);
  std::vector<StoredDriftItem> out;
  while (st.step()) out.push_back(read_item(st));
  return out;
}

}  // namespace flowdrift::store
