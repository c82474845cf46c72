#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>

#include "core/json_strict.hpp"
#include "policy/normalize_v3.hpp"
#include "policy/normalize_v4.hpp"
#include "policy_test_support.hpp"

using namespace flowdrift;
using namespace flowdrift::policy;
using namespace flowdrift::policy::test;
using nlohmann::json;

namespace {

Snapshot v4_ok(const V4SiteData& site) {
  auto r = canonicalize_v4(site);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.has_value());
  return *r;
}

json& v4_policy(V4SiteData& site, const std::string& name) {
  for (auto& p : site.policies) {
    if (p.at("name") == name) return p;
  }
  FAIL("no policy " << name);
  return site.policies.front();
}

// The SDK's to_dict() keys (ext_id, is_hitlog_enabled) to wire camelCase (extId,
// isHitlogEnabled), recursively; the wire-derived fixture was made the same way.
std::string camel(const std::string& snake) {
  std::string out;
  bool upper = false;
  for (char c : snake) {
    if (c == '_') {
      upper = true;
    } else {
      out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    }
  }
  return out;
}
json to_camel(const json& j) {
  if (j.is_object()) {
    json out = json::object();
    for (const auto& [k, v] : j.items()) out[camel(k)] = to_camel(v);
    return out;
  }
  if (j.is_array()) {
    json out = json::array();
    for (const auto& v : j) out.push_back(to_camel(v));
    return out;
  }
  return j;
}

void check_redumps(const Snapshot& s) {
  for (const auto& o : s.objects) {
    INFO(o.name);
    CHECK(json::parse(o.json).dump() == o.json);
    CHECK(sha256_hex(o.json) == o.hash);
  }
}

std::string malformed(V4SiteData site) {
  auto r = canonicalize_v4(site);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().reason == ErrorReason::Malformed);
  return r.error().message;
}

const std::string kFixtureCategory = "569a018e-18ac-4813-b00f-2aa0d0005042";
const std::string kFixtureServiceGroup = "f77c1342-95e4-411e-9281-42ef2123d5b1";

V4SiteData wire_fixture_site() {
  V4SiteData site;
  site.policies.push_back(load_public("v4_network_security_policy.wire_derived.json").at("data"));
  site.categories.push_back({{"extId", kFixtureCategory}, {"key", "AppType"}, {"value", "Web"}});
  site.service_groups.push_back({{"extId", kFixtureServiceGroup},
                                 {"name", "sg-web"},
                                 {"tcpServices", {{{"startPort", 8080}, {"endPort", 8081}}}}});
  return site;
}

}  // namespace

namespace {

// From `before` to `after` the snapshot changed, and of its objects (kind, name) `changed`
// did while `kept` did not.
void check_changed_only(const Snapshot& before, const Snapshot& after,
                        const std::pair<ObjectKind, std::string>& changed,
                        const std::pair<ObjectKind, std::string>& kept) {
  CHECK(after.hash != before.hash);
  CHECK(object(after, changed.first, changed.second).hash !=
        object(before, changed.first, changed.second).hash);
  CHECK(object(after, kept.first, kept.second).hash == object(before, kept.first, kept.second).hash);
}

}  // namespace

TEST_CASE("v3 and v4 sites holding the same intent give byte-identical snapshots",
          "[unit][policy][v4]") {
  const json doc = same_intent();
  auto v3 = canonicalize_v3(v3_site(doc));
  REQUIRE(v3.has_value());
  const Snapshot v4 = v4_ok(v4_site(doc));
  CHECK(render(v4) == render(*v3));
  CHECK(v4.hash == v3->hash);
  CHECK(v4.findings.empty());
  CHECK(v4.count(ObjectKind::Policy) == 3);
  CHECK(v4.count(ObjectKind::AddressGroup) == 2);  // ag-unused is not referenced
  CHECK(v4.count(ObjectKind::ServiceGroup) == 1);
  CHECK(v4.count(ObjectKind::Category) == 7);  // AppType:Unused too: its key is referenced
  check_redumps(v4);
  const auto& web = object(v4, ObjectKind::Policy, "web-app");
  CHECK(web.policy_type == "application");
  CHECK(web.mode == "enforce");
  CHECK(object(v4, ObjectKind::Policy, "quarantine-strict").policy_type == "quarantine");
  CHECK(object(v4, ObjectKind::Policy, "iso").mode == "monitor");
  // Nothing v4-specific leaks into the canonical text.
  for (const char* word :
       {"extId", "scope", "tenant", "isSystemDefined", "$objectType", "44444444"}) {
    CHECK(web.json.find(word) == std::string::npos);
  }
}

TEST_CASE("v4 list orders do not matter", "[unit][policy][v4]") {
  const json doc = same_intent();
  V4SiteData site = v4_site(doc);
  const Snapshot before = v4_ok(site);
  for (auto& p : site.policies) {
    json& rules = p.at("rules");
    std::reverse(rules.begin(), rules.end());
  }
  std::reverse(site.policies.begin(), site.policies.end());
  std::reverse(site.categories.begin(), site.categories.end());
  std::reverse(site.address_groups.begin(), site.address_groups.end());
  // Swapping the isolation groups changes nothing either: isolation is symmetric.
  json& iso = v4_policy(site, "iso").at("rules").at(0).at("spec");
  std::swap(iso.at("firstIsolationGroup"), iso.at("secondIsolationGroup"));
  CHECK(render(v4_ok(site)) == render(before));
}

TEST_CASE("a real v4 difference changes the policy hash and the snapshot hash",
          "[unit][policy][v4]") {
  const json doc = same_intent();
  V4SiteData site = v4_site(doc);
  const Snapshot before = v4_ok(site);
  json& web = v4_policy(site, "web-app");
  SECTION("a port") {
    web.at("rules").at(1).at("spec").at("tcpServices").at(0).at("endPort") = 444;
  }
  SECTION("the state") { web.at("state") = "MONITOR"; }
  SECTION("SAVE is its own mode") { web.at("state") = "SAVE"; }
  SECTION("a subnet prefix") {
    web.at("rules").at(2).at("spec").at("srcSubnet").at("prefixLength") = 23;
  }
  SECTION("intra-group action") {
    web.at("rules").at(6).at("spec").at("securedGroupAction") = "ALLOW";
  }
  SECTION("a non-default scope") { web["scope"] = "ALL_VPC"; }
  SECTION("hit log") { web.at("isHitlogEnabled") = false; }
  SECTION("a peer category") {
    web.at("rules").at(1).at("spec").at("srcCategoryReferences").at(0) =
        "44444444-0000-4000-8000-0000000000f4";
  }
  SECTION("direction") {
    json& spec = web.at("rules").at(2).at("spec");
    spec["destSubnet"] = spec.at("srcSubnet");
    spec.erase("srcSubnet");
  }
  const Snapshot after = v4_ok(site);
  check_changed_only(before, after, {ObjectKind::Policy, "web-app"}, {ObjectKind::Policy, "iso"});
}

TEST_CASE("a change inside a referenced v4 group changes that group only", "[unit][policy][v4]") {
  const json doc = same_intent();
  V4SiteData site = v4_site(doc);
  const Snapshot before = v4_ok(site);
  site.address_groups.at(1).at("ipv4Addresses").at(0).at("value") = "192.168.2.6";
  const Snapshot after = v4_ok(site);
  check_changed_only(before, after, {ObjectKind::AddressGroup, "ag-office"},
                     {ObjectKind::Policy, "web-app"});
}

TEST_CASE("the wire-derived v4 policy fixture canonicalizes", "[unit][policy][v4]") {
  const Snapshot s = v4_ok(wire_fixture_site());
  CHECK(s.findings.empty());
  REQUIRE(s.objects.size() == 3);
  CHECK(object(s, ObjectKind::Policy, "ansible-nsr-HqsWGHjQBsok2-updated").json ==
        R"({"allow_ipv6":false,"description":"Ansible created rule updated","hitlog":false,)"
        R"("intra_group":"allow","mode":"monitor","name":"ansible-nsr-HqsWGHjQBsok2-updated",)"
        R"("rules":[{"description":"inbound4_updated","direction":"inbound",)"
        R"("peer":{"subnet":"10.0.1.0/24"},"service":{"service_group":"sg-web"}},)"
        R"({"description":"outbound1","direction":"outbound","peer":{"subnet":"10.0.1.0/24"},)"
        R"("service":{"all":true}}],)"
        R"("secured_group":{"categories":["AppType:Web"],"kinds":["vm"],"match":"all"},)"
        R"("type":"application"})");
  CHECK(
      object(s, ObjectKind::ServiceGroup, "sg-web").json ==
      R"({"description":"","name":"sg-web","services":[{"ports":[[8080,8081]],"protocol":"tcp"}]})");
  CHECK(object(s, ObjectKind::Category, "AppType:Web").json ==
        R"({"key":"AppType","value":"Web"})");
  check_redumps(s);
}

TEST_CASE("the SDK snake_case fixtures, converted to camelCase, canonicalize the same",
          "[unit][policy][v4]") {
  const Snapshot wire = v4_ok(wire_fixture_site());
  V4SiteData site = wire_fixture_site();
  site.policies.at(0) = to_camel(load_public("v4_network_security_policy.sdk_snake.json"));
  CHECK(render(v4_ok(site)) == render(wire));

  // The file's top-level keys (address_group, ...) are the fixture's own, not SDK fields.
  json groups = load_public("v4_address_service_category.sdk_snake.json");
  for (auto& [key, value] : groups.items()) value = to_camel(value);
  V4SiteData g;
  g.address_groups.push_back(groups.at("address_group"));
  g.service_groups.push_back(groups.at("service_group"));
  g.categories.push_back(groups.at("category"));
  g.policies.push_back(
      {{"name", "uses-groups"},
       {"type", "APPLICATION"},
       {"state", "ENFORCE"},
       {"rules",
        {{{"type", "APPLICATION"},
          {"spec",
           {{"securedGroupCategoryReferences", {groups.at("category").at("extId")}},
            {"srcAddressGroupReferences", {groups.at("address_group").at("extId")}},
            {"serviceGroupReferences", {groups.at("service_group").at("extId")}}}}}}}});
  const Snapshot s = v4_ok(g);
  CHECK(s.findings.empty());
  CHECK(
      object(s, ObjectKind::AddressGroup, "yclaDaQKtEGIansible-ag1").json ==
      R"({"addresses":["10.1.4.1/32"],"description":"test-ansible-group-3-desc","name":"yclaDaQKtEGIansible-ag1"})");
  CHECK(
      object(s, ObjectKind::ServiceGroup, "6a44").json ==
      R"({"description":"IPv6 Behind NAT44 CPEs","name":"6a44","services":[{"ports":[[1027,1027]],"protocol":"tcp"}]})");
  CHECK(object(s, ObjectKind::Category, "OSType:Linux").json ==
        R"({"key":"OSType","value":"Linux"})");
}

TEST_CASE("dangling v4 extIds are marked and reported like v3", "[unit][policy][v4]") {
  V4SiteData site;
  site.policies.push_back(load_public("v4_network_security_policy.wire_derived.json").at("data"));
  const Snapshot s = v4_ok(site);
  const std::string name = "ansible-nsr-HqsWGHjQBsok2-updated";
  REQUIRE(s.objects.size() == 1);
  const auto& p = object(s, ObjectKind::Policy, name);
  CHECK(p.json.find(R"("categories":["dangling:)" + kFixtureCategory + "\"]") != std::string::npos);
  CHECK(p.json.find(R"({"service_group":"dangling:)" + kFixtureServiceGroup + "\"}") !=
        std::string::npos);
  const std::vector<Finding> expected{
      {"dangling_reference", name, "category uuid " + kFixtureCategory + " not found on site"},
      {"dangling_reference", name,
       "service_group uuid " + kFixtureServiceGroup + " not found on site"}};
  CHECK(s.findings == expected);

  // The same dangling group reference on a v3 site gives the same finding text.
  const json doc = same_intent();
  V3SiteData v3 = v3_site(doc);
  V4SiteData v4 = v4_site(doc);
  v3.service_groups.clear();
  v4.service_groups.clear();
  auto r3 = canonicalize_v3(v3);
  REQUIRE(r3.has_value());
  const Snapshot r4 = v4_ok(v4);
  REQUIRE(r4.findings.size() == 1);
  CHECK(r4.findings.at(0).detail ==
        "service_group uuid 44444444-0000-4000-8000-0000000000b1 not found on site");
  REQUIRE(r3->findings.size() == 1);
  CHECK(r3->findings.at(0).detail ==
        "service_group uuid 33333333-0000-4000-8000-0000000000b1 not found on site");
}

TEST_CASE("v4 address group ranges are kept as ranges after the CIDRs", "[unit][policy][v4]") {
  V4SiteData site = v4_site(same_intent());
  json& ag = site.address_groups.at(1);
  ag["ipRanges"] = {{{"startIp", "10.0.0.9"}, {"endIp", "10.0.0.20"}},
                    {{"startIp", "10.0.0.5"}, {"endIp", "10.0.0.9"}}};
  const Snapshot s = v4_ok(site);
  CHECK(
      object(s, ObjectKind::AddressGroup, "ag-office").json ==
      R"({"addresses":["192.168.1.0/24","192.168.2.5/32","10.0.0.5-10.0.0.9","10.0.0.9-10.0.0.20"],)"
      R"("description":"office lan","name":"ag-office"})");
}

TEST_CASE("duplicate v4 policy names are disambiguated like v3", "[unit][policy][v4]") {
  const json doc = same_intent();
  V3SiteData v3 = v3_site(doc);
  V4SiteData v4 = v4_site(doc);
  v3.rules.push_back(v3.rules.at(1));
  v3.rules.back().at("spec").at("resources").at("isolation_rule").at("action") = "APPLY";
  v4.policies.push_back(v4_policy(v4, "iso"));
  v4.policies.back().at("state") = "ENFORCE";
  auto r3 = canonicalize_v3(v3);
  REQUIRE(r3.has_value());
  const Snapshot r4 = v4_ok(v4);
  CHECK(r4.count(ObjectKind::Policy) == 4);
  CHECK(render(r4) == render(*r3));
}

TEST_CASE("malformed v4 input names the entity and the JSON path", "[unit][policy][v4]") {
  V4SiteData site = v4_site(same_intent());
  json& web = v4_policy(site, "web-app");
  // web-app is policies[1] in the fixture.
  SECTION("a bad subnet") {
    web.at("rules").at(2).at("spec").at("srcSubnet").at("value") = "10.1.0";
    CHECK(
        malformed(site) ==
        R"(policies[1] (web-app): /rules/2/spec/srcSubnet/value: expected IPv4 address, got string "10.1.0")");
  }
  SECTION("a port out of range") {
    web.at("rules").at(1).at("spec").at("tcpServices").at(1).at("startPort") = 70000;
    CHECK(malformed(site) ==
          "policies[1] (web-app): /rules/1/spec/tcpServices/1/startPort: expected integer "
          "0..65535, got number 70000");
  }
  SECTION("a state that is not a string") {
    web.at("state") = 3;
    CHECK(malformed(site) == "policies[1] (web-app): /state: expected string, got number 3");
  }
  SECTION("no state") {
    web.erase("state");
    CHECK(malformed(site) ==
          R"(policies[1] (web-app): /state: expected ENFORCE, MONITOR or SAVE, got "")");
  }
  SECTION("an intra-group rule without its action") {
    web.at("rules").at(6).at("spec").erase("securedGroupAction");
    CHECK(malformed(site) ==
          "policies[1] (web-app): /rules/6/spec/securedGroupAction: missing (expected "
          "non-empty string)");
  }
  SECTION("a rule with both directions") {
    web.at("rules").at(0).at("spec")["srcAllowSpec"] = "ALL";
    CHECK(malformed(site) ==
          "policies[1] (web-app): /rules/0/spec: both src* and dest* peer "
          "fields (a rule has one direction)");
  }
  SECTION("a category reference that is not a string") {
    web.at("rules").at(5).at("spec").at("destCategoryReferences").at(0) = 7;
    CHECK(malformed(site) ==
          "policies[1] (web-app): /rules/5/spec/destCategoryReferences/0: "
          "expected non-empty string (extId), got number 7");
  }
  SECTION("an isolation rule in an application policy") {
    web.at("rules").at(0).at("type") = "TWO_ENV_ISOLATION";
    CHECK(malformed(site) ==
          "policies[1] (web-app): /rules/0/type: rule type TWO_ENV_ISOLATION "
          "in a policy of type APPLICATION");
  }
  SECTION("a FLEX rule without its action") {
    web.at("rules").at(0).at("type") = "FLEX";
    CHECK(malformed(site) ==
          "policies[1] (web-app): /rules/0/spec/action: missing (expected non-empty string)");
  }
  SECTION("a policy without a name is named by extId") {
    web.erase("name");
    CHECK(malformed(site) ==
          "policies[1] (44444444-0000-4000-8000-000000000001): /name: missing "
          "(expected non-empty string)");
  }
  SECTION("a non-object policy") {
    site.policies.at(0) = json::array();
    CHECK(malformed(site) == "policies[0]: /: expected object, got array []");
  }
  SECTION("an address group range") {
    site.address_groups.at(0)["ipRanges"] = {{{"startIp", "10.0.0.9"}, {"endIp", "10.0.0.1"}}};
    CHECK(malformed(site) ==
          "address_groups[0] (ag-unused): /ipRanges/0: startIp greater than endIp");
  }
  SECTION("a service group ICMP type") {
    site.service_groups.at(0).at("icmpServices").at(0).at("type") = 300;
    CHECK(malformed(site) ==
          "service_groups[0] (sg-mgmt): /icmpServices/0/type: expected "
          "integer 0..255, got number 300");
  }
  SECTION("a category without a value") {
    site.categories.at(2).erase("value");
    CHECK(malformed(site) ==
          "categories[2] (44444444-0000-4000-8000-0000000000f3): /value: missing (expected "
          "non-empty string)");
  }
}

TEST_CASE("v4-only forms: NONE peers, all-protocols, ICMP all, scope, newer types, N-way isolation",
          "[unit][policy][v4]") {
  V4SiteData site;
  site.categories = {{{"extId", "c1"}, {"key", "A"}, {"value", "1"}},
                     {{"extId", "c2"}, {"key", "A"}, {"value", "2"}},
                     {{"extId", "c3"}, {"key", "A"}, {"value", "3"}}};
  site.policies.push_back(
      {{"name", "p"},
       {"type", "SHAREDSERVICE"},
       {"state", "SAVE"},
       {"scope", "VPC_LIST"},
       {"rules",
        {{{"type", "APPLICATION"},
          {"spec", {{"securedGroupCategoryReferences", {"c1"}}, {"srcAllowSpec", "NONE"}}}},
         {{"type", "APPLICATION"},
          {"spec",
           {{"destAllowSpec", "ALL"},
            {"isAllProtocolAllowed", true},
            {"tcpServices", {{{"startPort", 1}, {"endPort", 2}}}}}}},
         {{"type", "APPLICATION"},
          {"spec",
           {{"srcAllowSpec", "ALL"},
            {"tcpServices", json::array()},
            {"icmpServices", {{{"type", 8}, {"isAllAllowed", true}}}}}}}}}});
  site.policies.push_back({{"name", "multi"},
                           {"type", "ISOLATION"},
                           {"state", "ENFORCE"},
                           {"rules",
                            {{{"type", "MULTI_ENV_ISOLATION"},
                              {"spec",
                               {{"spec",
                                 {{"isolationGroups",
                                   {{{"groupCategoryReferences", {"c3"}}},
                                    {{"groupCategoryReferences", {"c1"}}},
                                    {{"groupCategoryReferences", {"c2"}}}}}}}}}}}}});
  const Snapshot s = v4_ok(site);
  const auto& p = object(s, ObjectKind::Policy, "p");
  CHECK(p.policy_type == "sharedservice");
  CHECK(p.mode == "save");
  CHECK(
      p.json ==
      R"({"allow_ipv6":false,"description":"","hitlog":false,"mode":"save","name":"p","rules":[)"
      R"({"description":"","direction":"inbound","peer":{"any":true},"service":{"icmp":[{}],"protocol":"icmp"}},)"
      R"({"description":"","direction":"outbound","peer":{"any":true},"service":{"all":true}}],)"
      R"("scope":"vpc_list","secured_group":{"categories":["A:1"],"kinds":["vm"],"match":"all"},)"
      R"("type":"sharedservice"})");
  CHECK(object(s, ObjectKind::Policy, "multi").json ==
        R"({"allow_ipv6":false,"description":"","hitlog":false,"isolation":[)"
        R"({"categories":["A:1"],"kinds":["vm"],"match":"all"},)"
        R"({"categories":["A:2"],"kinds":["vm"],"match":"all"},)"
        R"({"categories":["A:3"],"kinds":["vm"],"match":"all"}],)"
        R"("mode":"enforce","name":"multi","type":"isolation"})");
  CHECK(s.count(ObjectKind::Category) == 3);
  check_redumps(s);
}

// ---------------------------------------------------------------------------------------------
// V4PolicyMemo: policies canonicalized on an earlier poll of the same site are reused only when
// their text and every name they resolve to are unchanged.

namespace {

// One poll through the memo, policies given as the raw text a listing carries.
Snapshot via_memo(const V4SiteData& site, V4PolicyMemo& memo) {
  V4SiteBuilder builder(&memo);
  auto refs = builder.set_references(site.address_groups, site.service_groups, site.categories);
  REQUIRE(refs.has_value());
  for (const auto& p : site.policies) {
    auto added = builder.add_policy_text(p.dump());
    INFO((added ? std::string() : added.error().message));
    REQUIRE(added.has_value());
  }
  auto snap = builder.finish();
  REQUIRE(snap.has_value());
  return *snap;
}

// Byte-identical to canonicalizing the site without a memo.
void check_same(const Snapshot& got, const Snapshot& want) {
  REQUIRE(got.objects.size() == want.objects.size());
  for (std::size_t i = 0; i < got.objects.size(); ++i) {
    CHECK(got.objects[i].name == want.objects[i].name);
    CHECK(got.objects[i].json == want.objects[i].json);
    CHECK(got.objects[i].hash == want.objects[i].hash);
  }
  CHECK(got.findings == want.findings);
  CHECK(got.hash == want.hash);
}

json& by_name(std::vector<json>& list, const std::string& name) {
  for (auto& e : list) {
    if (e.value("name", "") == name) return e;
  }
  FAIL("no entity named " << name);
  return list.front();
}

}  // namespace

TEST_CASE("a policy memo reuses unchanged policies and gives the same snapshot", "[unit][policy]") {
  V4SiteData site = v4_site(same_intent());
  V4PolicyMemo memo;
  check_same(via_memo(site, memo), v4_ok(site));
  CHECK(memo.misses() == site.policies.size());
  CHECK(memo.hits() == 0);
  CHECK(memo.size() == site.policies.size());

  check_same(via_memo(site, memo), v4_ok(site));
  CHECK(memo.hits() == site.policies.size());
  CHECK(memo.misses() == site.policies.size());

  SECTION("an edited policy is canonicalized again, the others are reused") {
    v4_policy(site, "web-app")["description"] = "edited";
    const Snapshot s = via_memo(site, memo);
    check_same(s, v4_ok(site));
    CHECK(object(s, ObjectKind::Policy, "web-app").json.find("\"edited\"") != std::string::npos);
    CHECK(memo.misses() == site.policies.size() + 1);
    CHECK(memo.hits() == 2 * site.policies.size() - 1);
  }
  SECTION("a policy gone from a complete listing is dropped from the memo") {
    site.policies.erase(site.policies.begin());
    check_same(via_memo(site, memo), v4_ok(site));
    CHECK(memo.size() == site.policies.size());
  }
  SECTION("a listing that does not finish keeps the memo as it was") {
    V4SiteBuilder builder(&memo);
    REQUIRE(builder.set_references(site.address_groups, site.service_groups, site.categories));
    REQUIRE(builder.add_policy_text(site.policies.front().dump()));
    CHECK(memo.size() == site.policies.size());
    check_same(via_memo(site, memo), v4_ok(site));
  }
}

TEST_CASE("a policy memo never serves a policy canonicalized under other names", "[unit][policy]") {
  V4SiteData site = v4_site(same_intent());
  V4PolicyMemo memo;
  via_memo(site, memo);
  const auto hits = memo.hits();

  SECTION("an address group renamed: policies show the new name") {
    by_name(site.address_groups, "ag-office")["name"] = "ag-office-2";
    const Snapshot s = via_memo(site, memo);
    check_same(s, v4_ok(site));
    bool uses_new_name = false;
    for (const auto& o : s.objects) {
      if (o.kind == ObjectKind::Policy) uses_new_name |= o.json.find("\"ag-office-2\"") != std::string::npos;
      CHECK(o.json.find("\"ag-office\"") == std::string::npos);
    }
    CHECK(uses_new_name);
    CHECK(memo.hits() == hits);  // nothing reused
  }
  SECTION("a category value renamed: policies show the new key:value") {
    for (auto& c : site.categories) {
      if (c.at("key") == "AppType" && c.at("value") == "Web") c["value"] = "Frontend";
    }
    const Snapshot s = via_memo(site, memo);
    check_same(s, v4_ok(site));
    CHECK(object(s, ObjectKind::Policy, "web-app").json.find("AppType:Frontend") != std::string::npos);
    CHECK(memo.hits() == hits);
  }
  SECTION("a group's contents changed: policies are reused, the group object is new") {
    auto& ag = by_name(site.address_groups, "ag-office");
    ag["ipv4Addresses"] = json::array({{{"value", "192.0.2.0"}, {"prefixLength", 24}}});
    const Snapshot s = via_memo(site, memo);
    check_same(s, v4_ok(site));
    CHECK(object(s, ObjectKind::AddressGroup, "ag-office").json.find("192.0.2.0/24") !=
          std::string::npos);
    CHECK(memo.hits() == hits + site.policies.size());
  }
}

TEST_CASE("a policy given as text that does not canonicalize is malformed and not remembered",
          "[unit][policy]") {
  V4SiteData site = v4_site(same_intent());
  V4PolicyMemo memo;
  V4SiteBuilder builder(&memo);
  REQUIRE(builder.set_references(site.address_groups, site.service_groups, site.categories));
  auto not_object = builder.add_policy_text("[1,2]");
  REQUIRE_FALSE(not_object.has_value());
  CHECK(not_object.error().reason == ErrorReason::Malformed);
  CHECK(not_object.error().message == "policies[0]: not a JSON object");

  json bad = site.policies.front();
  bad["state"] = 5;
  auto rejected = builder.add_policy_text(bad.dump());
  REQUIRE_FALSE(rejected.has_value());
  CHECK(rejected.error().reason == ErrorReason::Malformed);
  CHECK(rejected.error().message.find("/state") != std::string::npos);
  CHECK(memo.size() == 0);
}

// ---------------------------------------------------------------------------------------------
// The two readers of a v4 policy: nlohmann's DOM (add_policies) and the flat scan of its raw
// text (add_policy_text, what a poll uses). Differential: every leaf of every policy replaced
// by values of every JSON type must get the same verdict, canonical text and error path.

namespace {

struct Verdict {
  bool ok = false;
  std::string hash;    // snapshot hash when ok
  std::string where;   // error message up to ", got" (the value's rendering may differ)
  ErrorReason reason = ErrorReason::Other;
};

Verdict verdict_of(const Result<Snapshot>& r) {
  Verdict v;
  v.ok = r.has_value();
  if (v.ok) {
    v.hash = r->hash;
  } else {
    v.reason = r.error().reason;
    v.where = r.error().message.substr(0, r.error().message.find(", got"));
  }
  return v;
}

Verdict via_dom(const V4SiteData& site, const json& policy) {
  V4SiteBuilder builder;
  REQUIRE(builder.set_references(site.address_groups, site.service_groups, site.categories));
  auto added = builder.add_policies({policy});
  if (!added) return verdict_of(added.error());
  return verdict_of(builder.finish());
}

Verdict via_text(const V4SiteData& site, const std::string& text) {
  V4SiteBuilder builder;
  REQUIRE(builder.set_references(site.address_groups, site.service_groups, site.categories));
  auto added = builder.add_policy_text(text);
  if (!added) return verdict_of(added.error());
  return verdict_of(builder.finish());
}

void check_agree(const V4SiteData& site, const json& policy, const std::string& what) {
  const Verdict dom = via_dom(site, policy);
  const Verdict text = via_text(site, policy.dump());
  INFO(what);
  CHECK(dom.ok == text.ok);
  CHECK(dom.hash == text.hash);
  CHECK(dom.where == text.where);
  CHECK(dom.reason == text.reason);
}

}  // namespace

TEST_CASE("a v4 policy read from its raw text canonicalizes exactly as from the DOM",
          "[unit][policy]") {
  const V4SiteData site = v4_site(same_intent());
  const std::vector<json> replacements = {
      nullptr, "", "x", "ENFORCE", 0, -1, 80, 80.5, 70000, 1e30, 18446744073709551615ull,
      true, json::array(), json::array({"x"}), json::object(), {{"value", "10.0.0.1"}}};
  std::size_t cases = 0;
  std::size_t failures = 0;
  for (const json& policy : site.policies) {
    check_agree(site, policy, "unchanged " + policy.value("name", ""));
    const json leaves = policy.flatten();
    for (const auto& [pointer, leaf] : leaves.items()) {
      for (const json& value : replacements) {
        json mutated = policy;
        mutated[json::json_pointer(pointer)] = value;
        const Verdict dom = via_dom(site, mutated);
        check_agree(site, mutated, pointer + " = " + value.dump());
        ++cases;
        failures += dom.ok ? 0 : 1;
      }
    }
  }
  // The mutations reach both outcomes often: the comparison is not all of one kind.
  CHECK(cases > 500);
  CHECK(failures > cases / 10);
  CHECK(failures < cases);

  SECTION("a key given twice is refused by both readers, never resolved either way") {
    std::string text = site.policies.front().dump();
    text.insert(1, R"("state":"BOGUS","name":"shadowed",)");
    const Verdict raw = via_text(site, text);
    CHECK_FALSE(raw.ok);
    CHECK(raw.reason == ErrorReason::Malformed);
    CHECK_THAT(raw.where, Catch::Contains("given twice"));
    std::string error;
    CHECK_FALSE(flowdrift::json_strict::parse(text, error).has_value());  // what the DOM reads
    CHECK_THAT(error, Catch::Contains("given twice"));
  }
  SECTION("escaped strings read the same") {
    json policy = site.policies.front();
    policy["name"] = "caf\u00e9 \"quoted\" \\ tab\t";
    policy["description"] = "line\nbreak \u2603";
    check_agree(site, policy, "escapes");
    std::string text = policy.dump(-1, ' ', true);  // \uXXXX escapes for non-ASCII
    CHECK(text.find("\\u00e9") != std::string::npos);
    CHECK(via_text(site, text).hash == via_dom(site, policy).hash);
  }
}
