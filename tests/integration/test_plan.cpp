// flowdriftctl plan against live pcsim sites (issue #17, point 3): the demo's three DR changes
// give exactly three writes, each with the drift item it fixes; the offline form against a
// dump agrees; an incomplete target is refused; a baseline plans like a site.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <tuple>

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

// `site` of the configuration gets a write credential (the same account here: pcsim's read and
// write split is tested on its own).
void make_writable(const std::string& cfg, const std::string& site) {
  auto text = read_file(cfg);
  const std::string anchor = "  - name: " + site + "\n";
  REQUIRE(text.find(anchor) != std::string::npos);
  text.insert(text.find(anchor) + anchor.size(),
              "    write_username: admin\n    write_password_file: pc-password\n");
  write_file(cfg, text);
}

void make_dr_writable(LivePair& live) { make_writable(live.daemon.config_path(), "dr"); }

long long scalar(DbView& db, const std::string& sql) {
  return std::stoll(db.scalar(sql).value_or("-1"));
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

  auto planned = run_ctl(dir, {"plan", "--config", cfg, "--pair", "prod", "--out", dir.file("plan.json")});
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
  REQUIRE(run_ctl(dir, {"dump", "--config", cfg, "--site", "primary", "--out", dir.file("p.json")}).status == 0);
  REQUIRE(run_ctl(dir, {"dump", "--config", cfg, "--site", "dr", "--out", dir.file("d.json")}).status == 0);
  auto offline = run_ctl(dir, {"plan", dir.file("p.json"), "--to-file", dir.file("d.json"),
                               "--format", "json"});
  REQUIRE(offline.status == 1);
  CHECK(steps(json::parse(offline.out)) == steps(plan));

  // A baseline of the primary as the source, to the live DR: the same again.
  REQUIRE(run_ctl(dir, {"export", "--from", dir.file("p.json"), "--out", dir.file("base/")}).status == 0);
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

TEST_CASE("flowdriftctl apply: the demo's three writes, the pair back IN_SYNC, audited",
          "[integration][plan][apply][slow]") {
  LivePair live(30, 23);
  make_dr_writable(live);
  DbView db = live.start_in_sync();
  const auto& dir = live.dir;
  const std::string cfg = live.daemon.config_path();
  const std::string plan_file = dir.file("plan.json");
  demo_changes(live.dr);
  REQUIRE(wait_until([&] { return scalar(db, "SELECT count(*) FROM drift_items WHERE resolved_ms IS NULL") == 3; }, 30s));
  REQUIRE(run_ctl(dir, {"plan", "--config", cfg, "--pair", "prod", "--out", plan_file}).status == 1);

  // Refused without the confirmation, and nothing is written.
  auto unconfirmed = run_ctl(dir, {"apply", plan_file, "--config", cfg});
  CHECK(unconfirmed.status == 2);
  CHECK(unconfirmed.out.find("pass --yes") != std::string::npos);

  auto applied = run_ctl(dir, {"apply", plan_file, "--config", cfg, "--yes"});
  INFO(applied.out);
  REQUIRE(applied.status == 0);
  CHECK(applied.out.find("3 of 3 write(s) made") != std::string::npos);
  CHECK(applied.out.find("Pair prod: IN_SYNC, 0 drift item(s); a new plan has 0 write(s)") != std::string::npos);

  // The daemon sees it: IN_SYNC, the three items resolved.
  REQUIRE(wait_until([&] {
    return pair_status(db) == "IN_SYNC" &&
           scalar(db, "SELECT count(*) FROM drift_items WHERE resolved_ms IS NOT NULL") == 3;
  }, 30s));
  CHECK(scalar(db, "SELECT count(*) FROM drift_items WHERE resolved_ms IS NULL") == 0);

  // The audit trail: one apply, complete, with its three requests and answers.
  CHECK(db.scalar("SELECT outcome || ' ' || writes_done || '/' || writes_planned FROM applies") ==
        std::optional<std::string>("complete 3/3"));
  CHECK(scalar(db, "SELECT count(*) FROM apply_requests WHERE status BETWEEN 200 AND 299") == 3);
  auto history = run_ctl(dir, {"history", "--applies", "--config", cfg});
  CHECK(history.status == 0);
  CHECK(history.out.find("complete") != std::string::npos);
  CHECK(history.out.find("3/3") != std::string::npos);

  // A second apply of the same plan does nothing: the target is not what it was planned on.
  auto again = run_ctl(dir, {"apply", plan_file, "--config", cfg, "--yes"});
  CHECK(again.status == 2);
  CHECK(again.out.find("changed since the plan") != std::string::npos);
  CHECK(scalar(db, "SELECT count(*) FROM apply_requests") == 3);
  CHECK(db.scalar("SELECT outcome FROM applies ORDER BY id DESC LIMIT 1") == std::optional<std::string>("refused"));
  // And a new plan is empty.
  CHECK(run_ctl(dir, {"plan", "--config", cfg, "--pair", "prod"}).status == 0);
}

TEST_CASE("flowdriftctl apply: refused after a change on the target, stops at a failed write",
          "[integration][plan][apply][slow]") {
  LivePair live(30, 29);
  make_dr_writable(live);
  const auto& dir = live.dir;
  const std::string cfg = live.daemon.config_path();
  const std::string plan_file = dir.file("plan.json");
  demo_changes(live.dr);
  REQUIRE(run_ctl(dir, {"plan", "--config", cfg, "--pair", "prod", "--out", plan_file}).status == 1);

  SECTION("a change between plan and apply: refused, nothing written") {
    live.dr.monitor_enforced_rule();
    auto refused = run_ctl(dir, {"apply", plan_file, "--config", cfg, "--yes"});
    CHECK(refused.status == 2);
    CHECK(refused.out.find("dr changed since the plan") != std::string::npos);
    DbView db(live.daemon.db_path());
    CHECK(scalar(db, "SELECT count(*) FROM apply_requests") == 0);
    CHECK(db.scalar("SELECT outcome FROM applies") == std::optional<std::string>("refused"));
  }
  SECTION("the second of three writes fails: reported, and a new plan holds what is left") {
    live.dr.add_fault("writes:status=500,after=1,count=1");
    auto stopped = run_ctl(dir, {"apply", plan_file, "--config", cfg, "--yes"});
    INFO(stopped.out);
    CHECK(stopped.status == 1);
    CHECK(stopped.out.find("1 of 3 write(s) made") != std::string::npos);
    CHECK(stopped.out.find("2. ") != std::string::npos);
    CHECK(stopped.out.find("REFUSED") != std::string::npos);
    CHECK(stopped.out.find("3. ") != std::string::npos);
    CHECK(stopped.out.find("not done") != std::string::npos);
    const json first = json::parse(read_file(plan_file));
    auto replanned = run_ctl(dir, {"plan", "--config", cfg, "--pair", "prod", "--format", "json"});
    REQUIRE(replanned.status == 1);
    auto left = steps(json::parse(replanned.out));
    auto all = steps(first);
    CHECK(left.size() == 2);
    for (const auto& s : left) CHECK(std::find(all.begin(), all.end(), s) != all.end());
    DbView db(live.daemon.db_path());
    CHECK(db.scalar("SELECT outcome || ' ' || writes_done FROM applies") == std::optional<std::string>("stopped 1"));
    CHECK(scalar(db, "SELECT status FROM apply_requests WHERE step = 2") == 500);
  }
  SECTION("a site without a write credential is read-only") {
    auto text = read_file(cfg);
    const std::string creds = "    write_username: admin\n    write_password_file: pc-password\n";
    text.erase(text.find(creds), creds.size());
    write_file(cfg, text);
    auto refused = run_ctl(dir, {"apply", plan_file, "--config", cfg, "--yes"});
    CHECK(refused.status == 2);
    CHECK(refused.out.find("read-only") != std::string::npos);
  }
}

TEST_CASE("DR test import: a baseline planned and applied to an empty third site",
          "[integration][plan][apply][slow]") {
  LivePair live(25, 31);
  LiveSite drtest(live.dir, "drtest", 0, 99);
  const auto& dir = live.dir;
  const std::string cfg = live.daemon.config_path();
  auto text = read_file(cfg);
  text.insert(text.find("pairs:\n"),
              "  - name: drtest\n    url: https://127.0.0.1:" + std::to_string(drtest.port()) +
                  "\n    username: admin\n    password_file: pc-password\n    ca_file: " +
                  drtest.ca_file() +
                  "\n    api: v3\n    interval: 1s\n    jitter: 0\n    retries: 0\n"
                  "    write_username: admin\n    write_password_file: pc-password\n");
  write_file(cfg, text);

  // The pre-DR baseline, kept as files.
  REQUIRE(run_ctl(dir, {"export", "--config", cfg, "--site", "primary", "--out", dir.file("base/")}).status == 0);
  // Planned into the empty test site: category keys and values, groups, then policies.
  auto planned = run_ctl(dir, {"plan", dir.file("base"), "--to", "drtest", "--config", cfg,
                               "--out", dir.file("import.json")});
  INFO(planned.out);
  REQUIRE(planned.status == 1);
  const json plan = json::parse(read_file(dir.file("import.json")));
  CHECK(plan["summary"]["create"].get<int>() > 25);
  CHECK(plan["summary"]["delete"] == 0);
  auto applied = run_ctl(dir, {"apply", dir.file("import.json"), "--config", cfg, "--yes"});
  INFO(applied.out);
  REQUIRE(applied.status == 0);
  // The test site now holds the baseline: nothing left to plan, and a diff finds it in sync.
  CHECK(run_ctl(dir, {"plan", dir.file("base"), "--to", "drtest", "--config", cfg}).status == 0);
  REQUIRE(run_ctl(dir, {"dump", "--config", cfg, "--site", "drtest", "--out", dir.file("t.json")}).status == 0);
  auto diff = run_ctl(dir, {"diff", dir.file("base"), dir.file("t.json")});
  INFO(diff.out);
  CHECK(diff.status == 0);
}

TEST_CASE("plan and apply between unrelated generated sites leave the target equal to the source",
          "[integration][plan][apply][property][slow]") {
  // Each pair of seeds gives two unrelated sites: every kind of write at once (creates,
  // updates, deletes of policies; new groups and category values).
  for (auto [policies, seed_a, seed_b] : {std::tuple{20, 101, 202}, std::tuple{35, 303, 404},
                                          std::tuple{12, 505, 606}}) {
    INFO("seeds " << seed_a << " and " << seed_b);
    TempDir dir;
    LiveSite primary(dir, "primary", policies, seed_a);
    LiveSite dr(dir, "dr", policies + 5, seed_b);
    LiveDaemon daemon(dir, primary, dr);  // writes the configuration; not started
    make_writable(daemon.config_path(), "dr");
    const std::string cfg = daemon.config_path();
    auto planned = run_ctl(dir, {"plan", "--config", cfg, "--pair", "prod", "--out", dir.file("p.json")});
    INFO(planned.out);
    REQUIRE(planned.status == 1);
    const json plan = json::parse(read_file(dir.file("p.json")));
    CHECK(plan["summary"]["delete"].get<int>() > 0);
    auto applied = run_ctl(dir, {"apply", dir.file("p.json"), "--config", cfg, "--yes", "--allow-delete"});
    INFO(applied.out);
    REQUIRE(applied.status == 0);
    CHECK(applied.out.find("Pair prod: IN_SYNC") != std::string::npos);
    CHECK(run_ctl(dir, {"plan", "--config", cfg, "--pair", "prod"}).status == 0);
    REQUIRE(run_ctl(dir, {"dump", "--config", cfg, "--site", "primary", "--out", dir.file("a.json")}).status == 0);
    REQUIRE(run_ctl(dir, {"dump", "--config", cfg, "--site", "dr", "--out", dir.file("b.json")}).status == 0);
    CHECK(run_ctl(dir, {"diff", dir.file("a.json"), dir.file("b.json")}).status == 0);
    // The same canonical objects: every one of the source's, and on the target besides only
    // category values (they may label VMs: a plan never deletes them, docs/plan.md).
    auto objects_of = [&](const std::string& f) {
      REQUIRE(run_ctl(dir, {"export", "--from", dir.file(f), "--out", dir.file(f + ".base.json")}).status == 0);
      std::map<std::string, json> out;
      for (const auto& o : json::parse(read_file(dir.file(f + ".base.json"))).at("objects")) {
        out[o.at("kind").get<std::string>() + " " + o.at("name").get<std::string>()] = o;
      }
      return out;
    };
    const auto source = objects_of("a.json");
    const auto target = objects_of("b.json");
    for (const auto& [key, o] : source) {
      INFO(key);
      CHECK(target.count(key) == 1);
      if (target.count(key)) CHECK(target.at(key) == o);
    }
    for (const auto& [key, o] : target) {
      if (!source.count(key)) CHECK(o.at("kind") == "category");
    }
  }
}

TEST_CASE("a mixed pair: a v3 primary planned and applied to a v4-only DR over ETags and tasks",
          "[integration][plan][apply][v4][slow]") {
  TempDir dir;
  LiveSite primary(dir, "primary", 20, 707);
  LiveSite dr(dir, "dr", 14, 808, {"--api-mode", "v4"});
  LiveDaemon daemon(dir, primary, dr);
  make_writable(daemon.config_path(), "dr");
  auto text = read_file(daemon.config_path());
  const auto api = text.find("    api: v3\n", text.find("  - name: dr\n"));
  REQUIRE(api != std::string::npos);
  text.replace(api, 12, "    api: v4\n");
  write_file(daemon.config_path(), text);
  const std::string cfg = daemon.config_path();

  auto planned = run_ctl(dir, {"plan", "--config", cfg, "--pair", "prod", "--out", dir.file("p.json")});
  INFO(planned.out);
  REQUIRE(planned.status == 1);
  const json plan = json::parse(read_file(dir.file("p.json")));
  CHECK(plan["target"]["api"] == "v4");
  CHECK(plan["summary"]["create"].get<int>() > 0);
  CHECK(plan["summary"]["update"].get<int>() > 0);
  bool conditional = false;
  for (const auto& w : plan["writes"]) {
    CHECK(w["request"]["path"].get<std::string>().rfind("/api/", 0) == 0);
    if (w["op"] != "create") conditional = conditional || w["request"]["precondition"].get<std::string>().find("If-Match") != std::string::npos;
  }
  CHECK(conditional);
  auto applied = run_ctl(dir, {"apply", dir.file("p.json"), "--config", cfg, "--yes", "--allow-delete"});
  INFO(applied.out);
  REQUIRE(applied.status == 0);
  CHECK(applied.out.find("Pair prod: IN_SYNC") != std::string::npos);
  CHECK(run_ctl(dir, {"plan", "--config", cfg, "--pair", "prod"}).status == 0);
  // The DR's answers went through tasks and its writes through If-Match.
  auto stats = dr.api().json("GET", "/_pcsim/stats");
  INFO(stats.dump());
  CHECK(stats.dump().find("v4_tasks") != std::string::npos);
}

TEST_CASE("failback: what changed on the DR while it served is planned and applied to the primary",
          "[integration][plan][apply][slow]") {
  LivePair live(25, 37);
  const auto& dir = live.dir;
  const std::string cfg = live.daemon.config_path();
  make_writable(cfg, "primary");
  demo_changes(live.dr);  // made on the DR while it served production
  REQUIRE(run_ctl(dir, {"dump", "--config", cfg, "--site", "dr", "--out", dir.file("dr-now.json")}).status == 0);
  auto planned = run_ctl(dir, {"plan", dir.file("dr-now.json"), "--to", "primary", "--config", cfg,
                               "--out", dir.file("failback.json")});
  INFO(planned.out);
  REQUIRE(planned.status == 1);
  CHECK(steps(json::parse(read_file(dir.file("failback.json")))).size() == 3);
  // The DR deleted a policy: the failback deletes it on the primary, only with --allow-delete.
  auto refused = run_ctl(dir, {"apply", dir.file("failback.json"), "--config", cfg, "--yes"});
  CHECK(refused.status == 2);
  CHECK(refused.out.find("--allow-delete") != std::string::npos);
  auto applied = run_ctl(dir, {"apply", dir.file("failback.json"), "--config", cfg, "--yes", "--allow-delete"});
  INFO(applied.out);
  REQUIRE(applied.status == 0);
  CHECK(run_ctl(dir, {"plan", dir.file("dr-now.json"), "--to", "primary", "--config", cfg}).status == 0);
  REQUIRE(run_ctl(dir, {"dump", "--config", cfg, "--site", "primary", "--out", dir.file("p.json")}).status == 0);
  CHECK(run_ctl(dir, {"diff", dir.file("p.json"), dir.file("dr-now.json")}).status == 0);
}
