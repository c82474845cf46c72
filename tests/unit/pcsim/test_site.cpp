// pcsim site data: generator determinism and realism, data-file round trip and errors.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "pcsim_test_helpers.hpp"

using namespace flowdrift::pcsim;
using namespace flowdrift::pcsim::testing;

namespace {

// Every network_rule entry of a spec (inbound and outbound).
std::vector<json> entries_of(const json& spec) {
  std::vector<json> out;
  const auto& res = spec.at("resources");
  for (auto rk : {"app_rule", "quarantine_rule"}) {
    if (!res.contains(rk)) continue;
    for (auto dir : {"inbound_allow_list", "outbound_allow_list"}) {
      for (const auto& e : res.at(rk).at(dir)) out.push_back(e);
    }
  }
  return out;
}

void collect_params(const json& filter, std::set<std::string>& out) {
  for (const auto& [key, values] : filter.at("params").items()) {
    for (const auto& v : values) out.insert(key + ":" + v.get<std::string>());
  }
}

}  // namespace

TEST_CASE("generate_site is deterministic per seed", "[unit][pcsim]") {
  auto a = site_to_json(generate_site(120, 7));
  auto b = site_to_json(generate_site(120, 7));
  auto c = site_to_json(generate_site(120, 8));
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a.at("network_security_rules").size() == 120);
}

TEST_CASE("generated site is realistic: mix of kinds, modes and peer types", "[unit][pcsim]") {
  const auto site = generate_site(200, 42);
  std::map<std::string, int> kinds, actions, peer_types, protocols;
  int with_ag = 0, with_sg = 0, with_subnet = 0, app_entries = 0, app_rules = 0;
  std::set<std::string> names;
  for (const auto& r : site.rules) {
    names.insert(r.spec.at("name").get<std::string>());
    const auto& res = r.spec.at("resources");
    for (auto rk : {"app_rule", "isolation_rule", "quarantine_rule"}) {
      if (!res.contains(rk)) continue;
      ++kinds[rk];
      ++actions[res.at(rk).at("action").get<std::string>()];
    }
    if (res.contains("app_rule")) {
      ++app_rules;
      const auto& target = res.at("app_rule").at("target_group").at("filter").at("params");
      CHECK(target.contains("AppType"));
      CHECK(target.contains("AppTier"));
    }
    if (res.contains("isolation_rule")) {
      CHECK(res.at("isolation_rule").at("first_entity_filter").at("params").contains("Environment"));
    }
    if (res.contains("quarantine_rule")) {
      auto q = res.at("quarantine_rule").at("target_group").at("filter").at("params").at("Quarantine");
      CHECK((q == json::array({"Strict"}) || q == json::array({"Forensic"})));
    }
    for (const auto& e : entries_of(r.spec)) {
      if (res.contains("app_rule")) ++app_entries;
      ++peer_types[e.at("peer_specification_type").get<std::string>()];
      if (e.contains("protocol")) ++protocols[e.at("protocol").get<std::string>()];
      if (e.contains("address_group_inclusion_list")) ++with_ag;
      if (e.contains("service_group_list")) ++with_sg;
      if (e.contains("ip_subnet")) ++with_subnet;
    }
  }
  CHECK(names.size() == site.rules.size());  // names are the cross-site match key: unique
  CHECK(kinds["app_rule"] > 150);
  CHECK(kinds["isolation_rule"] >= 10);
  CHECK(kinds["quarantine_rule"] >= 3);
  CHECK(actions["APPLY"] > 0);
  CHECK(actions["MONITOR"] > 0);
  const double avg = static_cast<double>(app_entries) / app_rules;
  CHECK(avg > 17.0);
  CHECK(avg < 23.0);
  CHECK(peer_types["FILTER"] > 0);
  CHECK(peer_types["IP_SUBNET"] > 0);
  CHECK(peer_types["ALL"] > 0);
  for (auto p : {"TCP", "UDP", "ICMP", "ALL"}) CHECK(protocols[p] > 0);
  CHECK(with_ag > 0);
  CHECK(with_sg > 0);
  CHECK(with_subnet > 0);
}

TEST_CASE("generated site defines every group and category value it references", "[unit][pcsim]") {
  const auto site = generate_site(150, 3);
  std::set<std::string> ags, sgs, cats, used_ags, used_sgs, used_cats;
  for (const auto& g : site.address_groups) ags.insert(g.name);
  for (const auto& g : site.service_groups) sgs.insert(g.name);
  for (const auto& c : site.categories) {
    for (const auto& v : c.values) cats.insert(c.name + ":" + v);
  }
  for (const auto& r : site.rules) {
    const auto& res = r.spec.at("resources");
    for (auto rk : {"app_rule", "quarantine_rule"}) {
      if (res.contains(rk)) collect_params(res.at(rk).at("target_group").at("filter"), used_cats);
    }
    if (res.contains("isolation_rule")) {
      collect_params(res.at("isolation_rule").at("first_entity_filter"), used_cats);
      collect_params(res.at("isolation_rule").at("second_entity_filter"), used_cats);
    }
    for (const auto& e : entries_of(r.spec)) {
      if (e.contains("filter")) collect_params(e.at("filter"), used_cats);
      for (const auto& ref : e.value("address_group_inclusion_list", json::array())) {
        used_ags.insert(ref.at("name").get<std::string>());
      }
      for (const auto& ref : e.value("service_group_list", json::array())) {
        used_sgs.insert(ref.at("name").get<std::string>());
      }
    }
  }
  CHECK_FALSE(used_ags.empty());
  for (const auto& n : used_ags) CHECK(ags.count(n) == 1);
  for (const auto& n : used_sgs) CHECK(sgs.count(n) == 1);
  for (const auto& n : used_cats) {
    INFO(n);
    CHECK(cats.count(n) == 1);
  }
  // Loading resolves every reference, i.e. throws on none.
  CHECK_NOTHROW(Simulator(site));
}

TEST_CASE("site data file round-trips and accepts the short category form", "[unit][pcsim]") {
  flowdrift::test::TempDir dir;
  const auto site = generate_site(30, 5);
  write_site_file(dir.file("site.json"), site);
  auto loaded = load_site_file(dir.file("site.json"));
  CHECK(site_to_json(loaded) == site_to_json(site));

  auto short_form = site_from_json(json::parse(R"({
    "categories": {"AppType": ["Web", "DB"]},
    "address_groups": [{"address_group": {"name": "x", "ip_address_block_list": [{"ip": "10.0.0.1", "prefix_length": 32}]}, "uuid": "ignored"}],
    "network_security_rules": [{"name": "bare", "resources": {"isolation_rule": {"action": "APPLY"}}}]
  })"));
  REQUIRE(short_form.categories.size() == 1);
  CHECK(short_form.categories[0].values == std::vector<std::string>{"Web", "DB"});
  CHECK(short_form.address_groups.at(0).name == "x");
  CHECK(short_form.rules.at(0).spec.at("name") == "bare");
}

TEST_CASE("site data errors name the bad element", "[unit][pcsim]") {
  CHECK_THROWS_WITH(site_from_json(json::parse(R"({"policies": []})")),
                    Catch::Contains("policies") && Catch::Contains("unknown"));
  CHECK_THROWS_WITH(site_from_json(json::parse(R"({"network_security_rules": [{"spec": {"resources": {}}}]})")),
                    Catch::Contains("network_security_rules[0]") && Catch::Contains("name"));
  CHECK_THROWS_WITH(site_from_json(json::parse(R"({"categories": {"A": [1]}})")),
                    Catch::Contains("categories.A"));
  // A reference to a group the site does not define is a load error.
  auto site = small_site(1);
  site.address_groups.clear();
  CHECK_THROWS_WITH(Simulator(site), Catch::Contains("ag-one"));
}
