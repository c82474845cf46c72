// flowdriftctl readiness on the demo's three DR changes (a policy deleted, one switched to
// MONITOR, one widened to TCP/8443 from anywhere): each is a not-ready reason with what
// failing over would do to its application, in JSON, Markdown and HTML, with the compliance
// sections; once the DR site is put right the pair is ready again.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "live.hpp"

using namespace flowdrift::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string read(const std::string& path) {
  std::stringstream s;
  s << std::ifstream(path).rdbuf();
  return s.str();
}

// The categories a v3 rule secures, {key: value} (one value per key in generated sites).
json secured_categories(const json& rule) {
  json out = json::object();
  for (const auto& [key, values] : rule["spec"]["resources"]["app_rule"]["target_group"]["filter"]["params"].items()) {
    REQUIRE(values.size() == 1);
    out[key] = values[0];
  }
  return out;
}

json with(json categories, const std::string& key, const std::string& value) {
  categories[key] = value;
  return categories;
}

// The primary's VMs: web-vm-01 and db-vm-01 are protected (Protection:Gold) and secured by
// `lost` and `kept` respectively; scratch-vm carries `lost` but nothing protects it.
void set_vms(LiveSite& primary, const json& lost, const json& kept) {
  const json doc{
      {"vms", json::array({{{"name", "web-vm-01"}, {"categories", with(lost, "Protection", "Gold")}},
                           {{"name", "db-vm-01"}, {"categories", with(kept, "Protection", "Gold")}},
                           {{"name", "scratch-vm"}, {"categories", lost}}})},
      {"protection_rules", json::array({{{"name", "gold"},
                                         {"categories", {{"Protection", json::array({"Gold"})}}}}})}};
  auto r = primary.api().request("PUT", "/_pcsim/coverage", doc.dump());
  REQUIRE(r.status == 200);
}

}  // namespace

TEST_CASE("readiness lists the demo's three DR changes as not-ready reasons, in every form",
          "[integration][readiness]") {
  LivePair live(30, 21);
  auto rules = live.dr.enforced_app_rules();
  REQUIRE(rules.size() >= 5);
  // The VMs' applications are none of the three changed policies' (rules[0..2]), so removing
  // web-vm-01's AppType on the DR site below changes none of those three items.
  std::set<std::string> taken;
  for (int i = 0; i < 3; ++i) taken.insert(secured_categories(rules[i])["AppType"].get<std::string>());
  json lost, kept;
  std::string lost_policy;  // the policy securing web-vm-01
  for (std::size_t i = 3; i < rules.size() && kept.is_null(); ++i) {
    const auto c = secured_categories(rules[i]);
    if (!taken.insert(c["AppType"].get<std::string>()).second) continue;
    if (lost.is_null()) lost_policy = rules[i]["spec"]["name"];
    (lost.is_null() ? lost : kept) = c;
  }
  REQUIRE_FALSE(kept.is_null());
  set_vms(live.primary, lost, kept);
  DbView db = live.start_in_sync();
  const std::string config = live.daemon.config_path();
  auto ready = run_ctl(live.dir, {"readiness", "--config", config, "--pair", "prod", "--format", "json"});
  INFO(ready.out);
  REQUIRE(ready.status == 0);

  CHECK(db.scalar("SELECT state || ' ' || api || ' ' || vms FROM coverage_reads WHERE site = 'primary'") ==
        "complete v3 3");
  CHECK(db.scalar("SELECT count(*) FROM coverage_gaps") == "0");
  // 1. deleted
  const std::string deleted = rules[0]["spec"]["name"];
  auto gone = live.dr.api().request(
      "DELETE", "/api/nutanix/v3/network_security_rules/" + rules[0]["metadata"]["uuid"].get<std::string>());
  REQUIRE(gone.status == 202);
  // 2. switched to MONITOR
  const std::string monitored = rules[1]["spec"]["name"];
  auto spec = rules[1]["spec"];
  spec["resources"]["app_rule"]["action"] = "MONITOR";
  live.dr.put_spec(rules[1]["metadata"]["uuid"], spec);
  // 3. widened: TCP/8443 from anywhere
  const std::string widened = rules[2]["spec"]["name"];
  spec = rules[2]["spec"];
  spec["resources"]["app_rule"]["inbound_allow_list"].push_back(
      {{"peer_specification_type", "ALL"},
       {"protocol", "TCP"},
       {"tcp_port_range_list", json::array({{{"start_port", 8443}, {"end_port", 8443}}})}});
  live.dr.put_spec(rules[2]["metadata"]["uuid"], spec);
  REQUIRE(wait_until([&] {
    return db.scalar("SELECT count(*) FROM drift_items WHERE resolved_ms IS NULL AND "
                     "raised_ms IS NOT NULL") == "3";
  }, 40s));

  auto j = run_ctl(live.dir, {"readiness", "--config", config, "--pair", "prod", "--format", "json"});
  REQUIRE(j.status == 1);
  const auto report = json::parse(j.out.substr(j.out.find('{')));
  CHECK(report["schema"] == "flowdrift-readiness");
  CHECK(report["ready"] == false);
  std::set<std::pair<std::string, std::string>> reasons;
  for (const auto& r : report["reasons"]) {
    reasons.emplace(r["policy"].get<std::string>(), r["kind"].get<std::string>());
  }
  CHECK(reasons == std::set<std::pair<std::string, std::string>>{
                       {deleted, "missing"}, {monitored, "enforcement_mode"}, {widened, "modified"}});
  // Per application: what the DR would newly allow, with the example flow for the widened one.
  std::string allows;
  for (const auto& a : report["applications"]) {
    CHECK_FALSE(a["application"].get<std::string>().empty());
    for (const auto& w : a["would_allow"]) allows += w["policy"].get<std::string>() + ": " + w["example"].get<std::string>() + "\n";
  }
  CHECK_THAT(allows, Catch::Contains(widened + ": inbound TCP/8443"));
  CHECK_THAT(allows, Catch::Contains(deleted + ": no such policy on dr"));
  CHECK_THAT(allows, Catch::Contains(monitored + ": mode enforce on source, monitor on replica"));
  bool monitor_listed = false;
  for (const auto& m : report["monitor_on_replica"]) monitor_listed |= m["policy"] == monitored;
  CHECK(monitor_listed);
  CHECK(report["audit"]["intact"] == true);
  CHECK(report["open_items"].size() == 3);
  CHECK(report["history"].size() >= 6);  // opened and raised, each
  REQUIRE(report["status_history"].size() >= 2);
  CHECK(report["status_history"][0]["status"] == "DRIFTED");
  CHECK(report["status_history"][0]["was"] == "IN_SYNC");

  const std::string md = live.dir.file("readiness.md");
  CHECK(run_ctl(live.dir, {"readiness", "--config", config, "--pair", "prod", "--out", md}).status == 1);
  const auto text = read(md);
  CHECK_THAT(text, Catch::Contains("# Failover readiness: pair prod") &&
                       Catch::Contains("NOT READY (3 reasons)") && Catch::Contains(deleted) &&
                       Catch::Contains(monitored) && Catch::Contains(widened) &&
                       Catch::Contains("**Audit trail:** intact") &&
                       Catch::Contains("## Expected differences") &&
                       Catch::Contains("## Pair status history") &&
                       Catch::Contains("## Failovers and failbacks") &&
                       Catch::Contains("**Generated:** 20"));

  const std::string html = live.dir.file("readiness.html");
  CHECK(run_ctl(live.dir, {"readiness", "--config", config, "--pair", "prod", "--format", "html",
                           "--out", html}).status == 1);
  const auto page = read(html);
  CHECK_THAT(page, Catch::StartsWith("<!DOCTYPE html>") && Catch::Contains("NOT READY") &&
                       Catch::Contains("<td>" + widened + "</td>") && Catch::EndsWith("</html>\n"));
  // Well formed: every element closed, in order.
  CHECK(std::system(("python3 " FLOWDRIFT_SOURCE_DIR "/scripts/check_html.py '" + html + "'").c_str()) == 0);

  // 4. The category that secures web-vm-01 is removed on the DR site: recovered there, no DR
  // policy would select it. The daemon opens a coverage gap; readiness lists it with the others.
  const std::string key = "AppType", value = lost.at("AppType");
  auto removed = live.dr.api().json("POST", "/_pcsim/force_delete",
                                    {{"kind", "category"}, {"key", key}, {"value", value}});
  CHECK_FALSE(removed.at("referenced_by").empty());
  REQUIRE(wait_until([&] {
    return db.scalar("SELECT count(*) FROM coverage_gaps WHERE resolved_ms IS NULL") == "1";
  }, 40s));
  CHECK(db.scalar("SELECT vm || ' ' || kind || ' ' || protected_by FROM coverage_gaps") ==
        "web-vm-01 unprotected protection_policy gold");
  CHECK(wait_until([&] {
    return live.daemon.scrape().find("flowdrift_vm_coverage_gaps{kind=\"unprotected\",pair=\"prod\"} 1") !=
           std::string::npos;
  }, 10s));
  const auto scrape = live.daemon.scrape();
  CHECK_THAT(scrape, Catch::Contains("flowdrift_vm_coverage_up{site=\"primary\"} 1"));
  CHECK_THAT(scrape, Catch::Contains("flowdrift_vm_coverage_protected_vms{site=\"primary\"} 2"));
  CHECK_THAT(live.daemon.log(), Catch::Contains("coverage.gap pair=prod vm=web-vm-01"));
  auto status = run_ctl(live.dir, {"status", "--db", live.daemon.db_path()});
  CHECK_THAT(status.out, Catch::Contains("v3 2/3 VMs protected") &&
                             Catch::Contains("Protected VMs the replica would not secure alike") &&
                             Catch::Contains("web-vm-01"));

  j = run_ctl(live.dir, {"readiness", "--config", config, "--pair", "prod", "--format", "json"});
  REQUIRE(j.status == 1);
  const auto after = json::parse(j.out.substr(j.out.find('{')));
  CHECK(after["vms"]["assessed"] == true);
  REQUIRE(after["vms"]["gaps"].size() == 1);
  const auto& gap = after["vms"]["gaps"][0];
  CHECK(gap["vm"] == "web-vm-01");
  CHECK(gap["missing_categories"] == json::array({key + ":" + value}));
  CHECK(gap["selected_now"] == json::array({lost_policy}));
  reasons.clear();
  for (const auto& r : after["reasons"]) {
    reasons.emplace(r["policy"].get<std::string>(), r["kind"].get<std::string>());
  }
  CHECK(reasons.count({deleted, "missing"}) == 1);
  CHECK(reasons.count({monitored, "enforcement_mode"}) == 1);
  CHECK(reasons.count({widened, "modified"}) == 1);
  CHECK(reasons.count({lost_policy, "vm_unprotected"}) == 1);
  CHECK(run_ctl(live.dir, {"readiness", "--config", config, "--pair", "prod", "--out", md}).status == 1);
  CHECK_THAT(read(md), Catch::Contains("## VMs that would land unprotected or protected differently on dr") &&
                           Catch::Contains("| web-vm-01 | unprotected | protection_policy gold |"));

  // An unknown pair is an error, not a verdict.
  CHECK(run_ctl(live.dir, {"readiness", "--config", config, "--pair", "nope"}).status == 2);
}
