#include "store/applies.hpp"

#include "store/audit.hpp"

namespace flowdrift::store {

std::int64_t begin_apply(Database& db, const ApplyRecord& a) {
  Transaction tx(db);
  db.cached("INSERT INTO applies (started_ms, os_user, plan_hash, pair, target_site, "
            "target_snapshot, writes_planned, outcome, message) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
      .bind(1, a.started_ms)
      .bind(2, a.os_user)
      .bind(3, a.plan_hash)
      .bind(4, a.pair)
      .bind(5, a.target_site)
      .bind(6, a.target_snapshot)
      .bind(7, static_cast<std::int64_t>(a.writes_planned))
      .bind(8, a.outcome)
      .bind(9, a.message)
      .exec();
  const auto id = db.last_insert_rowid();
  audit_row(db, "applies", id, a.started_ms);
  tx.commit();
  return id;
}

void record_apply_request(Database& db, std::int64_t apply_id, const AppliedRequest& r) {
  Transaction tx(db);
  db.cached("INSERT INTO apply_requests (apply_id, step, op, kind, name, method, path, "
            "request_body, status, response_body, sent_ms, duration_ms) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)")
      .bind(1, apply_id)
      .bind(2, static_cast<std::int64_t>(r.step))
      .bind(3, r.op)
      .bind(4, r.kind)
      .bind(5, r.name)
      .bind(6, r.method)
      .bind(7, r.path)
      .bind(8, r.request_body)
      .bind(9, static_cast<std::int64_t>(r.status))
      .bind(10, r.response_body)
      .bind(11, r.sent_ms)
      .bind(12, r.duration_ms)
      .exec();
  audit_row(db, "apply_requests", db.last_insert_rowid(), r.sent_ms);
  tx.commit();
}

void finish_apply(Database& db, std::int64_t apply_id, const std::string& outcome,
                  const std::string& message, int writes_done,
                  const std::optional<std::string>& after_snapshot, std::int64_t finished_ms) {
  Transaction tx(db);
  db.cached("UPDATE applies SET outcome = ?2, message = ?3, writes_done = ?4, "
            "after_snapshot = ?5, finished_ms = ?6 WHERE id = ?1")
      .bind(1, apply_id)
      .bind(2, outcome)
      .bind(3, message)
      .bind(4, static_cast<std::int64_t>(writes_done))
      .bind(5, after_snapshot)
      .bind(6, finished_ms)
      .exec();
  audit_row(db, "applies", apply_id, finished_ms);
  tx.commit();
}

std::vector<ApplyRecord> applies(Database& db, int limit) {
  auto st = db.prepare(
      "SELECT id, started_ms, finished_ms, os_user, plan_hash, pair, target_site, "
      "target_snapshot, writes_planned, writes_done, outcome, message, after_snapshot "
      "FROM applies ORDER BY id DESC LIMIT ?1");
  st.bind(1, static_cast<std::int64_t>(limit));
  std::vector<ApplyRecord> out;
  while (st.step()) {
    ApplyRecord a;
    a.id = st.column_int64(0);
    a.started_ms = st.column_int64(1);
    if (!st.column_is_null(2)) a.finished_ms = st.column_int64(2);
    a.os_user = st.column_text(3);
    a.plan_hash = st.column_text(4);
    a.pair = st.column_text(5);
    a.target_site = st.column_text(6);
    a.target_snapshot = st.column_text(7);
    a.writes_planned = st.column_int(8);
    a.writes_done = st.column_int(9);
    a.outcome = st.column_text(10);
    a.message = st.column_text(11);
    if (!st.column_is_null(12)) a.after_snapshot = st.column_text(12);
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<AppliedRequest> apply_requests(Database& db, std::int64_t apply_id) {
  auto st = db.prepare(
      "SELECT step, op, kind, name, method, path, request_body, status, response_body, sent_ms, "
      "duration_ms FROM apply_requests WHERE apply_id = ?1 ORDER BY step, id");
  st.bind(1, apply_id);
  std::vector<AppliedRequest> out;
  while (st.step()) {
    AppliedRequest r;
    r.step = st.column_int(0);
    r.op = st.column_text(1);
    r.kind = st.column_text(2);
    r.name = st.column_text(3);
    r.method = st.column_text(4);
    r.path = st.column_text(5);
    r.request_body = st.column_text(6);
    r.status = st.column_int(7);
    r.response_body = st.column_text(8);
    r.sent_ms = st.column_int64(9);
    r.duration_ms = st.column_int64(10);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace flowdrift::store
