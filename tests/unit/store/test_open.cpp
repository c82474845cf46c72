#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <string>

#include "store/db.hpp"
#include "store/migrations.hpp"
#include "store/store.hpp"
#include "store_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift::store;
using flowdrift::test::read_file;
using flowdrift::test::TempDir;
using flowdrift::test::write_file;

namespace {

std::string table_list(Database& db) {
  return db
      .query_text(
          "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_schema "
          "WHERE type = 'table' ORDER BY name)")
      .value_or("");
}

// Expects Store(path) to throw a StoreError naming the path and `reason`, and the file to be
// byte-identical afterwards.
std::set<std::string> files_beside(const std::string& path) {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    out.insert(e.path().filename().string());
  }
  return out;
}

void expect_refused(const std::string& path, const std::string& reason) {
  const std::string before = read_file(path);
  const auto files_before = files_beside(path);
  try {
    Store store(path);
    FAIL("expected " << path << " to be refused");
  } catch (const StoreError& e) {
    INFO(e.what());
    CHECK_THAT(e.what(), Catch::Contains(path));
    CHECK_THAT(e.what(), Catch::Contains(reason));
  }
  CHECK(read_file(path) == before);
  CHECK(files_beside(path) == files_before);  // no -wal or -shm left behind
}

// Records a complete poll of "primary" (at 1 s) holding `policies` numbered policies; returns
// its snapshot.
flowdrift::policy::Snapshot record_primary(Store& store, int policies) {
  const auto snap = test::numbered_snapshot(policies);
  REQUIRE(store.record_poll(test::complete_poll("primary", 1000), &snap).has_value());
  return snap;
}

}  // namespace

TEST_CASE("A fresh file gets the whole schema, WAL and flowdrift's application_id", "[store]") {
  TempDir dir;
  const std::string path = dir.file("fresh.db");
  {
    Store store(path);
    CHECK(store.schema_version() == latest_schema_version());
    CHECK(latest_schema_version() >= 1);
    Database& db = store.db();
    CHECK(db.query_int64("PRAGMA user_version") == latest_schema_version());
    CHECK(db.query_int64("PRAGMA application_id") == kApplicationId);
    CHECK(db.query_text("PRAGMA journal_mode") == "wal");
    CHECK(db.query_int64("PRAGMA foreign_keys") == 1);
    CHECK(db.query_int64("PRAGMA synchronous") == 1);  // NORMAL
    CHECK(table_list(db) ==
          "applies,apply_requests,audit_bridges,audit_log,config_reloads,coverage_gaps,coverage_inputs,coverage_reads,drift_events,drift_items,entity_sync,entity_sync_reads,findings,objects,pair_flips,pair_states,pair_status_history,pairs,polls,sites,snapshot_objects,snapshots,sync_disagreements");
    CHECK(db.query_text("PRAGMA integrity_check") == "ok");
    // Foreign keys are enforced: a poll for a site that does not exist is rejected.
    CHECK_THROWS_AS(db.exec("INSERT INTO polls (site_id, started_ms, finished_ms, outcome, "
                            "reason, api, requests, changed) VALUES (42, 0, 0, 'failed', "
                            "'timeout', 'v3', 1, 0)"),
                    StoreError);
  }
  CHECK(std::filesystem::exists(path));
}

TEST_CASE("Re-opening is idempotent and keeps the data", "[store]") {
  TempDir dir;
  const std::string path = dir.file("reopen.db");
  const auto snap = test::numbered_snapshot(3);
  std::string schema_before;
  {
    Store store(path);
    REQUIRE(store.record_poll(test::complete_poll("primary", 1000), &snap).has_value());
    schema_before = store.db().query_text("SELECT group_concat(sql, ';') FROM sqlite_schema")
                        .value_or("");
  }
  for (int i = 0; i < 2; ++i) {
    Store store(path);
    CHECK(store.schema_version() == latest_schema_version());
    CHECK(store.db().query_text("SELECT group_concat(sql, ';') FROM sqlite_schema") ==
          schema_before);
    CHECK(migrate(store.db()) == 0);  // nothing left to apply
    CHECK(test::count_rows(store.db(), "polls") == 1);
    auto latest = store.latest_complete_snapshot("primary");
    REQUIRE(latest.has_value());
    CHECK(latest->hash == snap.hash);
  }
}

TEST_CASE("An empty file is a new database", "[store]") {
  TempDir dir;
  const std::string path = dir.file("empty.db");
  write_file(path, "");
  Store store(path);
  CHECK(store.schema_version() == latest_schema_version());
}

TEST_CASE("A file that is not SQLite is refused and left untouched", "[store]") {
  TempDir dir;
  const std::string path = dir.file("config.yaml");
  write_file(path, "sites:\n  - name: primary\n    url: https://pc1:9440\n");
  expect_refused(path, "not a SQLite database");
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));

  // Long enough to look like a database page, still not one.
  const std::string junk(8192, 'x');
  write_file(path, junk);
  expect_refused(path, "not a SQLite database");
}

TEST_CASE("A foreign SQLite database is refused and left untouched", "[store]") {
  TempDir dir;
  const std::string path = dir.file("other.db");
  {
    Database db(path);
    db.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);"
            "INSERT INTO customers (name) VALUES ('acme');");
  }
  expect_refused(path, "customers");
  expect_refused(path, "no flowdrift schema");
  Database db(path);
  CHECK(db.query_int64("SELECT count(*) FROM customers") == 1);
  CHECK(db.query_int64("SELECT count(*) FROM sqlite_schema WHERE name = 'polls'") == 0);
}

TEST_CASE("A database of another application is refused", "[store]") {
  TempDir dir;
  const std::string path = dir.file("app.db");
  {
    Database db(path);
    db.exec("PRAGMA application_id = 1234");  // empty, but claimed by someone else
  }
  expect_refused(path, "application_id 0x000004d2");
  {
    Database db(path);
    db.exec("CREATE TABLE sites (id INTEGER PRIMARY KEY, name TEXT)");
  }
  expect_refused(path, "belongs to another program");
}

TEST_CASE("A schema newer than the binary is refused and left untouched", "[store]") {
  TempDir dir;
  const std::string path = dir.file("newer.db");
  {
    Store store(path);
    record_primary(store, 2);
  }
  const int newer = latest_schema_version() + 1;
  {
    Database db(path);
    db.exec("PRAGMA user_version = " + std::to_string(newer));
  }
  REQUIRE_FALSE(std::filesystem::exists(path + "-wal"));  // fully checkpointed
  expect_refused(path, "schema version " + std::to_string(newer) + " is newer than this binary");
  Database db(path);
  CHECK(db.query_int64("PRAGMA user_version") == newer);
}

TEST_CASE("Tables still in a foreign database's WAL are seen and refused", "[store]") {
  TempDir dir;
  const std::string path = dir.file("walled.db");
  Database other(path);  // kept open, so its WAL is not checkpointed into the main file
  REQUIRE(other.query_text("PRAGMA journal_mode = WAL") == "wal");
  other.exec("PRAGMA wal_autocheckpoint = 0");
  other.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY)");
  // The main file alone looks like an empty database; only the WAL holds the table.
  {
    Database main_only("file:" + path + "?mode=ro&immutable=1", Database::Mode::ReadOnly);
    REQUIRE(main_only.query_int64("SELECT count(*) FROM sqlite_schema") == 0);
  }
  expect_refused(path, "invoices");
  CHECK(other.query_int64("SELECT count(*) FROM invoices") == 0);
}

TEST_CASE("A second store opens a database whose WAL is not checkpointed", "[store]") {
  TempDir dir;
  const std::string path = dir.file("shared.db");
  Store first(path);
  first.db().exec("PRAGMA wal_autocheckpoint = 0");
  const auto snap = record_primary(first, 2);
  Store second(path);
  CHECK(second.schema_version() == latest_schema_version());
  REQUIRE(second.latest_complete_snapshot("primary").has_value());
  CHECK(second.latest_complete_snapshot("primary")->hash == snap.hash);
}

TEST_CASE("Paths with URI-special characters work", "[store]") {
  TempDir dir;
  const std::string path = dir.file("odd name #1 %20 ?.db");
  {
    Store store(path);
    record_primary(store, 1);
  }
  Store store(path);  // re-open goes through the immutable probe
  CHECK(store.latest_complete_snapshot("primary").has_value());
  CHECK(std::filesystem::exists(path));
}
