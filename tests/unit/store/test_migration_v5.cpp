// Migration 5 rebuilds the objects table so that entity groups (v4.1+) can be stored: every
// object keeps its id, snapshots keep their members, and the kind is still checked.
#include <catch2/catch.hpp>

#include "store/db.hpp"
#include "store/migrations.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift::store;

TEST_CASE("migration 5 keeps every object and snapshot member and admits entity groups",
          "[unit][store]") {
  flowdrift::test::TempDir dir;
  const std::string path = dir.file("v4.db");
  {
    Database db(path);
    for (const auto& m : migrations()) {
      if (m.version > 4) break;
      db.exec(m.sql);
    }
    db.exec("PRAGMA user_version = 4");
    db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
    db.exec(
        "INSERT INTO sites(id, name) VALUES(1, 'primary');"
        "INSERT INTO objects(id, kind, name, hash, json, first_seen_ms) "
        "VALUES(42, 'address_group', 'ag', 'h1', '{}', 1000);"
        "INSERT INTO snapshots(id, site_id, hash, canon_version, first_seen_ms, policy_count, "
        "object_count) VALUES(7, 1, 's', 3, 1000, 0, 1);"
        "INSERT INTO snapshot_objects(snapshot_id, object_id) VALUES(7, 42);");
  }
  Store store(path);
  CHECK(store.schema_version() == latest_schema_version());
  auto& db = store.db();
  CHECK(db.query_text("SELECT o.name FROM snapshot_objects m JOIN objects o ON o.id = m.object_id "
                      "WHERE m.snapshot_id = 7") == "ag");
  CHECK(db.query_int64("SELECT id FROM objects WHERE name = 'ag'") == 42);
  CHECK_FALSE(db.query_text("PRAGMA foreign_key_check").has_value());
  CHECK(db.query_text("SELECT name FROM sqlite_schema WHERE type = 'index' AND "
                      "name = 'objects_hash'") == "objects_hash");
  CHECK(db.query_int64("PRAGMA foreign_keys") == 1);
  db.exec("INSERT INTO objects(kind, name, hash, json, first_seen_ms) "
          "VALUES('entity_group', 'eg', 'h2', '{}', 2000)");
  CHECK_THROWS_AS(db.exec("INSERT INTO objects(kind, name, hash, json, first_seen_ms) "
                          "VALUES('bogus', 'x', 'h3', '{}', 2000)"),
                  StoreError);
  // Still a foreign key target: a member naming no object is refused.
  CHECK_THROWS_AS(db.exec("INSERT INTO snapshot_objects(snapshot_id, object_id) VALUES(7, 999)"),
                  StoreError);
}
