// Pair drift end to end with real processes: two pcsim sites seeded alike, flowdriftd polling
// them every second. Changes made through the DR site's API open drift items; reverting them
// resolves them; a fault on either site neither opens nor resolves anything; /metrics agrees
// with the database.
#include <catch2/catch.hpp>

#include <ctime>
#include <map>
#include <regex>
#include <set>

#include "live.hpp"
#include "support/metrics_text.hpp"

using namespace flowdrift::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Open items that alert: raised past the debounce (default: two consecutive comparisons).
std::string open_items_sql(const std::string& where = "") {
  return "SELECT d.object, d.kind, d.severity FROM drift_items d JOIN pairs p ON p.id = d.pair_id "
         "WHERE p.name = 'prod' AND d.resolved_ms IS NULL AND d.raised_ms IS NOT NULL " + where +
         " ORDER BY d.object, d.kind";
}
// Every open item, pending ones included.
std::string any_open_sql() {
  return "SELECT d.object, d.kind FROM drift_items d WHERE d.resolved_ms IS NULL";
}

// (policy, kind, severity) of every flowdrift_policy_drift series in a scrape.
std::set<std::vector<std::string>> policy_series(const std::string& scrape) {
  std::set<std::vector<std::string>> out;
  static const std::regex re(
      R"re(flowdrift_policy_drift\{kind="([^"]*)",pair="prod",policy="([^"]*)",severity="([^"]*)"\} 1)re");
  for (std::sregex_iterator it(scrape.begin(), scrape.end(), re), end; it != end; ++it) {
    out.insert({(*it)[2], (*it)[1], (*it)[3]});
  }
  return out;
}

}  // namespace

TEST_CASE("changes through the DR API open drift items, reverting resolves them, faults change nothing",
          "[integration][drift][slow]") {
  LivePair live(120, 42);
  // Same generated intent, different UUIDs: in sync.
  DbView db = live.start_in_sync();
  CHECK(db.rows(open_items_sql()).empty());

  // 1. Switch one enforced policy to MONITOR on the DR site.
  const auto rule = live.dr.monitor_enforced_rule();
  const std::string uuid = rule.at("metadata").at("uuid");
  const std::string name = rule.at("spec").at("name");
  const json original = rule.at("spec");
  const auto item_sql = open_items_sql("AND d.object = '" + name + "'");
  REQUIRE(wait_until([&] { return !db.rows(item_sql).empty(); }, 30s));
  auto rows = db.rows(item_sql);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][1] == "enforcement_mode");
  CHECK(rows[0][2] == "critical");
  CHECK(pair_status(db) == "DRIFTED");
  CHECK_THAT(live.daemon.log(), Catch::Contains("drift.opened pair=prod policy=" + name));
  // The log follows the commit the database already shows: wait for it, do not race it.
  CHECK(wait_until([&] {
    return live.daemon.log().find("drift.raised pair=prod policy=" + name) != std::string::npos;
  }, 10s));
  const auto opened = db.scalar("SELECT opened_ms FROM drift_items WHERE resolved_ms IS NULL");
  // Debounced: first seen by one comparison, raised by the next one (default 2), with both
  // transitions in the audit trail.
  CHECK(db.scalar("SELECT seen FROM drift_items WHERE resolved_ms IS NULL") == "2");
  CHECK(db.scalar("SELECT raised_ms > opened_ms FROM drift_items WHERE resolved_ms IS NULL") == "1");
  CHECK(db.rows("SELECT e.event FROM drift_events e JOIN drift_items d ON d.id = e.item_id "
                "WHERE d.resolved_ms IS NULL ORDER BY e.id") ==
        std::vector<std::vector<std::string>>{{"opened"}, {"raised"}});

  // /metrics agrees with the database: the same open items, per policy and in aggregate.
  REQUIRE(wait_until([&] { return !policy_series(live.daemon.scrape()).empty(); }, 10s));
  auto scrape = live.daemon.scrape();
  CHECK(policy_series(scrape) == db.row_set(open_items_sql()));
  CHECK_THAT(scrape, Catch::Contains(
      "flowdrift_drift_items{kind=\"enforcement_mode\",pair=\"prod\",severity=\"critical\"} 1"));
  CHECK_THAT(scrape, Catch::Contains("flowdrift_pair_status{pair=\"prod\",status=\"DRIFTED\"} 1"));

  // 2. A fault on the DR site, then the revert: nothing may resolve while DR is UNKNOWN.
  live.dr.add_fault("rules_list:status=503");
  REQUIRE(wait_until([&] { return pair_status(db) == "UNKNOWN"; }, 20s));
  live.dr.put_spec(uuid, original);
  std::this_thread::sleep_for(3s);  // three poll intervals with the fault in place
  CHECK(db.rows(item_sql).size() == 1);
  CHECK(db.scalar("SELECT opened_ms FROM drift_items WHERE resolved_ms IS NULL") == opened);
  CHECK_THAT(live.daemon.scrape(), Catch::Contains("flowdrift_pair_status{pair=\"prod\",status=\"UNKNOWN\"} 1"));
  CHECK_THAT(live.daemon.scrape(), Catch::Contains(
      "flowdrift_drift_items{kind=\"enforcement_mode\",pair=\"prod\",severity=\"critical\"} 1"));

  // 3. The fault clears: the revert is seen and the item resolves.
  live.dr.clear_faults();
  REQUIRE(wait_until([&] { return db.rows(item_sql).empty(); }, 30s));
  CHECK(pair_status(db) == "IN_SYNC");
  CHECK(db.scalar("SELECT count(*) FROM drift_items WHERE object = '" + name +
                  "' AND resolved_ms IS NOT NULL") == "1");

  // 4. A fault on the primary while the DR loses a policy: nothing opens until both are complete.
  live.primary.add_fault("rules_list:malformed");
  REQUIRE(wait_until([&] { return pair_status(db) == "UNKNOWN"; }, 20s));
  auto victim = live.dr.enforced_app_rule();
  const std::string victim_name = victim.at("spec").at("name");
  auto del = live.dr.api().request("DELETE", "/api/nutanix/v3/network_security_rules/" +
                                            victim.at("metadata").at("uuid").get<std::string>());
  REQUIRE(del.status == 202);
  std::this_thread::sleep_for(3s);
  CHECK(db.rows(any_open_sql()).empty());
  live.primary.clear_faults();
  const auto missing_sql = open_items_sql("AND d.object = '" + victim_name + "'");
  REQUIRE(wait_until([&] { return !db.rows(missing_sql).empty(); }, 30s));
  CHECK(db.rows(missing_sql)[0][1] == "missing");
  CHECK(db.rows(missing_sql)[0][2] == "critical");

  // 5. Restore it through the API: resolves.
  json create{{"api_version", "3.1"},
              {"metadata", {{"kind", "network_security_rule"}}},
              {"spec", victim.at("spec")}};
  live.dr.api().json("POST", "/api/nutanix/v3/network_security_rules", create);
  REQUIRE(wait_until([&] { return db.rows(open_items_sql()).empty(); }, 30s));
  CHECK(pair_status(db) == "IN_SYNC");
  live.daemon.stop();
}

TEST_CASE("a restart keeps open drift items and their open times", "[integration][drift][slow]") {
  LivePair live(60, 7);
  live.dr.monitor_enforced_rule();
  live.daemon.start();
  DbView db(live.daemon.db_path());
  REQUIRE(wait_until([&] { return !db.rows(open_items_sql()).empty(); }, 60s));
  const auto before = db.rows("SELECT id, opened_ms FROM drift_items WHERE resolved_ms IS NULL");
  live.daemon.stop();

  live.daemon.start();
  // Right after the restart, before any comparison, /metrics already shows the open item.
  REQUIRE(wait_until([&] {
    try {
      return !policy_series(live.daemon.scrape()).empty();
    } catch (...) {
      return false;
    }
  }, 20s));
  std::this_thread::sleep_for(3s);  // several cycles: nothing re-opens
  CHECK(db.rows("SELECT id, opened_ms FROM drift_items WHERE resolved_ms IS NULL") == before);
  CHECK(db.scalar("SELECT count(*) FROM drift_items") == std::to_string(before.size()));
  live.daemon.stop();
}

TEST_CASE("an expected difference keeps drift from alerting until it expires, then the same item alerts",
          "[integration][drift][slow]") {
  TempDir dir;
  LiveSite primary(dir, "primary", 60, 11);
  LiveSite dr(dir, "dr", 60, 11);
  const std::string name = dr.monitor_enforced_rule().at("spec").at("name");

  // Expires 20 s from now (UTC time form of `expires`).
  const auto expires_s = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count() + 20;
  const std::time_t t = expires_s;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char expires[32];
  std::strftime(expires, sizeof expires, "%Y-%m-%dT%H:%M:%SZ", &tm);
  LiveDaemon daemon(dir, primary, dr,
                    "    expected:\n      - policy: \"" + name + "\"\n"
                    "        kind: enforcement_mode\n        owner: dr-team@example.com\n"
                    "        reason: CHG-99 monitor-first rollout on DR\n"
                    "        expires: " + std::string(expires) + "\n");
  daemon.start();
  DbView db(daemon.db_path());
  const std::string item = "SELECT d.id, d.opened_ms, d.expectation IS NOT NULL, d.raised_ms IS NOT NULL "
                           "FROM drift_items d WHERE d.resolved_ms IS NULL AND d.object = '" + name + "'";

  // Raised past the debounce but expected: stored, exported as expected, not alerting.
  REQUIRE(wait_until([&] {
    auto r = db.rows(item);
    return r.size() == 1 && r[0][2] == "1" && r[0][3] == "1";
  }, 15s));
  const auto before = db.rows(item)[0];
  CHECK(pair_status(db) == "IN_SYNC");
  REQUIRE(wait_until([&] {
    return flowdrift::test::has_series(daemon.scrape(), "flowdrift_drift_expected_items{kind=\"enforcement_mode\",pair=\"prod\",severity=\"critical\"}", 1);
  }, 10s));
  auto scrape = daemon.scrape();
  CHECK_THAT(scrape, Catch::Contains(
      "flowdrift_drift_items{kind=\"enforcement_mode\",pair=\"prod\",severity=\"critical\"} 0"));
  CHECK(policy_series(scrape).empty());
  CHECK_THAT(scrape, Catch::Contains("flowdrift_expected_difference_expiry_timestamp_seconds{pair=\"prod\",selector=\"policy=" + name + " kind=enforcement_mode\"} " + std::to_string(expires_s)));

  // Expired: the same item (same id, same first-seen time) alerts, with the expiry on record.
  REQUIRE(wait_until([&] { return pair_status(db) == "DRIFTED"; }, 40s));
  auto after = db.rows(item);
  REQUIRE(after.size() == 1);
  CHECK(after[0][0] == before[0]);
  CHECK(after[0][1] == before[1]);
  CHECK(after[0][2] == "0");
  CHECK(db.scalar("SELECT count(*) FROM drift_events WHERE item_id = " + before[0] +
                  " AND event = 'unexpected' AND detail LIKE '%CHG-99%'") == "1");
  REQUIRE(wait_until([&] {
    return flowdrift::test::has_series(daemon.scrape(), "flowdrift_drift_items{kind=\"enforcement_mode\",pair=\"prod\",severity=\"critical\"}", 1);
  }, 10s));
  CHECK(wait_until([&] {
    return daemon.log().find("drift.unexpected pair=prod policy=" + name) != std::string::npos;
  }, 10s));
  daemon.stop();
}
