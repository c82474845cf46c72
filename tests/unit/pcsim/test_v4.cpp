// pcsim v4 microseg API: paging and envelope, v3 -> v4 conversion of a generated site (checked
// by resolving every extId back through the v4 lists), api modes, faults and ETag.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "pcsim_v4_helpers.hpp"

using namespace flowdrift;
using namespace flowdrift::pcsim;
using namespace flowdrift::pcsim::testing;

namespace {

std::vector<json> v3_all_rules(Simulator& sim) {
  std::vector<json> out;
  for (int offset = 0;; offset += 500) {
    auto page = post_json(sim, "/network_security_rules/list", {{"offset", offset}, {"length", 500}});
    for (auto& e : page.at("entities")) out.push_back(e);
    if (page.at("entities").size() < 500) break;
  }
  return out;
}

std::set<std::string> link_rels(const json& body) {
  std::set<std::string> rels;
  for (const auto& l : body.at("metadata").at("links")) rels.insert(l.at("rel").get<std::string>());
  return rels;
}

// extId -> readable name, from the v4 lists (categories "k:v", groups by name).
struct Resolver {
  std::map<std::string, std::string> categories, address_groups, service_groups;

  explicit Resolver(Simulator& sim) {
    for (const auto& c : get_all(sim, kCategories)) {
      categories[c.at("extId")] = c.at("key").get<std::string>() + ":" + c.at("value").get<std::string>();
    }
    for (const auto& g : get_all(sim, kAddressGroups)) address_groups[g.at("extId")] = g.at("name");
    for (const auto& g : get_all(sim, kServiceGroups)) service_groups[g.at("extId")] = g.at("name");
  }

  static std::string lookup(const std::map<std::string, std::string>& m, const json& id) {
    auto it = m.find(id.get<std::string>());
    return it == m.end() ? "UNRESOLVED:" + id.get<std::string>() : it->second;
  }
  std::string cats(const json& refs) const {
    std::vector<std::string> names;
    for (const auto& r : refs) names.push_back(lookup(categories, r));
    std::sort(names.begin(), names.end());
    std::string out;
    for (const auto& n : names) out += n + ";";
    return out;
  }
  std::string groups(const json& refs, const std::map<std::string, std::string>& m) const {
    std::vector<std::string> names;
    for (const auto& r : refs) names.push_back(lookup(m, r));
    std::sort(names.begin(), names.end());
    std::string out;
    for (const auto& n : names) out += n + ";";
    return out;
  }
};

std::string filter_cats(const json& filter) {
  std::vector<std::string> names;
  for (const auto& [k, vs] : filter.at("params").items()) {
    for (const auto& v : vs) names.push_back(k + ":" + v.get<std::string>());
  }
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += n + ";";
  return out;
}

std::string ranges(const json& list, const char* lo, const char* hi) {
  std::string out;
  for (const auto& r : list) out += std::to_string(r.at(lo).get<int>()) + "-" + std::to_string(r.at(hi).get<int>()) + ",";
  return out;
}

// v3 entry -> "dir|peer|services" strings (one per peer kind), independently of pcsim's code.
std::vector<std::string> v3_entry_texts(const json& e, const std::string& dir,
                                        const std::map<std::string, std::string>& ag_names,
                                        const std::map<std::string, std::string>& sg_names) {
  std::string services;
  const std::string proto = e.value("protocol", std::string());
  if (proto == "TCP") services += "tcp" + ranges(e.at("tcp_port_range_list"), "start_port", "end_port");
  if (proto == "UDP") services += "udp" + ranges(e.at("udp_port_range_list"), "start_port", "end_port");
  if (proto == "ICMP") {
    services += "icmp";
    for (const auto& tc : e.at("icmp_type_code_list")) {
      services += (tc.contains("type") ? std::to_string(tc.at("type").get<int>()) : "*") + "/" +
                  (tc.contains("code") ? std::to_string(tc.at("code").get<int>()) : "*") + ",";
    }
  }
  if (e.contains("service_group_list") && !e.at("service_group_list").empty()) {
    std::vector<std::string> names;
    for (const auto& r : e.at("service_group_list")) names.push_back(sg_names.at(r.at("uuid")));
    std::sort(names.begin(), names.end());
    services += "sg";
    for (const auto& n : names) services += n + ";";
  }
  if (services.empty()) services = "all";
  std::vector<std::string> out;
  const std::string type = e.at("peer_specification_type");
  if (type == "ALL") out.push_back(dir + "|all|" + services);
  if (type == "FILTER") out.push_back(dir + "|cats:" + filter_cats(e.at("filter")) + "|" + services);
  if (type == "IP_SUBNET") {
    if (e.contains("ip_subnet")) {
      out.push_back(dir + "|subnet:" + e.at("ip_subnet").at("ip").get<std::string>() + "/" +
                    std::to_string(e.at("ip_subnet").at("prefix_length").get<int>()) + "|" + services);
    }
    if (e.contains("address_group_inclusion_list") && !e.at("address_group_inclusion_list").empty()) {
      std::vector<std::string> names;
      for (const auto& r : e.at("address_group_inclusion_list")) names.push_back(ag_names.at(r.at("uuid")));
      std::sort(names.begin(), names.end());
      std::string ags;
      for (const auto& n : names) ags += n + ";";
      out.push_back(dir + "|ags:" + ags + "|" + services);
    }
  }
  return out;
}

// v4 APPLICATION rule spec -> the same text form.
std::string v4_rule_text(const json& spec, const Resolver& res) {
  std::string dir, peer;
  for (const auto& [prefix, name] : {std::pair{"src", "inbound"}, {"dest", "outbound"}}) {
    const std::string p = prefix;
    if (spec.contains(p + "AllowSpec")) {
      dir = name;
      peer = spec.at(p + "AllowSpec") == "ALL" ? "all" : "none";
    } else if (spec.contains(p + "CategoryReferences")) {
      dir = name;
      peer = "cats:" + res.cats(spec.at(p + "CategoryReferences"));
    } else if (spec.contains(p + "Subnet")) {
      dir = name;
      peer = "subnet:" + spec.at(p + "Subnet").at("value").get<std::string>() + "/" +
             std::to_string(spec.at(p + "Subnet").at("prefixLength").get<int>());
    } else if (spec.contains(p + "AddressGroupReferences")) {
      dir = name;
      peer = "ags:" + res.groups(spec.at(p + "AddressGroupReferences"), res.address_groups);
    }
  }
  std::string services;
  if (spec.contains("tcpServices")) services += "tcp" + ranges(spec.at("tcpServices"), "startPort", "endPort");
  if (spec.contains("udpServices")) services += "udp" + ranges(spec.at("udpServices"), "startPort", "endPort");
  if (spec.contains("icmpServices")) {
    services += "icmp";
    for (const auto& tc : spec.at("icmpServices")) {
      services += (tc.contains("type") ? std::to_string(tc.at("type").get<int>()) : "*") + "/" +
                  (tc.contains("code") ? std::to_string(tc.at("code").get<int>()) : "*") + ",";
    }
  }
  if (spec.contains("serviceGroupReferences")) {
    services += "sg" + res.groups(spec.at("serviceGroupReferences"), res.service_groups);
  }
  if (spec.value("isAllProtocolAllowed", false)) {
    CHECK(services.empty());
    services = "all";
  }
  return dir + "|" + peer + "|" + services;
}

}  // namespace

TEST_CASE("v4 lists page with $page/$limit and the v4 envelope", "[unit][pcsim][v4]") {
  Simulator sim(small_site(120));

  auto first = get_json(sim, kPolicies);
  CHECK(keys_of(first) == std::set<std::string>{"$objectType", "$reserved", "data", "metadata"});
  CHECK(first.at("$objectType") == "microseg.v4.config.ListNetworkSecurityPoliciesApiResponse");
  CHECK(first.at("$reserved") == json{{"$fv", "v4.r0"}});
  CHECK(keys_of(first.at("metadata")) ==
        std::set<std::string>{"totalAvailableResults", "flags", "links", "messages", "extraInfo"});
  CHECK(first.at("metadata").at("flags") ==
        json::parse(R"([{"name":"hasError","value":false},{"name":"isPaginated","value":true}])"));
  CHECK(first.at("metadata").at("totalAvailableResults") == 120);
  CHECK(first.at("data").size() == 50);  // default $limit
  CHECK(link_rels(first) == std::set<std::string>{"self", "first", "next", "last"});
  for (const auto& l : first.at("metadata").at("links")) {
    if (l.at("rel") == "next") CHECK(l.at("href") == kPolicies + "?$page=1&$limit=50");
    if (l.at("rel") == "last") CHECK(l.at("href") == kPolicies + "?$page=2&$limit=50");
  }

  auto last = get_json(sim, kPolicies + "?$page=2");
  CHECK(last.at("data").size() == 20);
  CHECK(link_rels(last) == std::set<std::string>{"self", "first", "last"});
  auto beyond = get_json(sim, kPolicies + "?$page=3");
  CHECK_FALSE(beyond.contains("data"));
  CHECK(beyond.at("metadata").at("totalAvailableResults") == 120);

  CHECK(get_json(sim, kPolicies + "?$limit=100").at("data").size() == 100);
  CHECK(get_json(sim, kPolicies + "?%24limit=7&%24page=1").at("data").size() == 7);

  // Pages partition the policies, in name order, with the v3 uuids as extIds.
  std::vector<std::string> names, ids;
  for (int page = 0; page < 13; ++page) {
    auto body = get_json(sim, kPolicies + "?$limit=10&$page=" + std::to_string(page));
    REQUIRE(body.contains("data"));
    for (const auto& p : body.at("data")) {
      names.push_back(p.at("name"));
      ids.push_back(p.at("extId"));
    }
    if (page == 11) CHECK(link_rels(body).count("next") == 0);
    if (page == 11) break;
  }
  CHECK(names == sim.rule_names());
  std::set<std::string> unique(ids.begin(), ids.end());
  CHECK(unique.size() == 120);
  CHECK(ids.front() == sim.rule_by_name("rule-0000")->at("metadata").at("uuid"));

  for (const std::string bad : {"$limit=101", "$limit=0", "$limit=-3", "$limit=abc", "$page=-1", "$page=x"}) {
    INFO(bad);
    auto r = get(sim, kPolicies + "?" + bad);
    CHECK(r.response.status == 400);
    auto body = json::parse(r.response.body);
    const auto& err = body.at("data").at("error");
    CHECK(body.at("data").at("$objectType") == "microseg.v4.error.ErrorResponse");
    CHECK(err.at("$objectType") == "microseg.v4.error.SchemaValidationError");
    CHECK(err.at("statusCode") == 400);
    CHECK(err.at("path") == kPolicies);
    REQUIRE(err.at("validationErrorMessages").size() == 1);
    CHECK(err.at("validationErrorMessages")[0].at("attributePath") ==
          bad.substr(0, bad.find('=')));
  }
  auto prism_bad = json::parse(get(sim, kCategories + "?$limit=500").response.body);
  CHECK(prism_bad.at("data").at("error").at("$objectType") == "prism.v4.error.SchemaValidationError");

  CHECK(get_json(sim, kAddressGroups).at("$objectType") == "microseg.v4.config.ListAddressGroupsApiResponse");
  CHECK(get_json(sim, kServiceGroups).at("$objectType") == "microseg.v4.config.ListServiceGroupsApiResponse");
  CHECK(get_json(sim, kCategories).at("$objectType") == "prism.v4.config.ListCategoriesApiResponse");
  // POST on a collection creates (an empty body lacks the required name); PUT/DELETE need an extId.
  CHECK(sim.handle(request("POST", kPolicies, "{}")).response.status == 400);
  CHECK(sim.handle(request("DELETE", kPolicies, "")).response.status == 405);
  CHECK(sim.handle(request("GET", kPolicies, "", false)).response.status == 401);
}

TEST_CASE("v4 groups and categories mirror the site", "[unit][pcsim][v4]") {
  Simulator sim(small_site(1));
  auto ags = get_json(sim, kAddressGroups).at("data");
  REQUIRE(ags.size() == 2);
  CHECK(ags[0].at("name") == "ag-one");
  CHECK(ags[0].at("extId") == *sim.address_group_uuid("ag-one"));
  CHECK(ags[0].at("description") == "first");
  CHECK(ags[0].at("ipv4Addresses")[0].at("value") == "10.0.0.0");
  CHECK(ags[0].at("ipv4Addresses")[0].at("prefixLength") == 8);
  auto sgs = get_json(sim, kServiceGroups).at("data");
  REQUIRE(sgs.size() == 1);
  CHECK(sgs[0].at("extId") == *sim.service_group_uuid("sg-web"));
  CHECK(sgs[0].at("isSystemDefined") == false);
  CHECK(sgs[0].at("tcpServices") == json::parse(R"([{"startPort":80,"endPort":80}])"));
  auto cats = get_json(sim, kCategories).at("data");
  std::set<std::string> kv, ids;
  for (const auto& c : cats) {
    CHECK(c.at("$objectType") == "prism.v4.config.Category");
    kv.insert(c.at("key").get<std::string>() + ":" + c.at("value").get<std::string>());
    ids.insert(c.at("extId"));
  }
  CHECK(kv == std::set<std::string>{"AppTier:Front", "AppType:DB", "AppType:Web"});
  CHECK(ids.size() == 3);

  // Per instance: another simulator of the same site has other category extIds.
  Simulator other(small_site(1));
  std::set<std::string> other_ids;
  for (const auto& c : get_json(other, kCategories).at("data")) other_ids.insert(c.at("extId"));
  CHECK(other_ids != ids);
  // Same instance seed: same ids.
  SimulatorOptions seeded;
  seeded.instance_seed = 5;
  Simulator a(small_site(3), seeded), b(small_site(3), seeded);
  CHECK(get(a, kPolicies).response.body == get(b, kPolicies).response.body);
}

TEST_CASE("v4 policies convert every v3 rule of a generated site", "[unit][pcsim][v4]") {
  const auto site = generate_site(80, 11);
  Simulator sim(site);
  const Resolver res(sim);
  std::map<std::string, std::string> ag_names, sg_names;
  for (const auto& g : site.address_groups) ag_names[*sim.address_group_uuid(g.name)] = g.name;
  for (const auto& g : site.service_groups) sg_names[*sim.service_group_uuid(g.name)] = g.name;

  std::map<std::string, json> v4_by_id;
  for (auto& p : get_all(sim, kPolicies)) v4_by_id[p.at("extId")] = p;
  const auto v3 = v3_all_rules(sim);
  REQUIRE(v3.size() == 80);
  REQUIRE(v4_by_id.size() == 80);

  int isolation = 0, quarantine = 0, intra = 0, app_rules = 0;
  std::set<std::string> rule_ids;
  for (const auto& e : v3) {
    const std::string uuid = e.at("metadata").at("uuid");
    INFO(e.at("spec").at("name").get<std::string>());
    REQUIRE(v4_by_id.count(uuid));
    const json& p = v4_by_id.at(uuid);
    const json& spec = e.at("spec");
    const json& resources = spec.at("resources");
    CHECK(p.at("$objectType") == "microseg.v4.config.NetworkSecurityPolicy");
    CHECK(p.at("name") == spec.at("name"));
    CHECK(p.value("description", std::string()) == spec.value("description", std::string()));
    CHECK(p.at("scope") == "ALL_VLAN");
    CHECK(p.at("isHitlogEnabled") == resources.value("is_policy_hitlog_enabled", false));
    CHECK(p.at("isIpv6TrafficAllowed") == resources.value("allow_ipv6_traffic", false));
    for (const auto& r : p.at("rules")) {
      CHECK(r.at("$objectType") == "microseg.v4.config.NetworkSecurityPolicyRule");
      rule_ids.insert(r.at("extId").get<std::string>());
    }

    if (resources.contains("isolation_rule")) {
      ++isolation;
      const json& iso = resources.at("isolation_rule");
      CHECK(p.at("type") == "ISOLATION");
      CHECK(p.at("state") == (iso.at("action") == "APPLY" ? "ENFORCE" : "MONITOR"));
      REQUIRE(p.at("rules").size() == 1);
      const json& r = p.at("rules")[0];
      CHECK(r.at("type") == "TWO_ENV_ISOLATION");
      CHECK(res.cats(r.at("spec").at("firstIsolationGroup")) == filter_cats(iso.at("first_entity_filter")));
      CHECK(res.cats(r.at("spec").at("secondIsolationGroup")) == filter_cats(iso.at("second_entity_filter")));
      continue;
    }
    const bool is_quarantine = resources.contains("quarantine_rule");
    quarantine += is_quarantine;
    const json& body = resources.at(is_quarantine ? "quarantine_rule" : "app_rule");
    CHECK(p.at("type") == (is_quarantine ? "QUARANTINE" : "APPLICATION"));
    CHECK(p.at("state") == (body.at("action") == "APPLY" ? "ENFORCE" : "MONITOR"));
    const std::string secured = filter_cats(body.at("target_group").at("filter"));

    std::vector<std::string> expected, actual;
    for (const auto& entry : body.value("inbound_allow_list", json::array())) {
      for (auto& t : v3_entry_texts(entry, "inbound", ag_names, sg_names)) expected.push_back(t);
    }
    const json outbound = body.value("outbound_allow_list", json::array());
    for (const auto& entry : outbound) {
      for (auto& t : v3_entry_texts(entry, "outbound", ag_names, sg_names)) expected.push_back(t);
    }
    if (outbound.empty() && !is_quarantine) expected.push_back("outbound|all|all");

    int intra_rules = 0;
    for (const auto& r : p.at("rules")) {
      const json& rs = r.at("spec");
      CHECK(res.cats(rs.at("securedGroupCategoryReferences")) == secured);
      if (r.at("type") == "INTRA_GROUP") {
        ++intra_rules;
        CHECK(rs.at("$objectType") == "microseg.v4.config.IntraEntityGroupRuleSpec");
        CHECK(rs.at("securedGroupAction") ==
              (body.at("target_group").at("default_internal_policy") == "ALLOW_ALL" ? "ALLOW" : "DENY"));
        continue;
      }
      CHECK(r.at("type") == "APPLICATION");
      CHECK(rs.at("$objectType") == "microseg.v4.config.ApplicationRuleSpec");
      actual.push_back(v4_rule_text(rs, res));
    }
    CHECK(intra_rules == (body.at("target_group").contains("default_internal_policy") ? 1 : 0));
    intra += intra_rules;
    app_rules += static_cast<int>(actual.size());
    std::sort(expected.begin(), expected.end());
    std::sort(actual.begin(), actual.end());
    CHECK(actual == expected);
  }
  // The generated site has every policy kind; rule extIds are unique.
  CHECK(isolation > 0);
  CHECK(quarantine > 0);
  CHECK(intra > 0);
  CHECK(app_rules > 200);
  std::size_t total_rules = 0;
  for (const auto& [id, p] : v4_by_id) total_rules += p.at("rules").size();
  CHECK(rule_ids.size() == total_rules);

  // Converting again gives the same ids (stable per instance).
  CHECK(get(sim, kPolicies + "?$limit=100").response.body ==
        get(sim, kPolicies + "?$limit=100").response.body);
}

TEST_CASE("v4 conversion: empty outbound, src fields, edits through v3", "[unit][pcsim][v4]") {
  Simulator sim(small_site(2));
  sim.edit_rule("rule-0000", [](json& spec) {
    auto& app = spec.at("resources").at("app_rule");
    app.erase("outbound_allow_list");
    app.at("inbound_allow_list")[1]["ip_subnet"] = {{"ip", "172.16.0.0"}, {"prefix_length", 12}};
    app.at("inbound_allow_list")[1]["description"] = "from the dmz";
    spec["description"] = "edited";
  });
  const std::string uuid = sim.rule_by_name("rule-0000")->at("metadata").at("uuid");
  auto p = get_json(sim, kPolicies).at("data")[0];
  CHECK(p.at("extId") == uuid);
  CHECK(p.at("description") == "edited");
  CHECK(p.at("state") == "ENFORCE");
  // intra + FILTER + (subnet, address group) + implicit allow-all outbound
  REQUIRE(p.at("rules").size() == 5);
  CHECK(p.at("rules")[0].at("type") == "INTRA_GROUP");
  CHECK(p.at("rules")[0].at("spec").at("securedGroupAction") == "DENY");
  const json& filter_rule = p.at("rules")[1].at("spec");
  CHECK(filter_rule.at("srcCategoryReferences").size() == 1);
  CHECK(filter_rule.at("tcpServices") == json::parse(R"([{"startPort":5432,"endPort":5432}])"));
  const json& subnet_rule = p.at("rules")[2];
  CHECK(subnet_rule.at("description") == "from the dmz");
  CHECK(subnet_rule.at("spec").at("srcSubnet").at("value") == "172.16.0.0");
  CHECK(subnet_rule.at("spec").at("srcSubnet").at("prefixLength") == 12);
  CHECK(subnet_rule.at("spec").at("serviceGroupReferences") == json::array({*sim.service_group_uuid("sg-web")}));
  const json& ag_rule = p.at("rules")[3].at("spec");
  CHECK(ag_rule.at("srcAddressGroupReferences") == json::array({*sim.address_group_uuid("ag-one")}));
  const json& out = p.at("rules")[4].at("spec");
  CHECK(out.at("destAllowSpec") == "ALL");
  CHECK(out.at("isAllProtocolAllowed") == true);
  CHECK_FALSE(out.contains("srcAllowSpec"));

  // An explicit ALL/ALL outbound entry (rule-0001) reads the same as the implicit one.
  auto p1 = get_json(sim, kPolicies).at("data")[1];
  CHECK(p1.at("state") == "MONITOR");
  const json& out1 = p1.at("rules").back().at("spec");
  CHECK(out1.at("destAllowSpec") == "ALL");
  CHECK(out1.at("isAllProtocolAllowed") == true);

  // A rule created through v3 appears in v4.
  json spec = sim.rule_by_name("rule-0001")->at("spec");
  spec["name"] = "aaa-new";
  auto created = post(sim, "/network_security_rules",
                      {{"metadata", {{"kind", "network_security_rule"}}}, {"spec", spec}});
  REQUIRE(created.response.status == 202);
  auto list = get_json(sim, kPolicies);
  CHECK(list.at("metadata").at("totalAvailableResults") == 3);
  CHECK(list.at("data")[0].at("name") == "aaa-new");
}

TEST_CASE("api modes: v4 gones the v3 rule APIs, v3 hides v4, data kept", "[unit][pcsim][v4]") {
  Simulator sim(small_site(3), SimulatorOptions{"admin", "nutanix/4u", 7, false, {}, "both"});
  CHECK(sim.api_mode() == "both");
  const std::string before = get(sim, kPolicies).response.body;
  const std::string uuid = sim.rule_by_name("rule-0001")->at("metadata").at("uuid");
  CHECK(post(sim, "/network_security_rules/list", json::object()).response.status == 200);

  sim.set_api_mode("v4");
  const auto fx410 = fixture("v3_error_410_gone_fns_ng.json");
  auto list410 = post(sim, "/network_security_rules/list", json::object());
  CHECK(list410.response.status == 410);
  CHECK(list410.response.body == fx410.dump());
  auto get410 = get(sim, std::string(kApiBase) + "/network_security_rules/" + uuid);
  CHECK(get410.response.status == 410);
  CHECK(get410.response.body == fx410.dump());
  CHECK(post(sim, "/address_groups/list", json::object()).response.status == 200);
  CHECK(get(sim, kPolicies).response.body == before);

  auto r = sim.handle(request("POST", "/_pcsim/mode", R"({"mode":"v3"})"));
  CHECK(r.response.status == 200);
  CHECK(json::parse(r.response.body) == json{{"mode", "v3"}});
  CHECK(sim.api_mode() == "v3");
  for (const auto& path : {kPolicies, kAddressGroups, kServiceGroups, kCategories}) {
    auto r404 = get(sim, path);
    CHECK(r404.response.status == 404);
    auto body = json::parse(r404.response.body);
    CHECK(body.at("data").at("$objectType").get<std::string>().find("v4.error.ErrorResponse") != std::string::npos);
  }
  CHECK(post(sim, "/network_security_rules/list", json::object()).response.status == 200);

  CHECK(sim.handle(request("POST", "/_pcsim/mode", R"({"mode":"v5"})")).response.status == 400);
  CHECK(sim.handle(request("POST", "/_pcsim/mode", "nope")).response.status == 400);
  CHECK(json::parse(sim.handle(request("GET", "/_pcsim/mode")).response.body).at("mode") == "v3");
  CHECK(sim.stats().at("api_mode") == "v3");
  CHECK_THROWS_AS(sim.set_api_mode("all"), std::invalid_argument);

  sim.set_api_mode("both");
  CHECK(get(sim, kPolicies).response.body == before);  // same data and ids after switching
  CHECK(get(sim, "/api/microseg/v4.0/config/nothing").response.status == 404);

  SimulatorOptions bad;
  bad.api_mode = "v2";
  CHECK_THROWS_AS(Simulator(small_site(1), bad), std::invalid_argument);
}

TEST_CASE("faults apply to the v4 endpoints", "[unit][pcsim][v4]") {
  Simulator sim(small_site(60));

  sim.add_fault(parse_fault("v4_policies:status=503,count=1"));
  auto r503 = get(sim, kPolicies);
  CHECK(r503.response.status == 503);
  CHECK(json::parse(r503.response.body).at("data").at("$objectType") == "microseg.v4.error.ErrorResponse");
  CHECK(get(sim, kPolicies).response.status == 200);  // count used up
  CHECK(post(sim, "/network_security_rules/list", json::object()).response.status == 200);
  sim.clear_faults();

  sim.add_fault(parse_fault("*:status=429,retry_after=4"));
  auto r429 = get(sim, kCategories);
  CHECK(r429.response.status == 429);
  CHECK(r429.response.header("Retry-After") == std::optional<std::string_view>("4"));
  sim.clear_faults();

  sim.add_fault(parse_fault("v4_address_groups:empty"));
  auto empty = get_json(sim, kAddressGroups);
  CHECK_FALSE(empty.contains("data"));
  CHECK(empty.at("metadata").at("totalAvailableResults") == 0);
  sim.clear_faults();

  sim.add_fault(parse_fault("v4_policies:total_moved"));
  CHECK(get_json(sim, kPolicies).at("metadata").at("totalAvailableResults") == 60);  // page 0
  CHECK(get_json(sim, kPolicies + "?$page=1").at("metadata").at("totalAvailableResults") == 61);
  sim.clear_faults();

  sim.add_fault(parse_fault("v4_service_groups:malformed"));
  auto bad = get(sim, kServiceGroups);
  CHECK(bad.response.status == 200);
  CHECK(json::parse(bad.response.body, nullptr, false).is_discarded());
  sim.clear_faults();

  sim.add_fault(parse_fault("v4_categories:drop,count=1"));
  CHECK(get(sim, kCategories).fault == http::ServerReply::Fault::DropConnection);
  sim.clear_faults();
  sim.add_fault(parse_fault("v4_policies:truncate,latency_ms=20"));
  auto cut = get(sim, kPolicies);
  CHECK(cut.fault == http::ServerReply::Fault::TruncateBody);
  CHECK(cut.delay == std::chrono::milliseconds(20));
  sim.clear_faults();

  auto stats = sim.stats();
  CHECK(stats.at("endpoints").at("v4_policies").at("total") == 5);
  CHECK(stats.at("endpoints").at("v4_policies").at("503") == 1);
  CHECK(stats.at("endpoints").at("v4_categories").at("dropped") == 1);
  CHECK(stats.at("faults_applied").at("total_moved") == 1);
  CHECK_THROWS_AS(parse_fault("v4_volume_groups:status=500"), std::invalid_argument);
}

TEST_CASE("v4 GET responses carry an ETag that follows the content", "[unit][pcsim][v4]") {
  Simulator sim(small_site(3));
  for (const auto& path : {kPolicies, kAddressGroups, kServiceGroups, kCategories}) {
    auto r = get(sim, path);
    REQUIRE(r.response.header("ETag"));
    CHECK_FALSE(r.response.header("ETag")->empty());
  }
  const std::string etag(*get(sim, kPolicies).response.header("ETag"));
  CHECK(*get(sim, kPolicies).response.header("ETag") == etag);
  sim.edit_rule("rule-0002", [](json& spec) { spec["description"] = "changed"; });
  CHECK(*get(sim, kPolicies).response.header("ETag") != etag);
}

TEST_CASE("max_v4_page_length caps every v4 list page below what $limit asks", "[unit][pcsim][v4]") {
  SimulatorOptions options;
  options.max_v4_page_length = 30;
  Simulator sim(small_site(120), options);
  auto first = get_json(sim, kPolicies + "?$limit=100");
  CHECK(first.at("data").size() == 30);
  CHECK(first.at("metadata").at("totalAvailableResults") == 120);
  // Pages still start where $page*$limit says: a short page is not a shorter stride.
  auto second = get_json(sim, kPolicies + "?$limit=100&$page=1");
  CHECK(second.at("data").size() == 20);
  CHECK(get_json(sim, kPolicies + "?$limit=7").at("data").size() == 7);

  for (int bad : {0, -1, static_cast<int>(v4::kMaxLimit) + 1}) {
    SimulatorOptions o;
    o.max_v4_page_length = bad;
    CHECK_THROWS_AS(Simulator(small_site(1), o), std::invalid_argument);
  }
}

TEST_CASE("datapolicies entity-sync-policies: v4.1 and later, as set, paged, one by extId",
          "[unit][pcsim][v4][entity_sync]") {
  const std::string list = "/api/datapolicies/v4.3/config/entity-sync-policies";
  Simulator sim(small_site(3), seeded(9));
  // Nothing synced yet: an empty, complete list. v4.0 has no such API.
  CHECK(get_all(sim, list).empty());
  CHECK(get(sim, "/api/datapolicies/v4.0/config/entity-sync-policies").response.status == 404);
  CHECK(get(sim, "/api/datapolicies/v4.1/config/entity-sync-policies").response.status == 200);

  const auto policies = get_all(sim, kPolicies);
  REQUIRE(policies.size() == 3);
  const std::string name = policies[0].at("name");
  const json entries = json::array(
      {{{"entityType", "SECURITY_POLICY"}, {"entityName", name}, {"status", "IN_SYNC"}},
       {{"entityType", "CATEGORY"}, {"entityName", "AppType:Web"}, {"status", "OUT_OF_SYNC"}},
       {{"entityType", "SECURITY_POLICY"}, {"entityName", "not-here"}, {"status", "SYNCING"}}});
  REQUIRE(send(sim, "PUT", "/_pcsim/entity_sync", entries).response.status == 200);

  auto page0 = get_json(sim, list + "?$limit=2&$page=0");
  CHECK(page0.at("$objectType") == "datapolicies.v4.config.ListEntitySyncPoliciesApiResponse");
  CHECK(page0.at("metadata").at("totalAvailableResults") == 3);
  CHECK(page0.at("data").size() == 2);
  CHECK(get_json(sim, list + "?$limit=2&$page=1").at("data").size() == 1);
  const auto all = get_all(sim, list);
  REQUIRE(all.size() == 3);
  CHECK(all[0].at("entityExtId") == policies[0].at("extId"));  // looked up by name
  CHECK(all[0].at("status") == "IN_SYNC");
  CHECK(all[1].at("entityExtId") == sim.v4_ext_id("category", "AppType:Web").value_or("?"));
  CHECK(all[2].at("entityExtId") == "");  // this PC has no such policy
  const auto one = get_one(sim, list + "/" + all[1].at("extId").get<std::string>());
  CHECK(one.data == all[1]);
  CHECK(send(sim, "POST", list + "/" + all[1].at("extId").get<std::string>()).response.status == 405);

  // Bad settings are refused, and faults reach the endpoint.
  CHECK(send(sim, "PUT", "/_pcsim/entity_sync", json::array({{{"entityType", "VM"}}})).response.status == 400);
  CHECK(send(sim, "PUT", "/_pcsim/entity_sync", json{{"a", 1}}).response.status == 400);
  sim.add_fault(parse_fault("v4_entity_sync_policies:status=503"));
  auto failed = get(sim, list);
  CHECK(failed.response.status == 503);
  CHECK(failed.response.body.find("datapolicies") != std::string::npos);
}
