// pcsim v4 writes: GET one with ETag, PUT/DELETE with If-Match (missing, stale, current), POST,
// task references and tasks, SchemaValidationError bodies naming the attribute, unknown extIds,
// and the v3 view of the same site seeing every change.
#include <catch2/catch.hpp>

#include <set>

#include "pcsim_v4_helpers.hpp"

using namespace flowdrift;
using namespace flowdrift::pcsim;
using namespace flowdrift::pcsim::testing;

namespace {

// Checks a 202 task reference and that its task succeeded; returns the affected entity's extId.
std::string accepted(Simulator& sim, const http::ServerReply& r, const std::string& object_type) {
  INFO(r.response.body);
  REQUIRE(r.response.status == 202);
  auto body = json::parse(r.response.body);
  CHECK(body.at("$objectType") == object_type);
  CHECK(body.at("data").at("$objectType") == "prism.v4.config.TaskReference");
  const std::string task = body.at("data").at("extId");
  CHECK(task.rfind("ZXJnb24=:", 0) == 0);
  auto t = send(sim, "GET", kTasks + "/" + task);
  REQUIRE(t.response.status == 200);
  auto data = json::parse(t.response.body).at("data");
  CHECK(data.at("status") == "SUCCEEDED");
  return data.at("entitiesAffected")[0].at("extId");
}

json v4_error(const http::ServerReply& r) { return json::parse(r.response.body).at("data"); }

std::string v4_rule_uuid(Simulator& sim, const std::string& name) {
  return sim.rule_by_name(name)->at("metadata").at("uuid");
}

json v3_group(Simulator& sim, const std::string& list_path, const char* inner, const std::string& name) {
  auto page = post_json(sim, list_path, {{"length", 500}});
  for (const auto& e : page.at("entities")) {
    if (e.at(inner).at("name") == name) return e.at(inner);
  }
  return nullptr;
}

json without_update_time(json policy) {
  policy.erase("lastUpdateTime");
  return policy;
}

}  // namespace

TEST_CASE("v4 policy PUT needs the current ETag in If-Match, and the change shows in both views",
          "[unit][pcsim][v4][writes]") {
  Simulator sim(small_site(2), seeded(11));
  const std::string id = v4_rule_uuid(sim, "rule-0000");
  const std::string url = kPolicies + "/" + id;
  auto [policy, etag] = get_one(sim, url);
  CHECK(policy.at("extId") == id);
  CHECK(policy.at("state") == "ENFORCE");

  json changed = policy;
  changed["state"] = "MONITOR";
  changed["description"] = "now monitored";

  // Missing If-Match, then a stale one: 412, nothing changes.
  auto r = send(sim, "PUT", url, changed);
  CHECK(r.response.status == 412);
  CHECK(v4_error(r).at("$objectType") == "microseg.v4.error.ErrorResponse");
  CHECK(v4_error(r).at("error")[0].at("code") == "PLAT-10004");
  r = send(sim, "PUT", url, changed, "\"0000000000000000\"");
  CHECK(r.response.status == 412);
  CHECK(v4_error(r).at("error")[0].at("code") == "PLAT-10005");
  CHECK(sim.rule_by_name("rule-0000")->at("spec").at("resources").at("app_rule").at("action") == "APPLY");

  // The current ETag: accepted, a task reference, the v3 view changed too.
  r = send(sim, "PUT", url, changed, etag);
  CHECK(accepted(sim, r, "microseg.v4.config.UpdateNetworkSecurityPolicyApiResponse") == id);
  auto v3 = *sim.rule_by_name("rule-0000");
  CHECK(v3.at("metadata").at("uuid") == id);
  CHECK(v3.at("spec").at("resources").at("app_rule").at("action") == "MONITOR");
  CHECK(v3.at("spec").at("description") == "now monitored");
  auto [after, etag2] = get_one(sim, url);
  CHECK(etag2 != etag);
  CHECK(after.at("state") == "MONITOR");
  // Rules are kept, extIds included (unchanged rules keep their v3 rule_id).
  CHECK(after.at("rules") == policy.at("rules"));

  // The old ETag is stale now; a v3 PUT also moves the ETag.
  CHECK(send(sim, "PUT", url, changed, etag).response.status == 412);
  json v3_body = {{"metadata", v3.at("metadata")}, {"spec", v3.at("spec")}};
  REQUIRE(sim.handle(request("PUT", std::string(kApiBase) + "/network_security_rules/" + id, v3_body.dump()))
              .response.status == 202);
  CHECK(send(sim, "PUT", url, changed, etag2).response.status == 412);
}

TEST_CASE("a v4 GET-then-PUT of every policy of a generated site changes nothing but the update time",
          "[unit][pcsim][v4][writes]") {
  Simulator sim(generate_site(40, 4), seeded(21));
  const auto names = sim.rule_names();
  REQUIRE(names.size() == 40);
  std::set<std::string> types;
  for (const auto& name : names) {
    const std::string url = kPolicies + "/" + v4_rule_uuid(sim, name);
    auto [before, etag] = get_one(sim, url);
    types.insert(before.at("type").get<std::string>());
    auto r = send(sim, "PUT", url, before, etag);
    INFO(name << ": " << r.response.body.substr(0, 400));
    REQUIRE(r.response.status == 202);
    auto [after, etag2] = get_one(sim, url);
    CHECK(without_update_time(after) == without_update_time(before));
  }
  CHECK(types == std::set<std::string>{"APPLICATION", "ISOLATION", "QUARANTINE"});
}

TEST_CASE("v4 policy bodies that pcsim cannot take answer a SchemaValidationError naming the field",
          "[unit][pcsim][v4][writes]") {
  Simulator sim(small_site(1), seeded(11));
  const std::string url = kPolicies + "/" + v4_rule_uuid(sim, "rule-0000");
  auto [policy, etag] = get_one(sim, url);

  auto expect_400 = [&](const json& body, const std::string& attribute, const std::string& says) {
    auto r = send(sim, "PUT", url, body, etag);
    INFO(r.response.body);
    REQUIRE(r.response.status == 400);
    auto error = v4_error(r).at("error");
    CHECK(error.at("$objectType") == "microseg.v4.error.SchemaValidationError");
    CHECK(error.at("statusCode") == 400);
    auto msg = error.at("validationErrorMessages")[0];
    CHECK(msg.at("location") == "body");
    CHECK(msg.at("attributePath") == attribute);
    CHECK_THAT(msg.at("message").get<std::string>(), Catch::Contains(says));
  };
  json b = policy;
  b.erase("name");
  expect_400(b, "name", "is required");
  b = policy;
  b["state"] = "SAVE";
  expect_400(b, "state", "ENFORCE or MONITOR");
  b = policy;
  b["type"] = "SHAREDSERVICE";
  expect_400(b, "type", "not supported");
  // Find the address-group rule and point it at a group that does not exist.
  b = policy;
  std::size_t ag_rule = 0;
  for (std::size_t i = 0; i < b.at("rules").size(); ++i) {
    if (b["rules"][i]["spec"].contains("srcAddressGroupReferences")) ag_rule = i;
  }
  REQUIRE(ag_rule > 0);
  b["rules"][ag_rule]["spec"]["srcAddressGroupReferences"] = json::array({"00000000-0000-4000-8000-00000000dead"});
  expect_400(b, "rules[" + std::to_string(ag_rule) + "].spec.srcAddressGroupReferences[0]", "does not exist");
  b = policy;
  b["rules"][ag_rule]["spec"]["destAllowSpec"] = "ALL";
  expect_400(b, "rules[" + std::to_string(ag_rule) + "].spec", "both src* and dest*");
  b = policy;
  b["rules"][ag_rule]["spec"]["tcpServices"] = json::array({{{"startPort", 70000}}});
  expect_400(b, "rules[" + std::to_string(ag_rule) + "].spec.tcpServices[0].startPort", "out of range");
  b = policy;
  b["extId"] = "another";
  expect_400(b, "extId", "must equal the extId in the path");
  auto r = send(sim, "PUT", url, nullptr, etag);
  CHECK(r.response.status == 400);
  r = sim.handle([&] {
    auto q = request("PUT", url, "{not json");
    q.headers.push_back({"If-Match", etag});
    return q;
  }());
  CHECK(r.response.status == 400);
  CHECK(v4_error(r).at("error").at("validationErrorMessages")[0].at("attributePath") == "$");
  // Nothing was stored: the ETag is still current.
  CHECK(get_one(sim, url).etag == etag);
}

TEST_CASE("v4 policy POST creates and DELETE removes, in both views, and unknown extIds answer 404",
          "[unit][pcsim][v4][writes]") {
  Simulator sim(small_site(1), seeded(11));
  auto [policy, etag] = get_one(sim, kPolicies + "/" + v4_rule_uuid(sim, "rule-0000"));
  json fresh = policy;
  fresh.erase("extId");
  fresh["name"] = "copy-of-rule-0";
  auto r = send(sim, "POST", kPolicies, fresh);
  const std::string id = accepted(sim, r, "microseg.v4.config.CreateNetworkSecurityPolicyApiResponse");
  CHECK(sim.rule_count() == 2);
  REQUIRE(sim.rule_by_name("copy-of-rule-0").has_value());
  CHECK(sim.rule_by_name("copy-of-rule-0")->at("metadata").at("uuid") == id);
  auto [created, created_etag] = get_one(sim, kPolicies + "/" + id);
  CHECK(created.at("name") == "copy-of-rule-0");
  CHECK(created.at("rules").size() == policy.at("rules").size());

  CHECK(send(sim, "DELETE", kPolicies + "/" + id).response.status == 412);
  r = send(sim, "DELETE", kPolicies + "/" + id, nullptr, created_etag);
  CHECK(accepted(sim, r, "microseg.v4.config.DeleteNetworkSecurityPolicyApiResponse") == id);
  CHECK_FALSE(sim.rule_by_name("copy-of-rule-0").has_value());
  CHECK(sim.handle(request("GET", std::string(kApiBase) + "/network_security_rules/" + id)).response.status == 404);

  const std::string unknown = kPolicies + "/00000000-0000-4000-8000-000000000000";
  for (const char* method : {"GET", "PUT", "DELETE"}) {
    auto u = send(sim, method, unknown, fresh, etag);
    CHECK(u.response.status == 404);
    CHECK(v4_error(u).at("$objectType") == "microseg.v4.error.ErrorResponse");
  }
  CHECK(send(sim, "GET", kTasks + "/ZXJnb24=:nope").response.status == 404);
  CHECK(send(sim, "PUT", kPolicies, fresh).response.status == 405);
  CHECK(send(sim, "POST", kPolicies + "/" + v4_rule_uuid(sim, "rule-0000"), fresh).response.status == 405);
}

TEST_CASE("v4 address and service group writes change the groups the v3 lists show",
          "[unit][pcsim][v4][writes]") {
  Simulator sim(small_site(2), seeded(13));
  const std::string ag = *sim.address_group_uuid("ag-one");
  auto [group, etag] = get_one(sim, kAddressGroups + "/" + ag);
  CHECK(group.at("name") == "ag-one");
  group["ipv4Addresses"] = json::array({{{"value", "10.20.0.0"}, {"prefixLength", 16}},
                                        {{"value", "10.30.0.1"}}});
  CHECK(send(sim, "PUT", kAddressGroups + "/" + ag, group).response.status == 412);
  auto r = send(sim, "PUT", kAddressGroups + "/" + ag, group, etag);
  CHECK(accepted(sim, r, "microseg.v4.config.UpdateAddressGroupApiResponse") == ag);
  CHECK(v3_group(sim, "/address_groups/list", "address_group", "ag-one").at("ip_address_block_list") ==
        json::array({{{"ip", "10.20.0.0"}, {"prefix_length", 16}}, {{"ip", "10.30.0.1"}, {"prefix_length", 32}}}));
  CHECK(send(sim, "PUT", kAddressGroups + "/" + ag, group, etag).response.status == 412);  // stale now
  const std::string etag2 = get_one(sim, kAddressGroups + "/" + ag).etag;

  // Bad bodies and a group in use.
  json bad = group;
  bad["ipRanges"] = json::array({{{"startIp", "10.0.0.1"}, {"endIp", "10.0.0.9"}}});
  r = send(sim, "PUT", kAddressGroups + "/" + ag, bad, etag2);
  REQUIRE(r.response.status == 400);
  CHECK(v4_error(r).at("error").at("validationErrorMessages")[0].at("attributePath") == "ipRanges");
  bad = group;
  bad["ipv4Addresses"][1]["value"] = "10.30.0";
  r = send(sim, "PUT", kAddressGroups + "/" + ag, bad, etag2);
  CHECK(v4_error(r).at("error").at("validationErrorMessages")[0].at("attributePath") == "ipv4Addresses[1].value");
  r = send(sim, "DELETE", kAddressGroups + "/" + ag, nullptr, etag2);
  CHECK(r.response.status == 409);
  CHECK_THAT(r.response.body, Catch::Contains("rule-0000"));

  // Create and delete an unused one.
  r = send(sim, "POST", kAddressGroups, {{"name", "ag-v4"}, {"ipv4Addresses", json::array({{{"value", "1.2.3.4"}}})}});
  const std::string created = accepted(sim, r, "microseg.v4.config.CreateAddressGroupApiResponse");
  CHECK(sim.address_group_uuid("ag-v4") == created);
  CHECK(send(sim, "POST", kAddressGroups, {{"name", "ag-v4"}}).response.status == 409);
  r = send(sim, "DELETE", kAddressGroups + "/" + created, nullptr, get_one(sim, kAddressGroups + "/" + created).etag);
  accepted(sim, r, "microseg.v4.config.DeleteAddressGroupApiResponse");
  CHECK_FALSE(sim.address_group_uuid("ag-v4").has_value());
  CHECK(send(sim, "GET", kAddressGroups + "/" + created).response.status == 404);

  // Service group: new ports, visible through v3; the policies keep referencing it.
  const std::string sg = *sim.service_group_uuid("sg-web");
  auto [service, sg_etag] = get_one(sim, kServiceGroups + "/" + sg);
  service["tcpServices"] = json::array({{{"startPort", 8080}, {"endPort", 8081}}});
  service["udpServices"] = json::array({{{"startPort", 53}}});
  r = send(sim, "PUT", kServiceGroups + "/" + sg, service, sg_etag);
  CHECK(accepted(sim, r, "microseg.v4.config.UpdateServiceGroupApiResponse") == sg);
  CHECK(v3_group(sim, "/service_groups/list", "service_group", "sg-web").at("service_list") ==
        json::array({{{"protocol", "TCP"}, {"tcp_port_range_list", json::array({{{"start_port", 8080}, {"end_port", 8081}}})}},
                     {{"protocol", "UDP"}, {"udp_port_range_list", json::array({{{"start_port", 53}, {"end_port", 53}}})}}}));
  CHECK(sim.policies_using_group(sg).size() == 2);
  json no_services = {{"name", "sg-web"}};
  r = send(sim, "PUT", kServiceGroups + "/" + sg, no_services, get_one(sim, kServiceGroups + "/" + sg).etag);
  CHECK(r.response.status == 400);
  CHECK(send(sim, "DELETE", kServiceGroups + "/" + sg, nullptr, get_one(sim, kServiceGroups + "/" + sg).etag)
            .response.status == 409);
}

TEST_CASE("v4 categories: POST creates a key:value, DELETE with If-Match removes it",
          "[unit][pcsim][v4][writes]") {
  Simulator sim(small_site(1), seeded(17));
  auto r = send(sim, "POST", kCategories, {{"key", "Owner"}, {"value", "TeamA"}, {"description", "owners"}});
  // Synchronous (the SDK's CreateCategoryApiResponse holds the Category): 201, no task.
  REQUIRE(r.response.status == 201);
  const json created = json::parse(r.response.body);
  CHECK(created.at("$objectType") == "prism.v4.config.CreateCategoryApiResponse");
  const std::string id = created.at("data").at("extId");
  auto [cat, etag] = get_one(sim, kCategories + "/" + id);
  CHECK(created.at("data") == cat);
  CHECK(cat.at("key") == "Owner");
  CHECK(cat.at("value") == "TeamA");
  auto values = post_json(sim, "/categories/Owner/list", {{"kind", "category"}});
  REQUIRE(values.at("entities").size() == 1);
  CHECK(values.at("entities")[0].at("value") == "TeamA");
  CHECK(send(sim, "POST", kCategories, {{"key", "Owner"}, {"value", "TeamA"}}).response.status == 409);
  r = send(sim, "POST", kCategories, {{"key", "Owner"}});
  REQUIRE(r.response.status == 400);
  CHECK(v4_error(r).at("$objectType") == "prism.v4.error.ErrorResponse");
  CHECK(v4_error(r).at("error").at("validationErrorMessages")[0].at("attributePath") == "value");

  CHECK(send(sim, "DELETE", kCategories + "/" + id).response.status == 412);
  r = send(sim, "DELETE", kCategories + "/" + id, nullptr, etag);
  CHECK(r.response.status == 204);
  CHECK(r.response.body.empty());
  CHECK(send(sim, "GET", kCategories + "/" + id).response.status == 404);
  CHECK(post_json(sim, "/categories/Owner/list", {{"kind", "category"}}).at("entities").empty());

  // A value a policy uses is refused.
  auto list = json::parse(send(sim, "GET", kCategories + "?$limit=100").response.body).at("data");
  std::string web;
  for (const auto& c : list) {
    if (c.at("key") == "AppType" && c.at("value") == "Web") web = c.at("extId");
  }
  REQUIRE_FALSE(web.empty());
  r = send(sim, "DELETE", kCategories + "/" + web, nullptr, get_one(sim, kCategories + "/" + web).etag);
  CHECK(r.response.status == 409);
  CHECK(send(sim, "PUT", kCategories + "/" + web, json::object()).response.status == 405);
}

TEST_CASE("v4 writes follow the api mode and the faults of their endpoints", "[unit][pcsim][v4][writes]") {
  Simulator sim(small_site(1), seeded(19, "v3"));
  const std::string url = kPolicies + "/" + v4_rule_uuid(sim, "rule-0000");
  CHECK(send(sim, "GET", url).response.status == 404);
  CHECK(send(sim, "POST", kAddressGroups, {{"name", "x"}}).response.status == 404);
  sim.set_api_mode("v4");
  auto [policy, etag] = get_one(sim, url);
  sim.add_fault(parse_fault("v4_policies_crud:status=503,count=1"));
  CHECK(send(sim, "PUT", url, policy, etag).response.status == 503);
  CHECK(send(sim, "PUT", url, policy, etag).response.status == 202);
  CHECK(sim.stats().at("endpoints").at("v4_policies_crud").at("202") == 1);
  CHECK_FALSE(sim.stats().at("endpoints").contains("v4_tasks"));
  // The list endpoint is not affected by the crud fault window and vice versa.
  sim.add_fault(parse_fault("v4_policies:status=500"));
  CHECK(send(sim, "GET", kPolicies).response.status == 500);
  CHECK(send(sim, "GET", url).response.status == 200);
}
