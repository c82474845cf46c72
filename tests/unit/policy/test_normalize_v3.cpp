#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>

#include "core/sha256.hpp"
#include "policy/normalize_v3.hpp"
#include "policy_test_support.hpp"

using namespace flowdrift;
using namespace flowdrift::policy;
using namespace flowdrift::policy::test;
using nlohmann::json;

namespace {

json rules_of(const Snapshot& s, const std::string& policy) {
  return json::parse(object(s, ObjectKind::Policy, policy).json).at("rules");
}

// The app_rule of the first entity of a site, for in-place edits.
json& app_rule(V3SiteData& site) {
  return site.rules.at(0).at("spec").at("resources").at("app_rule");
}

bool has_finding(const Snapshot& s, const std::string& kind, const std::string& object,
                 const std::string& detail_part) {
  return std::any_of(s.findings.begin(), s.findings.end(), [&](const Finding& f) {
    return f.kind == kind && f.object == object && f.detail.find(detail_part) != std::string::npos;
  });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public fixtures -> golden canonical output

TEST_CASE("v3 isolation rule list fixture canonicalizes (golden)", "[unit][policy][golden]") {
  V3SiteData site;
  site.rules = entities_of(load_public("v3_nsr_list_isolation_rule.json"));
  site.category_keys = entities_of(load_public("v3_categories_keys_list.json"));
  site.category_values["Environment"] = {category_value("Environment", "Dev"),
                                         category_value("Environment", "Production")};
  const Snapshot s = canon_ok(site);
  REQUIRE(s.count(ObjectKind::Policy) == 1);
  const auto& p = object(s, ObjectKind::Policy, "isolation_test_rule");
  CHECK(p.policy_type == "isolation");
  CHECK(p.mode == "monitor");
  CHECK(s.count(ObjectKind::Category) == 2);
  CHECK(s.findings.empty());
  check_golden("v3_nsr_list_isolation_rule.golden", render(s));
}

TEST_CASE("v3 app_rule intent response fixture canonicalizes (golden)", "[unit][policy][golden]") {
  // An intent response body is a single entity (with an extra api_version, which is dropped).
  V3SiteData site;
  site.rules = {load_public("v3_nsr_app_rule_intent_response.json")};
  site.category_keys = entities_of(load_public("v3_categories_keys_list.json"));
  site.category_values["AppType"] = {category_value("AppType", "Apache_Spark")};
  site.category_values["AppFamily"] = {category_value("AppFamily", "Databases")};
  const Snapshot s = canon_ok(site);
  const auto& p = object(s, ObjectKind::Policy, "test_app_rule");
  CHECK(p.policy_type == "application");
  CHECK(p.mode == "monitor");
  const json j = json::parse(p.json);
  CHECK(j.at("intra_group") == "deny");
  CHECK(j.at("allow_ipv6") == true);
  // protocol ALL allows every protocol, whatever port lists sit beside it.
  CHECK(j.at("rules").size() == 2);
  for (const auto& r : j.at("rules")) CHECK(r.at("service") == json{{"all", true}});
  // AppFamily:DevOps is referenced but not defined on this site.
  CHECK(has_finding(s, "dangling_reference", "test_app_rule", "category AppFamily:DevOps"));
  CHECK(s.findings.size() == 1);
  check_golden("v3_nsr_app_rule_intent_response.golden", render(s));
}

TEST_CASE("group and category fixtures canonicalize with rules referencing them (golden)",
          "[unit][policy][golden]") {
  V3SiteData site;
  site.rules = entities_of(load_local("v3_rules_with_groups.json"));
  site.address_groups = entities_of(load_public("v3_address_groups_list.json"));
  site.service_groups = entities_of(load_public("v3_service_groups_list.json"));
  site.category_keys = entities_of(load_public("v3_categories_keys_list.json"));
  const json cat = load_public("v3_category_key_and_values.json");
  for (const auto& v : cat.at("category_values")) {
    site.category_values[cat.at("category_key").at("name").get<std::string>()].push_back(v);
  }
  const Snapshot s = canon_ok(site);
  CHECK(s.count(ObjectKind::Policy) == 3);
  CHECK(s.count(ObjectKind::AddressGroup) == 1);
  CHECK(s.count(ObjectKind::ServiceGroup) == 1);
  CHECK(object(s, ObjectKind::AddressGroup, "test_check2").json ==
        R"({"addresses":["10.1.1.3/32"],"description":"test_desc5","name":"test_check2"})");
  // ICMP entries with only a code or only a type keep just that key.
  CHECK(object(s, ObjectKind::ServiceGroup, "test_service").json ==
        R"({"description":"desc","name":"test_service","services":[)"
        R"({"icmp":[{"code":10},{"type":1},{"code":3,"type":2}],"protocol":"icmp"},)"
        R"({"ports":[[0,23]],"protocol":"tcp"},)"
        R"({"ports":[[10,50],[60,90],[99,99]],"protocol":"udp"}]})");
  CHECK(object(s, ObjectKind::Category, "test-cat1:value1").json ==
        R"({"key":"test-cat1","value":"value1"})");
  CHECK(object(s, ObjectKind::Policy, "vdi-users").policy_type == "vdi");
  CHECK(object(s, ObjectKind::Policy, "quarantine-strict").policy_type == "quarantine");
  check_golden("v3_rules_with_groups.golden", render(s));
}

TEST_CASE("the DELETE response fixture (spec is a string) is malformed", "[unit][policy]") {
  V3SiteData site;
  site.rules = {load_public("v3_nsr_delete_response.json")};
  auto r = canonicalize_v3(site);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().reason == ErrorReason::Malformed);
  CHECK_THAT(r.error().message, Catch::Contains("rules[0]") && Catch::Contains("/spec") &&
                                    Catch::Contains("expected object"));
}

// ---------------------------------------------------------------------------------------------
// Site independence

TEST_CASE("same intent with other ids, timestamps and orders gives the same hashes",
          "[unit][policy]") {
  const Snapshot a = canon_ok(standard_site());
  SiteVariant other;
  other.policy_uuid = "bbbbbbbb-1111-4111-8111-000000000001";
  other.ag_uuid = "bbbbbbbb-1111-4111-8111-0000000000a1";
  other.sg_uuid = "bbbbbbbb-1111-4111-8111-0000000000b1";
  other.timestamp = "2025-12-31T23:59:59Z";
  other.owner_uuid = "bbbbbbbb-1111-4111-8111-0000000000c1";
  other.spec_version = 17;
  other.rule_id_base = 900;
  other.reverse_orders = true;
  V3SiteData site_b = standard_site(other);
  // Group lists in another order, and another status block.
  std::reverse(site_b.address_groups.begin(), site_b.address_groups.end());
  std::reverse(site_b.service_groups.begin(), site_b.service_groups.end());
  site_b.rules[0]["status"] = json{{"state", "COMPLETE"}};
  const Snapshot b = canon_ok(site_b);

  REQUIRE(a.objects.size() == b.objects.size());
  for (std::size_t i = 0; i < a.objects.size(); ++i) {
    INFO(a.objects[i].name);
    CHECK(a.objects[i].name == b.objects[i].name);
    CHECK(a.objects[i].json == b.objects[i].json);
    CHECK(a.objects[i].hash == b.objects[i].hash);
  }
  CHECK(a.hash == b.hash);
  CHECK(a.findings.empty());
  CHECK(b.findings.empty());
}

TEST_CASE("snapshot contents: policy summary, referenced groups and keys only, sorted", "[unit][policy]") {
  V3SiteData site = standard_site();
  site.category_values["Team"].push_back(category_value("Team", "Ops"));  // key no policy uses
  const Snapshot s = canon_ok(site);
  CHECK(s.canon_version == kCanonVersion);
  CHECK(s.hash == snapshot_hash(s.objects, s.canon_version));
  CHECK(s.count(ObjectKind::Policy) == 1);
  CHECK(s.count(ObjectKind::AddressGroup) == 1);  // "unused-ag" is not referenced
  CHECK(s.count(ObjectKind::ServiceGroup) == 1);
  // Web, Prod (secured group), LB, Proxy (inbound peer), DB (outbound peer), and "Unused":
  // every value of a referenced key, so the diff can tell a renamed value from an unused one.
  CHECK(s.count(ObjectKind::Category) == 6);
  CHECK(object(s, ObjectKind::Category, "AppType:Unused").json ==
        R"({"key":"AppType","value":"Unused"})");
  CHECK(std::is_sorted(s.objects.begin(), s.objects.end(), [](const auto& x, const auto& y) {
    return std::tie(x.kind, x.name) < std::tie(y.kind, y.name);
  }));
  const auto& p = object(s, ObjectKind::Policy, "web-tier");
  CHECK(p.policy_type == "application");
  CHECK(p.mode == "enforce");
  CHECK(p.hash == sha256_hex(p.json));
  CHECK(
      object(s, ObjectKind::AddressGroup, "monitoring").json ==
      R"({"addresses":["10.8.1.0/24","10.9.9.9/32"],"description":"monitoring hosts","name":"monitoring"})");
  CHECK(object(s, ObjectKind::ServiceGroup, "web-ports").json ==
        R"({"description":"web ports","name":"web-ports","services":[)"
        R"({"icmp":[{}],"protocol":"icmp"},{"ports":[[8080,8081]],"protocol":"tcp"}]})");
  CHECK(object(s, ObjectKind::Category, "AppType:LB").json == R"({"key":"AppType","value":"LB"})");

  const json j = json::parse(p.json);
  CHECK(j.at("secured_group") ==
        json::parse(
            R"({"categories":["AppType:Web","Environment:Prod"],"kinds":["vm"],"match":"all"})"));
  CHECK(j.at("intra_group") == "deny");
  CHECK(j.at("hitlog") == true);
  CHECK(j.at("allow_ipv6") == false);
  CHECK(j.at("description") == "web servers");
  for (const char* dropped : {"uuid", "metadata", "status", "spec_version", "rule_id"}) {
    CHECK(p.json.find(dropped) == std::string::npos);
  }
  // Rules: a sorted set; one per (peer, service); ICMP type without code keeps just the type.
  const json rules = j.at("rules");
  std::vector<std::string> texts;
  for (const auto& r : rules) texts.push_back(r.dump());
  CHECK(std::is_sorted(texts.begin(), texts.end()));
  const json expected = json::parse(R"([
    {"description":"","direction":"inbound","peer":{"address_group":"monitoring"},"service":{"service_group":"web-ports"}},
    {"description":"","direction":"inbound","peer":{"any":true},"service":{"icmp":[{"code":4,"type":3},{"type":8}],"protocol":"icmp"}},
    {"description":"","direction":"inbound","peer":{"subnet":"10.1.0.0/24"},"service":{"ports":[[53,53]],"protocol":"udp"}},
    {"description":"","direction":"outbound","peer":{"categories":["AppType:DB"],"match":"all"},"service":{"ports":[[5432,5432]],"protocol":"tcp"}},
    {"description":"from the load balancers","direction":"inbound","peer":{"categories":["AppType:LB","AppType:Proxy"],"match":"all"},"service":{"ports":[[80,80],[443,443]],"protocol":"tcp"}}
  ])");
  CHECK(rules == expected);
}

TEST_CASE("real changes change the policy hash and the snapshot hash", "[unit][policy]") {
  const Snapshot base = canon_ok(standard_site());
  const std::string base_policy = object(base, ObjectKind::Policy, "web-tier").hash;
  V3SiteData site = standard_site();
  SECTION("a port") {
    app_rule(site).at("inbound_allow_list").at(0).at("tcp_port_range_list").at(0).at("end_port") =
        444;
  }
  SECTION("the mode") { app_rule(site).at("action") = "MONITOR"; }
  SECTION("a subnet peer") {
    app_rule(site).at("inbound_allow_list").at(1).at("ip_subnet").at("prefix_length") = 16;
  }
  SECTION("a category peer") {
    app_rule(site).at("outbound_allow_list").at(0).at("filter").at("params").at("AppType") = {
        "Web"};
  }
  SECTION("intra-group policy") {
    app_rule(site).at("target_group").at("default_internal_policy") = "ALLOW_ALL";
  }
  SECTION("match all vs any") {
    app_rule(site).at("target_group").at("filter").at("type") = "CATEGORIES_MATCH_ANY";
  }
  const Snapshot changed = canon_ok(site);
  CHECK(object(changed, ObjectKind::Policy, "web-tier").hash != base_policy);
  CHECK(changed.hash != base.hash);
}

TEST_CASE("a change inside a referenced group changes that group and the snapshot only",
          "[unit][policy]") {
  const Snapshot base = canon_ok(standard_site());
  V3SiteData site = standard_site();
  site.address_groups.at(0).at("address_group").at("ip_address_block_list").at(0).at("ip") =
      "10.9.9.10";
  const Snapshot changed = canon_ok(site);
  CHECK(object(changed, ObjectKind::Policy, "web-tier").hash ==
        object(base, ObjectKind::Policy, "web-tier").hash);
  CHECK(object(changed, ObjectKind::AddressGroup, "monitoring").hash !=
        object(base, ObjectKind::AddressGroup, "monitoring").hash);
  CHECK(changed.hash != base.hash);
}

TEST_CASE("ports are sorted and deduplicated but not merged", "[unit][policy]") {
  V3SiteData site = standard_site();
  app_rule(site).at("inbound_allow_list").at(0).at("tcp_port_range_list") =
      json::parse(R"([{"start_port":81,"end_port":90},{"start_port":80,"end_port":80},
                      {"start_port":81,"end_port":90}])");
  const json rules = rules_of(canon_ok(site), "web-tier");
  CHECK(rules.at(4).at("service").at("ports") == json::parse("[[80,80],[81,90]]"));

  SECTION("a protocol without ranges means every port") {
    app_rule(site).at("inbound_allow_list").at(0).erase("tcp_port_range_list");
    const json r = rules_of(canon_ok(site), "web-tier");
    CHECK(r.at(4).at("service") == json::parse(R"({"ports":[[0,65535]],"protocol":"tcp"})"));
  }
}

// ---------------------------------------------------------------------------------------------
// v3 allow-list semantics

TEST_CASE("empty inbound allows nothing, empty outbound of an app rule allows everything",
          "[unit][policy]") {
  V3SiteData site = standard_site();
  auto& rule = app_rule(site);
  rule.erase("inbound_allow_list");
  rule.erase("outbound_allow_list");
  const Snapshot missing = canon_ok(site);
  const json allow_all_out = json::parse(
      R"([{"description":"","direction":"outbound","peer":{"any":true},"service":{"all":true}}])");
  CHECK(rules_of(missing, "web-tier") == allow_all_out);
  const std::string h = object(missing, ObjectKind::Policy, "web-tier").hash;

  SECTION("empty lists equal missing lists") {
    rule["inbound_allow_list"] = json::array();
    rule["outbound_allow_list"] = json::array();
    CHECK(object(canon_ok(site), ObjectKind::Policy, "web-tier").hash == h);
  }
  SECTION("null lists equal missing lists") {
    rule["inbound_allow_list"] = nullptr;
    rule["outbound_allow_list"] = nullptr;
    CHECK(object(canon_ok(site), ObjectKind::Policy, "web-tier").hash == h);
  }
  SECTION("an explicit allow-all outbound entry equals an empty outbound list") {
    rule["outbound_allow_list"] = json::parse(R"([{"peer_specification_type":"ALL","rule_id":3}])");
    CHECK(object(canon_ok(site), ObjectKind::Policy, "web-tier").hash == h);
    rule["outbound_allow_list"] =
        json::parse(R"([{"peer_specification_type":"ALL","protocol":"ALL"}])");
    CHECK(object(canon_ok(site), ObjectKind::Policy, "web-tier").hash == h);
  }
  SECTION("an explicit allow-all inbound entry differs from an empty inbound list") {
    rule["inbound_allow_list"] = json::parse(R"([{"peer_specification_type":"ALL"}])");
    const Snapshot s = canon_ok(site);
    CHECK(object(s, ObjectKind::Policy, "web-tier").hash != h);
    CHECK(rules_of(s, "web-tier").size() == 2);
  }
}

TEST_CASE("ad_rule outbound follows app_rule semantics, quarantine lists stay literal",
          "[unit][policy]") {
  V3SiteData site = standard_site();
  auto& resources = site.rules.at(0).at("spec").at("resources");
  json rule = resources.at("app_rule");
  rule.erase("outbound_allow_list");
  resources.erase("app_rule");

  SECTION("ad_rule") {
    resources["ad_rule"] = rule;
    const Snapshot s = canon_ok(site);
    CHECK(object(s, ObjectKind::Policy, "web-tier").policy_type == "vdi");
    const json rules = rules_of(s, "web-tier");
    CHECK(std::count_if(rules.begin(), rules.end(), [](const json& r) {
            return r.at("direction") == "outbound" && r.at("peer") == json{{"any", true}} &&
                   r.at("service") == json{{"all", true}};
          }) == 1);
  }
  SECTION("quarantine_rule") {
    resources["quarantine_rule"] = rule;
    const Snapshot empty = canon_ok(site);
    CHECK(object(empty, ObjectKind::Policy, "web-tier").policy_type == "quarantine");
    const json rules = rules_of(empty, "web-tier");
    CHECK(std::none_of(rules.begin(), rules.end(),
                       [](const json& r) { return r.at("direction") == "outbound"; }));
    resources["quarantine_rule"]["outbound_allow_list"] =
        json::parse(R"([{"peer_specification_type":"ALL"}])");
    CHECK(object(canon_ok(site), ObjectKind::Policy, "web-tier").hash !=
          object(empty, ObjectKind::Policy, "web-tier").hash);
  }
}

TEST_CASE("no protocol and no service group means all protocols", "[unit][policy]") {
  V3SiteData site = standard_site();
  auto& entry = app_rule(site).at("inbound_allow_list").at(1);
  entry.erase("protocol");
  const json rules = rules_of(canon_ok(site), "web-tier");
  CHECK(std::any_of(rules.begin(), rules.end(), [](const json& r) {
    return r.at("peer") == json{{"subnet", "10.1.0.0/24"}} &&
           r.at("service") == json{{"all", true}};
  }));
  SECTION("a service group replaces the implicit all") {
    entry["service_group_list"] = json::parse(R"([{"kind":"service_group","uuid":"x"}])");
    entry["protocol"] = "ALL";
    const Snapshot s = canon_ok(site);
    const json r2 = rules_of(s, "web-tier");
    CHECK(std::none_of(r2.begin(), r2.end(), [](const json& r) {
      return r.at("peer") == json{{"subnet", "10.1.0.0/24"}} &&
             r.at("service") == json{{"all", true}};
    }));
  }
}

TEST_CASE("isolation is symmetric", "[unit][policy]") {
  V3SiteData site;
  site.rules = entities_of(load_public("v3_nsr_list_isolation_rule.json"));
  const Snapshot a = canon_ok(site);
  auto& iso = site.rules.at(0).at("spec").at("resources").at("isolation_rule");
  std::swap(iso.at("first_entity_filter"), iso.at("second_entity_filter"));
  const Snapshot b = canon_ok(site);
  CHECK(a.hash == b.hash);
  CHECK(object(a, ObjectKind::Policy, "isolation_test_rule").json ==
        object(b, ObjectKind::Policy, "isolation_test_rule").json);
  iso.at("second_entity_filter").at("params").at("Environment") = {"Staging"};
  CHECK(canon_ok(site).hash != a.hash);
}

// ---------------------------------------------------------------------------------------------
// References

TEST_CASE("dangling group references are marked and reported, not errors", "[unit][policy]") {
  V3SiteData site = standard_site();
  site.address_groups.clear();
  site.service_groups.clear();
  const Snapshot s = canon_ok(site);
  const std::string ag = SiteVariant{}.ag_uuid;
  const std::string sg = SiteVariant{}.sg_uuid;
  CHECK(rules_of(s, "web-tier").at(0) == json{{"description", ""},
                                              {"direction", "inbound"},
                                              {"peer", {{"address_group", "dangling:" + ag}}},
                                              {"service", {{"service_group", "dangling:" + sg}}}});
  CHECK(has_finding(s, "dangling_reference", "web-tier", "address_group uuid " + ag));
  CHECK(has_finding(s, "dangling_reference", "web-tier", "service_group uuid " + sg));
  CHECK(s.count(ObjectKind::AddressGroup) == 0);
  CHECK(s.count(ObjectKind::ServiceGroup) == 0);
  CHECK(std::is_sorted(s.findings.begin(), s.findings.end()));
}

TEST_CASE("categories missing from the site are findings, the policy keeps key:value",
          "[unit][policy]") {
  V3SiteData site = standard_site();
  site.category_values.erase("Environment");
  const Snapshot s = canon_ok(site);
  CHECK(has_finding(s, "dangling_reference", "web-tier", "category Environment:Prod"));
  CHECK(s.findings.size() == 1);
  CHECK(s.count(ObjectKind::Category) == 5);  // every AppType value; no Environment value
  CHECK(object(s, ObjectKind::Policy, "web-tier").json.find("Environment:Prod") !=
        std::string::npos);
}

TEST_CASE("referenced_category_keys lists every key rules reference", "[unit][policy]") {
  CHECK(referenced_category_keys({app_entity()}) ==
        std::vector<std::string>{"AppType", "Environment"});
  CHECK(referenced_category_keys(entities_of(load_public("v3_nsr_list_isolation_rule.json"))) ==
        std::vector<std::string>{"Environment"});
  CHECK(referenced_category_keys(entities_of(load_local("v3_rules_with_groups.json"))) ==
        std::vector<std::string>{"ADGroup", "Quarantine", "test-cat1"});
  CHECK(referenced_category_keys({load_public("v3_nsr_app_rule_intent_response.json")}) ==
        std::vector<std::string>{"AppFamily", "AppType"});
  // Tolerates anything: it runs before validation.
  CHECK(
      referenced_category_keys({json(3), json::array(), load_public("v3_nsr_delete_response.json"),
                                json::parse(R"({"spec":{"resources":{"app_rule":{
                                      "inbound_allow_list":"x","target_group":{"filter":{"params":[]}}}}}})")})
          .empty());
}

// ---------------------------------------------------------------------------------------------
// Duplicate names

TEST_CASE("duplicate policy names are disambiguated deterministically", "[unit][policy]") {
  V3SiteData site = standard_site();
  json other = app_entity();
  other.at("spec").at("resources").at("app_rule").at("action") = "MONITOR";
  other.at("metadata").at("uuid") = "another";
  site.rules.push_back(other);
  const Snapshot a = canon_ok(site);
  std::reverse(site.rules.begin(), site.rules.end());
  const Snapshot b = canon_ok(site);
  CHECK(a.hash == b.hash);
  REQUIRE(a.count(ObjectKind::Policy) == 2);
  const auto& first = object(a, ObjectKind::Policy, "web-tier");
  const auto& second = object(a, ObjectKind::Policy, "web-tier (duplicate 2)");
  CHECK(first.hash < second.hash);
  CHECK(first.mode != second.mode);
  CHECK(has_finding(a, "duplicate_name", "web-tier", "web-tier (duplicate 2)"));
  CHECK(object(b, ObjectKind::Policy, "web-tier").hash == first.hash);

  SECTION("identical duplicates still give two objects") {
    site.rules = {app_entity(), app_entity()};
    site.rules[1].at("metadata").at("uuid") = "copy";
    const Snapshot s = canon_ok(site);
    CHECK(s.count(ObjectKind::Policy) == 2);
    CHECK(object(s, ObjectKind::Policy, "web-tier (duplicate 2)").json ==
          object(s, ObjectKind::Policy, "web-tier").json);
  }
}

TEST_CASE("duplicate group names: same content merges, other content is renamed",
          "[unit][policy]") {
  V3SiteData site = standard_site();
  const std::string ag = SiteVariant{}.ag_uuid;
  SECTION("same content") {
    site.address_groups.push_back(
        address_group_entity("copy-uuid", "monitoring", {{"10.9.9.9", 32}, {"10.8.1.77", 24}}));
    const Snapshot s = canon_ok(site);
    CHECK(s.count(ObjectKind::AddressGroup) == 1);
    CHECK(has_finding(s, "duplicate_name", "monitoring", "identical content"));
  }
  SECTION("other content") {
    site.address_groups.push_back(
        address_group_entity("other-uuid", "monitoring", {{"172.16.0.1", 32}}));
    site.rules.push_back(app_entity());
    site.rules[1].at("spec").at("name") = "second";
    site.rules[1]["spec"]["resources"]["app_rule"]["inbound_allow_list"][2]
              ["address_group_inclusion_list"][0]["uuid"] = "other-uuid";
    const Snapshot s = canon_ok(site);
    CHECK(s.count(ObjectKind::AddressGroup) == 2);
    CHECK(has_finding(s, "duplicate_name", "monitoring", "renamed to 'monitoring (duplicate 2)'"));
    const std::string n1 = rules_of(s, "web-tier").at(0).at("peer").at("address_group");
    const std::string n2 = rules_of(s, "second").at(0).at("peer").at("address_group");
    CHECK(n1 != n2);
    CHECK((n1 == "monitoring" || n1 == "monitoring (duplicate 2)"));
    CHECK((n2 == "monitoring" || n2 == "monitoring (duplicate 2)"));
  }
}

// ---------------------------------------------------------------------------------------------
// Malformed input

TEST_CASE("malformed input is Malformed and names the entity and the path", "[unit][policy]") {
  V3SiteData site = standard_site();
  std::string expected;
  const std::string prefix = "rules[1] (web-tier): /spec/resources/app_rule";
  site.rules.insert(site.rules.begin(), app_entity());
  site.rules[0].at("spec").at("name") = "first";
  json& rule = site.rules[1].at("spec").at("resources").at("app_rule");

  SECTION("port out of range") {
    rule.at("inbound_allow_list").at(0).at("tcp_port_range_list").at(0).at("start_port") = 70000;
    expected = prefix +
               "/inbound_allow_list/0/tcp_port_range_list/0/start_port: expected integer 0..65535";
  }
  SECTION("negative port") {
    rule.at("outbound_allow_list").at(0).at("tcp_port_range_list").at(0).at("end_port") = -1;
    expected =
        prefix + "/outbound_allow_list/0/tcp_port_range_list/0/end_port: expected integer 0..65535";
  }
  SECTION("port of the wrong type") {
    rule.at("inbound_allow_list").at(0).at("tcp_port_range_list").at(0).at("start_port") = "80";
    expected = prefix + "/inbound_allow_list/0/tcp_port_range_list/0/start_port: expected integer";
  }
  SECTION("reversed range") {
    rule.at("inbound_allow_list").at(0).at("tcp_port_range_list").at(0).at("start_port") = 500;
    expected =
        prefix + "/inbound_allow_list/0/tcp_port_range_list/0: start_port greater than end_port";
  }
  SECTION("bad IP") {
    rule.at("inbound_allow_list").at(1).at("ip_subnet").at("ip") = "10.1.0.256";
    expected = prefix + "/inbound_allow_list/1/ip_subnet/ip: expected IPv4 address";
  }
  SECTION("bad prefix") {
    rule.at("inbound_allow_list").at(1).at("ip_subnet").at("prefix_length") = 33;
    expected = prefix + "/inbound_allow_list/1/ip_subnet/prefix_length: expected integer 0..32";
  }
  SECTION("unknown action") {
    rule.at("action") = "ENFORCE";
    expected = prefix + "/action: expected APPLY or MONITOR";
  }
  SECTION("list of the wrong type") {
    rule.at("inbound_allow_list") = json::object();
    expected = prefix + "/inbound_allow_list: expected array";
  }
  SECTION("unknown protocol") {
    rule.at("inbound_allow_list").at(1).at("protocol") = "SCTP";
    expected = prefix + "/inbound_allow_list/1/protocol: expected ALL, ICMP, TCP or UDP";
  }
  SECTION("unknown peer type") {
    rule.at("inbound_allow_list").at(1).at("peer_specification_type") = "NONE";
    expected =
        prefix + "/inbound_allow_list/1/peer_specification_type: expected ALL, FILTER or IP_SUBNET";
  }
  SECTION("category values not strings") {
    rule.at("target_group").at("filter").at("params").at("AppType") = {1};
    expected = prefix + "/target_group/filter/params/AppType/0: expected string";
  }
  SECTION("missing target group") {
    rule.erase("target_group");
    expected = prefix + "/target_group: missing";
  }
  SECTION("no known rule type") {
    site.rules[1].at("spec").at("resources").erase("app_rule");
    expected = "rules[1] (web-tier): /spec/resources: no known rule type";
  }
  SECTION("two rule types") {
    site.rules[1].at("spec").at("resources")["isolation_rule"] = json::object();
    expected = "rules[1] (web-tier): /spec/resources: more than one rule type";
  }
  SECTION("spec missing: named by uuid") {
    site.rules[1].erase("spec");
    expected = "rules[1] (" + SiteVariant{}.policy_uuid + "): /spec: missing";
  }
  SECTION("entity not an object") {
    site.rules[1] = json::array();
    expected = "rules[1]: /: expected object";
  }
  SECTION("name of the wrong type") {
    site.rules[1].at("spec").at("name") = 5;
    expected =
        "rules[1] (" + SiteVariant{}.policy_uuid + "): /spec/name: expected non-empty string";
  }
  SECTION("bool of the wrong type") {
    site.rules[1].at("spec").at("resources").at("allow_ipv6_traffic") = "yes";
    expected = "rules[1] (web-tier): /spec/resources/allow_ipv6_traffic: expected boolean";
  }
  SECTION("reference without uuid") {
    rule.at("inbound_allow_list").at(2).at("service_group_list").at(0).erase("uuid");
    expected = prefix + "/inbound_allow_list/2/service_group_list/0/uuid: missing";
  }
  SECTION("address group with a bad address") {
    site.address_groups.at(1).at("address_group").at("ip_address_block_list").at(0).at("ip") =
        "1.2.3";
    expected =
        "address_groups[1] (unused-ag): /address_group/ip_address_block_list/0/ip: "
        "expected IPv4 address";
  }
  SECTION("service group entry without protocol") {
    site.service_groups.at(0).at("service_group").at("service_list").at(0).erase("protocol");
    expected = "service_groups[0] (web-ports): /service_group/service_list/0/protocol: missing";
  }
  SECTION("category value without value") {
    site.category_values["AppType"].at(2).erase("value");
    expected = "category_values[AppType][2]: /value: missing";
  }
  auto r = canonicalize_v3(site);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().reason == ErrorReason::Malformed);
  CHECK_THAT(r.error().message, Catch::StartsWith(expected));
  // A poll reading the rules from their raw text refuses the same way.
  auto listed = canonicalize_v3_as_listed(site);
  REQUIRE_FALSE(listed.has_value());
  CHECK(listed.error().message == r.error().message);
}

TEST_CASE("lenient where v3 is: nulls as absent, missing optional fields, inferred peers",
          "[unit][policy]") {
  V3SiteData site = standard_site();
  json& spec = site.rules[0].at("spec");
  spec["description"] = nullptr;
  spec.at("resources").erase("is_policy_hitlog_enabled");
  spec.at("resources")["allow_ipv6_traffic"] = nullptr;
  json& rule = spec.at("resources").at("app_rule");
  rule.at("target_group").erase("default_internal_policy");
  rule.at("target_group").at("filter").erase("type");  // swagger default: match any
  rule.at("target_group").at("filter").erase("kind_list");
  rule.at("inbound_allow_list").at(1).erase("peer_specification_type");  // ip_subnet only
  const Snapshot s = canon_ok(site);
  const json j = json::parse(object(s, ObjectKind::Policy, "web-tier").json);
  CHECK(j.at("description") == "");
  CHECK(j.at("hitlog") == false);
  CHECK(j.at("allow_ipv6") == false);
  CHECK_FALSE(j.contains("intra_group"));
  CHECK(
      j.at("secured_group") ==
      json::parse(R"({"categories":["AppType:Web","Environment:Prod"],"kinds":[],"match":"any"})"));
  CHECK(j.at("rules").at(2).at("peer") == json{{"subnet", "10.1.0.0/24"}});
}

TEST_CASE("an empty site canonicalizes to an empty snapshot", "[unit][policy]") {
  const Snapshot s = canon_ok(V3SiteData{});
  CHECK(s.objects.empty());
  CHECK(s.findings.empty());
  CHECK(s.hash == snapshot_hash({}, kCanonVersion));
}

// ---------------------------------------------------------------------------------------------
// Scale

TEST_CASE("canonicalizes 5,000 policies of about 20 rules", "[unit][policy][scale][slow]") {
  V3SiteData site;
  site.address_groups.push_back(address_group_entity("ag", "monitoring", {{"10.9.9.9", 32}}));
  site.service_groups.push_back(service_group_entity("sg", "web-ports"));
  for (int t = 0; t < 50; ++t) {
    site.category_values["AppType"].push_back(category_value("AppType", "App" + std::to_string(t)));
  }
  // Generated as text and parsed: building 100k rules from initializer lists is slow in Debug.
  for (int i = 0; i < 5000; ++i) {
    const std::string n = std::to_string(i);
    std::string text =
        R"({"metadata":{"uuid":"uuid-)" + n + R"("},"spec":{"name":"policy-)" + n +
        R"(","resources":{"app_rule":{"action":")" + (i % 2 == 0 ? "APPLY" : "MONITOR") +
        R"(","target_group":{"default_internal_policy":"DENY_ALL","filter":{)"
        R"("type":"CATEGORIES_MATCH_ALL","kind_list":["vm"],"params":{"AppType":["App)" +
        std::to_string(i % 50) + R"("]}}},"inbound_allow_list":[)";
    for (int r = 0; r < 18; ++r) {
      const std::string port = std::to_string(1000 + (i + r) % 60000);
      const std::string port_end = std::to_string(1010 + (i + r) % 60000);
      text +=
          R"({"rule_id":)" + std::to_string(r) + R"(,"peer_specification_type":")" +
          (r % 3 == 0 ? "FILTER" : "IP_SUBNET") +
          R"(","filter":{"type":"CATEGORIES_MATCH_ALL","kind_list":["vm"],"params":{"AppType":["App)" +
          std::to_string(r % 50) + R"("]}},"ip_subnet":{"ip":"10.)" + std::to_string(r) +
          R"(.0.1","prefix_length":24},"protocol":"TCP","tcp_port_range_list":[{"start_port":)" +
          port + R"(,"end_port":)" + port_end + "}]},";
    }
    text +=
        R"({"peer_specification_type":"IP_SUBNET","address_group_inclusion_list":[{"uuid":"ag"}],)"
        R"("service_group_list":[{"uuid":"sg"}]}]}}}})";
    site.rules.push_back(json::parse(text));
  }
  const auto t0 = std::chrono::steady_clock::now();
  const Snapshot s = canon_ok(site, false);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  WARN("canonicalized 5000 policies x 20 rules in " << ms << " ms");
  CHECK(s.count(ObjectKind::Policy) == 5000);
  CHECK(rules_of(s, "policy-42").size() == 20);
  check_canonical(object(s, ObjectKind::Policy, "policy-4999"));
  CHECK(s.findings.empty());
}

TEST_CASE("names and descriptions with JSON-like text stay canonical", "[unit][policy]") {
  V3SiteData site = standard_site();
  json& spec = site.rules[0].at("spec");
  spec["name"] = R"(web "rules":null ü)";
  spec["description"] = R"("rules":null,"x":[)";
  app_rule(site).at("inbound_allow_list").at(0)["description"] = R"("rules":null})";
  const Snapshot s = canon_ok(site);  // checks every text re-dumps to itself
  const json j = json::parse(object(s, ObjectKind::Policy, R"(web "rules":null ü)").json);
  CHECK(j.at("name") == R"(web "rules":null ü)");
  CHECK(j.at("description") == R"("rules":null,"x":[)");
  CHECK(j.at("rules").size() == 5);
  CHECK(j.at("rules").at(4).at("description") == R"("rules":null})");
}

// A page begun from a poll's buffer copies the texts it has yet to canonicalize (the buffer is
// read into again before the page runs); a borrowed page reads the caller's, which outlive it.
TEST_CASE("a begun page owns its texts and a borrowed page reads the caller's", "[unit][policy]") {
  const V3SiteData site = standard_site();
  const Snapshot expected = canon_ok(site);
  auto build = [&](bool borrowed) {
    V3SiteBuilder builder;
    REQUIRE(builder.set_groups(site.address_groups, site.service_groups));
    std::vector<std::string> texts;
    for (const auto& rule : site.rules) texts.push_back(rule.dump());
    const std::vector<std::string_view> views(texts.begin(), texts.end());
    auto work = borrowed ? builder.begin_borrowed_page(views) : builder.begin_page(views);
    if (!borrowed) {
      for (auto& t : texts) std::fill(t.begin(), t.end(), 'x');  // the buffer, read into again
    }
    work.run();
    REQUIRE(builder.end_page(std::move(work)));
    for (const auto& [key, values] : site.category_values) {
      REQUIRE(builder.add_category_values(key, values));
    }
    auto snap = builder.finish();
    REQUIRE(snap);
    return *snap;
  };
  CHECK(build(false).hash == expected.hash);
  CHECK(build(true).hash == expected.hash);
}
