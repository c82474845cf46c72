#include "store/audit.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/json_get.hpp"
#include "core/sha256.hpp"

namespace flowdrift::store {
namespace {

using nlohmann::json;

// Each audited table and the columns its rows are hashed by, fixed here so that a later
// migration adding a column does not change the hash of an old row.
struct AuditedTable {
  std::string_view name;
  std::string_view columns;
};
constexpr AuditedTable kTables[] = {
    {"polls", "id, site_id, started_ms, finished_ms, outcome, reason, message, api, requests, "
              "snapshot_id, changed"},
    {"drift_events", "id, item_id, at_ms, poll_id, event, detail"},
    {"config_reloads", "id, at_ms, trigger, ok, file, sha256, summary"},
    {"applies", "id, started_ms, finished_ms, os_user, plan_hash, pair, target_site, "
                "target_snapshot, writes_planned, writes_done, outcome, message, after_snapshot"},
    {"apply_requests", "id, apply_id, step, op, kind, name, method, path, request_body, status, "
                       "response_body, sent_ms, duration_ms"},
    {"pair_flips", "id, pair, action, source_site, replica_site, requested_ms, requested_by, via, "
                   "reason, outcome, applied_ms, message, items"},
    {"pair_status_history", "id, pair_id, at_ms, status, was, reason"},
    {"coverage_gaps", "id, pair, vm_id, vm, kind, protected_by, facts, detail, opened_ms, "
                      "updated_ms, resolved_ms"},
};

const AuditedTable& table_of(std::string_view name) {
  for (const auto& t : kTables) {
    if (t.name == name) return t;
  }
  throw StoreError("audit: " + std::string(name) + " is not an audited table", SQLITE_MISUSE);
}

// The current row of `st` as text: each column's name, type and value, one per line.
std::string row_text(const Statement& st) {
  sqlite3_stmt* h = st.handle();
  std::string out;
  for (int i = 0; i < sqlite3_column_count(h); ++i) {
    out += sqlite3_column_name(h, i);
    out += '=';
    const int type = sqlite3_column_type(h, i);
    if (type == SQLITE_NULL) {
      out += 'N';
    } else if (type == SQLITE_INTEGER) {
      out += 'I' + std::to_string(sqlite3_column_int64(h, i));
    } else if (type == SQLITE_FLOAT) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "F%.17g", sqlite3_column_double(h, i));
      out += buf;
    } else {
      const auto* bytes = static_cast<const char*>(sqlite3_column_blob(h, i));
      const int n = sqlite3_column_bytes(h, i);
      out += (type == SQLITE_TEXT ? 'T' : 'B') + std::to_string(n) + ':';
      if (n > 0) out.append(bytes, static_cast<std::size_t>(n));
    }
    out += '\n';
  }
  return out;
}

std::string select_rows(const AuditedTable& t, const char* where) {
  return "SELECT " + std::string(t.columns) + " FROM " + std::string(t.name) + where;
}

struct Entry {
  std::int64_t seq = 0;
  std::int64_t at_ms = 0;
  std::string tbl;
  std::int64_t row_id = 0;
  std::string digest;
  std::string note;
  std::string chain;
};

// The chain value of an entry that follows `prev`.
std::string link(const std::string& prev, const Entry& e) {
  return sha256_hex(prev + "\n" + std::to_string(e.seq) + "\n" + std::to_string(e.at_ms) + "\n" +
                    e.tbl + "\n" + std::to_string(e.row_id) + "\n" + e.digest + "\n" + e.note);
}

std::string head_chain(Database& db) {
  return db.cached("SELECT chain FROM audit_log ORDER BY seq DESC LIMIT 1").query_text().value_or("");
}

void append(Database& db, Entry e) {
  e.seq = db.cached("SELECT coalesce(max(seq), 0) + 1 FROM audit_log").query_int64().value_or(1);
  e.chain = link(head_chain(db), e);
  db.cached("INSERT INTO audit_log (seq, at_ms, tbl, row_id, digest, note, chain) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
      .bind(1, e.seq)
      .bind(2, e.at_ms)
      .bind(3, e.tbl)
      .bind(4, e.row_id)
      .bind(5, e.digest)
      .bind(6, e.note)
      .bind(7, e.chain)
      .exec();
}

std::vector<Entry> entries(Database& db) {
  auto st = db.prepare(
      "SELECT seq, at_ms, tbl, row_id, digest, note, chain FROM audit_log ORDER BY seq");
  std::vector<Entry> out;
  while (st.step()) {
    out.push_back({st.column_int64(0), st.column_int64(1), st.column_text(2), st.column_int64(3),
                   st.column_text(4), st.column_text(5), st.column_text(6)});
  }
  return out;
}

// A checkpoint's bridges, hashed in seq order.
std::string bridges_digest(Database& db, std::int64_t checkpoint) {
  auto st = db.prepare(
      "SELECT seq, prev_chain FROM audit_bridges WHERE checkpoint_seq = ?1 ORDER BY seq");
  st.bind(1, checkpoint);
  std::string text;
  while (st.step()) text += std::to_string(st.column_int64(0)) + ":" + st.column_text(1) + "\n";
  return sha256_hex(text);
}

std::string entry_name(const Entry& e) { return "audit_log seq " + std::to_string(e.seq); }

}  // namespace

void audit_row(Database& db, std::string_view table, std::int64_t row_id, std::int64_t at_ms) {
  const auto& t = table_of(table);
  auto& st = db.cached(select_rows(t, " WHERE id = ?1"));
  st.bind(1, row_id);
  if (!st.step()) {
    throw StoreError("audit: " + std::string(table) + " row " + std::to_string(row_id) +
                         " does not exist",
                     SQLITE_NOTFOUND);
  }
  std::string digest = sha256_hex(row_text(st));
  st.reset();
  append(db, {0, at_ms, std::string(table), row_id, std::move(digest), "", ""});
}

void ensure_audit_start(Database& db, std::int64_t at_ms) {
  Transaction tx(db);
  if (db.cached("SELECT count(*) FROM audit_log WHERE tbl = 'start'").query_int64().value_or(0) >
      0) {
    return;
  }
  json before = json::object();
  for (const auto& t : kTables) {
    before[std::string(t.name)] =
        db.query_int64("SELECT coalesce(max(id), 0) FROM " + std::string(t.name)).value_or(0);
  }
  append(db, {0, at_ms, "start", 0, "", before.dump(), ""});
  tx.commit();
}

void audit_prune(Database& db, std::string_view table, const std::vector<std::int64_t>& row_ids,
                 std::int64_t at_ms) {
  (void)table_of(table);
  std::map<std::int64_t, std::string> doomed;  // seq -> chain
  auto& find = db.cached("SELECT seq, chain FROM audit_log WHERE tbl = ?1 AND row_id = ?2");
  for (auto id : row_ids) {
    find.bind(1, std::string(table)).bind(2, id);
    while (find.step()) doomed.emplace(find.column_int64(0), find.column_text(1));
    find.reset();
  }
  if (doomed.empty()) return;
  // The entry after each removed run needs the chain it was linked from, unless it already has
  // a bridge from an earlier prune.
  std::vector<std::pair<std::int64_t, std::string>> bridges;
  auto& next = db.cached("SELECT seq FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT 1");
  auto& bridged = db.cached("SELECT count(*) FROM audit_bridges WHERE seq = ?1");
  for (auto it = doomed.begin(); it != doomed.end(); ++it) {
    next.bind(1, it->first);
    const auto after = next.query_int64();
    next.reset();
    if (!after || doomed.count(*after)) continue;  // the tail, or removed too
    bridged.bind(1, *after);
    const bool has = bridged.query_int64().value_or(0) > 0;
    bridged.reset();
    if (!has) bridges.emplace_back(*after, it->second);
  }
  std::string removed;
  auto& del = db.cached("DELETE FROM audit_log WHERE seq = ?1");
  for (const auto& [seq, chain] : doomed) {
    removed += std::to_string(seq) + ":" + chain + "\n";
    del.bind(1, seq).exec();
  }
  // The checkpoint, then its bridges (their digest is in its note, which the chain covers).
  std::string bridge_text;
  for (const auto& [seq, chain] : bridges) bridge_text += std::to_string(seq) + ":" + chain + "\n";
  json note{{"table", std::string(table)},
            {"removed", doomed.size()},
            {"removed_digest", sha256_hex(removed)},
            {"bridges", bridges.size()},
            {"bridges_digest", sha256_hex(bridge_text)}};
  append(db, {0, at_ms, "checkpoint", 0, "", note.dump(), ""});
  const auto checkpoint = db.cached("SELECT max(seq) FROM audit_log").query_int64().value_or(0);
  auto& add = db.cached(
      "INSERT INTO audit_bridges (seq, prev_chain, checkpoint_seq) VALUES (?1, ?2, ?3)");
  for (const auto& [seq, chain] : bridges) add.bind(1, seq).bind(2, chain).bind(3, checkpoint).exec();
}

AuditHead audit_head(Database& db) {
  auto& st = db.cached("SELECT seq, chain FROM audit_log ORDER BY seq DESC LIMIT 1");
  AuditHead head;
  if (st.step()) head = {st.column_int64(0), st.column_text(1)};
  st.reset();
  return head;
}

AuditReport verify_audit(Database& db) {
  AuditReport report;
  std::map<std::int64_t, std::string> bridge;
  {
    auto st = db.prepare("SELECT seq, prev_chain FROM audit_bridges");
    while (st.step()) bridge.emplace(st.column_int64(0), st.column_text(1));
  }
  std::map<std::string, std::int64_t> start;  // table -> highest id before the chain
  std::map<std::pair<std::string, std::int64_t>, const Entry*> latest;
  const auto all = entries(db);
  std::string prev;
  for (const auto& e : all) {
    ++report.entries;
    const bool linked = e.chain == link(prev, e) ||
                        (bridge.count(e.seq) && e.chain == link(bridge.at(e.seq), e));
    if (!linked) {
      report.problems.push_back(
          {e.seq, entry_name(e) + " (" + e.tbl + (e.row_id ? " row " + std::to_string(e.row_id) : "") +
                      "): the chain is broken here: this entry was changed, or one before it "
                      "was removed or inserted"});
    }
    prev = e.chain;
    if (e.tbl == "start") {
      const auto note = json::parse(e.note, nullptr, false);
      if (note.is_object()) {
        for (const auto& [name, id] : note.items()) {
          if (id.is_number_integer()) start[name] = id.get<std::int64_t>();
        }
      }
    } else if (e.tbl == "checkpoint") {
      ++report.checkpoints;
      const auto note = json::parse(e.note, nullptr, false);
      const bool ok = note.is_object() && string_or(note, "bridges_digest") == bridges_digest(db, e.seq);
      if (!ok) {
        report.problems.push_back(
            {e.seq, entry_name(e) + " (checkpoint): its bridges were changed"});
      }
    } else {
      latest[{e.tbl, e.row_id}] = &e;
    }
  }
  report.head = prev;
  report.head_seq = all.empty() ? 0 : all.back().seq;

  std::vector<AuditProblem> rows;
  for (const auto& t : kTables) {
    const std::string name(t.name);
    const std::int64_t before = start.count(name) ? start.at(name) : 0;
    auto st = db.prepare(select_rows(t, " ORDER BY id"));
    while (st.step()) {
      const auto id = st.column_int64(0);
      ++report.rows;
      if (id <= before) {
        ++report.unchained;
        continue;
      }
      const std::string where = name + " row " + std::to_string(id);
      auto it = latest.find({name, id});
      if (it == latest.end()) {
        rows.push_back({0, where + ": not in the audit log (written outside flowdrift)"});
        continue;
      }
      const Entry* e = it->second;
      latest.erase(it);
      if (sha256_hex(row_text(st)) != e->digest) {
        rows.push_back({e->seq, where + ": changed since " + entry_name(*e) + " recorded it"});
      }
    }
  }
  for (const auto& [key, e] : latest) {
    rows.push_back({e->seq, key.first + " row " + std::to_string(key.second) +
                                ": deleted outside retention (" + entry_name(*e) +
                                " recorded it)"});
  }
  report.problems.insert(report.problems.end(), rows.begin(), rows.end());
  std::stable_sort(report.problems.begin(), report.problems.end(),
                   [](const AuditProblem& a, const AuditProblem& b) {
                     return (a.seq == 0 ? INT64_MAX : a.seq) < (b.seq == 0 ? INT64_MAX : b.seq);
                   });
  return report;
}

}  // namespace flowdrift::store
