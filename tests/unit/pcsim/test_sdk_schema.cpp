// The Nutanix v4 SDK model files (tests/fixtures/v4-sdk, facts extracted from the public Go SDK
// by scripts/extract-sdk-models.py) and their validator (tests/support/sdk_schema): every file
// loads, each kind of violation is caught, the public v4 payloads conform, and the SDK facts
// flowdrift relies on hold.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/sdk_schema.hpp"

using flowdrift::test::sdk::Models;
using nlohmann::json;

namespace {

const std::vector<std::string> kNamespaces = {"microseg", "prism", "networking"};
const std::vector<std::string> kVersions = {"v4.0", "v4.1", "v4.2", "v4.3"};
const std::string kPolicy = "microseg.v4.config.NetworkSecurityPolicy";
const std::string kListPolicies = "microseg.v4.config.ListNetworkSecurityPoliciesApiResponse";

// The data file of one namespace and API version, loaded once: sdk("microseg", "v4.3").
const Models& sdk(const std::string& ns, const std::string& version) {
  static std::map<std::string, Models> loaded;
  const std::string name = ns + "-" + version;
  auto it = loaded.find(name);
  if (it == loaded.end()) {
    const auto path =
        std::string(FLOWDRIFT_SOURCE_DIR) + "/tests/fixtures/v4-sdk/" + name + ".json";
    it = loaded.emplace(name, Models::load(path)).first;
  }
  return it->second;
}

json public_fixture(const std::string& name) {
  std::ifstream in(std::string(FLOWDRIFT_PUBLIC_FIXTURES) + "/" + name);
  REQUIRE(in);
  return json::parse(in);
}

bool has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string lines(const std::vector<std::string>& violations) {
  std::string out;
  for (const auto& v : violations) out += v + "\n";
  return out;
}

// The violations start with exactly one at `pointer` whose text has `words`; `count` in all.
void require_violation(const std::vector<std::string>& violations, const std::string& pointer,
                       const std::string& words, std::size_t count = 1) {
  INFO(lines(violations));
  REQUIRE(violations.size() == count);
  CHECK(violations[0].rfind(pointer + ": ", 0) == 0);
  CHECK_THAT(violations[0], Catch::Contains(words));
}

// The mechanical change that turned the Python-SDK sample into the wire form
// (nutanix-public/README.md): snake_case keys to camelCase, nulls dropped.
std::string camel(const std::string& snake) {
  std::string out;
  for (std::size_t i = 0; i < snake.size(); ++i) {
    const bool upper = snake[i] == '_' && i + 1 < snake.size();
    out +=
        upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(snake[++i]))) : snake[i];
  }
  return out;
}

json wire_form(const json& sdk_dict) {
  if (sdk_dict.is_array()) {
    json out = json::array();
    for (const auto& item : sdk_dict) out.push_back(wire_form(item));
    return out;
  }
  if (!sdk_dict.is_object()) return sdk_dict;
  json out = json::object();
  for (const auto& [key, value] : sdk_dict.items()) {
    if (!value.is_null()) out[camel(key)] = wire_form(value);
  }
  return out;
}

// A v4.3 policy that conforms: an intra-group rule and an application rule.
json valid_policy() {
  return json::parse(R"({
    "$objectType": "microseg.v4.config.NetworkSecurityPolicy",
    "$reserved": {"$fv": "v4.r3"},
    "extId": "7c0b7a51-0000-4000-8000-000000000001",
    "name": "web", "type": "APPLICATION", "state": "MONITOR", "scope": "ALL_VLAN",
    "isHitlogEnabled": false, "creationTime": "2024-07-19T12:55:54.945Z",
    "securedGroups": ["c1"],
    "rules": [
      {"$objectType": "microseg.v4.config.NetworkSecurityPolicyRule", "type": "INTRA_GROUP",
       "spec": {"$objectType": "microseg.v4.config.IntraEntityGroupRuleSpec",
                "securedGroupAction": "DENY", "securedGroupCategoryReferences": ["c1"]}},
      {"type": "APPLICATION",
       "spec": {"$objectType": "microseg.v4.config.ApplicationRuleSpec",
                "securedGroupCategoryReferences": ["c1"], "srcAllowSpec": "ALL",
                "isAllProtocolAllowed": true,
                "srcSubnet": {"value": "10.0.0.0", "prefixLength": 8}}}
    ]
  })");
}

json list_of(const json& policy) {
  return {{"$objectType", kListPolicies},
          {"data", json::array({policy})},
          {"metadata",
           {{"totalAvailableResults", 1},
            {"flags", json::array({{{"name", "hasError"}, {"value", false}}})},
            {"links", json::array({{{"href", "https://pc:9440/api/microseg/v4.3/config/policies"},
                                    {"rel", "self"}}})}}}};
}

}  // namespace

TEST_CASE("sdk: the 12 v4 SDK model files load with their provenance", "[sdk]") {
  const std::map<std::string, std::string> root = {{"microseg", kPolicy},
                                                   {"prism", "prism.v4.config.Category"},
                                                   {"networking", "networking.v4.config.Vpc"}};
  for (const auto& ns : kNamespaces) {
    for (const auto& version : kVersions) {
      INFO(ns << "-" << version);
      const auto& models = sdk(ns, version);
      const auto& p = models.provenance();
      CHECK(p.at("repository") == "https://github.com/nutanix/ntnx-api-golang-clients");
      CHECK(p.at("apiVersion") == version);
      CHECK(p.at("sdk") == ns + "-go-client");
      CHECK(p.at("commit").get<std::string>().size() == 40);
      CHECK_THAT(p.at("licence").get<std::string>(), Catch::StartsWith("Apache-2.0"));
      CHECK(models.contains(root.at(ns)));
      CHECK_FALSE(models.fields(root.at(ns)).empty());
    }
  }
  CHECK_THROWS_AS(
      Models::load(std::string(FLOWDRIFT_PUBLIC_FIXTURES) + "/v3_nsr_delete_response.json"),
      std::runtime_error);
  CHECK_THROWS_AS(sdk("microseg", "v4.3").validate(json::object(), "microseg.v4.config.Nope"),
                  std::out_of_range);
}

TEST_CASE("sdk: the validator reports each kind of violation with its JSON pointer", "[sdk]") {
  const auto& models = sdk("microseg", "v4.3");
  json policy = valid_policy();
  INFO(lines(models.validate(policy, kPolicy)));
  REQUIRE(models.validate(policy, kPolicy).empty());

  SECTION("an unknown field") {
    policy["rules"][1]["spec"]["srcSubnets"] = json::array();
    require_violation(models.validate(policy, kPolicy), "/rules/1/spec/srcSubnets",
                      "unknown field (not in microseg.v4.config.ApplicationRuleSpec)");
  }
  SECTION("a wrong JSON type, null included") {
    policy["isHitlogEnabled"] = "false";
    require_violation(models.validate(policy, kPolicy), "/isHitlogEnabled",
                      "expected boolean, got string");
    policy["isHitlogEnabled"] = nullptr;
    require_violation(models.validate(policy, kPolicy), "/isHitlogEnabled", "got null");
    policy["isHitlogEnabled"] = false;
    policy["rules"][1]["spec"]["srcSubnet"]["prefixLength"] = 8.5;
    require_violation(models.validate(policy, kPolicy), "/rules/1/spec/srcSubnet/prefixLength",
                      "expected integer, got number");
  }
  SECTION("a datetime that is not RFC 3339") {
    policy["creationTime"] = "2024-07-19 12:55:54";
    require_violation(models.validate(policy, kPolicy), "/creationTime", "not an RFC 3339");
  }
  SECTION("an enum value outside the enum, the SDK placeholders included") {
    policy["state"] = "ENFORCED";
    require_violation(models.validate(policy, kPolicy), "/state",
                      "'ENFORCED' is not a value of microseg.v4.config.SecurityPolicyState");
    policy["state"] = "$UNKNOWN";
    require_violation(models.validate(policy, kPolicy), "/state", "'$UNKNOWN' is not a value");
    policy["state"] = "$REDACTED";
    require_violation(models.validate(policy, kPolicy), "/state", "'$REDACTED' is not a value");
  }
  SECTION("a missing required field") {
    policy["rules"][0]["spec"].erase("securedGroupAction");
    require_violation(models.validate(policy, kPolicy), "/rules/0/spec/securedGroupAction",
                      "missing required field of microseg.v4.config.IntraEntityGroupRuleSpec");
  }
  SECTION("a $objectType other than the struct's") {
    policy["rules"][0]["$objectType"] = kPolicy;
    require_violation(models.validate(policy, kPolicy), "/rules/0/$objectType",
                      "differs from the model's 'microseg.v4.config.NetworkSecurityPolicyRule'");
  }
  SECTION("a oneOf $objectType that is no member") {
    policy["rules"][1]["spec"]["$objectType"] = "microseg.v4.config.ServiceGroup";
    require_violation(models.validate(policy, kPolicy), "/rules/1/spec",
                      "$objectType 'microseg.v4.config.ServiceGroup' is not a member of "
                      "microseg.v4.config.OneOfNetworkSecurityPolicyRuleSpec");
  }
  SECTION("a oneOf value without $objectType that matches no member") {
    policy["rules"][1]["spec"] = {{"securedGroupActions", "ALLOW"}};
    const auto violations = models.validate(policy, kPolicy);
    require_violation(violations, "/rules/1/spec", "matches no member", 2);
    CHECK(violations[1] ==
          "/rules/1/spec/securedGroupActions: unknown field (not in "
          "microseg.v4.config.ApplicationRuleSpec)");
  }
  SECTION("a oneOf value without $objectType is accepted when one member matches it") {
    policy["rules"][0]["spec"].erase("$objectType");
    CHECK(models.validate(policy, kPolicy).empty());
    policy["rules"][0]["spec"]["securedGroupAction"] = "PERMIT";
    require_violation(models.validate(policy, kPolicy), "/rules/0/spec", "matches no member", 2);
  }
}

TEST_CASE("sdk: a list envelope validates through its data oneOf", "[sdk]") {
  const auto& models = sdk("microseg", "v4.3");
  json list = list_of(valid_policy());
  INFO(lines(models.validate(list, kListPolicies)));
  REQUIRE(models.validate(list, kListPolicies).empty());

  SECTION("violations inside the list are reported at their place") {
    list["data"][0]["rules"][1]["type"] = "SHARED";
    list["data"][0]["isHitlogEnabled"] = "no";
    const auto violations = models.validate(list, kListPolicies);
    // The list member is the closest (right JSON shape) although FileDetail has fewer violations.
    require_violation(violations, "/data", "closest is array<" + kPolicy + ">", 3);
    CHECK_THAT(violations[1], Catch::StartsWith("/data/0/isHitlogEnabled: expected boolean"));
    CHECK_THAT(violations[2], Catch::StartsWith("/data/0/rules/1/type: 'SHARED' is not a value"));
  }
  SECTION("an error answer is a member, an object of no member is not") {
    list["data"] = json::parse(R"({"$objectType": "microseg.v4.error.ErrorResponse",
      "error": [{"$objectType": "microseg.v4.error.AppMessage", "code": "MIC-10001",
                 "message": "not found", "severity": "ERROR", "locale": "en_US"}]})");
    CHECK(models.validate(list, kListPolicies).empty());
    list["data"] = "policies";
    require_violation(models.validate(list, kListPolicies), "/data", "matches no member", 2);
  }
  SECTION("metadata is checked too") {
    list["metadata"]["totalAvailableResults"] = "1";
    require_violation(models.validate(list, kListPolicies), "/metadata/totalAvailableResults",
                      "expected integer, got string");
  }
}

TEST_CASE("sdk: the public v4 payloads conform to the SDK models", "[sdk]") {
  const auto& microseg = sdk("microseg", "v4.0");
  SECTION("the wire-derived GET policy answer, in v4.0 and every later version") {
    const json answer = public_fixture("v4_network_security_policy.wire_derived.json");
    for (const auto& version : kVersions) {
      const auto violations =
          sdk("microseg", version)
              .validate(answer, "microseg.v4.config.GetNetworkSecurityPolicyApiResponse");
      INFO(version << ":\n" << lines(violations));
      CHECK(violations.empty());
    }
  }
  SECTION("the Python-SDK policy, in wire form (rule specs without $objectType)") {
    const json policy = wire_form(public_fixture("v4_network_security_policy.sdk_snake.json"));
    const auto violations = microseg.validate(policy, kPolicy);
    INFO(lines(violations));
    CHECK(violations.empty());
  }
  SECTION("the Python-SDK address group, service group and category, in wire form") {
    const json samples = wire_form(public_fixture("v4_address_service_category.sdk_snake.json"));
    for (const auto& [key, type, models] :
         {std::tuple{"addressGroup", "microseg.v4.config.AddressGroup", &microseg},
          std::tuple{"serviceGroup", "microseg.v4.config.ServiceGroup", &microseg},
          std::tuple{"category", "prism.v4.config.Category", &sdk("prism", "v4.0")}}) {
      const auto violations = models->validate(samples.at(key), type);
      INFO(key << ":\n" << lines(violations));
      CHECK(violations.empty());
    }
  }
}

TEST_CASE("sdk: the microseg facts flowdrift relies on", "[sdk]") {
  const auto& v43 = sdk("microseg", "v4.3");
  SECTION("v4.3 rule and policy types") {
    const auto rule_types = v43.enum_values("microseg.v4.config.RuleType");
    CHECK(has(rule_types, "SHARED_SERVICE"));
    CHECK(has(rule_types, "FLEX"));
    CHECK(v43.enum_values("microseg.v4.config.SecurityPolicyType") ==
          std::vector<std::string>{"QUARANTINE", "ISOLATION", "APPLICATION", "SHAREDSERVICE",
                                   "CRITICAL", "COREINFRASTRUCTURE", "ZONE", "WORKLOAD"});
  }
  SECTION("securedEntityGroupReferences: absent in v4.0, present in v4.3") {
    CHECK_FALSE(has(sdk("microseg", "v4.0").fields(kPolicy), "securedEntityGroupReferences"));
    CHECK(has(v43.fields(kPolicy), "securedEntityGroupReferences"));
  }
  SECTION("entity groups and SHARED_SERVICE appear in v4.1, FLEX in v4.3") {
    const std::map<std::string, std::vector<bool>> since = {
        {"entity groups", {false, true, true, true}},
        {"SHARED_SERVICE", {false, true, true, true}},
        {"FLEX", {false, false, false, true}}};
    for (std::size_t i = 0; i < kVersions.size(); ++i) {
      const auto& models = sdk("microseg", kVersions[i]);
      const auto rule_types = models.enum_values("microseg.v4.config.RuleType");
      INFO(kVersions[i]);
      CHECK(models.contains("microseg.v4.config.ListEntityGroupsApiResponse") ==
            since.at("entity groups")[i]);
      CHECK(has(rule_types, "SHARED_SERVICE") == since.at("SHARED_SERVICE")[i]);
      CHECK(has(rule_types, "FLEX") == since.at("FLEX")[i]);
    }
  }
}
