// A baseline kept in git as a pair's source (issue #17, point 2): the daemon compares the live
// replica against the approved state, re-reads it when its files change (a commit, a checkout)
// and on reload, and an unreadable baseline makes the pair UNKNOWN, never drifted.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>

#include "live.hpp"

using namespace flowdrift::test;
using namespace std::chrono_literals;

namespace {

// git in `repo`, with an identity of its own; REQUIREs success.
void git(const TempDir& dir, const std::string& repo, std::vector<std::string> args) {
  const std::string exe = "/usr/bin/git";
  REQUIRE(std::filesystem::exists(exe));  // scripts/install-deps.sh --test installs it
  std::vector<std::string> argv{exe, "-C", repo, "-c", "user.name=flowdrift test",
                                "-c", "user.email=test@flowdrift.invalid"};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p(argv, dir.file("git.out"));
  auto rc = p.wait(30s);
  INFO(read_file(dir.file("git.out")));
  REQUIRE(rc == std::optional<int>(0));
}

std::string pair_reason(DbView& db) {
  return db.scalar("SELECT s.reason FROM pair_states s JOIN pairs p ON p.id = s.pair_id "
                   "WHERE p.name = 'prod'").value_or("");
}

// Why the latest poll of `site` failed ("" when it did not).
std::string poll_message(DbView& db, const std::string& site) {
  return db.scalar("SELECT p.message FROM polls p JOIN sites s ON s.id = p.site_id WHERE "
                   "s.name = '" + site + "' ORDER BY p.id DESC LIMIT 1").value_or("");
}

long long open_items(DbView& db) {
  return std::stoll(db.scalar("SELECT count(*) FROM drift_items WHERE resolved_ms IS NULL")
                        .value_or("-1"));
}

}  // namespace

TEST_CASE("a baseline in git as the source: live drift, approval by commit, an older checkout",
          "[integration][baseline][slow]") {
  LivePair live(40, 11);
  DbView db = live.start_in_sync();
  const auto& dir = live.dir;
  const std::string repo = dir.file("baselines");
  std::filesystem::create_directories(repo);
  git(dir, repo, {"init", "-q"});
  const std::string cfg = live.daemon.config_path();
  auto exported = run_ctl(dir, {"export", "--config", cfg, "--site", "primary", "--out",
                                repo + "/flow/"});
  INFO(exported.out);
  REQUIRE(exported.status == 0);
  git(dir, repo, {"add", "-A"});
  git(dir, repo, {"commit", "-q", "-m", "approved: as the primary is"});

  // The pair's source becomes the baseline (a path relative to the config file).
  auto text = read_file(cfg);
  const std::string from = "    source: primary\n";
  REQUIRE(text.find(from) != std::string::npos);
  write_file(cfg, text.replace(text.find(from), from.size(),
                               "    source: {baseline: baselines/flow}\n"));
  live.daemon.signal(SIGHUP);
  const std::string site = "baseline:" + repo + "/flow";
  REQUIRE(wait_until([&] {
    return db.scalar("SELECT source_site FROM pairs WHERE name = 'prod'") == site &&
           db.scalar("SELECT count(*) FROM polls p JOIN sites s ON s.id = p.site_id WHERE "
                     "s.name = '" + site + "' AND p.outcome = 'complete'").value_or("0") != "0" &&
           pair_status(db) == "IN_SYNC";
  }, 30s));
  CHECK(db.scalar("SELECT api FROM polls p JOIN sites s ON s.id = p.site_id WHERE s.name = '" +
                  site + "' ORDER BY p.id DESC LIMIT 1") == std::optional<std::string>("baseline"));

  SECTION("a live change on the replica is drift against the approved state") {
    live.dr.monitor_enforced_rule();
    REQUIRE(wait_until([&] { return pair_status(db) == "DRIFTED"; }, 30s));
    const auto drifted = open_items(db);
    CHECK(drifted >= 1);

    // Approving the change is a commit of the replica's state: seen on disk, no reload needed.
    REQUIRE(run_ctl(dir, {"export", "--config", cfg, "--site", "dr", "--out", repo + "/flow/"})
                .status == 0);
    git(dir, repo, {"commit", "-q", "-a", "-m", "approved: the rule is monitored"});
    REQUIRE(wait_until([&] { return pair_status(db) == "IN_SYNC"; }, 30s));
    CHECK(open_items(db) == 0);

    // The older baseline, checked out and reloaded, is what the replica is compared against.
    git(dir, repo, {"checkout", "-q", "HEAD~1", "--", "flow"});
    live.daemon.signal(SIGHUP);
    REQUIRE(wait_until([&] { return pair_status(db) == "DRIFTED"; }, 30s));
    CHECK(open_items(db) == drifted);

    // A broken baseline is UNKNOWN with the reason: the open items stay as they were.
    write_file(repo + "/flow/baseline.json", "{\"format\": ");
    REQUIRE(wait_until([&] { return pair_status(db) == "UNKNOWN"; }, 30s));
    CHECK(pair_reason(db).find(site) != std::string::npos);
    CHECK(poll_message(db, site).find(repo + "/flow/baseline.json") != std::string::npos);
    CHECK(open_items(db) == drifted);
    git(dir, repo, {"checkout", "-q", "--", "flow"});
    REQUIRE(wait_until([&] { return pair_status(db) == "DRIFTED"; }, 30s));
    CHECK(open_items(db) == drifted);
  }

  SECTION("a baseline that is missing is UNKNOWN, naming the path") {
    std::filesystem::rename(repo + "/flow", repo + "/gone");
    REQUIRE(wait_until([&] { return pair_status(db) == "UNKNOWN"; }, 30s));
    INFO(pair_reason(db));
    CHECK(pair_reason(db).find(site) != std::string::npos);
    CHECK(poll_message(db, site).find(repo + "/flow") != std::string::npos);
    CHECK(open_items(db) == 0);
  }
}
