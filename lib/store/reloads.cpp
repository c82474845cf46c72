#include "store/reloads.hpp"

#include "store/audit.hpp"

namespace flowdrift::store {

std::int64_t record_config_reload(Database& db, const ConfigReload& reload) {
  Transaction tx(db);
  auto& st = db.cached(
      "INSERT INTO config_reloads (at_ms, trigger, ok, file, sha256, summary) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  st.bind(1, reload.at_ms)
      .bind(2, reload.trigger)
      .bind(3, reload.ok ? 1 : 0)
      .bind(4, reload.file)
      .bind(5, reload.sha256)
      .bind(6, reload.summary)
      .exec();
  const auto id = db.last_insert_rowid();
  audit_row(db, "config_reloads", id, reload.at_ms);
  tx.commit();
  return id;
}

std::vector<ConfigReload> config_reloads(Database& db) {
  auto st = db.prepare(
      "SELECT id, at_ms, trigger, ok, file, sha256, summary FROM config_reloads ORDER BY id");
  std::vector<ConfigReload> out;
  while (st.step()) {
    ConfigReload r;
    r.id = st.column_int64(0);
    r.at_ms = st.column_int64(1);
    r.trigger = st.column_text(2);
    r.ok = st.column_int(3) != 0;
    r.file = st.column_text(4);
    if (!st.column_is_null(5)) r.sha256 = st.column_text(5);
    r.summary = st.column_text(6);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace flowdrift::store
