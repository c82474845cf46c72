#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>

#include <sys/resource.h>

#include "metrics/metrics.hpp"
#include "support/metrics_text.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using namespace flowdrift::metrics;
using flowdrift::test::has_series;

namespace {

Metrics make(std::size_t cap = 100) {
  return Metrics({"primary", "dr"}, {{"prod", "primary", "dr"}}, cap,
                 {{"0.1.0", "14e0839b1f2a", "main", "gcc 12.2.0"}, "3.40.1"});
}

SitePoll complete_poll(const std::string& site, const std::string& api,
                       const std::string& api_version) {
  SitePoll p;
  p.site = site;
  p.complete = true;
  p.reason = "ok";
  p.finished_ms = 1'700'000'000'000;
  p.api = api;
  p.api_version = api_version;
  return p;
}

}  // namespace

TEST_CASE("known series start at zero and state gauges follow the pair", "[unit][metrics]") {
  auto m = make();
  auto text = m.render();
  CHECK(has_series(text, "flowdrift_site_polls_total{site=\"dr\"}", 0));
  CHECK(has_series(text, "flowdrift_site_poll_failures_total{reason=\"timeout\",site=\"primary\"}", 0));
  CHECK(has_series(text, "flowdrift_drift_items{kind=\"missing\",pair=\"prod\",severity=\"critical\"}", 0));
  CHECK(has_series(text, "flowdrift_pair_status{pair=\"prod\",status=\"UNKNOWN\"}", 1));
  CHECK(has_series(text, "flowdrift_pair_info{pair=\"prod\",replica=\"dr\",source=\"primary\"}", 1));
  CHECK(has_series(text, "flowdrift_config_last_reload_successful", 1));
  m.config_loaded(false, 0);
  CHECK(has_series(m.render(), "flowdrift_config_last_reload_successful", 0));
  m.config_loaded(true, 0);
  // No drift open: the oldest-drift timestamp is absent, not 0.
  CHECK(text.find("flowdrift_drift_oldest_detected_timestamp_seconds{") == std::string::npos);

  m.pair_state("prod", diff::PairStatus::Drifted,
               {{"web", diff::DriftKind::Missing, diff::Severity::Critical, 1'700'000'000'000},
                {"db", diff::DriftKind::Missing, diff::Severity::Critical, 1'600'000'000'000}},
               0.01, 1'700'000'000'000);
  text = m.render();
  CHECK(has_series(text, "flowdrift_drift_items{kind=\"missing\",pair=\"prod\",severity=\"critical\"}", 2));
  CHECK(has_series(text, "flowdrift_pair_status{pair=\"prod\",status=\"DRIFTED\"}", 1));
  CHECK(has_series(text, "flowdrift_policy_drift{kind=\"missing\",pair=\"prod\",policy=\"web\",severity=\"critical\"}", 1));
  CHECK(has_series(text, "flowdrift_drift_oldest_detected_timestamp_seconds{kind=\"missing\",pair=\"prod\"}", 1600000000));
}

TEST_CASE("poll results update site health and failure counters", "[unit][metrics]") {
  auto m = make();
  m.poll_finished({"dr", false, "timeout", 5.0, 1'700'000'000'000, std::nullopt, std::nullopt, "", "", {}});
  m.poll_finished(
      {"primary", true, "ok", 0.2, 1'700'000'001'000, 300, 1'699'000'000'000, "v4", "v4.3", {}});
  auto text = m.render();
  CHECK(has_series(text, "flowdrift_site_up{site=\"dr\"}", 0));
  CHECK(has_series(text, "flowdrift_site_up{site=\"primary\"}", 1));
  CHECK(has_series(text, "flowdrift_site_poll_failures_total{reason=\"timeout\",site=\"dr\"}", 1));
  CHECK(has_series(text, "flowdrift_site_policies{site=\"primary\"}", 300));
  CHECK(has_series(text, "flowdrift_site_api_info{api=\"v4\",site=\"primary\",version=\"v4.3\"}", 1));
  CHECK(has_series(text, "flowdrift_site_last_successful_poll_timestamp_seconds{site=\"primary\"}", 1700000001));
  CHECK(text.find("flowdrift_site_last_successful_poll_timestamp_seconds{site=\"dr\"}") == std::string::npos);
}

TEST_CASE("flowdrift_site_api_info carries the version of the last complete poll only",
          "[unit][metrics]") {
  auto m = make();
  SitePoll p = complete_poll("primary", "v4", "v4.1");
  m.poll_finished(p);
  CHECK(has_series(m.render(), "flowdrift_site_api_info{api=\"v4\",site=\"primary\",version=\"v4.1\"}", 1));

  p.complete = false;  // a failed poll says nothing of the version the site serves
  p.reason = "timeout";
  p.api_version = "v4.3";
  m.poll_finished(p);
  CHECK(has_series(m.render(), "flowdrift_site_api_info{api=\"v4\",site=\"primary\",version=\"v4.1\"}", 1));

  p.complete = true;  // upgraded: one series, the new version
  p.reason = "ok";
  m.poll_finished(p);
  const auto text = m.render();
  CHECK(has_series(text, "flowdrift_site_api_info{api=\"v4\",site=\"primary\",version=\"v4.3\"}", 1));
  CHECK(text.find("version=\"v4.1\"") == std::string::npos);

  p.api = "v3";  // fell back to v3
  p.api_version = "v3";
  m.poll_finished(p);
  CHECK(has_series(m.render(), "flowdrift_site_api_info{api=\"v3\",site=\"primary\",version=\"v3\"}", 1));
}

TEST_CASE("a restart restores the last successful poll of each site from the store",
          "[unit][metrics]") {
  auto m = make();
  m.site_restored("dr", 1'700'000'002'000, 299, 1'699'000'000'000);
  m.site_restored("unknown-site", 1, 1, 1);  // not configured: ignored
  auto text = m.render();
  // Staleness stays visible across the restart; up and the poll counters wait for a real poll.
  CHECK(has_series(text, "flowdrift_site_last_successful_poll_timestamp_seconds{site=\"dr\"}", 1700000002));
  CHECK(has_series(text, "flowdrift_site_policies{site=\"dr\"}", 299));
  CHECK(has_series(text, "flowdrift_site_polls_total{site=\"dr\"}", 0));
  CHECK(text.find("unknown-site") == std::string::npos);
  m.poll_finished({"dr", false, "timeout", 5.0, 1'700'000'100'000, std::nullopt, std::nullopt, "", "", {}});
  CHECK(has_series(m.render(),
                 "flowdrift_site_last_successful_poll_timestamp_seconds{site=\"dr\"}", 1700000002));
}

TEST_CASE("the per-policy series are capped and the rest counted", "[unit][metrics]") {
  auto m = make(1);
  m.pair_state("prod", diff::PairStatus::Drifted,
               {{"a", diff::DriftKind::Missing, diff::Severity::Critical, 1000},
                {"b", diff::DriftKind::Extra, diff::Severity::Info, 1000},
                {"c", diff::DriftKind::Extra, diff::Severity::Info, 1000}},
               0, std::nullopt);
  auto text = m.render();
  CHECK(has_series(text, "flowdrift_policy_drift_series_dropped", 2));
  CHECK(has_series(text, "flowdrift_policy_drift_series_dropped_total", 2));
  std::size_t series = 0;
  for (auto pos = text.find("\nflowdrift_policy_drift{"); pos != std::string::npos;
       pos = text.find("\nflowdrift_policy_drift{", pos + 1)) {
    ++series;
  }
  CHECK(series == 1);
  // Aggregates are never capped.
  CHECK(has_series(text, "flowdrift_drift_items{kind=\"extra\",pair=\"prod\",severity=\"info\"}", 2));
}

// The counter counts series, not scrapes: a series left out scrape after scrape is counted once,
// at the first; one that comes back and is left out again counts again.
TEST_CASE("the dropped-series counter does not grow with the number of scrapes", "[unit][metrics]") {
  auto m = make(1);
  const auto items = [](std::vector<std::string> policies) {
    std::vector<OpenItem> open;
    for (const auto& p : policies) open.push_back({p, diff::DriftKind::Extra, diff::Severity::Info, 1000});
    return open;
  };
  m.pair_state("prod", diff::PairStatus::Drifted, items({"a", "b", "c"}), 0, std::nullopt);
  for (int scrape = 0; scrape < 5; ++scrape) {
    auto text = m.render();
    CHECK(has_series(text, "flowdrift_policy_drift_series_dropped", 2));
    CHECK(has_series(text, "flowdrift_policy_drift_series_dropped_total", 2));
  }
  // b is exported now (a resolved); c stays dropped, d is newly dropped: one more.
  m.pair_state("prod", diff::PairStatus::Drifted, items({"b", "c", "d"}), 0, std::nullopt);
  CHECK(has_series(m.render(), "flowdrift_policy_drift_series_dropped_total", 3));
  CHECK(has_series(m.render(), "flowdrift_policy_drift_series_dropped_total", 3));
  // Under the cap nothing is dropped and nothing counted; dropped again later counts again.
  m.pair_state("prod", diff::PairStatus::Drifted, items({"c"}), 0, std::nullopt);
  auto text = m.render();
  CHECK(has_series(text, "flowdrift_policy_drift_series_dropped", 0));
  CHECK(has_series(text, "flowdrift_policy_drift_series_dropped_total", 3));
  m.pair_state("prod", diff::PairStatus::Drifted, items({"b", "c"}), 0, std::nullopt);
  CHECK(has_series(m.render(), "flowdrift_policy_drift_series_dropped_total", 4));
}

TEST_CASE("build_info says what the binary was built from", "[unit][metrics]") {
  CHECK(has_series(make().render(),
                   "flowdrift_build_info{branch=\"main\",compiler=\"gcc 12.2.0\",revision=\"14e0839b1f2a\","
                   "sqlite=\"3.40.1\",version=\"0.1.0\"}",
                   1));
}

// The process collector's file-descriptor gauges, from /proc/self/fd and RLIMIT_NOFILE: one more
// open file shows in the next scrape.
TEST_CASE("process_open_fds and process_max_fds", "[unit][metrics]") {
  auto m = make();
  const auto value = [](const std::string& text, const std::string& name) {
    const auto at = text.find("\n" + name + " ");
    REQUIRE(at != std::string::npos);
    return std::stod(text.substr(at + name.size() + 2));
  };
  const auto before = value(m.render(), "process_open_fds");
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  const auto after = value(m.render(), "process_open_fds");
  std::fclose(f);
  CHECK(before >= 3);
  CHECK(after == before + 1);
  rlimit files{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &files) == 0);
  CHECK(value(m.render(), "process_max_fds") == static_cast<double>(files.rlim_cur));
}

// The pair_ name, and the old one kept for one release with the same value.
TEST_CASE("the last comparison timestamp has its pair_ name and keeps the old one", "[unit][metrics]") {
  auto m = make();
  auto text = m.render();
  CHECK(text.find("last_comparison_success_timestamp_seconds{") == std::string::npos);
  m.pair_state("prod", diff::PairStatus::InSync, {}, 0.01, 1'700'000'000'000);
  text = m.render();
  CHECK(has_series(text, "flowdrift_pair_last_comparison_success_timestamp_seconds{pair=\"prod\"}", 1700000000));
  CHECK(has_series(text, "flowdrift_last_comparison_success_timestamp_seconds{pair=\"prod\"}", 1700000000));
  CHECK_THAT(text, Catch::Contains("# HELP flowdrift_last_comparison_success_timestamp_seconds Deprecated"));
}

TEST_CASE("the exposition passes promtool check metrics", "[unit][metrics][promtool]") {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    FAIL("promtool not installed (scripts/install-deps.sh --test installs it)");
  }
  auto m = make();
  m.poll_finished({"primary", true, "ok", 0.2, 1'700'000'001'000, 300, 1'699'000'000'000, "v4", "v4.3", {}});
  m.pair_state("prod", diff::PairStatus::Drifted,
               {{"we\"ird \\ name", diff::DriftKind::Modified, diff::Severity::Warning, 1000}}, 0.1,
               2000);
  m.store_write("poll", true, 5000);
  flowdrift::test::TempDir dir;
  flowdrift::test::write_file(dir.file("metrics.txt"), m.render());
  const std::string cmd = "promtool check metrics < " + dir.file("metrics.txt") + " > " +
                          dir.file("out.txt") + " 2>&1";
  int rc = std::system(cmd.c_str());
  INFO(flowdrift::test::read_file(dir.file("out.txt")));
  CHECK(rc == 0);
}

TEST_CASE("only raised, unexpected items alert, pending and expected ones have their own gauges",
          "[unit][metrics]") {
  auto m = make(500);
  m.pair_expectations("prod", {{"policy=app-* kind=modified", 1'900'000'000'000}});
  m.pair_state("prod", diff::PairStatus::Drifted,
               {{"web", diff::DriftKind::Missing, diff::Severity::Critical, 1'700'000'000'000,
                 ItemState::Raised},
                {"db", diff::DriftKind::Missing, diff::Severity::Critical, 1'600'000'000'000,
                 ItemState::Pending},
                {"app-1", diff::DriftKind::Modified, diff::Severity::Critical, 1'500'000'000'000,
                 ItemState::Expected}},
               0.01, 1'700'000'000'000, 2'500);
  const auto text = m.render();
  CHECK(has_series(text, "flowdrift_drift_items{kind=\"missing\",pair=\"prod\",severity=\"critical\"}", 1));
  CHECK(has_series(text, "flowdrift_drift_items{kind=\"modified\",pair=\"prod\",severity=\"critical\"}", 0));
  CHECK(has_series(text, "flowdrift_drift_pending_items{kind=\"missing\",pair=\"prod\",severity=\"critical\"}", 1));
  CHECK(has_series(text, "flowdrift_drift_expected_items{kind=\"modified\",pair=\"prod\",severity=\"critical\"}", 1));
  CHECK(has_series(text, "flowdrift_drift_expected_items{kind=\"missing\",pair=\"prod\",severity=\"critical\"}", 0));
  // Per-policy series and the oldest-drift time follow alerting items only.
  CHECK(has_series(text, "flowdrift_policy_drift{kind=\"missing\",pair=\"prod\",policy=\"web\",severity=\"critical\"}", 1));
  CHECK(text.find("policy=\"db\"") == std::string::npos);
  CHECK(text.find("policy=\"app-1\"") == std::string::npos);
  CHECK(has_series(text, "flowdrift_drift_oldest_detected_timestamp_seconds{kind=\"missing\",pair=\"prod\"}", 1700000000));
  CHECK(has_series(text, "flowdrift_pair_snapshot_skew_seconds{pair=\"prod\"}", 2.5));
  CHECK(has_series(text, "flowdrift_expected_difference_expiry_timestamp_seconds{pair=\"prod\",selector=\"policy=app-* kind=modified\"}", 1900000000));
}

TEST_CASE("reconfigure: removed sites and pairs vanish, added ones start at zero, kept ones keep counting",
          "[unit][metrics][reload]") {
  auto m = make();
  SitePoll p = complete_poll("primary", "v3", "v3");
  m.poll_finished(p);
  p.site = "dr";
  p.complete = false;
  p.reason = "timeout";
  m.poll_finished(p);
  m.drift_opened("prod", diff::DriftKind::Missing);
  auto before = m.render();
  CHECK(has_series(before, "flowdrift_site_polls_total{site=\"dr\"}", 1));
  CHECK(has_series(before, "flowdrift_drift_detected_total{kind=\"missing\",pair=\"prod\"}", 1));

  // dr leaves, "dr2" arrives, and the pair now replicates primary -> dr2 under a new name.
  m.reconfigure({"primary", "dr2"}, {{"prod2", "primary", "dr2"}}, 100);
  auto text = m.render();
  CHECK(text.find("site=\"dr\"") == std::string::npos);
  CHECK(text.find("pair=\"prod\"") == std::string::npos);
  CHECK(has_series(text, "flowdrift_sites", 2));
  CHECK(has_series(text, "flowdrift_pairs", 1));
  // The kept site's counters and state are untouched.
  CHECK(has_series(text, "flowdrift_site_polls_total{site=\"primary\"}", 1));
  CHECK(has_series(text, "flowdrift_site_up{site=\"primary\"}", 1));
  CHECK(has_series(text, "flowdrift_site_api_info{api=\"v3\",site=\"primary\",version=\"v3\"}", 1));
  // The new ones start at zero, like at start.
  CHECK(has_series(text, "flowdrift_site_polls_total{site=\"dr2\"}", 0));
  CHECK(has_series(text, "flowdrift_site_poll_failures_total{reason=\"timeout\",site=\"dr2\"}", 0));
  CHECK(has_series(text, "flowdrift_site_poll_duration_seconds_count{site=\"dr2\"}", 0));
  CHECK(has_series(text, "flowdrift_drift_detected_total{kind=\"missing\",pair=\"prod2\"}", 0));
  CHECK(has_series(text, "flowdrift_pair_info{pair=\"prod2\",replica=\"dr2\",source=\"primary\"}", 1));
  CHECK(has_series(text, "flowdrift_pair_status{pair=\"prod2\",status=\"UNKNOWN\"}", 1));

  // A kept pair whose direction flips takes the new labels.
  m.reconfigure({"primary", "dr2"}, {{"prod2", "dr2", "primary"}}, 100);
  text = m.render();
  CHECK(has_series(text, "flowdrift_pair_info{pair=\"prod2\",replica=\"primary\",source=\"dr2\"}", 1));
  CHECK(text.find("flowdrift_pair_info{pair=\"prod2\",replica=\"dr2\"") == std::string::npos);

  // A site that comes back starts over at zero (its old series were removed, not hidden).
  m.reconfigure({"primary", "dr"}, {}, 100);
  CHECK(has_series(m.render(), "flowdrift_site_polls_total{site=\"dr\"}", 0));
}

TEST_CASE("reconfigure: the per-policy series cap applies from the next scrape", "[unit][metrics][reload]") {
  auto m = make(1);
  m.pair_state("prod", diff::PairStatus::Drifted,
               {{"a", diff::DriftKind::Missing, diff::Severity::Critical, 1},
                {"b", diff::DriftKind::Missing, diff::Severity::Critical, 1}},
               0, std::nullopt);
  CHECK(has_series(m.render(), "flowdrift_policy_drift_series_dropped", 1));
  m.reconfigure({"primary", "dr"}, {{"prod", "primary", "dr"}}, 5);
  auto text = m.render();
  CHECK(has_series(text, "flowdrift_policy_drift_series_dropped", 0));
  // The pair's state survived the reconfiguration.
  CHECK(has_series(text, "flowdrift_pair_status{pair=\"prod\",status=\"DRIFTED\"}", 1));
}

TEST_CASE("unmodelled constructs are counted per site, and listed up to 20 series",
          "[unit][metrics]") {
  auto m = make();
  SitePoll p = complete_poll("primary", "v4", "v4.3");
  m.poll_finished(p);
  CHECK(has_series(m.render(), "flowdrift_site_unmodelled_constructs{site=\"primary\"}", 0));

  p.unmodelled = {"/futureField", "/state = \"LATER\""};
  m.poll_finished(p);
  auto text = m.render();
  CHECK(has_series(text, "flowdrift_site_unmodelled_constructs{site=\"primary\"}", 2));
  CHECK(has_series(text, "flowdrift_site_unmodelled_info{path=\"/futureField\",site=\"primary\",version=\"v4.3\"}", 1));

  for (int i = 0; i < 30; ++i) p.unmodelled.push_back("/f" + std::to_string(100 + i));
  m.poll_finished(p);
  text = m.render();
  CHECK(has_series(text, "flowdrift_site_unmodelled_constructs{site=\"primary\"}", 32));
  std::size_t series = 0;
  for (std::size_t at = 0; (at = text.find("\nflowdrift_site_unmodelled_info{", at)) != std::string::npos; ++at) ++series;
  CHECK(series == 20);

  p.complete = false;  // a failed poll keeps what the last complete one said
  p.unmodelled.clear();
  m.poll_finished(p);
  CHECK(has_series(m.render(), "flowdrift_site_unmodelled_constructs{site=\"primary\"}", 32));
}

TEST_CASE("a flip relabels the pair's direction and exports when it happened", "[unit][metrics]") {
  auto m = make();
  auto text = m.render();
  CHECK(has_series(text, "flowdrift_pair_failed_over{pair=\"prod\"}", 0));
  CHECK(text.find("flowdrift_pair_last_flip_timestamp_seconds{") == std::string::npos);
  m.pair_direction("prod", "dr", "primary", true, 1'700'000'000'500);
  text = m.render();
  CHECK(has_series(text, "flowdrift_pair_info{pair=\"prod\",replica=\"primary\",source=\"dr\"}", 1));
  CHECK(text.find("flowdrift_pair_info{pair=\"prod\",replica=\"dr\"") == std::string::npos);
  CHECK(has_series(text, "flowdrift_pair_failed_over{pair=\"prod\"}", 1));
  CHECK(has_series(text, "flowdrift_pair_last_flip_timestamp_seconds{pair=\"prod\"}", 1'700'000'000.5));
  m.pair_direction("prod", "primary", "dr", false, 1'700'000'100'000);
  CHECK(has_series(m.render(), "flowdrift_pair_failed_over{pair=\"prod\"}", 0));
}

TEST_CASE("VM coverage: a site's reads and a pair's gaps by kind", "[unit][metrics][coverage]") {
  using State = drift::CoverageRead::State;
  auto m = make();
  auto text = m.render();
  // Both kinds from the start; no per-site series before a read.
  CHECK(has_series(text, "flowdrift_vm_coverage_gaps{kind=\"unprotected\",pair=\"prod\"}", 0));
  CHECK(has_series(text, "flowdrift_vm_coverage_gaps{kind=\"protected_differently\",pair=\"prod\"}", 0));
  CHECK(text.find("flowdrift_vm_coverage_up{") == std::string::npos);

  drift::CoverageRead read;
  read.state = State::Complete;
  read.vms = 40;
  read.data.vms = {{"1", "web-01", {}}, {"2", "db-01", {}}};
  m.vm_coverage("primary", read);
  m.coverage_gaps("prod", {"unprotected", "unprotected", "protected_differently"});
  text = m.render();
  CHECK(has_series(text, "flowdrift_vm_coverage_up{site=\"primary\"}", 1));
  CHECK(has_series(text, "flowdrift_vm_coverage_vms{site=\"primary\"}", 40));
  CHECK(has_series(text, "flowdrift_vm_coverage_protected_vms{site=\"primary\"}", 2));
  CHECK(has_series(text, "flowdrift_vm_coverage_gaps{kind=\"unprotected\",pair=\"prod\"}", 2));
  CHECK(has_series(text, "flowdrift_vm_coverage_gaps{kind=\"protected_differently\",pair=\"prod\"}", 1));

  // A failed read: up 0, the counts of the last complete one stay; not read changes nothing.
  drift::CoverageRead failed;
  failed.state = State::Failed;
  m.vm_coverage("primary", failed);
  m.vm_coverage("primary", drift::CoverageRead{});
  text = m.render();
  CHECK(has_series(text, "flowdrift_vm_coverage_up{site=\"primary\"}", 0));
  CHECK(has_series(text, "flowdrift_vm_coverage_vms{site=\"primary\"}", 40));
  // Not served: the site's series go.
  drift::CoverageRead absent;
  absent.state = State::NotServed;
  m.vm_coverage("primary", absent);
  CHECK(m.render().find("flowdrift_vm_coverage_up{") == std::string::npos);
  m.coverage_gaps("prod", {});
  CHECK(has_series(m.render(), "flowdrift_vm_coverage_gaps{kind=\"unprotected\",pair=\"prod\"}", 0));
}

TEST_CASE("poll slots and a failing site's backoff are exported", "[unit][metrics][backoff]") {
  auto m = make();
  auto text = m.render();
  CHECK(text.find("flowdrift_polls_in_flight") == std::string::npos);  // no gate told yet
  m.poll_gate(2, 5, 4);
  SitePoll p = complete_poll("dr", "v3", "v3");
  p.complete = false;
  p.reason = "timeout";
  p.consecutive_failures = 3;
  p.backoff_seconds = 150;
  m.poll_finished(p);
  text = m.render();
  CHECK(has_series(text, "flowdrift_polls_in_flight", 2));
  CHECK(has_series(text, "flowdrift_polls_waiting", 5));
  CHECK(has_series(text, "flowdrift_polls_max_concurrent", 4));
  CHECK(has_series(text, "flowdrift_site_consecutive_failed_polls{site=\"dr\"}", 3));
  CHECK(has_series(text, "flowdrift_site_poll_backoff_seconds{site=\"dr\"}", 150));
  m.poll_finished(complete_poll("dr", "v3", "v3"));
  text = m.render();
  CHECK(has_series(text, "flowdrift_site_consecutive_failed_polls{site=\"dr\"}", 0));
  CHECK(has_series(text, "flowdrift_site_poll_backoff_seconds{site=\"dr\"}", 0));
}
