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
    "d.summary, d.fields, d.opened_ms, d.resolved_ms, d.updated_ms, d.raised_ms, d.seen, "
    "coalesce(d.expectation, '')";

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
  it.raised_ms = st.column_optional_int64(13);
  it.seen = static_cast<int>(st.column_int64(14));
  it.expectation_json = st.column_text(15);
  return it;
}

std::string expectation_json(const diff::DriftItem& item) {
  if (!item.expected) return "";
  const auto& e = *item.expected;
  return nlohmann::json{{"selector", e.selector},
                        {"owner", e.owner},
                        {"reason", e.reason},
                        {"expires", e.expires}}
      .dump();
}

void add_event(Database& db, std::int64_t item_id, std::int64_t at_ms, std::int64_t poll_id,
               const char* event, const std::string& detail) {
  auto& st = db.cached(
      "INSERT INTO drift_events(item_id, at_ms, poll_id, event, detail) VALUES(?1, ?2, ?3, ?4, ?5)");
  st.bind(1, item_id).bind(2, at_ms).bind(3, poll_id).bind(4, std::string(event)).bind(5, detail);
  st.exec();
}

void write_status(Database& db, std::int64_t pid, const std::string& status,
                  const std::string& reason, std::int64_t now_ms,
                  std::optional<std::int64_t> src_snap, std::optional<std::int64_t> rep_snap,
                  std::optional<std::int64_t> skew_ms) {
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

DriftChanges apply_pair_result(Database& db, const PairIdentity& pair,
                               const diff::PairResult& result, const ComparisonContext& ctx) {
  DriftChanges changes;
  const auto now_ms = ctx.now_ms;
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
  auto debounced = [&](const StoredDriftItem& s) {
    return s.seen >= ctx.debounce.comparisons && now_ms - s.opened_ms >= ctx.debounce.for_ms;
  };
  bool drifted = false;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& item : result.items) {
    const std::string kind(diff::to_string(item.kind));
    const std::string severity(diff::to_string(item.severity));
    const std::string direction(diff::to_string(item.direction));
    const auto fields = fields_json(item);
    const auto expectation = expectation_json(item);
    auto key = std::make_pair(item.object, kind);
    seen.insert(key);
    auto existing = open.find(key);
    StoredDriftItem s;
    if (existing == open.end()) {
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
      s.seen = 1;
      s.expectation_json = expectation;
      if (debounced(s)) s.raised_ms = now_ms;
      auto& ins = db.cached(
          "INSERT INTO drift_items(pair_id, source_site, replica_site, object, kind, severity, "
          "direction, summary, fields, opened_ms, opened_poll_id, updated_ms, "
          "source_snapshot_id, replica_snapshot_id, raised_ms, seen, expectation) "
          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?10, ?12, ?13, ?14, 1, ?15)");
      ins.bind(1, pid).bind(2, pair.source_site).bind(3, pair.replica_site).bind(4, item.object);
      ins.bind(5, kind).bind(6, severity).bind(7, direction).bind(8, item.summary).bind(9, fields);
      ins.bind(10, now_ms).bind(11, ctx.poll_id).bind(12, ctx.source_snapshot_id);
      ins.bind(13, ctx.replica_snapshot_id).bind(14, s.raised_ms);
      ins.bind(15, expectation.empty() ? std::nullopt : std::optional<std::string>(expectation));
      ins.exec();
      s.id = db.last_insert_rowid();
      add_event(db, s.id, now_ms, ctx.poll_id, "opened", severity);
      if (!expectation.empty()) add_event(db, s.id, now_ms, ctx.poll_id, "expected", expectation);
      if (s.raised_ms) {
        add_event(db, s.id, now_ms, ctx.poll_id, "raised", "");
        changes.raised.push_back(s);
      }
      changes.opened.push_back(s);
    } else {
      s = existing->second;
      const bool evidence = s.severity != severity || s.fields_json != fields ||
                            s.direction != direction;
      const bool was_expected = s.expected();
      const bool expectation_changed = s.expectation_json != expectation;
      bool raise = false;
      if (s.pending()) {
        ++s.seen;
        raise = debounced(s);
        if (raise) s.raised_ms = now_ms;
      }
      if (evidence) {
        s.severity = severity;
        s.direction = direction;
        s.summary = item.summary;
        s.fields_json = fields;
        s.updated_ms = now_ms;
      }
      s.expectation_json = expectation;
      if (evidence || expectation_changed || existing->second.pending()) {
        auto& upd = db.cached(
            "UPDATE drift_items SET severity = ?2, direction = ?3, summary = ?4, fields = ?5, "
            "updated_ms = ?6, raised_ms = ?7, seen = ?8, expectation = ?9 WHERE id = ?1");
        upd.bind(1, s.id).bind(2, s.severity).bind(3, s.direction).bind(4, s.summary);
        upd.bind(5, s.fields_json).bind(6, s.updated_ms).bind(7, s.raised_ms).bind(8, s.seen);
        upd.bind(9, expectation.empty() ? std::nullopt : std::optional<std::string>(expectation));
        upd.exec();
      }
      if (evidence) {
        add_event(db, s.id, now_ms, ctx.poll_id, "updated", severity + " " + direction);
        changes.updated.push_back(s);
      }
      if (expectation_changed) {
        if (!expectation.empty()) {
          add_event(db, s.id, now_ms, ctx.poll_id, "expected", expectation);
          changes.expected.push_back(s);
        } else if (was_expected) {
          // Expired or removed from the config: drift again, with the same open time.
          add_event(db, s.id, now_ms, ctx.poll_id, "unexpected", existing->second.expectation_json);
          changes.unexpected.push_back(s);
        }
      }
      if (raise) {
        add_event(db, s.id, now_ms, ctx.poll_id, "raised", "seen " + std::to_string(s.seen) +
                                                               " times");
        changes.raised.push_back(s);
      }
    }
    drifted |= s.alerting();
    if (s.pending()) ++changes.pending;
  }
  for (auto& [key, item] : open) {
    if (seen.count(key)) continue;
    auto& res = db.cached(
        "UPDATE drift_items SET resolved_ms = ?2, resolved_poll_id = ?3 WHERE id = ?1");
    res.bind(1, item.id).bind(2, now_ms).bind(3, ctx.poll_id).exec();
    add_event(db, item.id, now_ms, ctx.poll_id, "resolved", item.pending() ? "never raised" : "");
    item.resolved_ms = now_ms;
    changes.resolved.push_back(item);
  }
  changes.status = drifted ? "DRIFTED" : "IN_SYNC";
  write_status(db, pid, changes.status, "", now_ms, ctx.source_snapshot_id,
               ctx.replica_snapshot_id, ctx.skew_ms);
  return changes;
}

bool set_pair_unknown(Database& db, const PairIdentity& pair, const std::string& reason,
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

std::vector<DriftEvent> drift_events(Database& db, std::int64_t item_id) {
  auto st = db.prepare(
      "SELECT at_ms, event, detail FROM drift_events WHERE item_id = ?1 ORDER BY id");
  st.bind(1, item_id);
  std::vector<DriftEvent> out;
  while (st.step()) out.push_back({st.column_int64(0), st.column_text(1), st.column_text(2)});
  return out;
}

}  // namespace flowdrift::store
