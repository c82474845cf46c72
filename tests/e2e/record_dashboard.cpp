// Records what config/grafana/flowdrift.json shows for a real run: the e2e rig with several kinds
// of drift made through the DR site's API and a DR outage, then every panel query answered by
// Prometheus, saved by scripts/render_dashboard.py. Hidden (not run by CTest); run it by hand
// to refresh docs/dashboard-recording.json, then render docs/dashboard.png from it:
//
//   FLOWDRIFT_DASHBOARD_RECORD=$PWD/docs/dashboard-recording.json build/tests/e2e/e2e_tests '[.record]'
//   python3 scripts/render_dashboard.py render docs/dashboard-recording.json -o docs/dashboard.png
#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>

#include "rig.hpp"

using namespace flowdrift::test;
using namespace flowdrift::test::e2e;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Waits until Prometheus has at least one open item of `kind` and `severity` for pair prod.
void wait_for_drift(AlertRig& rig, const std::string& kind, const std::string& severity) {
  INFO(kind << " " << severity);
  REQUIRE(wait_until(
      [&] {
        return !rig.query("flowdrift_drift_items{pair=\"prod\",kind=\"" + kind +
                          "\",severity=\"" + severity + "\"} > 0")
                    .empty();
      },
      60s));
}

json enforced_rules(LiveSite& site) {
  auto list = site.api().json("POST", "/api/nutanix/v3/network_security_rules/list",
                              {{"kind", "network_security_rule"}, {"length", 500}});
  json out = json::array();
  for (const auto& e : list.at("entities")) {
    const auto& res = e.at("spec").at("resources");
    if (res.contains("app_rule") && res.at("app_rule").value("action", "") == "APPLY") {
      out.push_back(e);
    }
  }
  REQUIRE(out.size() >= 5);
  return out;
}

}  // namespace

TEST_CASE("record the dashboard's panels for a run with drift and a DR outage", "[.record]") {
  const char* out = std::getenv("FLOWDRIFT_DASHBOARD_RECORD");
  if (out == nullptr || *out == '\0') FAIL("set FLOWDRIFT_DASHBOARD_RECORD to the output file");
  AlertRig rig;
  const auto start = std::time(nullptr) - 5;
  std::this_thread::sleep_for(10s);  // some in-sync history first

  auto rules = enforced_rules(rig.dr());
  auto uuid = [&](int i) { return rules[i].at("metadata").at("uuid").get<std::string>(); };
  // missing, critical
  REQUIRE(rig.dr().api().request("DELETE", "/api/nutanix/v3/network_security_rules/" + uuid(0))
              .status == 202);
  wait_for_drift(rig, "missing", "critical");
  std::this_thread::sleep_for(8s);
  // enforcement_mode, critical
  const json original_mode = rules[1].at("spec");
  json monitor = original_mode;
  monitor["resources"]["app_rule"]["action"] = "MONITOR";
  rig.dr().put_spec(uuid(1), monitor);
  wait_for_drift(rig, "enforcement_mode", "critical");
  std::this_thread::sleep_for(8s);
  // modified: TCP/8443 from anywhere added on the replica (more permissive: critical), the
  // inbound list cut to its first entry (more restrictive: warning), a description edited
  // (cosmetic: info)
  json wider = rules[2].at("spec");
  wider["resources"]["app_rule"]["inbound_allow_list"].push_back(
      {{"peer_specification_type", "ALL"},
       {"protocol", "TCP"},
       {"tcp_port_range_list", {{{"start_port", 8443}, {"end_port", 8443}}}}});
  rig.dr().put_spec(uuid(2), wider);
  wait_for_drift(rig, "modified", "critical");
  json narrower = rules[3].at("spec");
  auto& inbound = narrower["resources"]["app_rule"]["inbound_allow_list"];
  REQUIRE(inbound.size() >= 2);
  inbound = json::array({inbound.at(0)});
  rig.dr().put_spec(uuid(3), narrower);
  json described = rules[4].at("spec");
  described["description"] = "edited on the DR site";
  rig.dr().put_spec(uuid(4), described);
  std::this_thread::sleep_for(5s);
  INFO(rig.daemon().log());
  wait_for_drift(rig, "modified", "warning");
  wait_for_drift(rig, "modified", "info");
  std::this_thread::sleep_for(10s);
  // A DR outage of about 20 s: site down, pair UNKNOWN, items frozen.
  rig.dr().add_fault("*:drop");
  REQUIRE(wait_until([&] { return !rig.query("flowdrift_site_up{site=\"dr\"} == 0").empty(); }, 60s));
  std::this_thread::sleep_for(20s);
  rig.dr().clear_faults();
  REQUIRE(wait_until([&] { return !rig.query("flowdrift_site_up{site=\"dr\"} == 1").empty(); }, 60s));
  std::this_thread::sleep_for(8s);
  // The MONITOR switch is reverted: that item resolves.
  rig.dr().put_spec(uuid(1), original_mode);
  REQUIRE(wait_until(
      [&] {
        return rig.query("flowdrift_drift_items{pair=\"prod\",kind=\"enforcement_mode\",severity=\"critical\"} > 0")
            .empty();
      },
      60s));
  std::this_thread::sleep_for(10s);

  Process rec({"/usr/bin/python3", std::string(FLOWDRIFT_SOURCE_DIR) + "/scripts/render_dashboard.py",
               "record", "--prometheus", "http://127.0.0.1:" + std::to_string(rig.prometheus_port()),
               "--start", std::to_string(start), "--out", out},
              rig.dir() + "/record.log");
  auto rc = rec.wait(120s);
  INFO(read_file(rig.dir() + "/record.log"));
  REQUIRE(rc == std::optional<int>(0));
  CHECK_THAT(read_file(out), Catch::Contains("flowdrift_policy_drift"));
}
