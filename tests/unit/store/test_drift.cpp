// Drift items and pair status in the audit trail: open with the first-seen time, resolve when
// gone, keep their open time while they last, UNKNOWN touches nothing.
#include <catch2/catch.hpp>

#include "store/audit.hpp"
#include "store/db.hpp"
#include "store/drift.hpp"
#include "store/migrations.hpp"
#include "store/store.hpp"
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
  drift::PairIdentity pair{"prod", "primary", "dr"};
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
  store::test::Changes apply(const diff::PairResult& r, std::int64_t now,
                             drift::Debounce debounce = {}) {
    Transaction tx(store.db());
    auto c = store::test::store_comparison(store.db(), pair, r, context(now), debounce);
    tx.commit();
    return c;
  }
  ComparisonContext context(std::int64_t now) const {
    ComparisonContext ctx;
    ctx.poll_id = poll;
    ctx.source_snapshot_id = src;
    ctx.replica_snapshot_id = rep;
    ctx.now_ms = now;
    ctx.skew_ms = 1500;
    return ctx;
  }
  std::vector<drift::Item> open_items() {
    DriftQuery q;
    q.open_only = true;
    return drift_items(store.db(), q);
  }
  std::vector<std::string> events(std::int64_t item_id) {
    std::vector<std::string> out;
    for (const auto& e : drift_events(store.db(), item_id)) out.push_back(e.event);
    return out;
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
    store::test::store_comparison(
        f.store.db(), f.pair,
        result({item("web", diff::DriftKind::Missing, diff::Severity::Critical)}),
        f.context(10'000), {});
    // no commit
  }
  DriftQuery all;
  CHECK(drift_items(f.store.db(), all).empty());
  CHECK_FALSE(pair_record(f.store.db(), "prod").has_value());
}

TEST_CASE("debounce: an item is raised only after N consecutive comparisons", "[unit][store][drift]") {
  Fixture f;
  const drift::Debounce two{2, 0};
  auto web = [] { return item("web", diff::DriftKind::Missing, diff::Severity::Critical); };
  auto c1 = f.apply(result({web()}), 10'000, two);
  REQUIRE(c1.opened.size() == 1);
  CHECK(c1.raised.empty());
  CHECK(c1.pending == 1);
  CHECK(c1.status == "IN_SYNC");  // nothing alerts yet
  REQUIRE(f.open_items().size() == 1);
  CHECK(f.open_items()[0].pending());
  CHECK_FALSE(f.open_items()[0].alerting());

  auto c2 = f.apply(result({web()}), 20'000, two);
  REQUIRE(c2.raised.size() == 1);
  CHECK(c2.opened.empty());
  CHECK(c2.pending == 0);
  CHECK(c2.status == "DRIFTED");
  const auto it = f.open_items().at(0);
  CHECK(it.opened_ms == 10'000);  // first seen, not raised
  CHECK(it.raised_ms == 20'000);
  CHECK(it.seen == 2);
  CHECK(f.events(it.id) == std::vector<std::string>{"opened", "raised"});

  // Raised items are not re-raised.
  auto c3 = f.apply(result({web()}), 30'000, two);
  CHECK(c3.raised.empty());
  CHECK(f.open_items().at(0).raised_ms == 20'000);
}

TEST_CASE("debounce: a one-cycle flap is recorded but never raised", "[unit][store][drift]") {
  Fixture f;
  const drift::Debounce two{2, 0};
  f.apply(result({item("web", diff::DriftKind::Missing, diff::Severity::Critical)}), 10'000, two);
  auto c = f.apply(result({}), 20'000, two);
  REQUIRE(c.resolved.size() == 1);
  CHECK(c.resolved[0].pending());
  CHECK(c.status == "IN_SYNC");
  DriftQuery all;
  auto items = drift_items(f.store.db(), all);
  REQUIRE(items.size() == 1);
  CHECK_FALSE(items[0].raised_ms.has_value());
  auto ev = drift_events(f.store.db(), items[0].id);
  REQUIRE(ev.size() == 2);
  CHECK(ev[1].event == "resolved");
  CHECK(ev[1].detail == "never raised");

  // Seen again later: a new item, counting from one again.
  auto c2 = f.apply(result({item("web", diff::DriftKind::Missing, diff::Severity::Critical)}),
                    30'000, two);
  CHECK(c2.opened.size() == 1);
  CHECK(c2.raised.empty());
}

TEST_CASE("debounce by time: raised once seen for long enough", "[unit][store][drift]") {
  Fixture f;
  const drift::Debounce minute{1, 60'000};
  auto web = [] { return item("web", diff::DriftKind::Missing, diff::Severity::Critical); };
  CHECK(f.apply(result({web()}), 10'000, minute).raised.empty());
  CHECK(f.apply(result({web()}), 40'000, minute).raised.empty());
  CHECK(f.apply(result({web()}), 69'999, minute).raised.empty());
  auto c = f.apply(result({web()}), 70'000, minute);
  CHECK(c.raised.size() == 1);
  CHECK(c.status == "DRIFTED");
}

TEST_CASE("expected items do not alert and turn back into drift when their expectation ends",
          "[unit][store][drift]") {
  Fixture f;
  auto web = [](bool expected) {
    auto d = item("web", diff::DriftKind::Modified, diff::Severity::Critical);
    if (expected) d.expected = diff::ExpectedBy{"policy=web", "alice", "CHG-1", "2030-01-01"};
    return d;
  };
  auto c1 = f.apply(result({web(true)}), 10'000);
  REQUIRE(c1.opened.size() == 1);
  CHECK(c1.raised.size() == 1);  // raised (debounce met) but expected: not alerting
  CHECK(c1.status == "IN_SYNC");
  auto open = f.open_items();
  REQUIRE(open.size() == 1);
  CHECK(open[0].expected());
  CHECK_FALSE(open[0].alerting());
  CHECK(open[0].expectation_json.find("alice") != std::string::npos);

  // Still expected: nothing changes, nothing is written.
  auto c2 = f.apply(result({web(true)}), 20'000);
  CHECK(c2.expected.empty());
  CHECK(c2.unexpected.empty());

  // Expired: the same item alerts, keeping its open time and its history.
  auto c3 = f.apply(result({web(false)}), 30'000);
  REQUIRE(c3.unexpected.size() == 1);
  CHECK(c3.status == "DRIFTED");
  open = f.open_items();
  REQUIRE(open.size() == 1);
  CHECK(open[0].alerting());
  CHECK(open[0].opened_ms == 10'000);
  auto ev = drift_events(f.store.db(), open[0].id);
  REQUIRE(ev.size() == 4);
  CHECK(ev[0].event == "opened");
  CHECK(ev[1].event == "expected");
  CHECK(ev[2].event == "raised");
  CHECK(ev[3].event == "unexpected");
  CHECK(ev[3].at_ms == 30'000);
  CHECK(ev[3].detail.find("CHG-1") != std::string::npos);

  // Covered again (a renewed expectation): expected, not alerting.
  auto c4 = f.apply(result({web(true)}), 40'000);
  CHECK(c4.expected.size() == 1);
  CHECK(c4.status == "IN_SYNC");
}

TEST_CASE("the pair records the snapshot skew of each comparison and refusal",
          "[unit][store][drift]") {
  Fixture f;
  f.apply(result({}), 10'000);
  CHECK(pair_record(f.store.db(), "prod")->skew_ms == 1500);
  {
    Transaction tx(f.store.db());
    set_pair_unknown(f.store.db(), f.pair, "snapshots polled 900s apart", 20'000, 900'000);
    tx.commit();
  }
  auto rec = pair_record(f.store.db(), "prod");
  CHECK(rec->status == "UNKNOWN");
  CHECK(rec->skew_ms == 900'000);
}

TEST_CASE("migration 3 keeps drift stored by version 2 raised, with its history backfilled",
          "[unit][store][drift]") {
  flowdrift::test::TempDir dir;
  const std::string path = dir.file("v2.db");
  {
    Database db(path);
    for (const auto& m : migrations()) {
      if (m.version > 2) break;
      db.exec(m.sql);
    }
    db.exec("PRAGMA user_version = 2");
    db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
    db.exec(
        "INSERT INTO pairs(id, name, source_site, replica_site) VALUES(1, 'prod', 'a', 'b');"
        "INSERT INTO drift_items(pair_id, source_site, replica_site, object, kind, severity, "
        "direction, summary, fields, opened_ms, updated_ms) "
        "VALUES(1, 'a', 'b', 'web', 'missing', 'critical', 'none', 's', '[]', 5000, 5000);"
        "INSERT INTO drift_items(pair_id, source_site, replica_site, object, kind, severity, "
        "direction, summary, fields, opened_ms, updated_ms, resolved_ms) "
        "VALUES(1, 'a', 'b', 'db', 'missing', 'critical', 'none', 's', '[]', 6000, 6000, 9000);");
  }
  Store store(path);
  CHECK(store.schema_version() == latest_schema_version());
  DriftQuery all;
  auto items = drift_items(store.db(), all);
  REQUIRE(items.size() == 2);
  CHECK(items[0].raised_ms == 5000);
  CHECK(items[0].alerting());
  CHECK(items[1].raised_ms == 6000);
  std::vector<std::string> web, db;
  for (const auto& e : drift_events(store.db(), items[0].id)) web.push_back(e.event);
  for (const auto& e : drift_events(store.db(), items[1].id)) db.push_back(e.event);
  CHECK(web == std::vector<std::string>{"opened", "raised"});
  CHECK(db == std::vector<std::string>{"opened", "raised", "resolved"});
}

TEST_CASE("the pair's status history keeps each change once, newest first, in the audit chain",
          "[unit][store][drift]") {
  Fixture f;
  f.apply(result({}), 10'000);                                                              // IN_SYNC
  f.apply(result({item("web", diff::DriftKind::Missing, diff::Severity::Critical)}), 20'000);  // DRIFTED
  f.apply(result({item("web", diff::DriftKind::Missing, diff::Severity::Critical)}), 30'000);  // the same
  {
    Transaction tx(f.store.db());
    set_pair_unknown(f.store.db(), f.pair, "site dr: timeout", 40'000);
    set_pair_unknown(f.store.db(), f.pair, "site dr: auth", 50'000);  // another reason, same status
    tx.commit();
  }
  const auto h = status_history(f.store.db(), "prod");
  REQUIRE(h.size() == 3);
  CHECK(h[0].status == "UNKNOWN");
  CHECK(h[0].was == "DRIFTED");
  CHECK(h[0].reason == "site dr: timeout");
  CHECK(h[0].at_ms == 40'000);
  CHECK(h[1].status == "DRIFTED");
  CHECK(h[1].at_ms == 20'000);
  CHECK(h[2].status == "IN_SYNC");
  CHECK(h[2].was.empty());
  CHECK(status_history(f.store.db(), "prod", 1).size() == 1);
  CHECK(verify_audit(f.store.db()).intact());
}

// The views of schema version 12 (docs/schema.md, "Views"): open_drift says each open item's
// state as flowdriftctl drift does, drift_history keeps the resolved ones, times as ISO-8601.
TEST_CASE("the open_drift and drift_history views follow the items' states", "[unit][store][drift]") {
  Fixture f;
  const auto rows = [&](const std::string& sql) {
    return f.store.db().query_text("SELECT group_concat(r, ';') FROM (" + sql + ")").value_or("");
  };
  const auto open_drift = [&] {
    return rows("SELECT policy || ' ' || state || ' ' || opened || ' ' || coalesce(raised, '-') AS r "
                "FROM open_drift ORDER BY policy");
  };
  auto web = [] { return item("web", diff::DriftKind::Missing, diff::Severity::Critical); };
  auto db = [](bool expected) {
    auto d = item("db", diff::DriftKind::Modified, diff::Severity::Warning);
    if (expected) d.expected = diff::ExpectedBy{"policy=db", "alice", "CHG-1", "2030-01-01"};
    return d;
  };
  const drift::Debounce two{2, 0};
  f.apply(result({web(), db(true)}), 10'250, two);
  CHECK(open_drift() ==
        "db expected 1970-01-01T00:00:10.250Z -;web pending 1970-01-01T00:00:10.250Z -");
  f.apply(result({web(), db(false)}), 20'000, two);
  CHECK(open_drift() ==
        "db raised 1970-01-01T00:00:10.250Z 1970-01-01T00:00:20.000Z;"
        "web raised 1970-01-01T00:00:10.250Z 1970-01-01T00:00:20.000Z");
  CHECK(rows("SELECT pair || ' ' || kind || ' ' || severity AS r FROM open_drift ORDER BY policy") ==
        "prod modified warning;prod missing critical");
  f.apply(result({db(false)}), 30'000, two);  // web resolved
  CHECK(open_drift() == "db raised 1970-01-01T00:00:10.250Z 1970-01-01T00:00:20.000Z");
  CHECK(rows("SELECT policy || ' ' || coalesce(resolved, '-') || ' ' || coalesce(duration_seconds, '-') "
             "AS r FROM drift_history ORDER BY policy") ==
        "db - -;web 1970-01-01T00:00:30.000Z 19.75");
}
