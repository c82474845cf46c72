// Crash safety: flowdriftd is SIGKILLed at random instants while it writes snapshots of a site
// that changes on every poll (pcsim --churn). After every kill the database must open, pass
// PRAGMA integrity_check and foreign_key_check, every stored snapshot must be whole, and
// nothing committed before the kill may be missing.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sqlite3.h>

#include <random>
#include <thread>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift::test;
using namespace std::chrono_literals;

namespace {

struct Db {
  explicit Db(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  }
  ~Db() { sqlite3_close(db); }
  std::vector<std::string> column(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* st = nullptr;
    INFO(sql);
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const auto* t = sqlite3_column_text(st, 0);
      out.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
    }
    sqlite3_finalize(st);
    REQUIRE(rc == SQLITE_DONE);
    return out;
  }
  std::int64_t scalar(const std::string& sql) { return std::stoll(column(sql).at(0)); }
  sqlite3* db = nullptr;
};

}  // namespace

TEST_CASE("SIGKILL during writes never corrupts the database or loses a committed snapshot",
          "[integration][crash][slow]") {
  TempDir dir;
  const std::string password = "crash-test-pw";
  write_file(dir.file("pw"), password + "\n");
  Process sim({build_dir() + "/tests/pcsim/pcsim", "--listen", "127.0.0.1:0", "--tls-dir",
               dir.path().string(), "--port-file", dir.file("port"), "--generate", "400",
               "--seed", "9", "--churn"},
              dir.file("pcsim.log"), {"PCSIM_PASSWORD=" + password});
  auto port = wait_for_file(dir.file("port"), 20s);
  REQUIRE(port.has_value());
  write_file(dir.file("flowdrift.yaml"),
             "sites:\n"
             "  - name: churning\n"
             "    url: https://127.0.0.1:" + *port + "\n"
             "    username: admin\n"
             "    password_file: pw\n"
             "    ca_file: ca.pem\n"
             "    api: v3\n"       // one page of 400 rules
             "    interval: 2s\n"  // and its 2 s poll deadline holds in Debug builds too
             "    jitter: 0\n"
             "storage:\n"
             "  path: flowdrift.db\n"
             "server:\n"
             "  listen: 127.0.0.1:0\n");

  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_ms(400, 3000);
  std::int64_t committed_polls = 0;
  std::int64_t committed_snapshots = 0;
  int kills = 0;
  for (int round = 0; round < 20; ++round) {
    Process daemon({build_dir() + "/daemon/flowdriftd", "--config", dir.file("flowdrift.yaml")},
                   dir.file("flowdriftd.log"));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    REQUIRE(daemon.running());  // it must not have exited on its own
    daemon.kill();
    ++kills;

    Db db(dir.file("flowdrift.db"));
    INFO("round " << round);
    CHECK(db.column("PRAGMA integrity_check") == std::vector<std::string>{"ok"});
    CHECK(db.column("PRAGMA foreign_key_check").empty());
    // Every snapshot is whole: its member rows match its recorded object count.
    CHECK(db.scalar("SELECT count(*) FROM snapshots s WHERE s.object_count <> "
                    "(SELECT count(*) FROM snapshot_objects m WHERE m.snapshot_id = s.id)") == 0);
    // Complete polls point at existing snapshots; failed ones at none.
    CHECK(db.scalar("SELECT count(*) FROM polls WHERE outcome='complete' AND snapshot_id IS NULL") == 0);
    CHECK(db.scalar("SELECT count(*) FROM polls WHERE outcome='failed' AND snapshot_id IS NOT NULL") == 0);
    // Nothing committed before this kill went missing.
    const auto polls = db.scalar("SELECT count(*) FROM polls WHERE outcome='complete'");
    const auto snapshots = db.scalar("SELECT count(*) FROM snapshots");
    CHECK(polls >= committed_polls);
    CHECK(snapshots >= committed_snapshots);
    committed_polls = polls;
    committed_snapshots = snapshots;
  }
  CHECK(kills == 20);
  // The churning site changed on every poll, so the kills really landed among writes.
  INFO(read_file(dir.file("flowdriftd.log")).substr(0, 4000));
  CHECK(committed_snapshots >= 5);
}
