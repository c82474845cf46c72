// The tamper-evident audit trail (audit_log, schema version 8): what flowdrift writes verifies;
// an edit, a delete or an insert made with SQL, or a change to the chain itself, is found and
// named; retention keeps the chain verifiable.
#include <catch2/catch.hpp>

#include "store/audit.hpp"
#include "store/reloads.hpp"
#include "store/retention.hpp"
#include "store/store.hpp"
#include "store_test_util.hpp"

using namespace flowdrift;
using namespace flowdrift::store;
using namespace flowdrift::store::test;

namespace {

// A store with polls of two sites (one failed) and three config reloads, 1 s apart from t=1000.
void fill(Store& store) {
  const auto snap = numbered_snapshot(3);
  for (int i = 0; i < 4; ++i) {
    const std::int64_t t = 1000 + 1000 * i;
    REQUIRE(store.record_poll(complete_poll("primary", t), &snap));
    REQUIRE(store.record_poll(i == 2 ? failed_poll("dr", t, "timeout") : complete_poll("dr", t),
                              i == 2 ? nullptr : &snap));
  }
  for (int i = 0; i < 3; ++i) {
    ConfigReload r;
    r.at_ms = 1000 + 1000 * i;
    r.trigger = i == 0 ? "start" : "SIGHUP";
    r.ok = true;
    r.file = "/etc/flowdrift/flowdrift.yaml";
    r.summary = "reload " + std::to_string(i);
    record_config_reload(store.db(), r);
  }
}

std::string first_problem(Database& db) {
  const auto report = verify_audit(db);
  REQUIRE_FALSE(report.intact());
  return report.problems.front().message;
}

}  // namespace

TEST_CASE("the audit trail of what flowdrift wrote verifies", "[unit][store][audit]") {
  Store store(":memory:");
  fill(store);
  const auto report = verify_audit(store.db());
  CHECK(report.intact());
  CHECK(report.rows == 8 + 3);
  CHECK(report.entries == 1 + 8 + 3);  // the start entry, then one per row
  CHECK(report.unchained == 0);
  CHECK(report.head.size() == 64);
  CHECK(report.head_seq == 12);
}

TEST_CASE("an edit, a delete or an insert made with SQL is named", "[unit][store][audit]") {
  Store store(":memory:");
  fill(store);
  auto& db = store.db();
  SECTION("an edited poll") {
    db.exec("UPDATE polls SET reason = 'ok' WHERE id = 6");
    CHECK_THAT(first_problem(db), Catch::StartsWith("polls row 6: changed since audit_log seq"));
  }
  SECTION("a deleted reload") {
    db.exec("DELETE FROM config_reloads WHERE id = 2");
    CHECK_THAT(first_problem(db), Catch::StartsWith("config_reloads row 2: deleted outside retention"));
  }
  SECTION("an inserted reload") {
    db.exec("INSERT INTO config_reloads (at_ms, trigger, ok, file, sha256, summary) "
            "VALUES (9000, 'SIGHUP', 1, 'x.yaml', NULL, 'nothing to see')");
    CHECK_THAT(first_problem(db), Catch::StartsWith("config_reloads row 4: not in the audit log"));
  }
  SECTION("an entry changed to match an edit") {
    db.exec("UPDATE polls SET requests = 99 WHERE id = 3");
    db.exec("UPDATE audit_log SET digest = 'x' WHERE tbl = 'polls' AND row_id = 3");
    const auto report = verify_audit(db);
    REQUIRE(report.problems.size() >= 2);
    CHECK_THAT(report.problems.front().message,
               Catch::StartsWith("audit_log seq 4 (polls row 3): the chain is broken here"));
  }
  SECTION("an entry removed with its row") {
    db.exec("DELETE FROM audit_log WHERE tbl = 'polls' AND row_id = 1");
    db.exec("DELETE FROM polls WHERE id = 1");
    CHECK_THAT(first_problem(db), Catch::StartsWith("audit_log seq 3 (polls row 2): the chain is broken here"));
  }
}

TEST_CASE("retention keeps the chain verifiable, and its checkpoints are checked",
          "[unit][store][audit]") {
  Store store(":memory:");
  fill(store);
  auto& db = store.db();
  const auto stats = prune(db, 2500, 2);  // polls and reloads before t=2500, a few at a time
  CHECK(stats.deleted.at("polls") > 0);
  CHECK(stats.deleted.at("config_reloads") == 2);
  auto report = verify_audit(db);
  INFO((report.problems.empty() ? "" : report.problems.front().message));
  CHECK(report.intact());
  CHECK(report.checkpoints >= 2);
  CHECK(db.query_int64("SELECT count(*) FROM audit_bridges").value_or(0) > 0);

  // A later poll links on from the checkpoints.
  const auto snap = numbered_snapshot(3);
  REQUIRE(store.record_poll(complete_poll("primary", 9000), &snap));
  CHECK(verify_audit(db).intact());

  SECTION("a bridge changed to hide a deletion") {
    db.exec("UPDATE audit_bridges SET prev_chain = 'x' WHERE seq = (SELECT min(seq) FROM audit_bridges)");
    report = verify_audit(db);
    REQUIRE_FALSE(report.intact());
    bool named = false;
    for (const auto& p : report.problems) {
      named = named || p.message.find("(checkpoint): its bridges were changed") != std::string::npos;
    }
    CHECK(named);
  }
}

TEST_CASE("rows from before the chain are counted, not checked", "[unit][store][audit]") {
  Store store(":memory:");
  fill(store);
  auto& db = store.db();
  // As a database migrated to version 8 would be: the chain starts after the existing rows.
  db.exec("DELETE FROM audit_log");
  db.exec("DELETE FROM polls WHERE id > 6");
  ensure_audit_start(db, 5000);
  auto report = verify_audit(db);
  CHECK(report.intact());
  CHECK(report.unchained == 6 + 3);
  const auto snap = numbered_snapshot(3);
  REQUIRE(store.record_poll(complete_poll("primary", 9000), &snap));
  report = verify_audit(db);
  CHECK(report.intact());
  CHECK(report.entries == 2);
}
