// Every v4.x answer pcsim gives validates against the SDK models of that version
// (tests/fixtures/v4-sdk): field names, JSON types, enums and oneOf types. A generated site is
// checked on every version it serves; v4-native content (entity groups, VPCs, a ZONE policy
// with FLEX and SHARED_SERVICE rules) on the versions that have those constructs.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "pcsim_v4_helpers.hpp"
#include "support/sdk_schema.hpp"

using namespace flowdrift;
using namespace flowdrift::pcsim;
using namespace flowdrift::pcsim::testing;

namespace {

struct Endpoint {
  const char* ns;
  const char* path;
  const char* list_type;
  const char* get_type;
  int since;  // first minor version that has it
};

constexpr Endpoint kEndpoints[] = {
    {"microseg", "policies", "ListNetworkSecurityPoliciesApiResponse",
     "GetNetworkSecurityPolicyApiResponse", 0},
    {"microseg", "address-groups", "ListAddressGroupsApiResponse", "GetAddressGroupApiResponse", 0},
    {"microseg", "service-groups", "ListServiceGroupsApiResponse", "GetServiceGroupApiResponse", 0},
    {"microseg", "entity-groups", "ListEntityGroupsApiResponse", "GetEntityGroupApiResponse", 1},
    {"prism", "categories", "ListCategoriesApiResponse", "GetCategoryApiResponse", 0},
    {"networking", "vpcs", "ListVpcsApiResponse", "GetVpcApiResponse", 0},
};

test::sdk::Models models(const std::string& ns, int minor) {
  return test::sdk::Models::load(std::string(FLOWDRIFT_SOURCE_DIR) + "/tests/fixtures/v4-sdk/" +
                                 ns + "-v4." + std::to_string(minor) + ".json");
}

void check_valid(const test::sdk::Models& m, const json& body, const std::string& type,
                 const std::string& target) {
  const auto violations = m.validate(body, type);
  INFO(target << " as " << type);
  for (const auto& v : violations) INFO(v);
  CHECK(violations.empty());
  for (const auto& v : violations) FAIL_CHECK(v);
}

// An error answer: its `data` is the namespace's ErrorResponse, one of the response's members.
void check_error(Simulator& sim, const test::sdk::Models& m, const std::string& target,
                 int status, const std::string& type) {
  auto r = get(sim, target);
  REQUIRE(r.response.status == status);
  check_valid(m, json::parse(r.response.body), type, target);
}

// Every page of every list of `minor`, and one GET per object kind, validated.
void check_answers(Simulator& sim, int minor) {
  for (const auto& e : kEndpoints) {
    if (minor < e.since) continue;
    const auto m = models(e.ns, minor);
    const std::string qual = std::string(e.ns) + ".v4.config.";
    const std::string base = "/api/" + std::string(e.ns) + "/v4." + std::to_string(minor) +
                             "/config/" + e.path;
    std::string first_id;
    for (int page = 0; page < 100; ++page) {
      const std::string target = base + "?$limit=25&$page=" + std::to_string(page);
      const json body = get_json(sim, target);
      check_valid(m, body, qual + e.list_type, target);
      if (!body.contains("data")) break;
      if (first_id.empty()) first_id = body.at("data").at(0).at("extId");
    }
    if (!first_id.empty()) {
      check_valid(m, get_json(sim, base + "/" + first_id), qual + e.get_type, base + "/{extId}");
    }
    check_error(sim, m, base + "/00000000-0000-4000-8000-00000000dead", 404, qual + e.get_type);
    check_error(sim, m, base + "?$limit=1000", 400, qual + e.list_type);
  }
}

std::string path(const std::string& ns, int minor, const std::string& tail) {
  return "/api/" + ns + "/v4." + std::to_string(minor) + "/config/" + tail;
}

// A write's 202 task reference, and the task it names (prism GetTaskApiResponse).
void check_write(Simulator& sim, int minor, const http::ServerReply& r, const std::string& ns,
                 const std::string& type, const std::string& target) {
  INFO(target << " -> " << r.response.body.substr(0, 300));
  REQUIRE(r.response.status == 202);
  const json body = json::parse(r.response.body);
  check_valid(models(ns, minor), body, ns + ".v4.config." + type, target);
  const std::string task = path("prism", minor, "tasks/" + body.at("data").at("extId").get<std::string>());
  check_valid(models("prism", minor), get_json(sim, task), "prism.v4.config.GetTaskApiResponse", task);
}

// What pcsim answers to v4 writes on `minor`: a policy PUT back unchanged, an address group
// created and deleted (task references and their tasks), a category value created.
void check_write_answers(Simulator& sim, int minor) {
  const std::string policies = path("microseg", minor, "policies");
  const std::string policy_id = get_json(sim, policies + "?$limit=1").at("data").at(0).at("extId");
  const Got policy = get_one(sim, policies + "/" + policy_id);
  check_write(sim, minor, send(sim, "PUT", policies + "/" + policy_id, policy.data, policy.etag),
              "microseg", "UpdateNetworkSecurityPolicyApiResponse", "PUT policy");

  const std::string groups = path("microseg", minor, "address-groups");
  const json group = {{"name", "ag-conformance"}, {"ipv4Addresses", {{{"value", "10.0.0.1"}}}}};
  check_write(sim, minor, send(sim, "POST", groups, group), "microseg",
              "CreateAddressGroupApiResponse", "POST address group");
  for (const auto& g : get_all(sim, groups)) {
    if (g.at("name") != "ag-conformance") continue;
    const std::string target = groups + "/" + g.at("extId").get<std::string>();
    check_write(sim, minor, send(sim, "DELETE", target, nullptr, get_one(sim, target).etag),
                "microseg", "DeleteAddressGroupApiResponse", "DELETE address group");
  }

  // Category writes are synchronous: the created Category, then nothing (204).
  const std::string categories = path("prism", minor, "categories");
  auto created = send(sim, "POST", categories, {{"key", "Conformance"}, {"value", "x"}});
  REQUIRE(created.response.status == 201);
  const json body = json::parse(created.response.body);
  check_valid(models("prism", minor), body, "prism.v4.config.CreateCategoryApiResponse", "POST category");
  const std::string target = categories + "/" + body.at("data").at("extId").get<std::string>();
  CHECK(send(sim, "DELETE", target, nullptr, get_one(sim, target).etag).response.status == 204);
}

json entity(const std::string& type, const std::string& select_by, const std::string& ref) {
  return {{"type", type}, {"selectBy", select_by}, {"referenceExtIds", json::array({ref})}};
}

// The v4.1+ constructs as a v4.3 PC serves them.
json native_section() {
  const json flex = {{"$objectType", "microseg.v4.config.FlexRuleSpec"},
                     {"action", "DENY"},
                     {"direction", "IN_OUT"},
                     {"appliedToEntityGroupReferences", json::array({"@entity_group:eg-web"})},
                     {"srcEntityGroupReferences", json::array({"@entity_group:eg-db"})},
                     {"tcpServices", json::array({{{"startPort", 22}, {"endPort", 22}}})},
                     {"priority", 5}};
  const json shared = {{"$objectType", "microseg.v4.config.ApplicationRuleSpec"},
                       {"serviceGroupReferences", json::array({"@service_group:sg-web"})},
                       {"destAddressGroupReferences", json::array({"@address_group:ag-two"})}};
  return {{"vpcs", json::array({{{"name", "vpc-prod"}, {"description", "production"}}})},
          {"entity_groups",
           json::array({{{"name", "eg-web"},
                         {"allowedConfig",
                          {{"entities", json::array({entity("VM", "CATEGORY_EXT_ID",
                                                            "@category:AppType:Web")})}}}},
                        {{"name", "eg-db"},
                         {"allowedConfig",
                          {{"entities", json::array({entity("VPC", "CATEGORY_EXT_ID",
                                                            "@category:AppType:DB")})}}},
                         {"exceptConfig",
                          {{"entities", json::array({entity("ADDRESS_GROUP", "EXT_ID",
                                                            "@address_group:ag-one")})}}}}})},
          {"policies",
           json::array({{{"name", "zone-prod"},
                         {"type", "ZONE"},
                         {"state", "ENFORCE"},
                         {"scope", "VPC_LIST"},
                         {"vpcReferences", json::array({"@vpc:vpc-prod"})},
                         {"securedEntityGroupReferences", json::array({"@entity_group:eg-web"})},
                         {"rules", json::array({{{"type", "FLEX"}, {"name", "deny-ssh"}, {"spec", flex}},
                                                {{"type", "SHARED_SERVICE"}, {"spec", shared}}})}}})}};
}

SiteData native_site() {
  json doc = site_to_json(small_site(2));
  doc["v4"] = native_section();
  return site_from_json(doc);
}

SimulatorOptions with_seed(std::uint64_t seed) {
  SimulatorOptions o;
  o.instance_seed = seed;
  return o;
}

}  // namespace

TEST_CASE("every v4.x answer for a generated site validates against that version's SDK models",
          "[unit][pcsim][sdk]") {
  for (int minor = 0; minor <= 3; ++minor) {
    INFO("v4." << minor);
    Simulator sim(generate_site(40, 3), with_seed(11));
    check_answers(sim, minor);
  }
}

TEST_CASE("every v4.x answer to a write, and the task it names, validates against that "
          "version's SDK models",
          "[unit][pcsim][sdk]") {
  for (int minor = 0; minor <= 3; ++minor) {
    INFO("v4." << minor);
    Simulator sim(generate_site(10, 3), with_seed(14));
    check_write_answers(sim, minor);
  }
}

TEST_CASE("v4.3 answers with entity groups, VPCs, FLEX and SHARED_SERVICE rules validate",
          "[unit][pcsim][sdk]") {
  Simulator sim(native_site(), with_seed(12));
  check_answers(sim, 3);
}

TEST_CASE("the conformance check fails on an answer a version does not model",
          "[unit][pcsim][sdk]") {
  Simulator sim(native_site(), with_seed(13));
  // The ZONE policy is v4.3 only: v4.0 has no such type, no FLEX and no entity groups.
  const json body = get_json(sim, "/api/microseg/v4.0/config/policies?$limit=100");
  CHECK_FALSE(models("microseg", 0)
                  .validate(body, "microseg.v4.config.ListNetworkSecurityPoliciesApiResponse")
                  .empty());
}
