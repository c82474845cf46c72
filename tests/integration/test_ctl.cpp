// flowdriftctl as an operator runs it: dump two live sites, diff the dumps, and read the
// daemon's database with status, drift, explain and history.
#include <catch2/catch.hpp>

#include "live.hpp"

using namespace flowdrift::test;
using namespace std::chrono_literals;


TEST_CASE("flowdriftctl dump, diff, status, drift and explain against live sites and the daemon",
          "[integration][ctl][slow]") {
  LivePair live(80, 5);  // the daemon writes flowdrift.yaml with both sites
  auto& [dir, primary, dr, daemon] = live;
  const auto cfg = dir.file("flowdrift.yaml");

  // Dumps of two sites holding the same intent under different UUIDs are in sync.
  auto d1 = run_ctl(dir, {"dump", "--config", cfg, "--site", "primary", "--out", dir.file("p.json")});
  INFO(d1.out);
  REQUIRE(d1.status == 0);
  auto d2 = run_ctl(dir, {"dump", "--config", cfg, "--site", "dr", "--out", dir.file("d.json")});
  REQUIRE(d2.status == 0);
  auto same = run_ctl(dir, {"diff", dir.file("p.json"), dir.file("d.json")});
  INFO(same.out);
  CHECK(same.status == 0);
  CHECK_THAT(same.out, Catch::StartsWith("IN SYNC"));

  // A change on DR shows up in a new dump's diff, exit 1, in text and JSON.
  const auto rule = dr.monitor_enforced_rule();
  // -o FILE, the old spelling of --out, still writes the file and says it is deprecated.
  auto old_spelling = run_ctl(dir, {"dump", "--config", cfg, "--site", "dr", "-o", dir.file("d2.json")});
  REQUIRE(old_spelling.status == 0);
  CHECK_THAT(old_spelling.out, Catch::Contains("-o/--output FILE is deprecated") && Catch::Contains("--out FILE"));
  // Off a terminal only the summary by default; -v adds each step, -q says nothing at all.
  CHECK_THAT(old_spelling.out, !Catch::Contains(" requests (") && Catch::Contains("flowdriftctl: wrote "));
  auto verbose = run_ctl(dir, {"dump", "--config", cfg, "--site", "dr", "--out", dir.file("d3.json"), "-v"});
  REQUIRE(verbose.status == 0);
  CHECK_THAT(verbose.out, Catch::Contains("flowdriftctl: site dr: ") && Catch::Contains(" requests (0 retries)\n"));
  auto quiet = run_ctl(dir, {"dump", "--config", cfg, "--site", "dr", "--out", dir.file("d3.json"), "-q"});
  REQUIRE(quiet.status == 0);
  CHECK(quiet.out.empty());
  CHECK(nlohmann::json::parse(read_file(dir.file("d3.json"))).is_object());
  auto drift = run_ctl(dir, {"diff", dir.file("p.json"), dir.file("d2.json"), "--format", "json"});
  INFO(drift.out);
  CHECK(drift.status == 1);
  auto j = nlohmann::json::parse(drift.out);
  REQUIRE(j.at("items").size() == 1);
  CHECK(j.at("items")[0].at("policy") == rule.at("spec").at("name"));
  CHECK(j.at("items")[0].at("kind") == "enforcement_mode");

  // A wrong site name and an unreadable file are errors (exit 2) that say what is wrong.
  auto bad = run_ctl(dir, {"dump", "--config", cfg, "--site", "nope"});
  CHECK(bad.status == 2);
  CHECK_THAT(bad.out, Catch::Contains("nope"));
  auto missing = run_ctl(dir, {"diff", dir.file("absent.json"), dir.file("p.json")});
  CHECK(missing.status == 2);
  CHECK_THAT(missing.out, Catch::Contains("absent.json"));

  // status and drift read the daemon's database.
  auto no_db = run_ctl(dir, {"status", "--config", cfg});
  CHECK(no_db.status == 2);
  CHECK_THAT(no_db.out, Catch::Contains("no such database"));
  CHECK(run_ctl(dir, {"status", "--config", cfg, "--exit-code"}).status == 2);
  daemon.start();
  DbView db(daemon.db_path());
  // The item opens pending (debounce: 2 comparisons) and is raised by a later comparison;
  // only then is the pair DRIFTED.
  REQUIRE(wait_until([&] {
    return db.scalar("SELECT count(*) FROM drift_items WHERE resolved_ms IS NULL "
                     "AND raised_ms IS NOT NULL").value_or("0") == "1";
  }, 60s));
  auto status = run_ctl(dir, {"status", "--config", cfg});
  INFO(status.out);
  CHECK(status.status == 0);
  CHECK_THAT(status.out, Catch::Contains("prod"));
  CHECK_THAT(status.out, Catch::Contains("DRIFTED"));
  CHECK_THAT(status.out, Catch::Contains("primary"));
  // For scripts: --exit-code says DRIFTED with 1, in either format, and prints the same.
  auto drifted = run_ctl(dir, {"status", "--config", cfg, "--exit-code"});
  CHECK(drifted.status == 1);
  CHECK(drifted.out == status.out);
  CHECK(run_ctl(dir, {"status", "--config", cfg, "--exit-code", "--format", "json"}).status == 1);
  auto items = run_ctl(dir, {"drift", "--db", daemon.db_path(), "--pair", "prod", "--open",
                         "--format", "json"});
  INFO(items.out);
  CHECK(items.status == 0);
  const auto items_doc = nlohmann::json::parse(items.out);
  CHECK(items_doc.at("schema") == "flowdrift.drift/v1");
  const auto& arr = items_doc.at("items");
  REQUIRE(arr.size() == 1);
  CHECK(arr[0].at("policy") == rule.at("spec").at("name"));
  CHECK(arr[0].at("resolved").is_null());
  CHECK(arr[0].at("state") == "raised");
  CHECK_FALSE(arr[0].at("raised").is_null());

  // explain: the same item from the daemon's last compared snapshots, with its history.
  auto explained = run_ctl(dir, {"explain", "prod", rule.at("spec").at("name"), "--config", cfg,
                             "--format", "json"});
  INFO(explained.out);
  CHECK(explained.status == 1);
  auto ex = nlohmann::json::parse(explained.out);
  CHECK(ex.at("status") == "drifted");
  CHECK(ex.at("snapshots").at("source").at("origin") == "last_comparison");
  REQUIRE(ex.at("items").size() == 1);
  CHECK(ex.at("items")[0].at("kind") == "enforcement_mode");
  CHECK(ex.at("items")[0].at("fields")[0].at("replica") == "\"monitor\"");
  REQUIRE(ex.at("stored_items").size() == 1);
  CHECK(ex.at("stored_items")[0].at("state") == "raised");
  std::vector<std::string> events;
  for (const auto& e : ex.at("stored_items")[0].at("events")) events.push_back(e.at("event"));
  CHECK(events == std::vector<std::string>{"opened", "raised"});
  auto unknown = run_ctl(dir, {"explain", "prod", "no-such-policy", "--config", cfg});
  CHECK(unknown.status == 2);
  CHECK_THAT(unknown.out, Catch::Contains("no policy named 'no-such-policy'"));
  auto since = run_ctl(dir, {"drift", "--db", daemon.db_path(), "--since", "1h"});
  CHECK(since.status == 0);
  CHECK_THAT(since.out, Catch::Contains("enforcement_mode"));

  // history: the version each site holds, and a new one once the DR policy is fixed.
  const std::string name = rule.at("spec").at("name");
  auto history_json = [&](const std::string& site) {
    auto h = run_ctl(dir, {"history", "--db", daemon.db_path(), "--site", site, "--policy", name,
                       "--format", "json"});
    INFO(h.out);
    REQUIRE(h.status == 0);
    return nlohmann::json::parse(h.out).at("versions");
  };
  auto on_dr = history_json("dr");
  REQUIRE(on_dr.size() == 1);
  CHECK(on_dr[0].at("mode") == "monitor");
  CHECK(on_dr[0].at("current") == true);
  CHECK(history_json("primary")[0].at("mode") == "enforce");
  dr.put_spec(rule.at("metadata").at("uuid"), rule.at("spec"));  // back to APPLY
  REQUIRE(wait_until([&] { return history_json("dr").size() == 2; }, 60s));
  auto fixed = history_json("dr");
  CHECK(fixed[0].at("current") == false);
  CHECK(fixed[1].at("mode") == "enforce");
  CHECK(fixed[1].at("current") == true);
  // Fixed and compared again: the pair is IN_SYNC and --exit-code says 0.
  REQUIRE(wait_until([&] { return run_ctl(dir, {"status", "--config", cfg, "--exit-code"}).status == 0; }, 60s));
  auto table = run_ctl(dir, {"history", "--db", daemon.db_path(), "--policy", name});
  CHECK(table.status == 0);
  CHECK_THAT(table.out, Catch::Contains("FIRST SEEN") && Catch::Contains("current"));
  daemon.stop();
}

namespace {

void set_api_mode(LiveSite& site, const std::string& mode) {
  auto r = site.api().json("POST", "/_pcsim/mode", {{"mode", mode}});
  REQUIRE(r.at("mode") == mode);
}

// Every page of one v4 listing, saved as `jq -s .` would: a JSON array of the list responses.
std::string save_v4_pages(LiveSite& site, const std::string& endpoint, const std::string& file) {
  nlohmann::json pages = nlohmann::json::array();
  std::size_t seen = 0;
  for (int page = 0;; ++page) {
    auto r = site.api().json("GET", endpoint + "?$page=" + std::to_string(page) + "&$limit=100");
    const auto total = r.at("metadata").at("totalAvailableResults").get<std::size_t>();
    seen += r.contains("data") ? r.at("data").size() : 0;
    pages.push_back(std::move(r));
    if (seen >= total) break;
    REQUIRE(page < 100);
  }
  write_file(file, pages.dump());
  return file;
}

nlohmann::json read_json(const std::string& file) { return nlohmann::json::parse(read_file(file)); }

}  // namespace

TEST_CASE("flowdriftctl dump of v4 and both-mode sites and diff of v3 and v4 dumps of one intent",
          "[integration][ctl][v4][slow]") {
  TempDir dir;
  LiveSite primary(dir, "primary", 60, 11);  // api mode both: v3 and v4 both answer
  LiveSite dr(dir, "dr", 60, 11);
  set_api_mode(dr, "v4");  // Flow Next-Gen: the v3 rule APIs answer 410
  write_file(dir.file("pc-password"), std::string(kLivePassword) + "\n");
  auto site = [&](const std::string& name, LiveSite& s, const std::string& api) {
    return "  - name: " + name + "\n    url: https://127.0.0.1:" + std::to_string(s.port()) +
           "\n    username: admin\n    password_file: pc-password\n    ca_file: " + s.ca_file() +
           "\n    api: " + api + "\n    retries: 0\n";
  };
  const auto cfg = dir.file("ctl.yaml");
  write_file(cfg, "sites:\n" + site("primary", primary, "v3") + site("primary-auto", primary, "auto") +
                      site("dr", dr, "auto") + site("dr-v3", dr, "v3") + site("dr-v4", dr, "v4") +
                      "storage:\n  path: flowdrift.db\n");

  // The API each dump came from is recorded in it: the site's api setting, detected as the
  // daemon does (auto: v4 first, so a both-mode PC is read over v4).
  auto p3 = run_ctl(dir, {"dump", "--config", cfg, "--site", "primary", "--out", dir.file("p3.json")});
  INFO(p3.out);
  REQUIRE(p3.status == 0);
  CHECK(read_json(dir.file("p3.json")).at("api") == "v3");
  CHECK(read_json(dir.file("p3.json")).at("network_security_rules").size() == 60);
  auto p4 = run_ctl(dir, {"dump", "--config", cfg, "--site", "primary-auto", "--out", dir.file("p4.json")});
  INFO(p4.out);
  REQUIRE(p4.status == 0);
  CHECK(read_json(dir.file("p4.json")).at("api") == "v4");
  auto d4 = run_ctl(dir, {"dump", "--config", cfg, "--site", "dr", "--out", dir.file("d4.json")});
  INFO(d4.out);
  REQUIRE(d4.status == 0);
  CHECK_THAT(d4.out, Catch::Contains("60 policies over v4"));
  const auto dump4 = read_json(dir.file("d4.json"));
  CHECK(dump4.at("api") == "v4");
  CHECK(dump4.at("version") == 2);
  CHECK(dump4.at("policies").size() == 60);
  CHECK_FALSE(dump4.at("categories").empty());

  // A site pinned to v3 that has gone Next-Gen: an error naming the reason, no dump.
  auto gone = run_ctl(dir, {"dump", "--config", cfg, "--site", "dr-v3", "--out", dir.file("x.json")});
  CHECK(gone.status == 2);
  CHECK_THAT(gone.out, Catch::Contains("dr-v3: gone"));
  CHECK_FALSE(std::filesystem::exists(dir.file("x.json")));

  // Same intent, different APIs and ids: in sync both ways round.
  auto same = run_ctl(dir, {"diff", dir.file("p3.json"), dir.file("d4.json")});
  INFO(same.out);
  CHECK(same.status == 0);
  CHECK_THAT(same.out, Catch::StartsWith("IN SYNC"));
  auto same4 = run_ctl(dir, {"diff", dir.file("d4.json"), dir.file("p4.json")});
  INFO(same4.out);
  CHECK(same4.status == 0);

  // Baselines: the live v3 primary exported as a tree, the live v4 DR as one file. The same
  // intent, so each is in sync with the other and with the dumps; an export of the dump gives
  // the same object files as the live export.
  auto e3 = run_ctl(dir, {"export", "--config", cfg, "--site", "primary", "--out", dir.file("base/")});
  INFO(e3.out);
  REQUIRE(e3.status == 0);
  CHECK_THAT(e3.out, Catch::Contains("exported 60 policies"));
  CHECK(read_json(dir.file("base/baseline.json")).at("api") == "v3");
  auto e4 = run_ctl(dir, {"export", "--config", cfg, "--site", "dr", "--out", dir.file("dr-base.json")});
  REQUIRE(e4.status == 0);
  CHECK(read_json(dir.file("dr-base.json")).at("api") == "v4");
  CHECK(run_ctl(dir, {"diff", dir.file("base"), dir.file("dr-base.json")}).status == 0);
  CHECK(run_ctl(dir, {"diff", dir.file("base"), dir.file("d4.json")}).status == 0);
  REQUIRE(run_ctl(dir, {"export", "--from", dir.file("p3.json"), "--out", dir.file("from-dump/")}).status == 0);
  for (const auto& f : std::filesystem::directory_iterator(dir.file("base/policies"))) {
    CHECK(read_json(f.path().string()) ==
          read_json(dir.file("from-dump/policies/" + f.path().filename().string())));
  }
  auto no_site = run_ctl(dir, {"export", "--config", cfg, "--site", "nope", "--out", dir.file("n.json")});
  CHECK(no_site.status == 2);
  CHECK_THAT(no_site.out, Catch::Contains("no site named 'nope'"));
  CHECK_FALSE(std::filesystem::exists(dir.file("n.json")));

  // A change on DR (made through v3, as pcsim has no v4 writes, then back to Next-Gen).
  set_api_mode(dr, "both");
  const std::string changed_policy = dr.monitor_enforced_rule().at("spec").at("name");
  set_api_mode(dr, "v4");
  auto d4b = run_ctl(dir, {"dump", "--config", cfg, "--site", "dr-v4", "--out", dir.file("d4b.json")});
  INFO(d4b.out);
  REQUIRE(d4b.status == 0);
  auto drift = run_ctl(dir, {"diff", dir.file("p3.json"), dir.file("d4b.json"), "--format", "json"});
  INFO(drift.out);
  CHECK(drift.status == 1);
  auto j = nlohmann::json::parse(drift.out);
  CHECK(j.at("source").at("api") == "v3");
  CHECK(j.at("replica").at("api") == "v4");
  REQUIRE(j.at("items").size() == 1);
  CHECK(j.at("items")[0].at("policy") == changed_policy);
  CHECK(j.at("items")[0].at("kind") == "enforcement_mode");

  // The raw v4 list responses an operator saves with curl, given with their references.
  const auto policies = save_v4_pages(dr, "/api/microseg/v4.0/config/policies", dir.file("pol.json"));
  const auto cats = save_v4_pages(dr, "/api/prism/v4.0/config/categories", dir.file("cat.json"));
  const auto ags = save_v4_pages(dr, "/api/microseg/v4.0/config/address-groups", dir.file("ag.json"));
  const auto sgs = save_v4_pages(dr, "/api/microseg/v4.0/config/service-groups", dir.file("sg.json"));
  auto no_refs = run_ctl(dir, {"diff", dir.file("p3.json"), policies});
  CHECK(no_refs.status == 2);
  CHECK_THAT(no_refs.out, Catch::Contains(policies));
  CHECK_THAT(no_refs.out, Catch::Contains("--replica-categories FILE"));
  auto listed = run_ctl(dir, {"diff", dir.file("p3.json"), policies, "--format", "json",
                          "--replica-categories", cats, "--replica-address-groups", ags,
                          "--replica-service-groups", sgs});
  INFO(listed.out);
  CHECK(listed.status == 1);
  auto k = nlohmann::json::parse(listed.out);
  CHECK(k.at("replica").at("input") == "v4 list");
  REQUIRE(k.at("items").size() == 1);
  CHECK(k.at("items")[0].at("policy") == changed_policy);
  CHECK(k.at("items")[0].at("kind") == "enforcement_mode");
}
