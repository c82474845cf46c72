// Failover and failback in the store (store/flips.hpp): what may be asked, what is pending,
// which way a pair points, the audit chain over every flip, and migration 9 keeping the drift
// events (and their audit entries) of an older database.
#include <catch2/catch.hpp>

#include <variant>

#include "store/audit.hpp"
#include "store/db.hpp"
#include "store/drift.hpp"
#include "store/flips.hpp"
#include "store/migrations.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using namespace flowdrift::store;

namespace {

config::PairConfig prod() {
  config::PairConfig p;
  p.name = "prod";
  p.source = "primary";
  p.replica = "dr";
  return p;
}

FlipAsk ask(const std::string& action, const std::string& reason = "DC1 down") {
  return {action, reason, "alice", "cli", 1000};
}

std::string refusal(Database& db, const FlipAsk& a) {
  auto r = check_flip(db, prod(), a);
  auto* refused = std::get_if<FlipRefused>(&r);
  return refused ? refused->message : "";
}

}  // namespace

TEST_CASE("flips: asked, pending, applied, and the latest applied one says which way the pair points",
          "[unit][store][flips]") {
  flowdrift::test::TempDir dir;
  Store store(dir.file("db.sqlite"));
  auto& db = store.db();
  CHECK_FALSE(failed_over(db, prod()));
  CHECK_THAT(refusal(db, ask("failback")), Catch::Contains("already in its configured direction"));
  CHECK_THAT(refusal(db, ask("failover", "  ")), Catch::Contains("a reason is required"));
  CHECK_THAT(refusal(db, ask("failover", std::string(kMaxFlipReason + 1, 'x'))),
             Catch::Contains("longer than"));
  CHECK_THAT(refusal(db, ask("flip")), Catch::Contains("unknown action"));

  auto checked = check_flip(db, prod(), ask("failover"));
  REQUIRE(std::holds_alternative<FlipRecord>(checked));
  const auto& f = std::get<FlipRecord>(checked);
  CHECK(f.source_site == "dr");
  CHECK(f.replica_site == "primary");
  const auto id = request_flip(db, f);
  REQUIRE(pending_flips(db).size() == 1);
  CHECK_FALSE(failed_over(db, prod()));  // not until the daemon applies it
  CHECK_THAT(refusal(db, ask("failback")), Catch::Contains("still waiting for flowdriftd"));

  finish_flip(db, id, "applied", "source dr, replica primary", 3, 2000);
  CHECK(pending_flips(db).empty());
  CHECK(failed_over(db, prod()));
  const auto last = last_applied_flip(db, "prod");
  REQUIRE(last);
  CHECK(last->items == 3);
  CHECK(last->applied_ms == 2000);
  CHECK(last->requested_by == "alice");
  CHECK_THAT(refusal(db, ask("failover")), Catch::Contains("already failed over: dr is its source"));
  // Applied once only.
  CHECK_THROWS_AS(finish_flip(db, id, "applied", "", 0, 3000), StoreError);

  // A flip the daemon refused or found unchanged does not turn the pair.
  const auto back = request_flip(db, std::get<FlipRecord>(check_flip(db, prod(), ask("failback"))));
  finish_flip(db, back, "refused", "no pair prod in the configuration", 0, 4000);
  CHECK(failed_over(db, prod()));
  CHECK(flips(db).size() == 2);
  CHECK(flips(db, "other").empty());
  CHECK(flip_json(flips(db).front())["outcome"] == "refused");

  // Every write is in the chain; an edit is named.
  CHECK(verify_audit(db).intact());
  db.exec("UPDATE pair_flips SET requested_by = 'mallory' WHERE id = " + std::to_string(id));
  const auto report = verify_audit(db);
  REQUIRE_FALSE(report.intact());
  CHECK_THAT(report.problems.front().message, Catch::Contains("pair_flips row " + std::to_string(id)));
}

TEST_CASE("flips: the database refuses a flip without a reason or between one site",
          "[unit][store][flips]") {
  flowdrift::test::TempDir dir;
  Store store(dir.file("db.sqlite"));
  FlipRecord f;
  f.pair = "prod";
  f.action = "failover";
  f.source_site = "dr";
  f.replica_site = "dr";
  f.requested_by = "alice";
  f.via = "cli";
  f.reason = "x";
  CHECK_THROWS_AS(request_flip(store.db(), f), StoreError);
  f.replica_site = "primary";
  f.reason = "";
  CHECK_THROWS_AS(request_flip(store.db(), f), StoreError);
  CHECK(flips(store.db()).empty());
}

TEST_CASE("migration 9 keeps every drift event and its audit entry, and admits 'flipped'",
          "[unit][store][flips]") {
  flowdrift::test::TempDir dir;
  const std::string path = dir.file("v8.db");
  std::int64_t event = 0;
  {
    // As a version-8 store left it: the chain started, an item with an event, chained.
    Database db(path);
    for (const auto& m : migrations()) {
      if (m.version > 8) break;
      db.exec(m.sql);
    }
    db.exec("PRAGMA user_version = 8");
    db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
    // This binary's start entry reads every audited table, the later ones included: stand-ins
    // for the moment, as version 8 had no such tables.
    db.exec("CREATE TABLE pair_flips (id INTEGER PRIMARY KEY)");
    db.exec("CREATE TABLE pair_status_history (id INTEGER PRIMARY KEY)");
    db.exec("CREATE TABLE coverage_gaps (id INTEGER PRIMARY KEY)");
    ensure_audit_start(db, 500);
    db.exec("DROP TABLE pair_flips");
    db.exec("DROP TABLE pair_status_history");
    db.exec("DROP TABLE coverage_gaps");
    db.exec("INSERT INTO pairs(id, name, source_site, replica_site) VALUES(1, 'prod', 'primary', 'dr')");
    db.exec("INSERT INTO drift_items(id, pair_id, source_site, replica_site, object, kind, severity, "
            "direction, summary, fields, opened_ms, updated_ms) VALUES(5, 1, 'primary', 'dr', 'web', "
            "'missing', 'critical', 'more_permissive', 's', '[]', 1000, 1000)");
    Transaction tx(db);
    db.exec("INSERT INTO drift_events(item_id, at_ms, event, detail) VALUES(5, 1000, 'opened', 'critical')");
    event = db.last_insert_rowid();
    audit_row(db, "drift_events", event, 1000);
    tx.commit();
    CHECK_THROWS_AS(db.exec("INSERT INTO drift_events(item_id, at_ms, event) VALUES(5, 1, 'flipped')"),
                    StoreError);
  }
  Store store(path);
  auto& db = store.db();
  CHECK(store.schema_version() == latest_schema_version());
  CHECK(db.query_int64("SELECT count(*) FROM drift_events WHERE id = " + std::to_string(event)) == 1);
  CHECK(verify_audit(db).intact());
  db.exec("INSERT INTO drift_events(item_id, at_ms, event, detail) VALUES(5, 2000, 'flipped', 'failover')");
  CHECK_THROWS_AS(
      db.exec("INSERT INTO drift_events(item_id, at_ms, event, detail) VALUES(5, 2000, 'bogus', '')"),
      StoreError);
  CHECK_FALSE(db.query_text("PRAGMA foreign_key_check").has_value());
}
