#include "store/history.hpp"

namespace flowdrift::store {

std::vector<PolicyVersion> policy_history(Database& db, const HistoryQuery& query) {
  // First and last seen come per snapshot (few rows, from the polls_snapshot index), then
  // spread to the snapshot's policies: no join of every poll with every member.
  auto st = db.prepare(R"sql(
    WITH span AS (
      SELECT p.snapshot_id AS snapshot_id, min(p.finished_ms) AS first_ms,
             max(p.finished_ms) AS last_ms
      FROM polls AS p
      JOIN sites AS s ON s.id = p.site_id
      WHERE p.outcome = 'complete' AND p.snapshot_id IS NOT NULL
        AND (?1 IS NULL OR s.name = ?1)
      GROUP BY p.snapshot_id),
    latest AS (
      SELECT p.site_id AS site_id, p.snapshot_id AS snapshot_id
      FROM polls AS p
      WHERE p.id IN (SELECT max(id) FROM polls
                     WHERE outcome = 'complete' AND snapshot_id IS NOT NULL
                     GROUP BY site_id))
    SELECT s.name, o.name, o.hash, coalesce(o.policy_type, ''), coalesce(o.mode, ''),
           min(span.first_ms) AS first_ms, max(span.last_ms),
           EXISTS (SELECT 1 FROM latest AS l
                   JOIN snapshot_objects AS lo ON lo.snapshot_id = l.snapshot_id
                   WHERE l.site_id = s.id AND lo.object_id = o.id)
    FROM span
    JOIN snapshots AS sn ON sn.id = span.snapshot_id
    JOIN sites AS s ON s.id = sn.site_id
    JOIN snapshot_objects AS so ON so.snapshot_id = sn.id
    JOIN objects AS o ON o.id = so.object_id
    WHERE o.kind = 'policy' AND (?2 IS NULL OR o.name = ?2)
    GROUP BY s.id, o.id
    ORDER BY s.name, o.name, first_ms, o.id)sql");
  if (query.site) st.bind(1, *query.site);
  if (query.policy) st.bind(2, *query.policy);
  std::vector<PolicyVersion> out;
  while (st.step()) {
    PolicyVersion v;
    v.site = st.column_text(0);
    v.policy = st.column_text(1);
    v.hash = st.column_text(2);
    v.policy_type = st.column_text(3);
    v.mode = st.column_text(4);
    v.first_seen_ms = st.column_optional_int64(5).value_or(0);
    v.last_seen_ms = st.column_optional_int64(6).value_or(0);
    v.current = st.column_optional_int64(7).value_or(0) != 0;
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace flowdrift::store
