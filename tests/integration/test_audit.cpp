// The tamper-evident audit trail end to end: flowdriftd writes it while polling two pcsim
// sites, `flowdriftctl verify` passes, and any edit, delete or insert made with the sqlite3
// shell makes it fail naming the row; putting the row back makes it pass again.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "live.hpp"

using namespace flowdrift::test;
using namespace std::chrono_literals;

namespace {

void sqlite_shell(const std::string& db, const std::string& sql) {
  const std::string cmd = "sqlite3 -batch -bail '" + db + "' \"" + sql + "\"";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

}  // namespace

TEST_CASE("verify passes on what flowdriftd wrote and names any row changed with sqlite3",
          "[integration][audit]") {
  REQUIRE(std::system("sqlite3 -version > /dev/null 2>&1") == 0);
  LivePair live(6, 5);
  DbView db = live.start_in_sync();
  live.dr.monitor_enforced_rule();  // drift events to audit too
  REQUIRE(wait_until([&] { return db.scalar("SELECT count(*) >= 2 FROM drift_events") == "1"; }, 30s));
  live.daemon.stop();
  const std::string path = live.daemon.db_path();
  auto verify = [&] { return run_ctl(live.dir, {"verify", "--db", path}); };

  auto ok = verify();
  CHECK(ok.status == 0);
  CHECK_THAT(ok.out, Catch::Contains("audit trail intact"));

  // An edit, then the value put back.
  const auto requests = db.scalar("SELECT requests FROM polls WHERE id = 2").value_or("?");
  sqlite_shell(path, "UPDATE polls SET requests = requests + 1 WHERE id = 2");
  auto edited = verify();
  CHECK(edited.status == 1);
  CHECK_THAT(edited.out, Catch::Contains("the first broken link:\n  polls row 2: changed since"));
  sqlite_shell(path, "UPDATE polls SET requests = " + requests + " WHERE id = 2");
  CHECK(verify().status == 0);

  // A drift event deleted.
  const auto event = db.scalar("SELECT max(id) FROM drift_events").value_or("?");
  sqlite_shell(path, "DELETE FROM drift_events WHERE id = " + event);
  auto deleted = verify();
  CHECK(deleted.status == 1);
  CHECK_THAT(deleted.out, Catch::Contains("drift_events row " + event + ": deleted outside retention"));

  // A config reload inserted.
  sqlite_shell(path, "INSERT INTO config_reloads (at_ms, trigger, ok, file, sha256, summary) "
                "VALUES (0, 'SIGHUP', 1, 'forged.yaml', NULL, 'no changes')");
  auto inserted = verify();
  CHECK(inserted.status == 1);
  CHECK_THAT(inserted.out, Catch::Contains("config_reloads row") &&
                               Catch::Contains("not in the audit log"));

  // A bad database is an error, not a verdict.
  auto missing = run_ctl(live.dir, {"verify", "--db", live.dir.file("nope.db")});
  CHECK(missing.status == 2);
}
