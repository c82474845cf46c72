// flowdriftctl plan against live pcsim sites (issue #17, point 3): the demo's three DR changes
// give exactly three writes, each with the drift item it fixes; the offline form against a
// dump agrees; an incomplete target is refused; a baseline plans like a site.
#include <catch2/catch.hpp>

#include "live.hpp"

using namespace flowdrift::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::vector<json> enforced_rules(LiveSite& site) {
  auto list = site.api().json("POST", "/api/nutanix/v3/network_security_rules/list",
                              {{"kind", "network_security_rule"}, {"length", 500}});
  std::vector<json> out;
  for (const auto& e : list.at("entities")) {
    const auto& res = e.at("spec").at("resources");
    if (res.contains("app_rule") && res.at("app_rule").value("action", "") == "APPLY") out.push_back(e);
  }
  REQUIRE(out.size() >= 3);
  return out;
}

// The demo's three changes on the DR (scripts/demo.sh): one enforced policy deleted, one
// switched to MONITOR, one widened to TCP/8443 from anywhere. Returns their names.
std::vector<std::string> demo_changes(LiveSite& dr) {
  auto rules = enforced_rules(dr);
  const std::string deleted = rules[0]["spec"]["name"];
  auto r = dr.api().request("DELETE", "/api/nutanix/v3/network_security_rules/" +
                                          rules[0]["metadata"]["uuid"].get<std::string>());
  REQUIRE(r.status / 100 == 2);
  json monitor = rules[1]["spec"];
  monitor["resources"]["app_rule"]["action"] = "MONITOR";
  dr.put_spec(rules[1]["metadata"]["uuid"], monitor);
  json widen = rules[2]["spec"];
  widen["resources"]["app_rule"]["inbound_allow_list"].push_back(
      {{"peer_specification_type", "ALL"},
       {"protocol", "TCP"},
       {"tcp_port_range_list", {{{"start_port", 8443}, {"end_port", 8443}}}}});
  dr.put_spec(rules[2]["metadata"]["uuid"], widen);
  return {deleted, rules[1]["spec"]["name"], rules[2]["spec"]["name"]};
}

std::vector<std::string> steps(const json& plan) {
  std::vector<std::string> out;
  for (const auto& w : plan.at("writes")) {
    out.push_back(w.at("op").get<std::string>() + " " + w.at("kind").get<std::string>() + " " +
                  w.at("name").get<std::string>());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("flowdriftctl plan: the demo's three DR changes are three writes, live and offline",
          "[integration][plan][slow]") {
  LivePair live(30, 17);
  const auto& dir = live.dir;
  const std::string cfg = live.daemon.config_path();
  const auto changed = demo_changes(live.dr);

  auto planned = run_ctl(dir, {"plan", "--config", cfg, "--pair", "prod", "-o", dir.file("plan.json")});
  INFO(planned.out);
  REQUIRE(planned.status == 1);
  const json plan = json::parse(read_file(dir.file("plan.json")));
  CHECK(plan["schema"] == "flowdrift-plan");
  CHECK(plan["target"]["name"] == "dr");
  CHECK(plan["target"]["api"] == "v3");
  CHECK(steps(plan) == std::vector<std::string>{"create policy " + changed[0],
                                                "update policy " + changed[1],
                                                "update policy " + changed[2]});
  for (const auto& w : plan["writes"]) {
    INFO(w.dump());
    CHECK(w["reasons"].size() >= 1);
    CHECK(w["request"]["path"].get<std::string>().rfind("/api/nutanix/v3/network_security_rules", 0) == 0);
  }
  CHECK(planned.out.find("why: missing (critical) on policy \"" + changed[0] + "\"") != std::string::npos);
  CHECK(planned.out.find("why: enforcement_mode") != std::string::npos);

  // Offline, against dumps of both sites: the same writes.
  REQUIRE(run_ctl(dir, {"dump", "--config", cfg, "--site", "primary", "-o", dir.file("p.json")}).status == 0);
  REQUIRE(run_ctl(dir, {"dump", "--config", cfg, "--site", "dr", "-o", dir.file("d.json")}).status == 0);
  auto offline = run_ctl(dir, {"plan", dir.file("p.json"), "--to-file", dir.file("d.json"),
                               "--format", "json"});
  REQUIRE(offline.status == 1);
  CHECK(steps(json::parse(offline.out)) == steps(plan));

  // A baseline of the primary as the source, to the live DR: the same again.
  REQUIRE(run_ctl(dir, {"export", "--from", dir.file("p.json"), "-o", dir.file("base/")}).status == 0);
  auto from_baseline = run_ctl(dir, {"plan", dir.file("base"), "--to", "dr", "--config", cfg,
                                     "--format", "json"});
  REQUIRE(from_baseline.status == 1);
  CHECK(steps(json::parse(from_baseline.out)) == steps(plan));

  // Nothing to do between two equal sites.
  auto same = run_ctl(dir, {"plan", dir.file("p.json"), "--to", "primary", "--config", cfg});
  CHECK(same.status == 0);
  CHECK(same.out.find("Nothing to do") != std::string::npos);

  // The target must be a dump: a baseline has no identifiers to write to.
  auto not_dump = run_ctl(dir, {"plan", dir.file("p.json"), "--to-file", dir.file("base")});
  CHECK(not_dump.status == 2);

  // An incomplete target is refused, never planned as if it were empty.
  live.dr.add_fault("rules_list:status=503");
  auto refused = run_ctl(dir, {"plan", "--config", cfg, "--pair", "prod"});
  CHECK(refused.status == 2);
  CHECK(refused.out.find("site dr") != std::string::npos);
  CHECK(refused.out.find("create policy") == std::string::npos);
}
