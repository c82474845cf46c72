// The read-only JSON API over a real store: pairs with open items by state, sites with their
// last and last complete poll, drift items filtered by pair, state, history and limit.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "../store/store_test_util.hpp"
#include "app/api.hpp"
#include "report/documents.hpp"
#include "report/explain.hpp"
#include "config/config.hpp"
#include "drift/rules.hpp"
#include "store/db.hpp"
#include "store/drift.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using nlohmann::json;
namespace st = flowdrift::store::test;

namespace {

std::string site_yaml(const char* name) {
  return std::string("  - name: ") + name +
         "\n    url: https://pc.example\n    username: u\n    password_env: X\n";
}

diff::DriftItem item(const std::string& policy, diff::DriftKind kind, bool expected = false) {
  diff::DriftItem d;
  d.object = policy;
  d.kind = kind;
  d.severity = diff::Severity::Critical;
  d.direction = diff::Direction::MorePermissive;
  d.summary = policy + " differs";
  d.fields.push_back({"mode", "\"enforce\"", "\"monitor\""});
  if (expected) {
    d.expected = diff::ExpectedBy{"policy=" + policy, "net-team", "CHG-1", "2099-01-01"};
  }
  return d;
}

// Three sites (lab never polled), two pairs (lab's never compared). Pair prod after two
// comparisons: p-a raised and alerting, p-b pending, p-c raised but expected, p-d resolved.
struct Rig {
  flowdrift::test::TempDir dir;
  config::Config config = drift::parse_config(
      "sites:\n" + site_yaml("primary") + site_yaml("dr") + site_yaml("lab") +
          "pairs:\n  - name: prod\n    source: primary\n    replica: dr\n"
          "  - name: staging\n    source: primary\n    replica: lab\n",
      "t");
  store::Store store{dir.file("db.sqlite")};
  std::set<std::string> up{"primary"};  // the live view (flowdrift_site_up) the Api is given
  app::Api api{config, store, [this](const std::string& site) { return up.count(site) > 0; }};
  policy::Snapshot snap_a = st::numbered_snapshot(2, "a");
  policy::Snapshot snap_b = st::numbered_snapshot(2, "b");

  Rig() {
    auto a = store.record_poll(st::complete_poll("primary", 1000), &snap_a);
    auto b = store.record_poll(st::complete_poll("dr", 1000), &snap_b);
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    REQUIRE(store.record_poll(st::failed_poll("dr", 2000), nullptr).has_value());
    auto compare = [&](std::vector<diff::DriftItem> items, std::int64_t now, int comparisons) {
      diff::PairResult r;
      r.items = std::move(items);
      r.status = diff::PairStatus::Drifted;
      st::apply_comparison(store.db(), r, *a, *b, now, 1500, {comparisons, 0});
    };
    compare({item("p-a", diff::DriftKind::Modified), item("p-c", diff::DriftKind::Missing, true),
             item("p-d", diff::DriftKind::Modified)},
            10'000, 1);
    compare({item("p-a", diff::DriftKind::Modified), item("p-b", diff::DriftKind::Modified),
             item("p-c", diff::DriftKind::Missing, true)},
            20'000, 2);
  }

  json get(const std::string& target, int status = 200) {
    auto r = api.handle({"GET", target, {}, ""});
    INFO(target << " -> " << r.response.status << " " << r.response.body);
    CHECK(r.response.status == status);
    CHECK(r.response.header("Content-Type").value_or("") == "application/json");
    return json::parse(r.response.body);
  }
  std::vector<std::string> policies(const json& drift) {
    std::vector<std::string> out;
    for (const auto& it : drift.at("items")) out.push_back(it.at("policy").get<std::string>());
    return out;
  }
};

}  // namespace

TEST_CASE("api: pairs with status, open items by state and skew", "[unit][app][api]") {
  Rig rig;
  auto j = rig.get("/api/v1/pairs");
  REQUIRE(j.at("pairs").size() == 2);
  const auto& prod = j["pairs"][0];
  CHECK(prod["name"] == "prod");
  CHECK(prod["source"] == "primary");
  CHECK(prod["replica"] == "dr");
  CHECK(prod["status"] == "DRIFTED");
  CHECK(prod["since"] == "1970-01-01T00:00:10.000Z");
  CHECK(prod["updated"] == "1970-01-01T00:00:20.000Z");
  CHECK(prod["open"] == json{{"alerting", 1}, {"pending", 1}, {"expected", 1}});
  CHECK(prod["skew_seconds"] == 1.5);
  CHECK(prod["source_snapshot"].is_number_integer());
  const auto& staging = j["pairs"][1];
  CHECK(staging["name"] == "staging");
  CHECK(staging["status"] == "UNKNOWN");
  CHECK(staging["reason"] == "not compared yet");
  CHECK(staging["since"].is_null());
  CHECK(staging["open"] == json{{"alerting", 0}, {"pending", 0}, {"expected", 0}});
}

TEST_CASE("api: sites with last poll, last complete poll, API and snapshot", "[unit][app][api]") {
  Rig rig;
  auto j = rig.get("/api/v1/sites");
  REQUIRE(j.at("sites").size() == 3);
  const auto& primary = j["sites"][0];
  CHECK(primary["name"] == "primary");
  CHECK(primary["up"] == true);
  CHECK(primary["api"] == "v3");
  CHECK(primary["api_configured"] == "auto");
  CHECK(primary["last_poll"] == "1970-01-01T00:00:01.000Z");
  CHECK(primary["last_complete_poll"] == "1970-01-01T00:00:01.000Z");
  auto snap = rig.store.latest_complete_snapshot("primary");
  REQUIRE(snap.has_value());
  CHECK(primary["policies"] == snap->policy_count);
  CHECK(primary["snapshot"]["hash"] == snap->hash);
  CHECK(primary["snapshot"]["id"] == snap->id);
  CHECK(primary["snapshot"]["first_seen"] == "1970-01-01T00:00:01.000Z");

  const auto& dr = j["sites"][1];  // its latest poll failed; the last complete one stays
  CHECK(dr["up"] == false);
  CHECK(dr["last_outcome"] == "failed");
  CHECK(dr["last_reason"] == "timeout");
  CHECK(dr["last_poll"] == "1970-01-01T00:00:02.000Z");
  CHECK(dr["last_complete_poll"] == "1970-01-01T00:00:01.000Z");

  const auto& lab = j["sites"][2];
  CHECK(lab["name"] == "lab");
  CHECK(lab["up"] == false);
  CHECK(lab["last_poll"].is_null());
  CHECK(lab["snapshot"].is_null());
}

TEST_CASE("api: drift items, filtered by pair, state and history, bounded by limit",
          "[unit][app][api]") {
  Rig rig;
  auto open = rig.get("/api/v1/drift");
  CHECK(rig.policies(open) == std::vector<std::string>{"p-a", "p-c", "p-b"});
  CHECK(open["total"] == 3);
  CHECK(open["limit"] == app::Api::kDefaultLimit);
  CHECK(open["truncated"] == false);
  const auto& a = open["items"][0];
  CHECK(a["pair"] == "prod");
  CHECK(a["state"] == "raised");
  CHECK(a["kind"] == "modified");
  CHECK(a["severity"] == "critical");
  CHECK(a["opened"] == "1970-01-01T00:00:10.000Z");
  CHECK(a["raised"] == "1970-01-01T00:00:10.000Z");
  CHECK(a["resolved"].is_null());
  CHECK(a["expectation"].is_null());
  CHECK(a["fields"][0]["path"] == "mode");
  const auto& c = open["items"][1];
  CHECK(c["state"] == "expected");
  CHECK(c["expectation"]["owner"] == "net-team");
  CHECK(open["items"][2]["state"] == "pending");
  CHECK(open["items"][2]["raised"].is_null());

  CHECK(rig.policies(rig.get("/api/v1/drift?state=raised")) == std::vector<std::string>{"p-a"});
  CHECK(rig.policies(rig.get("/api/v1/drift?state=pending")) == std::vector<std::string>{"p-b"});
  CHECK(rig.policies(rig.get("/api/v1/drift?state=expected&pair=prod")) ==
        std::vector<std::string>{"p-c"});
  CHECK(rig.get("/api/v1/drift?pair=staging")["items"].empty());

  auto all = rig.get("/api/v1/drift?all=1");
  CHECK(rig.policies(all) == std::vector<std::string>{"p-a", "p-c", "p-d", "p-b"});
  auto resolved = rig.get("/api/v1/drift?all=true&state=resolved");
  REQUIRE(resolved["items"].size() == 1);
  CHECK(resolved["items"][0]["policy"] == "p-d");
  CHECK(resolved["items"][0]["resolved"] == "1970-01-01T00:00:20.000Z");

  auto limited = rig.get("/api/v1/drift?limit=2");
  CHECK(limited["items"].size() == 2);
  CHECK(limited["total"] == 3);
  CHECK(limited["truncated"] == true);
}

TEST_CASE("api: status history and applies are the documents flowdriftctl prints and every body "
          "names its schema",
          "[unit][app][api]") {
  Rig rig;
  CHECK(rig.get("/api/v1/pairs")["schema"] == "flowdrift.pairs/v1");
  CHECK(rig.get("/api/v1/sites")["schema"] == "flowdrift.sites/v1");
  CHECK(rig.get("/api/v1/drift")["schema"] == "flowdrift.drift/v1");

  auto status = rig.get("/api/v1/status");
  CHECK(status == report::status_document(rig.store.db()));
  CHECK(status["schema"] == "flowdrift.status/v1");
  REQUIRE(status["pairs"].size() == 1);  // only prod was ever compared
  CHECK(status["pairs"][0]["name"] == "prod");
  CHECK(status["pairs"][0]["open"] == json{{"alerting", 1}, {"pending", 1}, {"expected", 1}});
  CHECK(status["pairs"][0]["skew_seconds"] == 1.5);
  // The sites' latest polls: dr's last one failed, its snapshot is the complete one before it.
  REQUIRE(status["sites"].size() == 2);
  const auto& dr = status["sites"][0];
  CHECK(dr["name"] == "dr");
  CHECK(dr["last_outcome"] == "failed");
  CHECK(dr["last_poll"] == "1970-01-01T00:00:02.000Z");
  CHECK(dr["last_complete_poll"] == "1970-01-01T00:00:01.000Z");
  CHECK(dr["policies"] == 2);
  CHECK(dr["snapshot"]["hash"] == rig.snap_b.hash);
  CHECK(rig.get("/api/v1/status?pair=prod", 400).contains("error"));

  auto history = rig.get("/api/v1/history?site=primary");
  CHECK(history["schema"] == "flowdrift.history/v1");
  CHECK(history["versions"].size() == 2);
  for (const auto& v : history["versions"]) CHECK(v["site"] == "primary");
  CHECK(rig.get("/api/v1/history?site=primary&policy=nope")["versions"].empty());
  CHECK(rig.get("/api/v1/history?sight=primary", 400).contains("error"));
  auto applies = rig.get("/api/v1/applies");
  CHECK(applies["schema"] == "flowdrift.applies/v1");
  CHECK(applies["applies"].empty());

  // since: items opened or resolved at or after T (p-d resolved and p-b opened at 20 s).
  CHECK(rig.policies(rig.get("/api/v1/drift?all=1&since=15")) ==
        std::vector<std::string>{"p-d", "p-b"});
  CHECK(rig.get("/api/v1/drift?since=yesterday", 400).contains("error"));
}

TEST_CASE("api: explain is the document flowdriftctl explain builds, with the daemon's config",
          "[unit][app][api]") {
  Rig rig;
  auto doc = rig.get("/api/v1/explain?pair=prod&policy=p0000");
  CHECK(doc["schema"] == report::kExplainSchema);
  CHECK(doc["pair"] == "prod");
  CHECK(doc["policy"] == "p0000");
  CHECK(doc["status"] == "drifted");  // its body is "a" on primary and "b" on dr
  CHECK(doc["config"] == "t");        // the daemon's rules applied, named by its file
  CHECK(doc["snapshots"]["source"]["origin"] == "last_comparison");
  const report::ExplainRequest request{"prod", "p0000", &rig.config.pairs[0], "t", 0};
  const auto built = report::explain_document(rig.store.db(), request);
  REQUIRE(built.has_value());
  CHECK(doc == *built);

  // Each problem is named, with the status that says whose it is.
  CHECK_THAT(rig.get("/api/v1/explain?pair=prod&policy=p-a", 404)["error"].get<std::string>(),
             Catch::Contains("no policy named 'p-a'") && Catch::Contains("1 stored drift item"));
  CHECK_THAT(rig.get("/api/v1/explain?pair=staging&policy=p0000", 404)["error"].get<std::string>(),
             Catch::Contains("the replica site lab has no complete poll"));
  CHECK_THAT(rig.get("/api/v1/explain?pair=nope&policy=p0000", 404)["error"].get<std::string>(),
             Catch::Contains("unknown pair 'nope'"));
  CHECK_THAT(rig.get("/api/v1/explain?pair=prod", 400)["error"].get<std::string>(),
             Catch::Contains("pair and policy"));
  CHECK(rig.get("/api/v1/explain?pair=prod&policy=p0000&site=dr", 400).contains("error"));
}

TEST_CASE("api: bad parameters and unknown endpoints are JSON errors", "[unit][app][api]") {
  Rig rig;
  CHECK_THAT(rig.get("/api/v1/drift?pair=nope", 404)["error"].get<std::string>(),
             Catch::Contains("unknown pair 'nope'"));
  CHECK_THAT(rig.get("/api/v1/drift?state=open", 400)["error"].get<std::string>(),
             Catch::Contains("state must be"));
  CHECK(rig.get("/api/v1/drift?state=resolved", 400).contains("error"));
  CHECK(rig.get("/api/v1/drift?limit=0", 400).contains("error"));
  CHECK(rig.get("/api/v1/drift?limit=10001", 400).contains("error"));
  CHECK(rig.get("/api/v1/drift?limit=ten", 400).contains("error"));
  CHECK(rig.get("/api/v1/drift?all=maybe", 400).contains("error"));
  CHECK_THAT(rig.get("/api/v1/drift?paer=prod", 400)["error"].get<std::string>(),
             Catch::Contains("unknown query parameter 'paer'"));
  CHECK_THAT(rig.get("/api/v1/policies", 404)["error"].get<std::string>(),
             Catch::Contains("/api/v1/pairs"));
  CHECK(app::Api::owns("/api/v1/pairs"));
  CHECK_FALSE(app::Api::owns("/apix"));
}

// Issue #14, rows 8 and 9 and the inconsistencies the probe found.
TEST_CASE("api: a query that is not clean text, or repeats a parameter, is a 400 in JSON",
          "[unit][app][api][hostile]") {
  Rig rig;
  CHECK_THAT(rig.get("/api/v1/drift?pair=%ff", 400)["error"].get<std::string>(),
             Catch::Contains("not valid UTF-8"));
  CHECK_THAT(rig.get("/api/v1/drift?pair=%1b%5b31m", 400)["error"].get<std::string>(),
             Catch::Contains("control characters"));
  CHECK_THAT(rig.get("/api/v1/drift?pair=%zz", 400)["error"].get<std::string>(),
             Catch::Contains("malformed %-escape"));
  CHECK_THAT(rig.get("/api/v1/drift?pair=prod&pair=x", 400)["error"].get<std::string>(),
             Catch::Contains("'pair' given twice"));
  CHECK_THAT(rig.get("/api/v1/drift/\xff", 400)["error"].get<std::string>(),
             Catch::Contains("not printable ASCII"));
  CHECK_THAT(rig.get("/api/v1/pairs?verbose=1", 400)["error"].get<std::string>(),
             Catch::Contains("takes none"));
  CHECK(rig.get("/api/v1/drift?pair=prod&&limit=2")["items"].size() == 2);  // empty part
}

TEST_CASE("api: a stored message with bytes that are not UTF-8 still gives valid JSON",
          "[unit][app][api][hostile]") {
  Rig rig;
  auto bad = st::failed_poll("dr", 3000, "malformed");
  bad.message = "policies[0] (caf\xe9\x1b[2J): invalid UTF-8";
  REQUIRE(rig.store.record_poll(bad, nullptr).has_value());
  const auto j = rig.get("/api/v1/sites");
  const std::string message = j["sites"][1]["last_message"].get<std::string>();
  CHECK(message == "policies[0] (caf\\xe9\\x1b[2J): invalid UTF-8");  // made printable when stored
}

TEST_CASE("api: up is the live view flowdrift_site_up exports, not the store's last row",
          "[unit][app][api][hostile]") {
  Rig rig;
  // primary's last stored poll is complete; a later poll's result could not be stored (disk
  // full), so the daemon's live view, and flowdrift_site_up, say it is down.
  rig.up.erase("primary");
  const auto j = rig.get("/api/v1/sites");
  CHECK(j["sites"][0]["up"] == false);
  CHECK(j["sites"][0]["last_outcome"] == "complete");
}
