#include "store/retention.hpp"

#include <set>
#include <vector>

#include "core/clock.hpp"
#include "store/audit.hpp"
#include "store/db.hpp"

namespace flowdrift::store {
namespace {

// Polls the present or the window needs, whatever their age (see retention.hpp).
constexpr const char* kProtectedPolls =
    "SELECT max(id) FROM polls WHERE outcome = 'complete' GROUP BY site_id "
    "UNION SELECT max(id) FROM polls WHERE outcome = 'complete' AND finished_ms < ?1 "
    "  GROUP BY site_id "
    "UNION SELECT opened_poll_id FROM drift_items WHERE opened_poll_id IS NOT NULL "
    "UNION SELECT resolved_poll_id FROM drift_items WHERE resolved_poll_id IS NOT NULL "
    "UNION SELECT poll_id FROM drift_events WHERE poll_id IS NOT NULL";

// Snapshots referenced by something other than polls.
constexpr const char* kReferencedSnapshots =
    "SELECT source_snapshot_id FROM pair_states WHERE source_snapshot_id IS NOT NULL "
    "UNION SELECT replica_snapshot_id FROM pair_states WHERE replica_snapshot_id IS NOT NULL "
    "UNION SELECT source_snapshot_id FROM drift_items WHERE source_snapshot_id IS NOT NULL "
    "UNION SELECT replica_snapshot_id FROM drift_items WHERE replica_snapshot_id IS NOT NULL";

}  // namespace

std::int64_t PruneStats::total() const {
  std::int64_t n = 0;
  for (const auto& [table, count] : deleted) n += count;
  return n;
}

Pruner::Pruner(Database& db, std::int64_t cutoff_ms, int batch)
    : db_(db), cutoff_ms_(cutoff_ms), batch_(batch < 1 ? 1 : batch) {}

Pruner::~Pruner() = default;

bool Pruner::step() {
  while (phase_ != Phase::Done) {
    bool worked = false;
    Transaction tx(db_);
    switch (phase_) {
      case Phase::Items: worked = items(); break;
      case Phase::Polls: worked = polls(); break;
      case Phase::Snapshots: worked = snapshots(); break;
      case Phase::Objects: worked = objects(); break;
      case Phase::Reloads: worked = reloads(); break;
      case Phase::Done: break;
    }
    tx.commit();
    if (worked) {
      ++stats_.transactions;
      return true;
    }
    phase_ = static_cast<Phase>(static_cast<int>(phase_) + 1);
    cursor_ = 0;
  }
  return false;
}

std::vector<std::int64_t> Pruner::batch_ids(const char* sql) {
  auto st = db_.prepare(sql);
  st.bind(1, cutoff_ms_).bind(2, batch_);
  std::vector<std::int64_t> ids;
  while (st.step()) ids.push_back(st.column_int64(0));
  return ids;
}

// Coverage gaps resolved before the cutoff; audited, so their entries go with a checkpoint.
std::size_t Pruner::coverage_gaps() {
  const auto ids = batch_ids(
      "SELECT id FROM coverage_gaps WHERE resolved_ms IS NOT NULL AND resolved_ms < ?1 "
      "ORDER BY id LIMIT ?2");
  if (ids.empty()) return 0;
  audit_prune(db_, "coverage_gaps", ids, unix_now_ms());
  auto& del = db_.cached("DELETE FROM coverage_gaps WHERE id = ?1");
  for (auto id : ids) del.bind(1, id).exec();
  stats_.deleted["coverage_gaps"] += static_cast<std::int64_t>(ids.size());
  return ids.size();
}

// Drift items resolved before the cutoff, with their events; sync disagreements and coverage
// gaps resolved before it.
bool Pruner::items() {
  db_.cached("DELETE FROM sync_disagreements WHERE id IN (SELECT id FROM sync_disagreements "
             "WHERE resolved_ms IS NOT NULL AND resolved_ms < ?1 ORDER BY id LIMIT ?2)")
      .bind(1, cutoff_ms_)
      .bind(2, batch_)
      .exec();
  const int disagreements = db_.changes();
  if (disagreements > 0) stats_.deleted["sync_disagreements"] += disagreements;
  const auto gaps = coverage_gaps();
  const auto ids = batch_ids(
      "SELECT id FROM drift_items WHERE resolved_ms IS NOT NULL AND resolved_ms < ?1 "
      "ORDER BY id LIMIT ?2");
  if (ids.empty()) return disagreements > 0 || gaps > 0;
  auto& event_ids = db_.cached("SELECT id FROM drift_events WHERE item_id = ?1");
  auto& events = db_.cached("DELETE FROM drift_events WHERE item_id = ?1");
  auto& item = db_.cached("DELETE FROM drift_items WHERE id = ?1");
  std::vector<std::int64_t> audited;
  for (auto id : ids) {
    event_ids.bind(1, id);
    while (event_ids.step()) audited.push_back(event_ids.column_int64(0));
    event_ids.reset();
  }
  audit_prune(db_, "drift_events", audited, unix_now_ms());
  for (auto id : ids) {
    events.bind(1, id).exec();
    stats_.deleted["drift_events"] += db_.changes();
    item.bind(1, id).exec();
    stats_.deleted["drift_items"] += db_.changes();
  }
  return true;
}

// Polls walked in id order (insertion order, so roughly time order) from `cursor_`: each
// batch deletes its rows older than the cutoff that nothing protects; the phase ends at the
// first batch with no row older than the cutoff.
bool Pruner::polls() {
  std::set<std::int64_t> keep;
  {
    auto st = db_.prepare(kProtectedPolls);
    st.bind(1, cutoff_ms_);
    while (st.step()) {
      if (!st.column_is_null(0)) keep.insert(st.column_int64(0));
    }
  }
  auto st = db_.prepare("SELECT id, finished_ms FROM polls WHERE id > ?1 ORDER BY id LIMIT ?2");
  st.bind(1, cursor_).bind(2, batch_);
  std::vector<std::int64_t> doomed;
  bool any_old = false;
  while (st.step()) {
    const auto id = st.column_int64(0);
    cursor_ = id;
    if (st.column_int64(1) >= cutoff_ms_) continue;
    any_old = true;
    if (!keep.count(id)) doomed.push_back(id);
  }
  if (!any_old) return false;
  audit_prune(db_, "polls", doomed, unix_now_ms());
  auto& del = db_.cached("DELETE FROM polls WHERE id = ?1");
  for (auto id : doomed) {
    del.bind(1, id).exec();
    stats_.deleted["polls"] += db_.changes();
  }
  return true;
}

// Snapshots no poll, pair state or drift item refers to, with their members and findings.
// A snapshot holds thousands of members, so a step takes only a few.
bool Pruner::snapshots() {
  const int per_step = batch_ >= 1000 ? batch_ / 500 : 1;
  auto st = db_.prepare(std::string(
      "SELECT s.id FROM snapshots s WHERE s.id > ?1 "
      "AND NOT EXISTS (SELECT 1 FROM polls p WHERE p.snapshot_id = s.id) "
      "AND s.id NOT IN (") + kReferencedSnapshots + ") ORDER BY s.id LIMIT ?2");
  st.bind(1, cursor_).bind(2, per_step);
  std::vector<std::int64_t> ids;
  while (st.step()) ids.push_back(st.column_int64(0));
  if (ids.empty()) return false;
  auto& members = db_.cached("DELETE FROM snapshot_objects WHERE snapshot_id = ?1");
  auto& findings = db_.cached("DELETE FROM findings WHERE snapshot_id = ?1");
  auto& snap = db_.cached("DELETE FROM snapshots WHERE id = ?1");
  for (auto id : ids) {
    members.bind(1, id).exec();
    stats_.deleted["snapshot_objects"] += db_.changes();
    findings.bind(1, id).exec();
    stats_.deleted["findings"] += db_.changes();
    snap.bind(1, id).exec();
    stats_.deleted["snapshots"] += db_.changes();
    cursor_ = id;
  }
  return true;
}

// Objects (policy and group versions) no snapshot holds any more, walked in id order.
bool Pruner::objects() {
  auto st = db_.prepare(
      "SELECT o.id, NOT EXISTS (SELECT 1 FROM snapshot_objects so WHERE so.object_id = o.id) "
      "FROM objects o WHERE o.id > ?1 ORDER BY o.id LIMIT ?2");
  st.bind(1, cursor_).bind(2, batch_);
  std::vector<std::int64_t> doomed;
  bool any = false;
  while (st.step()) {
    any = true;
    cursor_ = st.column_int64(0);
    if (st.column_int64(1) != 0) doomed.push_back(cursor_);
  }
  if (!any) return false;
  auto& del = db_.cached("DELETE FROM objects WHERE id = ?1");
  for (auto id : doomed) {
    del.bind(1, id).exec();
    stats_.deleted["objects"] += db_.changes();
  }
  return true;
}

// Configuration loads and reloads older than the cutoff, but the latest one.
bool Pruner::reloads() {
  const auto ids = batch_ids(
      "SELECT id FROM config_reloads WHERE at_ms < ?1 "
      "AND id < (SELECT max(id) FROM config_reloads) ORDER BY id LIMIT ?2");
  audit_prune(db_, "config_reloads", ids, unix_now_ms());
  auto& del = db_.cached("DELETE FROM config_reloads WHERE id = ?1");
  std::int64_t n = 0;
  for (auto id : ids) {
    del.bind(1, id).exec();
    n += db_.changes();
  }
  stats_.deleted["config_reloads"] += n;
  return n > 0;
}

PruneStats prune(Database& db, std::int64_t cutoff_ms, int batch) {
  Pruner p(db, cutoff_ms, batch);
  while (p.step()) {
  }
  return p.stats();
}

}  // namespace flowdrift::store
