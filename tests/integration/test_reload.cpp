// Configuration reload with real processes while flowdriftd polls two pcsim sites every second
// (issue #7): a broken file sent with SIGHUP is rejected (log line naming file:line, metric 0,
// audit row) and changes nothing: polls go on and the pair keeps its state. Then a good file
// through POST /-/reload: 200, metric 1, the changed site's collector replaced and the change
// in effect (more pages per poll, an expected difference covering the open item), while the
// unchanged site's collector keeps polling untouched.
#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <regex>

#include "live.hpp"

using namespace flowdrift::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

long long polls(DbView& db, const std::string& site) {
  return std::stoll(db.scalar("SELECT count(*) FROM polls p JOIN sites s ON s.id = p.site_id "
                              "WHERE s.name = '" + site + "'").value_or("-1"));
}

// The value of one sample line ("name{labels} value") in a scrape; -1 when absent.
double sample(const std::string& scrape, const std::string& series) {
  const auto at = scrape.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(scrape.substr(at + series.size() + 2));
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Replaces the first `from` at or after `after` in `text` (which must hold both).
std::string replace_after(std::string text, const std::string& after, const std::string& from,
                          const std::string& to) {
  const auto anchor = text.find(after);
  REQUIRE(anchor != std::string::npos);
  const auto at = text.find(from, anchor);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("reload of a broken and then a good config while polls run",
          "[integration][reload][slow]") {
  // Small sites: a 1 s poll must fit its 1 s poll_timeout on a busy machine too.
  LivePair live(40, 42);
  const std::string original = read_file(live.daemon.config_path());
  DbView db = live.start_in_sync({"--web.enable-lifecycle"});

  // Drift that alerts: one enforced policy switched to MONITOR on the DR site.
  const auto rule = live.dr.monitor_enforced_rule();
  const std::string uuid = rule.at("metadata").at("uuid");
  const std::string name = rule.at("spec").at("name");
  const std::string item_sql =
      "SELECT d.id, d.opened_ms, d.raised_ms IS NOT NULL, d.expectation IS NOT NULL "
      "FROM drift_items d WHERE d.resolved_ms IS NULL AND d.object = '" + name + "'";
  REQUIRE(wait_until([&] {
    auto rows = db.rows(item_sql);
    return rows.size() == 1 && rows[0][2] == "1";
  }, 30s));
  REQUIRE(pair_status(db) == "DRIFTED");
  const auto item_before = db.rows(item_sql);
  const auto dr_requests_before = db.scalar(
      "SELECT max(p.requests) FROM polls p JOIN sites s ON s.id = p.site_id "
      "WHERE s.name = 'dr' AND p.outcome = 'complete'");
  // Every list in one page (page_size 500): the rules, groups and categories; never more.
  REQUIRE(dr_requests_before.has_value());
  const int requests_one_page = std::stoi(*dr_requests_before);
  CHECK(sample(live.daemon.scrape(), "flowdrift_config_last_reload_successful") == 1);

  // 1. A broken file and SIGHUP: rejected, naming the file and line; nothing else changes.
  const std::string broken = replace_after(original, "name: dr", "interval: 1s", "interval: soon");
  const auto broken_line =
      std::count(broken.begin(), broken.begin() + static_cast<long>(broken.find("interval: soon")), '\n') + 1;
  write_file(live.daemon.config_path(), broken);
  live.daemon.signal(SIGHUP);
  const std::string where = live.daemon.config_path() + ":" + std::to_string(broken_line) + ":";
  REQUIRE(wait_until([&] {
    return live.daemon.log().find("config.reload_failed trigger=SIGHUP") != std::string::npos;
  }, 10s));
  const auto log = live.daemon.log();
  const auto failed_line = log.substr(log.find("config.reload_failed"));
  CHECK_THAT(failed_line.substr(0, failed_line.find('\n')), Catch::Contains(where));
  CHECK_THAT(failed_line.substr(0, failed_line.find('\n')), Catch::Contains("sites[1].interval"));
  CHECK(sample(live.daemon.scrape(), "flowdrift_config_last_reload_successful") == 0);
  // Polls go on for both sites with the old configuration; the pair keeps its state.
  const auto primary_polls = polls(db, "primary");
  const auto dr_polls = polls(db, "dr");
  CHECK(wait_until([&] {
    return polls(db, "primary") >= primary_polls + 2 && polls(db, "dr") >= dr_polls + 2;
  }, 20s));
  // The same open item, untouched; the pair DRIFTED (after a poll that timed out on a busy
  // machine it is UNKNOWN for a cycle, as it would be without any reload).
  CHECK(wait_until([&] { return pair_status(db) == "DRIFTED"; }, 20s));
  CHECK(db.rows(item_sql) == item_before);
  CHECK(db.scalar("SELECT max(p.requests) FROM polls p JOIN sites s ON s.id = p.site_id "
                  "WHERE s.name = 'dr' AND p.outcome = 'complete'") == dr_requests_before);

  // 2. A good file through POST /-/reload: dr fetches 15 policies a page, and the pair
  // declares the MONITOR switch an expected difference.
  std::string good = replace_after(original, "name: dr", "retries: 0\n",
                                   "retries: 0\n    page_size: 15\n");
  good = replace_after(good, "name: prod", "replica: dr\n",
                       "replica: dr\n    expected:\n      - policy: " + name +
                           "\n        owner: dr-team\n        reason: failover drill\n"
                           "        expires: 2099-01-01\n");
  write_file(live.daemon.config_path(), good);
  const double primary_count_before = sample(live.daemon.scrape(), "flowdrift_site_polls_total{site=\"primary\"}");
  REQUIRE(primary_count_before > 0);
  SyncClient client(live.daemon.port(), "", false);
  CHECK(client.request("GET", "/-/reload", "", false).status == 405);  // never on GET
  auto reply = client.request("POST", "/-/reload", "", false);
  INFO(reply.body);
  CHECK(reply.status == 200);
  CHECK_THAT(reply.body, Catch::Contains("sites changed: dr (page_size)"));
  CHECK(reply.body.find("primary") == std::string::npos);
  CHECK_THAT(reply.body, Catch::Contains("pairs changed: prod (expected)"));
  CHECK(sample(live.daemon.scrape(), "flowdrift_config_last_reload_successful") == 1);
  // A loop of POSTs cannot flood the audit trail: one reload a second.
  const std::string reloads = db.scalar("SELECT count(*) FROM config_reloads").value_or("");
  auto again = client.request("POST", "/-/reload", "", false);
  CHECK(again.status == 429);
  CHECK(db.scalar("SELECT count(*) FROM config_reloads").value_or("") == reloads);

  // The change is in effect: dr's 40 rules now take three pages instead of one (and other
  // lists may take more), and the open item is covered.
  CHECK(wait_until([&] {
    return std::stoi(db.scalar("SELECT p.requests FROM polls p JOIN sites s ON s.id = p.site_id "
                               "WHERE s.name = 'dr' AND p.outcome = 'complete' ORDER BY p.id "
                               "DESC LIMIT 1").value_or("0")) >= requests_one_page + 2;
  }, 20s));
  CHECK(wait_until([&] {
    auto rows = db.rows(item_sql);
    return rows.size() == 1 && rows[0][3] == "1";
  }, 20s));
  CHECK(db.rows(item_sql).at(0).at(0) == item_before.at(0).at(0));  // the same item, not reopened
  CHECK(db.scalar("SELECT count(*) FROM drift_events WHERE event = 'expected'") == "1");
  const auto scrape = live.daemon.scrape();
  CHECK(sample(scrape, "flowdrift_drift_expected_items{kind=\"enforcement_mode\",pair=\"prod\","
                       "severity=\"critical\"}") == 1);
  CHECK(sample(scrape, "flowdrift_drift_items{kind=\"enforcement_mode\",pair=\"prod\","
                       "severity=\"critical\"}") == 0);

  // The unchanged site's collector was not touched: started once, its poll counter went on
  // from where it was (never reset) and its polls continue; only dr's was replaced.
  const auto after_log = live.daemon.log();
  CHECK(count(after_log, "collector.started site=primary") == 1);
  CHECK(count(after_log, "collector.started site=dr cause=start") == 1);
  CHECK(count(after_log, "collector.started site=dr cause=reload") == 1);
  const auto primary_after = polls(db, "primary");
  CHECK(wait_until([&] { return polls(db, "primary") >= primary_after + 2; }, 20s));
  CHECK(sample(live.daemon.scrape(), "flowdrift_site_polls_total{site=\"primary\"}") >
        primary_count_before);

  // The audit trail: the start, the rejected SIGHUP and the applied POST, with the file hashes.
  const auto rows = db.rows("SELECT trigger, ok, length(sha256) FROM config_reloads ORDER BY id");
  CHECK(rows == std::vector<std::vector<std::string>>{
                    {"start", "1", "64"}, {"SIGHUP", "0", "64"}, {"http", "1", "64"}});
  CHECK_THAT(db.scalar("SELECT summary FROM config_reloads WHERE trigger = 'SIGHUP'").value_or(""),
             Catch::Contains(where));
  CHECK(db.scalar("SELECT summary FROM config_reloads WHERE trigger = 'http'") ==
        std::optional<std::string>("sites changed: dr (page_size); pairs changed: prod (expected)"));
  CHECK(db.scalar("SELECT count(DISTINCT sha256) FROM config_reloads") == "3");
}
