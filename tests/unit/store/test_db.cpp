#include <catch2/catch.hpp>

#include <string>

#include "store/db.hpp"
#include "support/temp_dir.hpp"

using flowdrift::store::Database;
using flowdrift::store::Statement;
using flowdrift::store::StoreError;
using flowdrift::store::Transaction;

namespace {

constexpr int kSqliteConstraintUnique = 2067;  // SQLITE_CONSTRAINT_UNIQUE
constexpr int kSqliteError = 1;                // SQLITE_ERROR

struct Table {
  Table() { db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER)"); }
  Database db{":memory:"};
};

}  // namespace

TEST_CASE("Statement binds, steps and reads every column type", "[store][db]") {
  Database db(":memory:");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER, x REAL)");
  auto ins = db.prepare("INSERT INTO t (name, n, x) VALUES (?1, ?2, ?3)");
  ins.bind(1, "alpha").bind(2, std::int64_t{1} << 40).bind(3, 2.5).exec();
  CHECK(db.last_insert_rowid() == 1);
  CHECK(db.changes() == 1);
  ins.reset();
  ins.bind(1, std::string("be\0ta", 5)).bind(2, nullptr).bind(3, 0.0).exec();

  auto sel = db.prepare("SELECT id, name, n, x FROM t ORDER BY id");
  REQUIRE(sel.step());
  CHECK(sel.column_count() == 4);
  CHECK(sel.column_int64(0) == 1);
  CHECK(sel.column_text(1) == "alpha");
  CHECK(sel.column_int64(2) == (std::int64_t{1} << 40));
  CHECK(sel.column_double(3) == 2.5);
  REQUIRE(sel.step());
  CHECK(sel.column_text(1) == std::string("be\0ta", 5));  // embedded NUL survives
  CHECK(sel.column_is_null(2));
  CHECK_FALSE(sel.column_optional_int64(2).has_value());
  CHECK_FALSE(sel.step());
  // step() reset the statement when done, so it can run again without an explicit reset.
  REQUIRE(sel.step());
  CHECK(sel.column_int64(0) == 1);
}

TEST_CASE_METHOD(Table, "Named parameters resolve and unknown ones throw", "[store][db]") {
  auto st = db.prepare("INSERT INTO t (name, n) VALUES (:name, :n)");
  st.bind(st.parameter_index(":name"), "x").bind(st.parameter_index(":n"), 7).exec();
  CHECK(db.query_int64("SELECT n FROM t WHERE name = 'x'") == 7);
  CHECK_THROWS_AS(st.parameter_index(":missing"), StoreError);
}

TEST_CASE_METHOD(Table, "Cached statements are reused and handed out reset", "[store][db]") {
  auto& a = db.cached("SELECT count(*) FROM t WHERE n > ?1");
  a.bind(1, 5);
  REQUIRE(a.step());  // left mid-result on purpose
  auto& b = db.cached("SELECT count(*) FROM t WHERE n > ?1");
  CHECK(&a == &b);
  // Bindings were cleared: NULL compares as unknown, so nothing matches.
  db.exec("INSERT INTO t (name, n) VALUES ('a', 10)");
  CHECK(b.query_int64() == 0);
  CHECK(db.cached("SELECT count(*) FROM t WHERE n > ?1").bind(1, 5).query_int64() == 1);
}

TEST_CASE_METHOD(Table, "Errors carry the extended code and the SQL", "[store][db]") {
  db.exec("INSERT INTO t (name) VALUES ('dup')");
  try {
    db.prepare("INSERT INTO t (name) VALUES ('dup')").exec();
    FAIL("expected a constraint error");
  } catch (const StoreError& e) {
    CHECK(e.code() == kSqliteConstraintUnique);
    CHECK_THAT(e.what(), Catch::Contains("UNIQUE constraint failed: t.name"));
    CHECK_THAT(e.what(), Catch::Contains("INSERT INTO t (name) VALUES ('dup')"));
  }
  try {
    db.prepare("SELECT nope FROM t");
    FAIL("expected a prepare error");
  } catch (const StoreError& e) {
    CHECK(e.code() == kSqliteError);
    CHECK_THAT(e.what(), Catch::Contains("no such column: nope"));
    CHECK_THAT(e.what(), Catch::Contains("SELECT nope FROM t"));
  }
  CHECK_THROWS_AS(db.prepare("SELECT 1; SELECT 2"), StoreError);
  CHECK_THROWS_AS(db.exec("CREATE TABLE t (x)"), StoreError);
}

TEST_CASE("Open failure names the path", "[store][db]") {
  flowdrift::test::TempDir dir;
  const std::string path = dir.file("missing-dir/x.db");
  try {
    Database db(path);
    FAIL("expected open to fail");
  } catch (const StoreError& e) {
    CHECK_THAT(e.what(), Catch::Contains(path));
    CHECK(e.code() != 0);
  }
}

TEST_CASE_METHOD(Table, "Transaction rolls back unless committed", "[store][db]") {
  {
    Transaction tx(db);
    db.exec("INSERT INTO t (name) VALUES ('rolled back')");
    CHECK(db.in_transaction());
  }
  CHECK_FALSE(db.in_transaction());
  CHECK(db.query_int64("SELECT count(*) FROM t") == 0);
  {
    Transaction tx(db);
    db.exec("INSERT INTO t (name) VALUES ('kept')");
    tx.commit();
  }
  CHECK(db.query_int64("SELECT count(*) FROM t") == 1);
  // An exception unwinding through the transaction also rolls back.
  try {
    Transaction tx(db);
    db.exec("INSERT INTO t (name) VALUES ('second')");
    db.exec("INSERT INTO t (name) VALUES ('kept')");  // unique violation
    tx.commit();
  } catch (const StoreError&) {
  }
  CHECK_FALSE(db.in_transaction());
  CHECK(db.query_int64("SELECT count(*) FROM t") == 1);
}
