// VM coverage end to end over v4 (docs/vm-coverage.md): pcsim's primary protects two VMs with a
// recovery plan (datapolicies v4.3, VMs by extId); flowdriftd reads them over vmm and
// datapolicies after its polls, and when the DR site loses the category one of them is secured
// by, the pair opens a gap. A failed read keeps the gap; the category back resolves it.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "live.hpp"

using namespace flowdrift::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The daemon's sites polled over v4, their VM coverage read after every complete poll.
void poll_over_v4_reading_vms(const std::string& config) {
  std::stringstream text;
  text << std::ifstream(config).rdbuf();
  std::string s = text.str();
  const std::string v3 = "api: v3", v4 = "api: v4\n    vm_coverage_interval: 0s";
  for (auto at = s.find(v3); at != std::string::npos; at = s.find(v3, at + v4.size())) {
    s.replace(at, v3.size(), v4);
  }
  std::ofstream(config) << s;
}

json secured_categories(const json& rule) {
  json out = json::object();
  for (const auto& [key, values] : rule["spec"]["resources"]["app_rule"]["target_group"]["filter"]["params"].items()) {
    out[key] = values.at(0);
  }
  return out;
}

std::string gap_sql() {
  return "SELECT vm || ' ' || kind || ' ' || protected_by FROM coverage_gaps WHERE resolved_ms IS NULL";
}

}  // namespace

TEST_CASE("over v4: a protected VM whose category the DR site lost is a gap that a failed read "
          "keeps and the category back resolves",
          "[integration][coverage][slow]") {
  LivePair live(12, 31);
  poll_over_v4_reading_vms(live.daemon.config_path());
  const auto rules = live.primary.enforced_app_rules();
  REQUIRE(rules.size() >= 2);
  const json web = secured_categories(rules[0]);
  json db_app;
  for (const auto& r : rules) {
    if (secured_categories(r)["AppType"] != web["AppType"]) db_app = secured_categories(r);
  }
  REQUIRE_FALSE(db_app.is_null());
  const json doc{{"vms", json::array({{{"name", "web-vm-01"}, {"categories", web}},
                                      {{"name", "db-vm-01"}, {"categories", db_app}},
                                      {{"name", "scratch"}, {"categories", web}}})},
                 {"recovery_plans", json::array({{{"name", "rp-web"}, {"vms", {"web-vm-01", "db-vm-01"}}}})}};
  REQUIRE(live.primary.api().request("PUT", "/_pcsim/coverage", doc.dump()).status == 200);
  DbView db = live.start_in_sync();
  REQUIRE(wait_until([&] {
    return db.scalar("SELECT state || ' ' || api || ' ' || vms FROM coverage_reads WHERE site = 'primary'") ==
           "complete vmm v4.3, datapolicies v4.3 3";
  }, 20s));
  CHECK(db.scalar("SELECT i.vms FROM coverage_inputs i JOIN coverage_reads r ON r.input_sha256 = i.sha256 "
                  "WHERE r.site = 'primary'") == "2");  // scratch is not kept
  CHECK(db.scalar("SELECT count(*) FROM coverage_gaps") == "0");

  // The DR site loses web's application category (removed out of band: policies still use it).
  const std::string app = web.at("AppType");
  live.dr.api().json("POST", "/_pcsim/force_delete", {{"kind", "category"}, {"key", "AppType"}, {"value", app}});
  REQUIRE(wait_until([&] { return db.scalar(gap_sql()) == "web-vm-01 unprotected recovery_plan rp-web"; }, 30s));
  CHECK(db.scalar("SELECT facts FROM coverage_gaps")->find("\"missing_categories\":[\"AppType:" + app + "\"]") !=
        std::string::npos);
  REQUIRE(wait_until([&] {
    return live.daemon.scrape().find("flowdrift_vm_coverage_gaps{kind=\"unprotected\",pair=\"prod\"} 1") !=
           std::string::npos;
  }, 10s));
  SyncClient web_api(live.daemon.port(), "", false);
  const auto pairs = json::parse(web_api.request("GET", "/api/v1/pairs", "", false).body);
  CHECK(pairs.at("pairs")[0].at("vm_coverage_gaps")[0].at("vm") == "web-vm-01");

  // A failed read (the VM list answers 503) is no empty inventory: the gap stays.
  live.primary.add_fault("v4_vms:status=503");
  REQUIRE(wait_until([&] {
    return db.scalar("SELECT state FROM coverage_reads WHERE site = 'primary'") == "failed";
  }, 20s));
  CHECK(db.scalar(gap_sql()) == "web-vm-01 unprotected recovery_plan rp-web");
  CHECK(wait_until([&] {
    return live.daemon.scrape().find("flowdrift_vm_coverage_up{site=\"primary\"} 0") != std::string::npos;
  }, 10s));
  CHECK(db.scalar("SELECT count(*) FROM polls p JOIN sites s ON s.id = p.site_id WHERE s.name = 'primary' "
                  "AND p.outcome = 'failed'") == "0");
  live.primary.clear_faults();

  // The category back on the DR site: the gap resolves.
  auto put = live.dr.api().request("PUT", "/api/nutanix/v3/categories/AppType/" + app,
                                   json{{"value", app}}.dump());
  REQUIRE(put.status == 201);
  REQUIRE(wait_until([&] { return db.scalar(gap_sql()) == std::nullopt; }, 30s));
  CHECK(db.scalar("SELECT count(*) FROM coverage_gaps") == "1");
  CHECK(db.scalar("SELECT state FROM coverage_reads WHERE site = 'primary'") == "complete");
  live.daemon.stop();
}
