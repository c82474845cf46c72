// Nutanix's own sync status, cross-checked end to end: pcsim's primary reports its security
// policies' entity sync (datapolicies v4.3), flowdriftd polls both sites over v4, and where
// Nutanix and flowdrift disagree the disagreement is stored, exported and shown by
// flowdriftctl status. A failed read of the list fails nothing else and changes no finding.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "live.hpp"

using namespace flowdrift::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The daemon's sites polled over v4 (LiveDaemon writes api: v3).
void poll_over_v4(const std::string& config) {
  std::stringstream text;
  text << std::ifstream(config).rdbuf();
  std::string s = text.str();
  for (auto at = s.find("api: v3"); at != std::string::npos; at = s.find("api: v3", at)) {
    s.replace(at, 7, "api: v4");
  }
  std::ofstream(config) << s;
}

// Two policy names of the site, the enforced one first.
std::pair<std::string, std::string> two_policies(LiveSite& site) {
  const std::string enforced = site.enforced_app_rule().at("spec").at("name");
  auto list = site.api().json("POST", "/api/nutanix/v3/network_security_rules/list",
                              json{{"kind", "network_security_rule"}, {"length", 500}});
  for (const auto& e : list.at("entities")) {
    const std::string name = e.at("spec").at("name");
    if (name != enforced) return {enforced, name};
  }
  FAIL("the site has a single policy");
  return {};
}

void set_entity_sync(LiveSite& site, const json& entries) {
  auto r = site.api().request("PUT", "/_pcsim/entity_sync", entries.dump());
  REQUIRE(r.status == 200);
}

json synced(const std::string& name, const std::string& status) {
  return {{"entityType", "SECURITY_POLICY"}, {"entityName", name}, {"status", status}};
}

std::string disagreement_sql(const std::string& entity) {
  return "SELECT nutanix, flowdrift FROM sync_disagreements WHERE pair = 'prod' AND "
         "entity_name = '" + entity + "' AND resolved_ms IS NULL";
}

}  // namespace

TEST_CASE("pcsim says IN_SYNC while the replica drifted: flowdrift shows the disagreement",
          "[integration][entity_sync][slow]") {
  LivePair live(12, 31);
  poll_over_v4(live.daemon.config_path());
  const auto [drifting, steady] = two_policies(live.primary);
  // Nutanix claims the first in sync (true for now) and the second out of sync (false).
  set_entity_sync(live.primary, json::array({synced(drifting, "IN_SYNC"), synced(steady, "OUT_OF_SYNC")}));
  DbView db = live.start_in_sync();

  // The false OUT_OF_SYNC is a disagreement at once: flowdrift finds the policy equal.
  REQUIRE(wait_until([&] { return !db.rows(disagreement_sql(steady)).empty(); }, 20s));
  CHECK(db.rows(disagreement_sql(steady))[0] == std::vector<std::string>{"OUT_OF_SYNC", "equal"});
  CHECK(db.rows(disagreement_sql(drifting)).empty());
  CHECK(db.scalar("SELECT state || ' ' || version FROM entity_sync_reads WHERE site = 'primary'") ==
        "complete v4.3");

  // The replica drifts; Nutanix still says IN_SYNC.
  live.dr.monitor_enforced_rule();
  REQUIRE(wait_until([&] {
    auto rows = db.rows(disagreement_sql(drifting));
    return !rows.empty() && rows[0][1] == "drifted";
  }, 30s));
  CHECK(db.rows(disagreement_sql(drifting))[0][0] == "IN_SYNC");
  CHECK(pair_status(db) == "DRIFTED");
  REQUIRE(wait_until([&] {
    return live.daemon.scrape().find(
               "flowdrift_entity_sync_disagreements{kind=\"nutanix_in_sync_flowdrift_differs\","
               "pair=\"prod\"} 1") != std::string::npos;
  }, 10s));
  const auto scrape = live.daemon.scrape();
  CHECK_THAT(scrape, Catch::Contains("flowdrift_entity_sync_disagreements{kind=\"nutanix_out_of_sync_flowdrift_equal\",pair=\"prod\"} 1"));
  CHECK_THAT(scrape, Catch::Contains("flowdrift_nutanix_entity_sync_up{site=\"primary\"} 1"));
  CHECK_THAT(scrape, Catch::Contains("flowdrift_nutanix_entity_sync_entities{entity_type=\"SECURITY_POLICY\",site=\"primary\",status=\"IN_SYNC\"} 1"));
  CHECK_THAT(scrape, Catch::Contains("flowdrift_nutanix_entity_sync_entities{entity_type=\"SECURITY_POLICY\",site=\"dr\",status=\"IN_SYNC\"} 0"));
  CHECK(wait_until([&] {
    return live.daemon.log().find("entity_sync.disagreement pair=prod entity_type=SECURITY_POLICY entity=" +
                                  drifting) != std::string::npos;
  }, 10s));

  // flowdriftctl status shows both, text and JSON.
  auto status = run_ctl(live.dir, {"status", "--db", live.daemon.db_path()});
  CHECK(status.status == 0);
  CHECK_THAT(status.out, Catch::Contains("Nutanix entity sync disagrees with flowdrift"));
  CHECK_THAT(status.out, Catch::Contains(drifting) && Catch::Contains("drifted"));
  CHECK_THAT(status.out, Catch::Contains("v4.3 2 entities"));
  auto as_json = run_ctl(live.dir, {"status", "--db", live.daemon.db_path(), "--format", "json"});
  const auto doc = json::parse(as_json.out.substr(as_json.out.find('{')));
  std::set<std::string> kinds;
  for (const auto& d : doc.at("sync_disagreements")) kinds.insert(d.at("kind").get<std::string>());
  CHECK(kinds == std::set<std::string>{"nutanix_in_sync_flowdrift_differs",
                                       "nutanix_out_of_sync_flowdrift_equal"});

  // The JSON API says the same.
  SyncClient web(live.daemon.port(), "", false);
  const auto pairs = json::parse(web.request("GET", "/api/v1/pairs", "", false).body);
  CHECK(pairs.at("pairs")[0].at("sync_disagreements").size() == 2);
  const auto sites = json::parse(web.request("GET", "/api/v1/sites", "", false).body);
  for (const auto& site : sites.at("sites")) {
    CHECK(site.at("entity_sync").at("state") == "complete");
    CHECK(site.at("entity_sync").at("entities") == (site.at("name") == "primary" ? 2 : 0));
  }

  // flowdriftctl explain says what Nutanix claims of the policy, and that flowdrift disagrees.
  auto explained = run_ctl(live.dir, {"explain", "prod", drifting, "--config", live.daemon.config_path()});
  CHECK_THAT(explained.out, Catch::Contains("Nutanix entity sync of the source: datapolicies v4.3"));
  CHECK_THAT(explained.out, Catch::Contains("DISAGREES since") &&
                                Catch::Contains("Nutanix says IN_SYNC, flowdrift finds it drifted"));
  auto explained_json = run_ctl(live.dir, {"explain", "prod", steady, "--config",
                                           live.daemon.config_path(), "--format", "json"});
  const auto ex = json::parse(explained_json.out.substr(explained_json.out.find('{')));
  CHECK(ex.at("nutanix_entity_sync").at("entries")[0].at("status") == "OUT_OF_SYNC");
  CHECK(ex.at("nutanix_entity_sync").at("disagreement").at("flowdrift") == "equal");

  // A failed read of the list changes no finding and fails no poll.
  live.primary.add_fault("v4_entity_sync_policies:status=503");
  REQUIRE(wait_until([&] {
    return db.scalar("SELECT state FROM entity_sync_reads WHERE site = 'primary'") == "failed";
  }, 20s));
  CHECK(db.rows(disagreement_sql(drifting)).size() == 1);
  CHECK(pair_status(db) == "DRIFTED");
  CHECK(wait_until([&] {
    return live.daemon.scrape().find("flowdrift_nutanix_entity_sync_up{site=\"primary\"} 0") !=
           std::string::npos;
  }, 10s));
  live.primary.clear_faults();

  // Nutanix catches up (OUT_OF_SYNC for the drifted one, IN_SYNC for the equal one): both
  // disagreements resolve, though neither site's policies changed.
  set_entity_sync(live.primary, json::array({synced(drifting, "OUT_OF_SYNC"), synced(steady, "IN_SYNC")}));
  REQUIRE(wait_until([&] {
    return db.scalar("SELECT count(*) FROM sync_disagreements WHERE resolved_ms IS NULL") == "0";
  }, 20s));
  CHECK(db.scalar("SELECT count(*) FROM sync_disagreements") == "2");
  CHECK(pair_status(db) == "DRIFTED");
  CHECK(wait_until([&] {
    return live.daemon.log().find("entity_sync.agreed pair=prod") != std::string::npos;
  }, 10s));
  live.daemon.stop();
}
