// Drift items and pair status in the audit trail: open with the first-seen time, resolve when
// gone, keep their open time while they last, UNKNOWN touches nothing.
#include <catch2/catch.hpp>

#include "store/db.hpp"
#include "store/drift.hpp"
#include "store_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using namespace flowdrift::store;

namespace {

diff::DriftItem item(const std::string& policy, diff::DriftKind kind, diff::Severity sev) {
  diff::DriftItem d;
  d.object = policy;
  d.kind = kind;
  d.severity = sev;
  d.direction = diff::Direction::MorePermissive;
  d.summary = policy + " differs";
  d.fields.push_back({"mode", "\"enforce\"", "\"monitor\""});
  return d;
}

diff::PairResult result(std::vector<diff::DriftItem> items) {
  diff::PairResult r;
  r.items = std::move(items);
  r.status = r.items.empty() ? diff::PairStatus::InSync : diff::PairStatus::Drifted;
  return r;
}

struct Fixture {
  flowdrift::test::TempDir dir;
  policy::Snapshot snap_a = store::test::numbered_snapshot(2, "a");
  policy::Snapshot snap_b = store::test::numbered_snapshot(2, "b");
  Store store{dir.file("db.sqlite")};
  PairIdentity pair{"prod", "primary", "dr"};
  std::int64_t src = 0, rep = 0, poll = 0;

  Fixture() {
    auto a = store.record_poll(store::test::complete_poll("primary", 1000), &snap_a);
    REQUIRE(a);
    src = *a->snapshot_id;
    auto b = store.record_poll(store::test::complete_poll("dr", 1000), &snap_b);
    REQUIRE(b);
    rep = *b->snapshot_id;
    poll = b->poll_id;
  }
  DriftChanges apply(const diff::PairResult& r, std::int64_t now) {
    Transaction tx(store.db());
    auto c = apply_pair_result(store.db(), pair, r, poll, src, rep, now);
    tx.commit();
    return c;
  }
};

}  // namespace

TEST_CASE("drift items open, keep their open time, and resolve", "[unit][store][drift]") {
  Fixture f;
  auto c1 = f.apply(result({item("web", diff::DriftKind::Missing, diff::Severity::Critical),
                            item("db", diff::DriftKind::EnforcementMode, diff::Severity::Critical)}),
                    10'000);
  CHECK(c1.opened.size() == 2);
  CHECK(c1.resolved.empty());
  auto rec = pair_record(f.store.db(), "prod");
  REQUIRE(rec);
  CHECK(rec->status == "DRIFTED");
  CHECK(rec->since_ms == 10'000);

  // Same drift later: nothing opens again and the open time stays.
  auto c2 = f.apply(result({item("web", diff::DriftKind::Missing, diff::Severity::Critical),
                            item("db", diff::DriftKind::EnforcementMode, diff::Severity::Critical)}),
                    20'000);
  CHECK(c2.opened.empty());
  CHECK(c2.resolved.empty());
  CHECK(c2.updated.empty());
  DriftQuery open_q;
  open_q.open_only = true;
  auto open = drift_items(f.store.db(), open_q);
  REQUIRE(open.size() == 2);
  CHECK(open[0].opened_ms == 10'000);
  CHECK(open[1].opened_ms == 10'000);

  // One goes away: it resolves at that time; the other stays open; severity change is an update.
  auto c3 = f.apply(result({item("web", diff::DriftKind::Missing, diff::Severity::Warning)}), 30'000);
  REQUIRE(c3.resolved.size() == 1);
  CHECK(c3.resolved[0].object == "db");
  CHECK(*c3.resolved[0].resolved_ms == 30'000);
  REQUIRE(c3.updated.size() == 1);
  CHECK(c3.updated[0].severity == "warning");
  CHECK(c3.updated[0].opened_ms == 10'000);

  // All gone: IN_SYNC since then.
  auto c4 = f.apply(result({}), 40'000);
  CHECK(c4.resolved.size() == 1);
  CHECK(pair_record(f.store.db(), "prod")->status == "IN_SYNC");
  CHECK(pair_record(f.store.db(), "prod")->since_ms == 40'000);
  CHECK(drift_items(f.store.db(), open_q).empty());
  DriftQuery all;
  CHECK(drift_items(f.store.db(), all).size() == 2);
  DriftQuery since;
  since.since_ms = 35'000;
  CHECK(drift_items(f.store.db(), since).size() == 1);  // web resolved at 40s
}

TEST_CASE("UNKNOWN keeps every item as it was and is written once", "[unit][store][drift]") {
  Fixture f;
  f.apply(result({item("web", diff::DriftKind::Missing, diff::Severity::Critical)}), 10'000);
  {
    Transaction tx(f.store.db());
    CHECK(set_pair_unknown(f.store.db(), f.pair, "site dr: timeout", 20'000));
    CHECK_FALSE(set_pair_unknown(f.store.db(), f.pair, "site dr: timeout", 30'000));
    CHECK(set_pair_unknown(f.store.db(), f.pair, "site dr: auth", 40'000));
    tx.commit();
  }
  auto rec = pair_record(f.store.db(), "prod");
  REQUIRE(rec);
  CHECK(rec->status == "UNKNOWN");
  CHECK(rec->reason == "site dr: auth");
  CHECK(rec->since_ms == 20'000);  // UNKNOWN since the first failure
  CHECK(rec->source_snapshot_id == f.src);  // the last complete comparison is remembered
  DriftQuery open_q;
  open_q.open_only = true;
  auto open = drift_items(f.store.db(), open_q);
  REQUIRE(open.size() == 1);
  CHECK(open[0].opened_ms == 10'000);
}

TEST_CASE("a rolled-back comparison leaves no drift behind", "[unit][store][drift]") {
  Fixture f;
  {
    Transaction tx(f.store.db());
    apply_pair_result(f.store.db(), f.pair,
                      result({item("web", diff::DriftKind::Missing, diff::Severity::Critical)}),
                      f.poll, f.src, f.rep, 10'000);
    // no commit
  }
  DriftQuery all;
  CHECK(drift_items(f.store.db(), all).empty());
  CHECK_FALSE(pair_record(f.store.db(), "prod").has_value());
}
