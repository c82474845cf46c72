// The v4.3 constructs end to end: flowdriftd polls two pcsim sites over HTTPS at the newest
// v4 version they serve. Both hold the same generated intent plus v4-native content (VPCs,
// entity groups, ZONE policies with FLEX rules, SHARED_SERVICE rules, a member no version
// knows); the DR copy differs in some of it. Exactly the policies that differ get items, of
// the kind and direction the canonical model says, both sites stay complete (never UNKNOWN),
// and a DR site at v4.1 is seen to upgrade to v4.3.
#include <catch2/catch.hpp>

#include <regex>
#include <set>

#include "live.hpp"
#include "pcsim/site.hpp"

using namespace flowdrift;
using namespace flowdrift::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int kPolicies = 20;
constexpr int kSeed = 42;

using Items = std::set<std::vector<std::string>>;  // (policy, kind, direction, severity)

Items open_items(DbView& db) {
  return db.row_set("SELECT object, kind, direction, severity FROM drift_items "
                    "WHERE resolved_ms IS NULL AND raised_ms IS NOT NULL");
}

json flex_policy(const std::string& name, const std::string& action) {
  const json flex = {{"$objectType", "microseg.v4.config.FlexRuleSpec"},
                     {"action", action},
                     {"direction", "OUT"},
                     {"appliedToEntityGroupReferences", json::array({"@entity_group:eg-db"})},
                     {"destSubnet", {{"value", "10.9.0.0"}, {"prefixLength", 16}}},
                     {"tcpServices", json::array({{{"startPort", 443}, {"endPort", 443}}})},
                     {"priority", 10}};
  return {{"name", name},
          {"type", "ZONE"},
          {"state", "ENFORCE"},
          {"rules", json::array({{{"type", "FLEX"}, {"name", "to-backup"}, {"spec", flex}}})}};
}

json shared_policy(const std::string& name, const std::string& category, int port) {
  const json spec = {{"securedGroupCategoryReferences", json::array({"@category:" + category})},
                     {"srcAllowSpec", "ALL"},
                     {"tcpServices", json::array({{{"startPort", port}, {"endPort", port}}})}};
  return {{"name", name},
          {"type", "APPLICATION"},
          {"state", "ENFORCE"},
          {"rules", json::array({{{"type", "SHARED_SERVICE"}, {"spec", spec}}})}};
}

json entity_group(const std::string& name, const std::vector<std::string>& categories) {
  json refs = json::array();
  for (const auto& c : categories) refs.push_back("@category:" + c);
  return {{"name", name},
          {"allowedConfig",
           {{"entities",
             json::array({{{"type", "VM"}, {"selectBy", "CATEGORY_EXT_ID"}, {"referenceExtIds", refs}}})}}}};
}

struct Generated {
  json doc;
  std::vector<std::string> policies;  // v3-stored policy names
  std::vector<std::string> categories;  // "key:value"
};

Generated generated() {
  const pcsim::SiteData site = pcsim::generate_site(kPolicies, kSeed);
  Generated g{pcsim::site_to_json(site), {}, {}};
  for (const auto& r : site.rules) g.policies.push_back(r.spec.at("name"));
  for (const auto& k : site.categories) {
    for (const auto& v : k.values) g.categories.push_back(k.name + ":" + v);
  }
  return g;
}

// The primary's v4 section, or the DR's with its differences.
json v4_section(const Generated& g, bool dr) {
  const std::string c0 = g.categories.at(0);
  const std::string c1 = g.categories.at(1);
  json eg_web = dr ? entity_group("eg-web", {c0, c1}) : entity_group("eg-web", {c0});  // widened
  json eg_user = shared_policy("eg-user", c0, 8080);
  eg_user["securedEntityGroupReferences"] = json::array({"@entity_group:eg-web"});
  return {{"vpcs", json::array({{{"name", "vpc-a"}}, {{"name", "vpc-b"}}})},
          {"entity_groups", json::array({eg_web, entity_group("eg-db", {c1})})},
          {"policies", json::array({flex_policy("zone-same", "ALLOW"),
                                    flex_policy("zone-flex", dr ? "DENY" : "ALLOW"),
                                    shared_policy("shared-same", c0, 53),
                                    shared_policy("shared-changed", c0, dr ? 54 : 53), eg_user})},
          {"policy_fields",
           {{g.policies.at(0),
             {{"scope", "VPC_LIST"}, {"vpcReferences", json::array({dr ? "@vpc:vpc-b" : "@vpc:vpc-a"})}}},
            {g.policies.at(1), {{"futureField", {{"x", dr ? 2 : 1}}}}},
            {g.policies.at(2),
             {{"futureField", {{"x", 1}}},
              {"securedEntityGroupReferences", json::array({"@entity_group:eg-web"})}}}}}};
}

void use_api_auto(const TempDir& dir) {
  const std::string path = dir.file("flowdrift.yaml");
  std::string config = read_file(path);
  for (std::size_t at; (at = config.find("api: v3")) != std::string::npos;) {
    config.replace(at, 7, "api: auto");
  }
  write_file(path, config);
}

bool scrape_has(LiveDaemon& daemon, const std::string& line) {
  return daemon.scrape().find(line) != std::string::npos;
}

}  // namespace

TEST_CASE("v4.3 constructs: entity groups, VPC scope, FLEX, SHARED_SERVICE and unknown members "
          "drift exactly where they differ, and a DR site at v4.1 upgrades to v4.3",
          "[integration][v4][v43][slow]") {
  const Generated g = generated();
  json primary_doc = g.doc;
  primary_doc["v4"] = v4_section(g, false);
  json dr_doc = g.doc;
  dr_doc["v4"] = v4_section(g, true);
  TempDir dir;
  LiveSite primary(dir, "primary", primary_doc);
  LiveSite dr(dir, "dr", dr_doc, {"--v4-version", "v4.1"});
  LiveDaemon daemon(dir, primary, dr);
  use_api_auto(dir);
  daemon.start();
  DbView db(daemon.db_path());

  const Items expected{
      {"eg-user", "reference", "both", "critical"},             // its entity group widened
      {g.policies.at(2), "reference", "both", "critical"},      // the same entity group
      {"shared-changed", "modified", "unknown", "warning"},     // a SHARED_SERVICE rule changed
      {"zone-flex", "modified", "unknown", "warning"},          // a FLEX rule changed
      {g.policies.at(0), "modified", "both", "critical"},       // moved to another VPC
      {g.policies.at(1), "modified", "unknown", "warning"},     // an unknown member differs
  };
  REQUIRE(wait_until([&] { return open_items(db) == expected; }, 60s));
  CHECK(open_items(db) == expected);
  CHECK(pair_status(db) == "DRIFTED");
  // Both sites complete at the version each serves; the unknown member is kept and reported.
  CHECK(scrape_has(daemon, "flowdrift_site_up{site=\"primary\"} 1"));
  CHECK(scrape_has(daemon, "flowdrift_site_up{site=\"dr\"} 1"));
  CHECK(scrape_has(daemon, "flowdrift_site_api_info{api=\"v4\",site=\"primary\",version=\"v4.3\"} 1"));
  CHECK(scrape_has(daemon, "flowdrift_site_api_info{api=\"v4\",site=\"dr\",version=\"v4.1\"} 1"));
  CHECK(scrape_has(daemon, "flowdrift_site_unmodelled_info{path=\"/futureField\",site=\"primary\",version=\"v4.3\"} 1"));
  CHECK(db.scalar("SELECT count(*) FROM objects WHERE kind = 'entity_group'") == "3");  // eg-web x2, eg-db
  CHECK(daemon.log().find("canon.unmodelled") != std::string::npos);

  // The DR PC is upgraded: the next polls read v4.3, and nothing else changes.
  auto upgraded = dr.api().request("POST", "/_pcsim/version", json{{"version", "v4.3"}}.dump());
  REQUIRE(upgraded.status == 200);
  REQUIRE(wait_until(
      [&] { return scrape_has(daemon, "flowdrift_site_api_info{api=\"v4\",site=\"dr\",version=\"v4.3\"} 1"); },
      30s));
  CHECK(open_items(db) == expected);
  CHECK(daemon.log().find("api.version") != std::string::npos);
  // Each unknown member is logged once per site and version, however many polls see it: the
  // primary at v4.3, the DR site at v4.1 and again at v4.3.
  const std::string log = daemon.log();
  std::size_t logged = 0;
  for (std::size_t at = 0; (at = log.find("canon.unmodelled", at)) != std::string::npos; ++at) ++logged;
  CHECK(logged == 3);
  daemon.stop();
}
