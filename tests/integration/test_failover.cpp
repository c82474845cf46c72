// Failover and failback end to end (docs/failover.md): flowdriftd watches pair "prod" whose DR
// site spells every policy name differently (a name mapping), has one policy deleted under an
// expected difference and one switched to MONITOR. `flowdriftctl failover` flips the pair: the
// same items stay open, seen from the DR site, nothing opens or resolves, the direction
// survives a restart, and failback gives back exactly the items there were.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "live.hpp"

using namespace flowdrift::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Every DR policy renamed "dr-<name>" (the mapping below turns them back).
void rename_all(LiveSite& site) {
  for (const auto& e : site.rules()) {
    auto spec = e.at("spec");
    spec["name"] = "dr-" + spec.at("name").get<std::string>();
    site.put_spec(e.at("metadata").at("uuid"), spec);
  }
}

// A DR policy that is not `keep`, deleted; returns its source name.
std::string delete_one(LiveSite& site, const std::string& keep) {
  for (const auto& e : site.rules()) {
    const std::string name = e.at("spec").at("name");
    if (name == keep) continue;
    auto r = site.api().request(
        "DELETE", "/api/nutanix/v3/network_security_rules/" + e.at("metadata").at("uuid").get<std::string>());
    REQUIRE(r.status == 202);
    return name.substr(3);  // without "dr-"
  }
  FAIL("the DR site has a single policy");
  return {};
}

const char* kPairExtra =
    "    mappings:\n"
    "      names:\n"
    "        - match: \"^(.*)$\"\n"
    "          replica: \"dr-$1\"\n"
    "    expected:\n"
    "      - policy: \"*\"\n"
    "        kind: missing\n"
    "        owner: dr-team@example.com\n"
    "        reason: CHG-7 retired on DR first\n"
    "        expires: 2099-12-31\n";

// Each open item as it is described: id, object, kind, severity, direction, summary, fields,
// expectation, raised.
const char* kOpen =
    "SELECT id, object, kind, severity, direction, summary, fields, coalesce(expectation, ''), "
    "raised_ms IS NOT NULL, source_site, replica_site FROM drift_items "
    "WHERE resolved_ms IS NULL ORDER BY id";

// /metrics, or "" while the daemon is not listening yet.
std::string scrape_or_empty(LiveDaemon& daemon) {
  try {
    return daemon.scrape();
  } catch (const std::exception&) {
    return "";
  }
}

std::string transitions_after(DbView& db, const std::string& event_id) {
  auto rows = db.rows("SELECT event || ' ' || item_id FROM drift_events WHERE id > " + event_id +
                      " AND event IN ('opened', 'resolved') ORDER BY id");
  std::string out;
  for (const auto& r : rows) out += r[0] + "\n";
  return out;
}

}  // namespace

TEST_CASE("failover and failback: the same items seen from the DR site and back, no false drift, "
          "the direction kept over a restart",
          "[integration][failover]") {
  LivePair live(6, 11, kPairExtra);
  rename_all(live.dr);
  DbView db = live.start_in_sync();  // in sync through the name mapping

  const std::string monitored = live.dr.monitor_enforced_rule().at("spec").at("name");
  const std::string deleted = delete_one(live.dr, monitored);
  REQUIRE(wait_until([&] {
    auto rows = db.rows(kOpen);
    return rows.size() == 2 && rows[0][8] == "1" && rows[1][8] == "1";
  }, 40s));
  REQUIRE(wait_until([&] { return pair_status(db) == "DRIFTED"; }, 20s));
  const auto before = db.rows(kOpen);
  const std::string last_event = db.scalar("SELECT max(id) FROM drift_events").value_or("0");
  std::map<std::string, std::vector<std::string>> by_kind;
  for (const auto& r : before) by_kind[r[2]] = r;
  REQUIRE(by_kind.count("missing") == 1);
  REQUIRE(by_kind.count("enforcement_mode") == 1);
  CHECK(by_kind["missing"][1] == deleted);
  CHECK_FALSE(by_kind["missing"][7].empty());  // covered by the expectation

  const std::string config = live.daemon.config_path();
  auto flip = run_ctl(live.dir, {"failover", "--config", config, "--pair", "prod", "--reason",
                                 "DC1 power loss (INC-42)"});
  INFO(flip.out << live.daemon.log());
  REQUIRE(flip.status == 0);
  CHECK_THAT(flip.out, Catch::Contains("applied by flowdriftd") &&
                           Catch::Contains("source dr, replica primary") &&
                           Catch::Contains("2 open drift item(s) re-described"));

  // Recorded and audited, the pairs row turned round.
  auto flips = db.rows("SELECT action, source_site, replica_site, via, outcome, reason, items "
                       "FROM pair_flips");
  REQUIRE(flips.size() == 1);
  CHECK(flips[0] == std::vector<std::string>{"failover", "dr", "primary", "cli", "applied",
                                             "DC1 power loss (INC-42)", "2"});
  CHECK(db.scalar("SELECT source_site || '>' || replica_site FROM pairs WHERE name = 'prod'") ==
        "dr>primary");

  // The same two items (same ids, still raised), seen from the DR site.
  auto after = db.rows(kOpen);
  REQUIRE(after.size() == 2);
  for (std::size_t i = 0; i < after.size(); ++i) {
    CHECK(after[i][0] == before[i][0]);
    CHECK(after[i][8] == "1");
    CHECK(after[i][9] == "dr");
    CHECK(after[i][10] == "primary");
  }
  std::map<std::string, std::vector<std::string>> flipped;
  for (const auto& r : after) flipped[r[2]] = r;
  REQUIRE(flipped.count("extra") == 1);  // the policy the DR lacks is extra on the primary
  CHECK(flipped["extra"][1] == deleted);
  CHECK(flipped["extra"][7] == by_kind["missing"][7]);  // still expected
  REQUIRE(flipped.count("enforcement_mode") == 1);
  CHECK(flipped["enforcement_mode"][4] == "more_restrictive");
  CHECK(flipped["enforcement_mode"][3] == "warning");
  CHECK_THAT(flipped["enforcement_mode"][5], Catch::Contains("mode monitor on source"));
  CHECK(db.scalar("SELECT count(*) FROM drift_events WHERE event = 'flipped'") == "2");

  auto metrics = live.daemon.scrape();
  CHECK_THAT(metrics, Catch::Contains(
                          "flowdrift_pair_info{pair=\"prod\",replica=\"primary\",source=\"dr\"} 1"));
  CHECK_THAT(metrics, Catch::Contains("flowdrift_pair_failed_over{pair=\"prod\"} 1"));
  CHECK_THAT(metrics, Catch::Contains("flowdrift_pair_last_flip_timestamp_seconds{pair=\"prod\"}"));

  // Several polls of each site later, still the same items: the mapping and the expectation
  // apply as declared, and the comparison agrees with what the flip wrote.
  const auto polls = db.scalar("SELECT max(id) FROM polls").value_or("0");
  REQUIRE(wait_until([&] {
    return std::stoll(db.scalar("SELECT max(id) FROM polls").value_or("0")) >= std::stoll(polls) + 6;
  }, 30s));
  CHECK(db.rows(kOpen) == after);
  CHECK(transitions_after(db, last_event).empty());

  // A plan --pair would now write to the site that serves: refused.
  auto plan = run_ctl(live.dir, {"plan", "--config", config, "--pair", "prod"});
  CHECK(plan.status == 2);
  CHECK_THAT(plan.out, Catch::Contains("is failed over"));

  // Failing over twice is refused, not a flip back.
  auto again = run_ctl(live.dir, {"failover", "--config", config, "--pair", "prod", "--reason", "x"});
  CHECK(again.status == 2);
  CHECK_THAT(again.out, Catch::Contains("already failed over"));

  // The direction survives a restart.
  live.daemon.stop();
  live.daemon.start();
  REQUIRE(wait_until([&] {
    return scrape_or_empty(live.daemon).find(
               "flowdrift_pair_info{pair=\"prod\",replica=\"primary\",source=\"dr\"} 1") !=
           std::string::npos;
  }, 20s));
  const auto restarted = db.scalar("SELECT max(id) FROM polls").value_or("0");
  REQUIRE(wait_until([&] {
    return std::stoll(db.scalar("SELECT max(id) FROM polls").value_or("0")) >= std::stoll(restarted) + 4;
  }, 30s));
  CHECK(db.rows(kOpen) == after);

  // Failback: exactly the items there were before the failover.
  auto back = run_ctl(live.dir, {"failback", "--config", config, "--pair", "prod", "--reason",
                                 "DC1 restored (INC-42)"});
  INFO(back.out);
  REQUIRE(back.status == 0);
  CHECK(db.rows(kOpen) == before);
  CHECK(transitions_after(db, last_event).empty());
  CHECK_THAT(live.daemon.scrape(),
             Catch::Contains(
                 "flowdrift_pair_info{pair=\"prod\",replica=\"dr\",source=\"primary\"} 1"));

  // Both flips are in the audit chain: a hand edit of one is named.
  live.daemon.stop();
  CHECK(run_ctl(live.dir, {"verify", "--db", live.daemon.db_path()}).status == 0);
  const std::string cmd = "sqlite3 -batch -bail '" + live.daemon.db_path() +
                          "' \"UPDATE pair_flips SET reason = 'planned test' WHERE id = 1\"";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto verify = run_ctl(live.dir, {"verify", "--db", live.daemon.db_path()});
  CHECK(verify.status == 1);
  CHECK_THAT(verify.out, Catch::Contains("pair_flips row 1: changed since"));
}

TEST_CASE("a failover asked for while flowdriftd is down is applied when it starts",
          "[integration][failover]") {
  LivePair live(4, 3);
  DbView db = live.start_in_sync();
  live.daemon.stop();
  auto flip = run_ctl(live.dir, {"failover", "--config", live.daemon.config_path(), "--pair",
                                 "prod", "--reason", "planned DR test", "--wait", "0", "-o", "json"});
  REQUIRE(flip.status == 0);
  const auto flip_doc = nlohmann::json::parse(flip.out.substr(flip.out.find('{')));
  CHECK(flip_doc.at("schema") == "flowdrift.flip/v1");
  CHECK(flip_doc.at("outcome") == "pending");
  CHECK(db.scalar("SELECT outcome FROM pair_flips") == "pending");
  // A second one is refused while the first waits.
  auto second = run_ctl(live.dir, {"failback", "--config", live.daemon.config_path(), "--pair",
                                   "prod", "--reason", "oops"});
  CHECK(second.status == 2);
  CHECK_THAT(second.out, Catch::Contains("still waiting for flowdriftd"));
  // No reason, no flip.
  auto silent = run_ctl(live.dir, {"failback", "--config", live.daemon.config_path(), "--pair",
                                   "prod", "--reason", " "});
  CHECK(silent.status == 2);

  live.daemon.start();
  REQUIRE(wait_until([&] { return db.scalar("SELECT outcome FROM pair_flips") == "applied"; }, 20s));
  CHECK(db.scalar("SELECT source_site FROM pairs WHERE name = 'prod'") == "dr");
  CHECK_THAT(live.daemon.log(), Catch::Contains("pair.flipped"));
  REQUIRE(wait_until([&] { return pair_status(db) == "IN_SYNC"; }, 20s));
  CHECK(db.scalar("SELECT count(*) FROM drift_items") == "0");
}
