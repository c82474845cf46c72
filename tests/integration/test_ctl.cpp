// flowdriftctl as an operator runs it: dump two live sites, diff the dumps, and read the
// daemon's database with status and drift.
#include <catch2/catch.hpp>

#include "live.hpp"

using namespace flowdrift::test;
using namespace std::chrono_literals;

namespace {

struct Run {
  int status;
  std::string out;
};

Run ctl(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), build_dir() + "/daemon/flowdriftctl");
  const auto log = dir.file("ctl.out");
  std::filesystem::remove(log);
  Process p(args, log);
  auto rc = p.wait(60s);
  REQUIRE(rc.has_value());
  return {*rc, read_file(log)};
}

}  // namespace

TEST_CASE("flowdriftctl dump, diff, status and drift against live sites and the daemon",
          "[integration][ctl][slow]") {
  TempDir dir;
  LiveSite primary(dir, "primary", 80, 5);
  LiveSite dr(dir, "dr", 80, 5);
  LiveDaemon daemon(dir, primary, dr);  // writes flowdrift.yaml with both sites
  const auto cfg = dir.file("flowdrift.yaml");

  // Dumps of two sites holding the same intent under different UUIDs are in sync.
  auto d1 = ctl(dir, {"dump", "--config", cfg, "--site", "primary", "-o", dir.file("p.json")});
  INFO(d1.out);
  REQUIRE(d1.status == 0);
  auto d2 = ctl(dir, {"dump", "--config", cfg, "--site", "dr", "-o", dir.file("d.json")});
  REQUIRE(d2.status == 0);
  auto same = ctl(dir, {"diff", dir.file("p.json"), dir.file("d.json")});
  INFO(same.out);
  CHECK(same.status == 0);
  CHECK_THAT(same.out, Catch::StartsWith("IN SYNC"));

  // A change on DR shows up in a new dump's diff, exit 1, in text and JSON.
  auto rule = dr.enforced_app_rule();
  auto spec = rule.at("spec");
  spec["resources"]["app_rule"]["action"] = "MONITOR";
  dr.put_spec(rule.at("metadata").at("uuid"), spec);
  REQUIRE(ctl(dir, {"dump", "--config", cfg, "--site", "dr", "-o", dir.file("d2.json")}).status == 0);
  auto drift = ctl(dir, {"diff", dir.file("p.json"), dir.file("d2.json"), "--format", "json"});
  INFO(drift.out);
  CHECK(drift.status == 1);
  auto j = nlohmann::json::parse(drift.out);
  REQUIRE(j.at("items").size() == 1);
  CHECK(j.at("items")[0].at("policy") == rule.at("spec").at("name"));
  CHECK(j.at("items")[0].at("kind") == "enforcement_mode");

  // A wrong site name and an unreadable file are errors (exit 2) that say what is wrong.
  auto bad = ctl(dir, {"dump", "--config", cfg, "--site", "nope"});
  CHECK(bad.status == 2);
  CHECK_THAT(bad.out, Catch::Contains("nope"));
  auto missing = ctl(dir, {"diff", dir.file("absent.json"), dir.file("p.json")});
  CHECK(missing.status == 2);
  CHECK_THAT(missing.out, Catch::Contains("absent.json"));

  // status and drift read the daemon's database.
  auto no_db = ctl(dir, {"status", "--config", cfg});
  CHECK(no_db.status == 2);
  CHECK_THAT(no_db.out, Catch::Contains("no such database"));
  daemon.start();
  DbView db(daemon.db_path());
  REQUIRE(wait_until([&] {
    return db.scalar("SELECT count(*) FROM drift_items WHERE resolved_ms IS NULL").value_or("0") == "1";
  }, 60s));
  auto status = ctl(dir, {"status", "--config", cfg});
  INFO(status.out);
  CHECK(status.status == 0);
  CHECK_THAT(status.out, Catch::Contains("prod"));
  CHECK_THAT(status.out, Catch::Contains("DRIFTED"));
  CHECK_THAT(status.out, Catch::Contains("primary"));
  auto items = ctl(dir, {"drift", "--db", daemon.db_path(), "--pair", "prod", "--open",
                         "--format", "json"});
  INFO(items.out);
  CHECK(items.status == 0);
  auto arr = nlohmann::json::parse(items.out);
  REQUIRE(arr.size() == 1);
  CHECK(arr[0].at("policy") == rule.at("spec").at("name"));
  CHECK(arr[0].at("resolved").is_null());
  auto since = ctl(dir, {"drift", "--db", daemon.db_path(), "--since", "1h"});
  CHECK(since.status == 0);
  CHECK_THAT(since.out, Catch::Contains("enforcement_mode"));
  daemon.stop();
}
