// The v4.1-v4.3 constructs (docs/canonical-model.md "v4.3 constructs"): entity groups, VPC
// scope, associated entity types, FLEX and SHARED_SERVICE rules, newer policy types, and
// members no version of the model knows, which are kept and reported rather than dropped.
#include <algorithm>
#include <catch2/catch.hpp>

#include "policy/normalize_v3.hpp"
#include "policy/normalize_v4.hpp"
#include "policy_test_support.hpp"

using namespace flowdrift;
using namespace flowdrift::policy;
using namespace flowdrift::policy::test;
using nlohmann::json;

namespace {

const std::string kWeb = "44444444-0000-4000-8000-0000000000f1";   // AppType:Web
const std::string kProd = "44444444-0000-4000-8000-0000000000f2";  // Environment:Prod
const std::string kLb = "44444444-0000-4000-8000-0000000000f3";    // AppType:LB
const std::string kOffice = "44444444-0000-4000-8000-0000000000a1";  // ag-office
const std::string kEgWeb = "55555555-0000-4000-8000-0000000000e1";
const std::string kVpcA = "66666666-0000-4000-8000-0000000000c1";
const std::string kVpcB = "66666666-0000-4000-8000-0000000000c2";

std::vector<json> items(const json& list) { return {list.begin(), list.end()}; }

V4SiteData base_site() {
  const json s = load_local("v4_same_intent.json").at("v4");
  V4SiteData site;
  site.policies = items(s.at("policies"));
  site.address_groups = items(s.at("address_groups"));
  site.service_groups = items(s.at("service_groups"));
  site.categories = items(s.at("categories"));
  site.vpcs = {json{{"extId", kVpcA}, {"name", "vpc-prod"}}, json{{"extId", kVpcB}, {"name", "vpc-dev"}}};
  site.entity_groups = {json{
      {"extId", kEgWeb},
      {"name", "eg-web"},
      {"description", "web VMs"},
      {"allowedConfig",
       {{"entities",
         {{{"type", "VM"}, {"selectBy", "CATEGORY_EXT_ID"}, {"referenceExtIds", {kWeb}}}}}}}}};
  return site;
}

json& policy_named(V4SiteData& site, const std::string& name) {
  for (auto& p : site.policies) {
    if (p.at("name") == name) return p;
  }
  FAIL("no policy " << name);
  return site.policies.front();
}

Snapshot ok(const V4SiteData& site) {
  auto r = canonicalize_v4(site);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.has_value());
  return *r;
}

json policy_json(const Snapshot& s, const std::string& name) {
  return json::parse(object(s, ObjectKind::Policy, name).json);
}

bool has_finding(const Snapshot& s, const std::string& kind, const std::string& object,
                 const std::string& detail) {
  for (const auto& f : s.findings) {
    if (f.kind == kind && f.object == object && f.detail == detail) return true;
  }
  return false;
}

// A FLEX rule of a ZONE policy, as the v4.3 SDK models it.
json flex_rule(const std::string& action) {
  return {{"type", "FLEX"},
          {"name", "web-to-lb"},
          {"spec",
           {{"action", action},
            {"direction", "OUT"},
            {"appliedToEntityGroupReferences", {kEgWeb}},
            {"destSubnet", {{"value", "10.2.0.9"}, {"prefixLength", 16}}},
            {"tcpServices", {{{"startPort", 443}, {"endPort", 443}}}},
            {"priority", 10}}}};
}

json zone_policy(const std::string& action) {
  return {{"extId", "77777777-0000-4000-8000-000000000001"},
          {"name", "zone-web"},
          {"type", "ZONE"},
          {"state", "ENFORCE"},
          {"rules", {flex_rule(action)}}};
}

}  // namespace

TEST_CASE("a v4.0 site polled through v4.3 paths canonicalizes as before", "[unit][policy][v43]") {
  V4SiteData plain = base_site();
  plain.entity_groups.clear();
  plain.vpcs.clear();
  const Snapshot a = ok(plain);
  const Snapshot b = ok(base_site());  // unreferenced entity groups and VPCs change nothing
  CHECK(a.hash == b.hash);
  CHECK(b.count(ObjectKind::EntityGroup) == 0);
}

TEST_CASE("a member no version knows is kept opaque, reported, and the site stays complete",
          "[unit][policy][v43]") {
  V4SiteData site = base_site();
  const Snapshot before = ok(site);
  json& web = policy_named(site, "web-app");
  web["futureField"] = {{"x", 1}, {"category", kWeb}};
  web.at("rules").at(1).at("spec")["futureRuleField"] = "on";
  const Snapshot after = ok(site);

  const json p = policy_json(after, "web-app");
  CHECK(p.at("unmodelled") == json{{"futureField", {{"category", "category:AppType:Web"}, {"x", 1}}}});
  CHECK(has_finding(after, "unmodelled", "web-app", "unmodelled: /futureField"));
  CHECK(has_finding(after, "unmodelled", "web-app", "unmodelled: /rules/*/spec/futureRuleField"));
  bool rule_carries_it = false;
  for (const auto& r : p.at("rules")) {
    if (r.contains("unmodelled")) {
      CHECK(r.at("unmodelled") == json{{"spec/futureRuleField", "on"}});
      rule_carries_it = true;
    }
  }
  CHECK(rule_carries_it);
  CHECK(object(before, ObjectKind::Policy, "web-app").hash !=
        object(after, ObjectKind::Policy, "web-app").hash);
  // Bookkeeping the model leaves out on purpose is neither kept nor reported.
  web.erase("futureField");
  web.at("rules").at(1).at("spec").erase("futureRuleField");
  web["lastUpdateTime"] = "2026-12-05T10:00:00Z";
  web["projectExtId"] = "88888888-0000-4000-8000-000000000001";
  CHECK(ok(site).hash == before.hash);
}

TEST_CASE("unknown enum values and rule types are kept and reported, never a failed poll",
          "[unit][policy][v43]") {
  V4SiteData site = base_site();
  json& web = policy_named(site, "web-app");
  web["state"] = "ENFORCE_LATER";
  web.at("rules").push_back({{"type", "FUTURE_RULE"},
                             {"description", "new"},
                             {"spec", {{"target", kLb}, {"level", 3}}}});
  const Snapshot s = ok(site);
  const json p = policy_json(s, "web-app");
  CHECK(p.at("mode") == "enforce_later");
  CHECK(has_finding(s, "unmodelled", "web-app", R"(unmodelled: /state = "ENFORCE_LATER")"));
  CHECK(has_finding(s, "unmodelled", "web-app", R"(unmodelled: /rules/*/type = "FUTURE_RULE")"));
  const json unknown_rule = {{"description", "new"},
                             {"direction", "unknown"},
                             {"opaque",
                              {{"description", "new"},
                               {"spec", {{"level", 3}, {"target", "category:AppType:LB"}}},
                               {"type", "FUTURE_RULE"}}}};
  CHECK(std::find(p.at("rules").begin(), p.at("rules").end(), unknown_rule) != p.at("rules").end());
}

TEST_CASE("entity groups resolve by name and are objects of their own", "[unit][policy][v43]") {
  V4SiteData site = base_site();
  json& web = policy_named(site, "web-app");
  web["securedEntityGroupReferences"] = {kEgWeb};
  web.at("rules").at(1).at("spec")["srcEntityGroupReference"] = kEgWeb;
  const Snapshot s = ok(site);
  const json p = policy_json(s, "web-app");
  CHECK(p.at("secured_group").at("entity_groups") == json{"eg-web"});
  bool peer = false;
  for (const auto& r : p.at("rules")) peer = peer || r.at("peer") == json{{"entity_group", "eg-web"}};
  CHECK(peer);
  const auto& eg = object(s, ObjectKind::EntityGroup, "eg-web");
  CHECK(eg.json ==
        R"({"allowed":[{"references":["category:AppType:Web"],"select_by":"category_ext_id","type":"vm"}],"description":"web VMs","except":[],"name":"eg-web"})");

  // Widened on the replica: the group object differs, the policy text does not.
  V4SiteData wider = site;
  wider.entity_groups.at(0)["allowedConfig"]["entities"][0]["referenceExtIds"].push_back(kLb);
  const Snapshot w = ok(wider);
  CHECK(object(w, ObjectKind::EntityGroup, "eg-web").hash != eg.hash);
  CHECK(object(w, ObjectKind::Policy, "web-app").hash == object(s, ObjectKind::Policy, "web-app").hash);
  // Categories an entity group selects by are emitted like the policies' own.
  CHECK(object(w, ObjectKind::Category, "AppType:LB").name == "AppType:LB");

  web["securedEntityGroupReferences"] = {"55555555-0000-4000-8000-00000000dead"};
  const Snapshot d = ok(site);
  CHECK(has_finding(d, "dangling_reference", "web-app",
                    "entity_group uuid 55555555-0000-4000-8000-00000000dead not found on site"));
}

TEST_CASE("VPC scope resolves to VPC names", "[unit][policy][v43]") {
  V4SiteData site = base_site();
  json& web = policy_named(site, "web-app");
  web["scope"] = "VPC_LIST";
  web["vpcReferences"] = {kVpcA};
  const json a = policy_json(ok(site), "web-app");
  CHECK(a.at("scope") == "vpc_list");
  CHECK(a.at("vpcs") == json{"vpc-prod"});
  web["vpcReferences"] = {kVpcB};
  CHECK(policy_json(ok(site), "web-app").at("vpcs") == json{"vpc-dev"});
  web["vpcReferences"] = {"66666666-0000-4000-8000-00000000dead"};
  const Snapshot d = ok(site);
  CHECK(policy_json(d, "web-app").at("vpcs") == json{"dangling:66666666-0000-4000-8000-00000000dead"});
  CHECK(has_finding(d, "dangling_reference", "web-app",
                    "vpc uuid 66666666-0000-4000-8000-00000000dead not found on site"));
}

TEST_CASE("what a category reference selects is part of the group", "[unit][policy][v43]") {
  V4SiteData site = base_site();
  json& web = policy_named(site, "web-app");
  const Snapshot vm = ok(site);
  for (auto& r : web.at("rules")) {
    if (r.at("spec").contains("srcCategoryReferences")) {
      r.at("spec")["srcCategoryAssociatedEntityType"] = "VM";
    }
  }
  CHECK(ok(site).hash == vm.hash);  // VM is what v4.0 and v3 mean
  for (auto& r : web.at("rules")) {
    if (r.at("spec").contains("srcCategoryReferences")) {
      r.at("spec")["srcCategoryAssociatedEntityType"] = "SUBNET";
    }
  }
  const json p = policy_json(ok(site), "web-app");
  bool subnet_peer = false;
  for (const auto& r : p.at("rules")) {
    subnet_peer = subnet_peer || r.at("peer").value("kinds", json()) == json{"subnet"};
  }
  CHECK(subnet_peer);
}

TEST_CASE("a ZONE policy with FLEX rules is compared, never a failed poll", "[unit][policy][v43]") {
  V4SiteData site = base_site();
  site.policies.push_back(zone_policy("ALLOW"));
  const Snapshot s = ok(site);
  const json p = policy_json(s, "zone-web");
  CHECK(p.at("type") == "zone");
  REQUIRE(p.at("rules").size() == 1);
  const json expected = json::parse(
      R"({"action":"allow","applied_to":{"entity_groups":["eg-web"]},"description":"","destinations":[{"subnet":"10.2.0.0/16"}],"direction":"flex","flow":"out","name":"web-to-lb","priority":10,"services":[{"ports":[[443,443]],"protocol":"tcp"}],"sources":[]})");
  CHECK(p.at("rules").at(0) == expected);
  for (const auto& f : s.findings) CHECK(f.kind != "unmodelled");  // all of it is modelled
  CHECK(object(s, ObjectKind::EntityGroup, "eg-web").name == "eg-web");

  site.policies.back() = zone_policy("DENY");
  CHECK(object(ok(site), ObjectKind::Policy, "zone-web").hash !=
        object(s, ObjectKind::Policy, "zone-web").hash);
}

TEST_CASE("a SHARED_SERVICE rule is marked in its canonical rules", "[unit][policy][v43]") {
  V4SiteData site = base_site();
  json& web = policy_named(site, "web-app");
  web.at("rules").at(1).at("type") = "SHARED_SERVICE";
  const json p = policy_json(ok(site), "web-app");
  int shared = 0;
  for (const auto& r : p.at("rules")) shared += r.value("rule_type", "") == "shared_service" ? 1 : 0;
  CHECK(shared == 1);  // one peer (AppType:LB), one service (TCP 80 and 443)
  for (const auto& r : p.at("rules")) {
    if (r.value("rule_type", "") != "shared_service") continue;
    CHECK(r.at("peer") == json{{"categories", {"AppType:LB"}}, {"match", "all"}});
  }
}

TEST_CASE("policy-level lists that restate the rules keep v3 equality", "[unit][policy][v43]") {
  V4SiteData site = base_site();
  const Snapshot before = ok(site);
  json& web = policy_named(site, "web-app");
  web["securedGroups"] = {kWeb, kProd};  // what every rule's secured group says
  web["isIpv4AddressScope"] = true;
  web["isIpv6AddressScope"] = false;
  web["scope"] = "ALL_VLAN";
  CHECK(ok(site).hash == before.hash);
  web["securedGroups"] = {kWeb, kProd, kLb};  // says more: kept
  CHECK(policy_json(ok(site), "web-app").at("secured_group").at("categories") ==
        json{"AppType:LB", "AppType:Web", "Environment:Prod"});
}

TEST_CASE("IPv6 subnets and ICMPv6 services are canonical text", "[unit][policy][v43]") {
  V4SiteData site = base_site();
  json& web = policy_named(site, "web-app");
  web.at("rules").at(2).at("spec").erase("srcSubnet");
  web.at("rules").at(2).at("spec")["srcIpv6Subnet"] = {{"value", "2001:DB8:0:0:1::1"}, {"prefixLength", 64}};
  web.at("rules").at(2).at("spec")["icmpV6Services"] = {{{"type", 128}}};
  const json p = policy_json(ok(site), "web-app");
  bool v6 = false;
  bool icmp6 = false;
  for (const auto& r : p.at("rules")) {
    v6 = v6 || r.at("peer") == json{{"subnet6", "2001:db8::/64"}};
    icmp6 = icmp6 || r.at("service").value("protocol", "") == "icmp6";
  }
  CHECK(v6);
  CHECK(icmp6);
  web.at("rules").at(2).at("spec")["srcIpv6Subnet"]["value"] = "not-an-address";
  auto r = canonicalize_v4(site);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message == "policies[1] (web-app): /rules/2/spec/srcIpv6Subnet/value: "
                             "expected IPv6 address, got \"not-an-address\"");
}

TEST_CASE("a page counts the policies referencing each list as policies_referencing does",
          "[unit][policy][v43]") {
  // The listing refuses a poll whose referenced list came back empty while policies on its
  // pages reference it; the page's counts come from the raw texts in one walk, and must agree
  // with the DOM's count kind by kind.
  V4SiteData site = base_site();
  json& web = policy_named(site, "web-app");
  web["securedEntityGroupReferences"] = {kEgWeb};
  web.at("rules").at(1).at("spec")["srcEntityGroupReference"] = kEgWeb;
  web["scope"] = "VPC_LIST";
  web["vpcReferences"] = {kVpcA};
  json empty_refs = web;  // references present but empty count for nothing
  empty_refs["name"] = "empty-refs";
  empty_refs["extId"] = "77777777-0000-4000-8000-000000000001";
  empty_refs["vpcReferences"] = json::array();
  empty_refs["securedEntityGroupReferences"] = json::array();
  empty_refs.at("rules").at(1).at("spec")["srcEntityGroupReference"] = "";
  site.policies.push_back(empty_refs);
  for (int variant = 0; variant < 2; ++variant) {
    if (variant == 1) site.policies.erase(site.policies.begin());  // another mix
    V4SiteBuilder builder;
    REQUIRE(builder.set_references(site));
    std::vector<std::string> texts;
    for (const auto& p : site.policies) texts.push_back(p.dump(2));
    const std::vector<std::string_view> page(texts.begin(), texts.end());
    const auto refs = builder.end_page(builder.begin_page(page));
    INFO((refs ? std::string() : refs.error().message));
    REQUIRE(refs.has_value());
    CHECK(refs->address_groups == policies_referencing(site.policies, V4Reference::AddressGroup));
    CHECK(refs->service_groups == policies_referencing(site.policies, V4Reference::ServiceGroup));
    CHECK(refs->categories == policies_referencing(site.policies, V4Reference::Category));
    CHECK(refs->entity_groups == policies_referencing(site.policies, V4Reference::EntityGroup));
    CHECK(refs->vpcs == policies_referencing(site.policies, V4Reference::Vpc));
    CHECK(refs->entity_groups >= 1);
    CHECK(refs->vpcs >= 1);
  }
}
