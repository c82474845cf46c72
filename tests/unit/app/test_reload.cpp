// Configuration reload: the site/pair diff that decides which collectors a reload replaces
// (plan_reload), and App::reload itself without polling: a broken file changes nothing but
// the reload metric and the audit trail; a good one replaces only the changed site's collector.
#include <catch2/catch.hpp>

#include <fstream>

#include "app/app.hpp"
#include "app/reload.hpp"
#include "config/config.hpp"
#include "drift/rules.hpp"
#include "store/db.hpp"
#include "store/reloads.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using flowdrift::test::TempDir;
using flowdrift::test::write_file;

namespace {

struct Yaml {
  std::string primary_extra;  // lines appended to the primary site (4-space indent)
  std::string dr_extra;
  std::string pair_extra;
  std::string listen = "127.0.0.1:0";
  std::string level = "info";
  std::string dr_interval = "1s";
  bool with_dr = true;

  std::string text() const {
    std::string s = "sites:\n"
                    "  - name: primary\n    url: https://127.0.0.1:1\n    username: admin\n"
                    "    password_file: pw\n    interval: 1s\n" + primary_extra;
    if (with_dr) {
      s += "  - name: dr\n    url: https://127.0.0.1:2\n    username: admin\n"
           "    password_file: pw\n    interval: " + dr_interval + "\n" + dr_extra;
      s += "pairs:\n  - name: prod\n    source: primary\n    replica: dr\n" + pair_extra;
    }
    s += "storage:\n  path: flowdrift.db\nserver:\n  listen: " + listen + "\nlog:\n  level: " +
         level + "\n";
    return s;
  }
};

config::Config parse(const Yaml& y) { return drift::parse_config(y.text(), "t.yaml"); }

app::SecretsBySite secrets(const std::string& password_digest = "a") {
  return {{"primary", {password_digest, ""}}, {"dr", {password_digest, ""}}};
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

// The App loaded from `y` written to dir/flowdrift.yaml, its password file dir/pw.
app::App load_app(const TempDir& dir, const Yaml& y) {
  write_file(dir.file("pw"), "secret\n");
  write_file(dir.file("flowdrift.yaml"), y.text());
  return app::App(drift::load_config(dir.file("flowdrift.yaml")));
}

}  // namespace

TEST_CASE("plan_reload: the same config changes nothing, whatever moved in the file",
          "[unit][app][reload]") {
  Yaml y;
  Yaml moved = y;
  moved.primary_extra = "    # a comment moves every line below\n";
  auto plan = app::plan_reload(parse(y), secrets(), parse(moved), secrets());
  CHECK_FALSE(plan.changes_anything());
  CHECK(plan.needs_restart.empty());
  CHECK(plan.sites_unchanged == std::vector<std::string>{"primary", "dr"});
  CHECK(plan.pairs_unchanged == std::vector<std::string>{"prod"});
  CHECK(plan.summary() == "no changes");
}

TEST_CASE("plan_reload: a changed field or password marks only that site changed",
          "[unit][app][reload]") {
  Yaml y;
  Yaml slower = y;
  slower.dr_extra = "    page_size: 100\n";
  slower.dr_extra += "    retries: 1\n";
  auto plan = app::plan_reload(parse(y), secrets(), parse(slower), secrets());
  CHECK(plan.sites_unchanged == std::vector<std::string>{"primary"});
  REQUIRE(plan.sites_changed.count("dr") == 1);
  CHECK(plan.sites_changed.at("dr") == std::vector<std::string>{"retries", "page_size"});
  CHECK(plan.pairs_unchanged == std::vector<std::string>{"prod"});  // its sites are not its config
  CHECK(plan.summary() == "sites changed: dr (retries, page_size)");

  // Same file, new password content behind password_file: both sites read it.
  plan = app::plan_reload(parse(y), secrets("a"), parse(y), secrets("b"));
  CHECK(plan.sites_changed.at("primary") == std::vector<std::string>{"password"});
  CHECK(plan.sites_changed.at("dr") == std::vector<std::string>{"password"});

  // The CA file's content changed under the same path.
  auto before = secrets();
  auto after = secrets();
  after["dr"].ca_file_sha256 = "other";
  plan = app::plan_reload(parse(y), before, parse(y), after);
  CHECK(plan.sites_changed.at("dr") == std::vector<std::string>{"ca_file content"});
  CHECK(plan.sites_unchanged == std::vector<std::string>{"primary"});
}

TEST_CASE("plan_reload: sites and pairs added, removed and changed", "[unit][app][reload]") {
  Yaml two;
  Yaml one;
  one.with_dr = false;
  auto plan = app::plan_reload(parse(two), secrets(), parse(one), secrets());
  CHECK(plan.sites_removed == std::vector<std::string>{"dr"});
  CHECK(plan.pairs_removed == std::vector<std::string>{"prod"});
  CHECK(plan.summary() == "sites removed: dr; pairs removed: prod");
  plan = app::plan_reload(parse(one), secrets(), parse(two), secrets());
  CHECK(plan.sites_added == std::vector<std::string>{"dr"});
  CHECK(plan.pairs_added == std::vector<std::string>{"prod"});

  Yaml expected = two;
  expected.pair_extra =
      "    expected:\n      - policy: web-*\n        owner: ops\n        reason: migration\n"
      "        expires: 2099-01-01\n    debounce:\n      comparisons: 3\n";
  plan = app::plan_reload(parse(two), secrets(), parse(expected), secrets());
  CHECK(plan.pairs_changed.at("prod") == std::vector<std::string>{"expected", "debounce"});
  CHECK(plan.sites_unchanged.size() == 2);
}

TEST_CASE("plan_reload: listen address, database and log format need a restart",
          "[unit][app][reload]") {
  Yaml y;
  Yaml moved = y;
  moved.listen = "127.0.0.1:9999";
  moved.level = "debug";
  auto plan = app::plan_reload(parse(y), secrets(), parse(moved), secrets());
  REQUIRE(plan.needs_restart.size() == 1);
  CHECK(plan.needs_restart[0] == "server.listen: 127.0.0.1:0 -> 127.0.0.1:9999 needs a restart");
  // The log level applies live.
  CHECK(plan.settings_changed == std::vector<std::string>{"log.level info -> debug"});
}

TEST_CASE("App::reload rejects a broken file and keeps everything, then applies a good one",
          "[unit][app][reload]") {
  TempDir dir;
  const std::string path = dir.file("flowdrift.yaml");
  const Yaml y;
  app::App app = load_app(dir, y);
  const auto* primary = app.collector("primary");
  const auto* dr = app.collector("dr");
  REQUIRE(primary != nullptr);
  REQUIRE(dr != nullptr);
  CHECK(has_line(app.metrics().render(), "flowdrift_config_last_reload_successful 1"));

  // Broken: line 7 of the file has a jitter that does not parse.
  Yaml broken = y;
  broken.primary_extra = "    jitter: lots\n";
  write_file(path, broken.text());
  auto r = app.reload("http");
  CHECK_FALSE(r.ok);
  CHECK(r.status == 400);
  CHECK_THAT(r.message, Catch::Contains(path + ":7:"));
  CHECK_THAT(r.message, Catch::Contains("jitter"));
  CHECK(app.collector("primary") == primary);
  CHECK(app.collector("dr") == dr);
  CHECK(app.config().sites.at(0).jitter == Approx(0.1));
  CHECK(has_line(app.metrics().render(), "flowdrift_config_last_reload_successful 0"));

  // Good: dr polls every 2s and the pair debounces over 3 comparisons. Only dr's collector is
  // replaced.
  Yaml good = y;
  good.dr_interval = "2s";
  good.pair_extra = "    debounce:\n      comparisons: 3\n";
  write_file(path, good.text());
  // The timeouts shrink to fit a short interval and max_skew defaults to three intervals, so
  // those derived values changed with it.
  const std::string kGoodSummary =
      "sites changed: dr (interval, connect_timeout, request_timeout, poll_timeout); "
      "pairs changed: prod (debounce, max_skew)";
  r = app.reload("SIGHUP");
  INFO(r.message);
  CHECK(r.ok);
  CHECK(r.status == 200);
  CHECK(r.message == kGoodSummary);
  CHECK(app.collector("primary") == primary);
  REQUIRE(app.collector("dr") != nullptr);
  CHECK(app.collector("dr") != dr);
  CHECK(app.collector("dr")->site().interval == std::chrono::seconds(2));
  CHECK(app.config().pairs.at(0).debounce_comparisons == 3);
  CHECK(has_line(app.metrics().render(), "flowdrift_config_last_reload_successful 1"));

  // A change that needs a restart is rejected as a whole: the dr interval change with it too.
  Yaml relisten = y;
  relisten.listen = "127.0.0.1:1";
  write_file(path, relisten.text());
  r = app.reload("http");
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.message, Catch::Contains("server.listen"));
  CHECK(app.collector("dr")->site().interval == std::chrono::seconds(2));

  // Removing dr and the pair: its collector goes, its series vanish.
  Yaml alone = y;
  alone.with_dr = false;
  write_file(path, alone.text());
  r = app.reload("http");
  CHECK(r.ok);
  CHECK(app.collector("primary") == primary);
  CHECK(app.collector("dr") == nullptr);
  const auto text = app.metrics().render();
  CHECK(text.find("site=\"dr\"") == std::string::npos);
  CHECK(text.find("pair=\"prod\"") == std::string::npos);
  CHECK(has_line(text, "flowdrift_site_polls_total{site=\"primary\"} 0"));

  const auto rows = store::config_reloads(app.store().db());
  REQUIRE(rows.size() == 5);
  CHECK(rows[0].trigger == "start");
  CHECK(rows[1].trigger == "http");
  CHECK_FALSE(rows[1].ok);
  CHECK_THAT(rows[1].summary, Catch::Contains("jitter"));
  CHECK(rows[2].trigger == "SIGHUP");
  CHECK(rows[2].ok);
  CHECK(rows[2].summary == kGoodSummary);
  CHECK_FALSE(rows[3].ok);
  CHECK(rows[4].ok);
  for (const auto& row : rows) {
    CHECK(row.file == path);
    REQUIRE(row.sha256.has_value());
    CHECK(row.sha256->size() == 64);
  }
  CHECK(rows[1].sha256 != rows[2].sha256);
}

TEST_CASE("App::reload rejects unreadable credentials and keeps the collectors",
          "[unit][app][reload]") {
  TempDir dir;
  app::App app = load_app(dir, Yaml{});
  const auto* dr = app.collector("dr");
  // Same config, but the password changes: both sites are replaced.
  write_file(dir.file("pw"), "rotated\n");
  auto r = app.reload("http");
  CHECK(r.ok);
  CHECK(r.message == "sites changed: dr (password), primary (password)");
  CHECK(app.collector("dr") != dr);
  dr = app.collector("dr");
  // An empty password file is a credential problem: rejected, nothing replaced.
  write_file(dir.file("pw"), "");
  r = app.reload("http");
  CHECK_FALSE(r.ok);
  CHECK(r.status == 400);
  CHECK_THAT(r.message, Catch::Contains("primary"));
  CHECK(app.collector("dr") == dr);
}
