// Builders shared by the store tests: canonical objects and snapshots with real hashes, poll
// records, and small SQL helpers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "core/sha256.hpp"
#include "policy/model.hpp"
#include "diff/diff.hpp"
#include "store/db.hpp"
#include "store/drift.hpp"
#include "store/store.hpp"
#include "support/canonical.hpp"

namespace flowdrift::store::test {

inline policy::CanonicalObject make_object(policy::ObjectKind kind, const std::string& name,
                                           const std::string& body) {
  return flowdrift::test::canonical_object(
      kind, name, R"({"body":")" + body + R"(","name":")" + name + R"("})");
}

inline policy::CanonicalObject make_policy(const std::string& name, const std::string& body) {
  return make_object(policy::ObjectKind::Policy, name, body);
}

inline policy::Snapshot make_snapshot(std::vector<policy::CanonicalObject> objects,
                                      std::vector<policy::Finding> findings = {}) {
  return flowdrift::test::canonical_snapshot(std::move(objects), std::move(findings));
}

// n policies "p0000".. with the given body, plus one address group.
inline policy::Snapshot numbered_snapshot(int n, const std::string& body = "v1") {
  std::vector<policy::CanonicalObject> objs;
  for (int i = 0; i < n; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "p%04d", i);
    objs.push_back(make_policy(name, body));
  }
  objs.push_back(make_object(policy::ObjectKind::AddressGroup, "ag-web", "10.0.0.0/24"));
  return make_snapshot(std::move(objs));
}

inline PollRecord complete_poll(const std::string& site, std::int64_t finished_ms) {
  PollRecord p;
  p.site = site;
  p.started_ms = finished_ms - 250;
  p.finished_ms = finished_ms;
  p.complete = true;
  p.reason = "ok";
  p.api = "v3";
  p.requests = 4;
  return p;
}

inline PollRecord failed_poll(const std::string& site, std::int64_t finished_ms,
                              const std::string& reason = "timeout") {
  PollRecord p = complete_poll(site, finished_ms);
  p.complete = false;
  p.reason = reason;
  p.message = "request timed out after 30s";
  return p;
}

inline std::int64_t count_rows(Database& db, const std::string& table) {
  return db.query_int64("SELECT count(*) FROM " + table).value_or(-1);
}

// One comparison of the pair prod (primary -> dr) between two snapshots stored by
// record_poll, applied in its own transaction as the daemon's PairTracker applies it.
// What a stored comparison did, per transition (from drift::Reconciled's writes).
struct Changes {
  std::vector<drift::Item> opened, raised, resolved, updated, expected, unexpected;
  std::string status;
  int pending = 0;
};

inline Changes changes_of(const drift::Reconciled& r) {
  using E = drift::Transition::Event;
  Changes c;
  for (const auto& w : r.writes) {
    for (const auto& e : w.events) {
      auto& list = e.event == E::Opened     ? c.opened
                   : e.event == E::Raised   ? c.raised
                   : e.event == E::Resolved ? c.resolved
                   : e.event == E::Updated  ? c.updated
                   : e.event == E::Expected ? c.expected
                                            : c.unexpected;
      list.push_back(w.item);
    }
  }
  c.status = std::string(diff::to_string(r.status));
  c.pending = r.pending;
  return c;
}

// Reconciles `result` with the pair's open items and stores it, inside the caller's
// transaction. No counted-at marks: every comparison counts, as if both sites were polled
// before each.
inline Changes store_comparison(Database& db, const drift::PairIdentity& pair,
                                const diff::PairResult& result, const ComparisonContext& ctx,
                                drift::Debounce debounce) {
  auto decided = drift::reconcile(pair, open_items(db, pair.pair), {}, result,
                                  {ctx.now_ms, {ctx.poll_id, ctx.poll_id}, debounce});
  write_comparison(db, pair, decided, ctx);
  return changes_of(decided);
}

inline void apply_comparison(Database& db, const diff::PairResult& result,
                             const PollOutcome& source, const PollOutcome& replica,
                             std::int64_t now_ms, std::int64_t skew_ms,
                             drift::Debounce debounce) {
  ComparisonContext ctx;
  ctx.poll_id = replica.poll_id;
  ctx.source_snapshot_id = *source.snapshot_id;
  ctx.replica_snapshot_id = *replica.snapshot_id;
  ctx.now_ms = now_ms;
  ctx.skew_ms = skew_ms;
  Transaction tx(db);
  store_comparison(db, {"prod", "primary", "dr"}, result, ctx, debounce);
  tx.commit();
}

}  // namespace flowdrift::store::test
