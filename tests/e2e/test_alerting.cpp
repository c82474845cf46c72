// Paged by it, for the right reasons: flowdrift's shipped alert rules and Alertmanager routing,
// end to end through Debian's prometheus and prometheus-alertmanager. Two pcsim sites hold the
// same generated intent, flowdriftd polls them every second, Prometheus scrapes it every second
// with the shipped rules (only their `for:` shortened to 2 s and `keep_firing_for:` to 15 s) and
// Alertmanager, configured from
// the shipped example (only its timings and webhook hosts changed), posts to a webhook server
// in this process. Changes are made through the DR site's v3 API, as an operator would.
#include <catch2/catch.hpp>

#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rig.hpp"

using namespace flowdrift::test;
using namespace flowdrift::test::e2e;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Every alert about drift itself or about the pair's drift evaluation.
const std::vector<std::string> kDriftAlerts{"FlowdriftCriticalDrift", "FlowdriftWarningDrift",
                                            "FlowdriftDriftOpenTooLong", "FlowdriftPairUnknown"};

std::string drift_alerts_regex() {
  std::string out;
  for (const auto& a : kDriftAlerts) out += (out.empty() ? "" : "|") + a;
  return out;
}

std::string describe(const std::vector<Notified>& all) {
  std::string out;
  for (const auto& n : all) {
    out += n.path + " " + n.status + " " + n.labels.dump() + " " + n.annotations.dump() + "\n";
  }
  return out.empty() ? "(no webhook notifications)" : out;
}

// Whole seconds since `t0`, plus a margin, as a PromQL range covering everything since then.
std::string range_since(std::chrono::steady_clock::time_point t0) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0);
  return "[" + std::to_string(s.count() + 3) + "s]";
}

struct Deleted {
  std::string uuid;
  std::string name;
  json spec;
};

// Deletes the DR site's first enforced app policy through its v3 API.
Deleted delete_enforced_policy(LiveSite& site) {
  auto rule = site.enforced_app_rule();
  Deleted d{rule.at("metadata").at("uuid"), rule.at("spec").at("name"), rule.at("spec")};
  auto r = site.api().request("DELETE", "/api/nutanix/v3/network_security_rules/" + d.uuid);
  INFO(r.body);
  REQUIRE(r.status == 202);
  return d;
}

// Recreates it through the API (a new uuid, as an operator restoring it would get).
void restore_policy(LiveSite& site, const Deleted& d) {
  site.api().json("POST", "/api/nutanix/v3/network_security_rules",
                  {{"api_version", "3.1"},
                   {"metadata", {{"kind", "network_security_rule"}}},
                   {"spec", d.spec}});
}

// Waits for the FlowdriftCriticalDrift page for pair prod and returns it.
Notified wait_for_critical_page(AlertRig& rig) {
  const bool paged = wait_until(
      [&] { return !named(rig.webhook().alerts(), "FlowdriftCriticalDrift", "firing").empty(); },
      60s);
  if (!paged) {
    FAIL("no FlowdriftCriticalDrift notification reached the webhook\n"
         << describe(rig.webhook().alerts()) << rig.logs());
  }
  return named(rig.webhook().alerts(), "FlowdriftCriticalDrift", "firing").front();
}

}  // namespace

TEST_CASE("a policy deleted on the DR site pages with the pair and the policy, restoring it resolves the page",
          "[e2e][alerting]") {
  AlertRig rig;
  const auto deleted = delete_enforced_policy(rig.dr());

  const auto page = wait_for_critical_page(rig);
  INFO(describe(rig.webhook().alerts()));
  // Routed by the shipped config: severity critical goes to the pager receiver.
  CHECK(page.path == "/flowdrift/pager");
  CHECK(page.receiver == "pager");
  CHECK(page.labels.value("pair", "") == "prod");
  CHECK(page.labels.value("kind", "") == "missing");
  CHECK(page.labels.value("severity", "") == "critical");
  // The page names the policy (the rule's `policies` annotation queries flowdrift_policy_drift).
  CHECK(page.annotations.value("policies", "") == deleted.name);
  CHECK_THAT(page.annotations.value("summary", ""), Catch::Contains("pair prod"));
  CHECK_THAT(page.annotations.value("runbook_url", ""),
             Catch::EndsWith("docs/runbooks.md#flowdriftcriticaldrift"));
  CHECK(rig.am_alerts("FlowdriftCriticalDrift").size() == 1);

  const auto firing = rig.prom_alerts("FlowdriftCriticalDrift");
  REQUIRE(firing.size() == 1);

  restore_policy(rig.dr(), deleted);
  // keep_firing_for: once Prometheus has scraped the item as resolved for 3 s (two rule
  // evaluations or more), the alert is still firing, the same one ...
  const std::string gone =
      "max_over_time(flowdrift_drift_items{pair=\"prod\",kind=\"missing\",severity=\"critical\"}"
      "[3s]) == 0";
  REQUIRE(wait_until([&] { return !rig.query(gone).empty(); }, 60s));
  const auto held = rig.prom_alerts("FlowdriftCriticalDrift");
  REQUIRE(held.size() == 1);
  CHECK(held[0].value("state", "") == "firing");
  CHECK(held[0].value("activeAt", "") == firing[0].value("activeAt", ""));
  CHECK(named(rig.webhook().alerts(), "FlowdriftCriticalDrift", "resolved").empty());
  // ... and resolves after it.
  const bool resolved = wait_until(
      [&] { return !named(rig.webhook().alerts(), "FlowdriftCriticalDrift", "resolved").empty(); },
      60s);
  if (!resolved) FAIL("the page never resolved\n" << describe(rig.webhook().alerts()) << rig.logs());
  const auto done = named(rig.webhook().alerts(), "FlowdriftCriticalDrift", "resolved").front();
  CHECK(done.path == "/flowdrift/pager");
  CHECK(done.labels.value("pair", "") == "prod");
  CHECK(done.labels.value("kind", "") == "missing");
  CHECK(done.starts_at == page.starts_at);  // the same alert, not another one
  CHECK(wait_until([&] { return rig.am_alerts("FlowdriftCriticalDrift").empty(); }, 30s));
  CHECK(rig.query("flowdrift_pair_status{pair=\"prod\",status=\"IN_SYNC\"} == 1").size() == 1);
  // Nothing else drifted, and nothing reached a ticket for it.
  CHECK(named(rig.webhook().alerts(), "FlowdriftWarningDrift").empty());
  CHECK(rig.webhook().rejected().empty());
}

TEST_CASE("the DR site going down raises the site-down alert and no drift alert",
          "[e2e][alerting]") {
  AlertRig rig;
  const auto t0 = std::chrono::steady_clock::now();
  // Every API request to the DR site is answered by closing the connection (no HTTP reply):
  // a PC that is down. Admin requests are never faulted, so the fault can be cleared.
  rig.dr().add_fault("*:drop");

  const bool down = wait_until(
      [&] { return !named(rig.webhook().alerts(), "FlowdriftSiteDown", "firing").empty(); }, 60s);
  if (!down) FAIL("no FlowdriftSiteDown notification\n" << describe(rig.webhook().alerts()) << rig.logs());
  const auto page = named(rig.webhook().alerts(), "FlowdriftSiteDown", "firing").front();
  INFO(describe(rig.webhook().alerts()));
  CHECK(page.labels.value("site", "") == "dr");
  CHECK(page.labels.value("severity", "") == "warning");
  CHECK(page.path == "/flowdrift/ticket");  // warning: a ticket, not a page
  CHECK(named(rig.webhook().alerts(), "FlowdriftSiteDown").size() == 1);  // only dr

  // The pair is UNKNOWN while its replica is down. Wait until Prometheus has seen it UNKNOWN
  // for 5 s (more than the rules' 2 s `for:` plus an evaluation), so that any drift or
  // pair-status rule that would fire has had time to; then one more evaluation and
  // Alertmanager group_interval for a notification to arrive.
  REQUIRE(wait_until(
      [&] {
        return !rig.query("min_over_time(flowdrift_pair_status{pair=\"prod\",status=\"UNKNOWN\"}[5s]) == 1")
                    .empty();
      },
      60s));
  std::this_thread::sleep_for(2s);

  // No drift alert was even pending in Prometheus since the fault went in ...
  const auto window = range_since(t0);
  INFO("window " << window);
  CHECK(rig.query("count_over_time(ALERTS{alertname=~\"" + drift_alerts_regex() + "\"}" + window + ")")
            .empty());
  // ... none is active in Alertmanager, and none reached the webhook.
  for (const auto& name : kDriftAlerts) {
    INFO(name);
    CHECK(rig.am_alerts(name).empty());
    CHECK(named(rig.webhook().alerts(), name).empty());
  }
  // The site alert, by contrast, is active.
  CHECK(rig.am_alerts("FlowdriftSiteDown").size() == 1);

  // The site comes back: the site alert resolves, and still no drift alert.
  rig.dr().clear_faults();
  const bool back = wait_until(
      [&] { return !named(rig.webhook().alerts(), "FlowdriftSiteDown", "resolved").empty(); }, 60s);
  if (!back) FAIL("FlowdriftSiteDown never resolved\n" << describe(rig.webhook().alerts()) << rig.logs());
  CHECK(rig.query("flowdrift_pair_status{pair=\"prod\",status=\"IN_SYNC\"} == 1").size() == 1);
  for (const auto& name : kDriftAlerts) {
    INFO(name);
    CHECK(named(rig.webhook().alerts(), name).empty());
  }
  CHECK(rig.webhook().rejected().empty());
}

TEST_CASE("restarting flowdriftd with drift open neither resolves nor re-fires the page",
          "[e2e][alerting]") {
  AlertRig rig;
  const auto deleted = delete_enforced_policy(rig.dr());
  const auto page = wait_for_critical_page(rig);
  INFO(describe(rig.webhook().alerts()));
  REQUIRE(rig.webhook().notifications("FlowdriftCriticalDrift") == 1);
  const auto firing = rig.prom_alerts("FlowdriftCriticalDrift");
  REQUIRE(firing.size() == 1);
  REQUIRE(firing[0].value("state", "") == "firing");
  const std::string active_at = firing[0].value("activeAt", "");
  const auto in_am = rig.am_alerts("FlowdriftCriticalDrift");
  REQUIRE(in_am.size() == 1);
  const std::string am_starts = in_am[0].value("startsAt", "");
  const auto started = rig.query("flowdrift_start_time_seconds");
  REQUIRE(started.size() == 1);
  const std::string old_start = started[0].at("value").at(1);

  // A real restart with a scrape gap: flowdriftd stays down until Prometheus has failed to
  // scrape it three times. At the first failed scrape Prometheus marks every series of the
  // target stale, so the rule's expression returns nothing; keep_firing_for (15 s in the test
  // copy) is what keeps the alert firing until the new daemon is scraped.
  const auto t0 = std::chrono::steady_clock::now();
  rig.daemon().stop();
  REQUIRE(wait_until([&] { return !rig.query("up{job=\"flowdrift\"} == 0").empty(); }, 30s));
  for (int i = 0; i < 2; ++i) {
    const auto scrape = rig.last_scrape();
    REQUIRE(wait_until([&] { return rig.last_scrape() != scrape; }, 10s));
  }
  // In the gap (at least two rule evaluations since the first failed scrape): no series for
  // the expression, yet the same alert is firing.
  const std::string open_items =
      "flowdrift_drift_items{pair=\"prod\",kind=\"missing\",severity=\"critical\"}";
  CHECK(rig.query(open_items).empty());
  CHECK(rig.query("flowdrift_drift_items{severity=\"critical\"} > 0").empty());
  const auto in_gap = rig.prom_alerts("FlowdriftCriticalDrift");
  REQUIRE(in_gap.size() == 1);
  CHECK(in_gap[0].value("state", "") == "firing");
  CHECK(in_gap[0].value("activeAt", "") == active_at);

  rig.daemon().start();
  const bool answering = wait_until(
      [&] {
        try {
          SyncClient c(rig.daemon().port(), "", false);
          return c.request("GET", "/metrics", "", false).status == 200;
        } catch (const std::exception&) {
          return false;
        }
      },
      30s);
  if (!answering) FAIL("flowdriftd did not come back\n" << rig.logs());

  // Prometheus scrapes the new daemon (a new start time) ...
  REQUIRE(wait_until(
      [&] {
        auto r = rig.query("flowdrift_start_time_seconds");
        return r.size() == 1 && r[0].at("value").at(1).get<std::string>() != old_start;
      },
      30s));
  // ... and evaluates the rules on it for longer than a resolve (next evaluation, then
  // group_interval 1 s) or a re-fire (2 s `for:`) would take to reach the webhook.
  std::this_thread::sleep_for(5s);

  const auto window = range_since(t0);
  INFO("window " << window);
  // The gap was real: Prometheus recorded failed scrapes (up 0) across the restart ...
  const auto up = rig.query("up{job=\"flowdrift\"}" + window);
  REQUIRE(up.size() == 1);
  int failed = 0;
  for (const auto& v : up[0].at("values")) failed += v.at(1) == "0" ? 1 : 0;
  INFO("up " << up[0].at("values").dump());
  CHECK(failed >= 3);
  // ... and every scrape that did succeed, of the old daemon or the new, had the item open: the
  // new daemon serves its stored drift from its first scrape on (keep_firing_for must not be
  // what hides a daemon that comes back with no drift).
  const auto open = rig.query("min_over_time(" + open_items + window + ")");
  REQUIRE(open.size() == 1);
  CHECK(open[0].at("value").at(1) == "1");
  // Still the same firing alert in Prometheus (a resolve and re-fire would reset activeAt) ...
  const auto after = rig.prom_alerts("FlowdriftCriticalDrift");
  REQUIRE(after.size() == 1);
  CHECK(after[0].value("state", "") == "firing");
  CHECK(after[0].value("activeAt", "") == active_at);
  // ... and in Alertmanager ...
  const auto am_after = rig.am_alerts("FlowdriftCriticalDrift");
  REQUIRE(am_after.size() == 1);
  CHECK(am_after[0].value("startsAt", "") == am_starts);
  // ... and the webhook got neither a resolved nor a new firing notification.
  CHECK(rig.webhook().notifications("FlowdriftCriticalDrift") == 1);
  CHECK(named(rig.webhook().alerts(), "FlowdriftCriticalDrift", "resolved").empty());
  CHECK(named(rig.webhook().alerts(), "FlowdriftCriticalDrift").size() == 1);
  CHECK(page.annotations.value("policies", "") == deleted.name);
  CHECK(rig.webhook().rejected().empty());
}

TEST_CASE("the test copy of the rules shortens every for and keep_firing_for and nothing else",
          "[e2e][rules]") {
  const std::string shipped =
      read_file(std::string(FLOWDRIFT_SOURCE_DIR) + "/config/prometheus/flowdrift-rules.yml");
  const std::string copy = test_rules(shipped, kTestFor, kTestKeepFiringFor);
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  };
  const auto before = lines(shipped);
  const auto after = lines(copy);
  REQUIRE(before.size() == after.size());
  // A rule line is indented; the file's comments start at column 0.
  auto key = [](const std::string& line) {
    const auto start = line.find_first_not_of(" \t");
    if (start == 0 || start == std::string::npos) return std::string();
    const auto colon = line.find(':', start);
    return colon == std::string::npos ? std::string() : line.substr(start, colon - start);
  };
  int fors = 0;
  int keeps = 0;
  for (std::size_t i = 0; i < before.size(); ++i) {
    INFO("line " << i + 1 << ": " << before[i] << " -> " << after[i]);
    const auto indent = before[i].substr(0, before[i].find_first_not_of(" \t"));
    if (key(before[i]) == "for") {
      ++fors;
      CHECK(after[i] == indent + "for: " + kTestFor);
    } else if (key(before[i]) == "keep_firing_for") {
      ++keeps;
      CHECK(after[i] == indent + "keep_firing_for: " + kTestKeepFiringFor);
    } else {
      CHECK(after[i] == before[i]);
    }
  }
  // Both kinds of line exist (six and seven in flowdrift-rules.yml as shipped).
  CHECK(fors > 0);
  CHECK(keeps > 0);
  // Rules without keep_firing_for (a layout the copy does not know) are refused by name.
  CHECK_THROWS_WITH(test_rules("groups:\n  - name: g\n    rules:\n      - alert: A\n"
                               "        expr: up == 0\n        for: 5m\n",
                               kTestFor, kTestKeepFiringFor),
                    Catch::Contains("keep_firing_for"));
}

namespace {

// Moves the first TCP inbound rule of the DR site's first enforced app policy to port 7777:
// the DR allows a flow the primary does not and blocks one it allows, critical either way.
void move_a_port(LiveSite& site) {
  auto rule = site.enforced_app_rule();
  auto spec = rule.at("spec");
  for (auto& entry : spec["resources"]["app_rule"]["inbound_allow_list"]) {
    if (!entry.contains("tcp_port_range_list")) continue;
    entry["tcp_port_range_list"] = json::array({{{"start_port", 7777}, {"end_port", 7777}}});
    site.put_spec(rule.at("metadata").at("uuid"), spec);
    return;
  }
  FAIL("no TCP inbound rule on the DR's first enforced policy");
}

// A firing FlowdriftCriticalDrift notification with these source and replica labels, among
// the notifications after the first `skip`.
std::optional<Notified> paged_with(AlertRig& rig, const std::string& source,
                                   const std::string& replica, std::size_t skip) {
  const auto all = named(rig.webhook().alerts(), "FlowdriftCriticalDrift", "firing");
  for (std::size_t i = skip; i < all.size(); ++i) {
    if (all[i].labels.value("source", "") == source &&
        all[i].labels.value("replica", "") == replica) {
      return all[i];
    }
  }
  return std::nullopt;
}

Notified wait_for_page(AlertRig& rig, const std::string& source, const std::string& replica,
                       std::size_t skip) {
  std::optional<Notified> page;
  const bool ok = wait_until([&] { return (page = paged_with(rig, source, replica, skip)).has_value(); },
                             90s);
  if (!ok) {
    FAIL("no page with source " << source << " and replica " << replica << "\n"
                                << describe(rig.webhook().alerts()) << rig.logs());
  }
  return *page;
}

std::size_t critical_pages(AlertRig& rig) {
  return named(rig.webhook().alerts(), "FlowdriftCriticalDrift", "firing").size();
}

}  // namespace

TEST_CASE("failover flips the page's source and replica labels, failback restores them",
          "[e2e][alerting][failover]") {
  AlertRig rig;
  move_a_port(rig.dr());
  const auto page = wait_for_page(rig, "primary", "dr", 0);
  CHECK(page.labels.value("pair", "") == "prod");
  CHECK(page.labels.value("kind", "") == "modified");
  CHECK(page.path == "/flowdrift/pager");
  CHECK_THAT(page.annotations.value("summary", ""), Catch::Contains("pair prod"));

  const std::string config = rig.daemon().config_path();
  const auto before_failover = critical_pages(rig);
  auto flip = run_ctl(rig.temp_dir(), {"failover", "--config", config, "--pair", "prod",
                                       "--reason", "e2e: DC1 lost"});
  INFO(flip.out);
  REQUIRE(flip.status == 0);
  // The same drift pages again under the new direction (a modified policy that allows and
  // blocks is critical seen from either side) ...
  const auto over = wait_for_page(rig, "dr", "primary", before_failover);
  CHECK(over.labels.value("pair", "") == "prod");
  CHECK(over.labels.value("kind", "") == "modified");
  CHECK(over.labels.value("severity", "") == "critical");
  CHECK(over.path == "/flowdrift/pager");
  CHECK(rig.query("flowdrift_pair_failed_over{pair=\"prod\"} == 1").size() == 1);
  // ... and the page under the old direction resolves.
  REQUIRE(wait_until(
      [&] {
        for (const auto& n : named(rig.webhook().alerts(), "FlowdriftCriticalDrift", "resolved")) {
          if (n.labels.value("source", "") == "primary") return true;
        }
        return false;
      },
      90s));

  const auto before_failback = critical_pages(rig);
  auto back = run_ctl(rig.temp_dir(), {"failback", "--config", config, "--pair", "prod",
                                       "--reason", "e2e: DC1 back"});
  INFO(back.out);
  REQUIRE(back.status == 0);
  const auto restored = wait_for_page(rig, "primary", "dr", before_failback);
  CHECK(restored.labels.value("kind", "") == "modified");
  CHECK(rig.query("flowdrift_pair_info{pair=\"prod\",source=\"primary\",replica=\"dr\"} == 1").size() == 1);
  // No other drift alert came of the flips.
  CHECK(named(rig.webhook().alerts(), "FlowdriftWarningDrift").empty());
  CHECK(rig.webhook().rejected().empty());
}
