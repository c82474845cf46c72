// Paged by it, for the right reasons: flowdrift's shipped alert rules and Alertmanager routing,
// end to end through Debian's prometheus and prometheus-alertmanager. Two pcsim sites hold the
// same generated intent, flowdriftd polls them every second, Prometheus scrapes it every second
// with the shipped rules (only their `for:` shortened to 2 s) and Alertmanager, configured from
// the shipped example (only its timings and webhook hosts changed), posts to a webhook server
// in this process. Changes are made through the DR site's v3 API, as an operator would.
#include <catch2/catch.hpp>

#include <signal.h>

#include <thread>

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

  restore_policy(rig.dr(), deleted);
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

  // Prometheus marks every series of a target stale when a scrape fails, so a restart that
  // overlaps a scrape resolves any alert whatever flowdriftd exports (the shipped rules have
  // no keep_firing_for). With a production scrape interval (15-60 s) and a sub-second restart
  // that is rare; with the test's 1 s interval it would be a coin toss. So Prometheus is held
  // (SIGSTOP) from just after a completed scrape until the restarted daemon answers at all, and
  // the restart falls between two scrapes as it normally does. What Prometheus scrapes first
  // is whatever the new daemon serves then: that is what is under test.
  const auto t0 = std::chrono::steady_clock::now();
  const auto scrape = rig.last_scrape();
  REQUIRE(wait_until([&] { return rig.last_scrape() != scrape; }, 10s));
  rig.prometheus().signal(SIGSTOP);
  rig.daemon().stop();
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
  rig.prometheus().signal(SIGCONT);
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
  // Every scrape across the restart succeeded (else the check below would test Prometheus).
  auto up = rig.query("min_over_time(up{job=\"flowdrift\"}" + window + ")");
  REQUIRE(up.size() == 1);
  CHECK(up[0].at("value").at(1) == "1");
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
