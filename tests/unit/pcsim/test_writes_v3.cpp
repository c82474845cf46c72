// pcsim v3 writes of referenced objects: address groups, service groups and category values
// (happy path, bad bodies, unknown ids, deleting what a policy uses, the admin force delete),
// each checked through both the v3 and the v4 view of the one site.
#include <catch2/catch.hpp>

#include <algorithm>

#include "pcsim_test_helpers.hpp"

using namespace flowdrift;
using namespace flowdrift::pcsim;
using namespace flowdrift::pcsim::testing;

namespace {

http::ServerReply call(Simulator& sim, const std::string& method, const std::string& target,
                       const json& body = nullptr) {
  return sim.handle(request(method, target, body.is_null() ? std::string() : body.dump()));
}

std::string v3(const std::string& path) { return std::string(kApiBase) + path; }

// name -> entity of a v3 group list ("address_group"/"service_group" inner object + uuid).
json v3_group(Simulator& sim, const std::string& list_path, const char* inner, const std::string& name) {
  auto page = post_json(sim, list_path, {{"length", 500}});
  for (const auto& e : page.at("entities")) {
    if (e.at(inner).at("name") == name) return e;
  }
  return nullptr;
}

json v4_group(Simulator& sim, const std::string& path, const std::string& name) {
  auto r = sim.handle(request("GET", path + "?$limit=100"));
  REQUIRE(r.response.status == 200);
  auto body = json::parse(r.response.body);
  for (const auto& g : body.value("data", json::array())) {
    if (g.at("name") == name) return g;
  }
  return nullptr;
}

const std::string kV4Ags = "/api/microseg/v4.0/config/address-groups";
const std::string kV4Sgs = "/api/microseg/v4.0/config/service-groups";
const std::string kV4Cats = "/api/prism/v4.0/config/categories";

bool v4_has_category(Simulator& sim, const std::string& key, const std::string& value) {
  auto body = json::parse(sim.handle(request("GET", kV4Cats + "?$limit=100")).response.body);
  for (const auto& c : body.value("data", json::array())) {
    if (c.at("key") == key && c.at("value") == value) return true;
  }
  return false;
}

bool v3_has_value(Simulator& sim, const std::string& key, const std::string& value) {
  auto page = post_json(sim, "/categories/" + key + "/list", {{"kind", "category"}});
  for (const auto& e : page.at("entities")) {
    if (e.at("value") == value) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("v3 address groups: create, read, update and delete, seen by both views",
          "[unit][pcsim][writes]") {
  Simulator sim(small_site(3), seeded(5));

  // Create.
  json body = {{"name", "ag-new"},
               {"description", "fresh"},
               {"ip_address_block_list", json::array({{{"ip", "10.9.0.0"}, {"prefix_length", 16}}})}};
  auto created = call(sim, "POST", v3("/address_groups"), body);
  REQUIRE(created.response.status == 200);
  const json ref = json::parse(created.response.body);
  CHECK(ref.at("kind") == "address_group");
  const std::string uuid = ref.at("uuid");
  CHECK(sim.address_group_uuid("ag-new") == uuid);
  auto listed = v3_group(sim, "/address_groups/list", "address_group", "ag-new");
  REQUIRE(listed.is_object());
  CHECK(listed.at("uuid") == uuid);
  auto v4 = v4_group(sim, kV4Ags, "ag-new");
  REQUIRE(v4.is_object());
  CHECK(v4.at("extId") == uuid);
  CHECK(v4.at("ipv4Addresses") == json::array({{{"$objectType", "common.v1.config.IPv4Address"},
                                                {"value", "10.9.0.0"}, {"prefixLength", 16}}}));

  // Read one.
  auto got = call(sim, "GET", v3("/address_groups/" + uuid));
  REQUIRE(got.response.status == 200);
  CHECK(json::parse(got.response.body).at("address_group").at("description") == "fresh");

  // Update the CIDRs: both views change.
  body["ip_address_block_list"] = json::array({{{"ip", "192.168.7.1"}, {"prefix_length", 32}},
                                               {{"ip", "172.16.0.0"}, {"prefix_length", 12}}});
  auto put = call(sim, "PUT", v3("/address_groups/" + uuid), body);
  REQUIRE(put.response.status == 200);
  CHECK(json::parse(put.response.body).at("ip_address_block_list") == body["ip_address_block_list"]);
  CHECK(v3_group(sim, "/address_groups/list", "address_group", "ag-new")
            .at("address_group").at("ip_address_block_list") == body["ip_address_block_list"]);
  CHECK(v4_group(sim, kV4Ags, "ag-new").at("ipv4Addresses").size() == 2);

  // A name already taken by another group is refused.
  json clash = body;
  clash["name"] = "ag-one";
  auto dup = call(sim, "PUT", v3("/address_groups/" + uuid), clash);
  CHECK(dup.response.status == 409);
  CHECK(json::parse(dup.response.body).at("reason") == "ENTITY_ALREADY_EXISTS");
  CHECK(call(sim, "POST", v3("/address_groups"), clash).response.status == 409);

  // Delete (unused): gone from both views.
  auto del = call(sim, "DELETE", v3("/address_groups/" + uuid));
  CHECK(del.response.status == 200);
  CHECK_FALSE(sim.address_group_uuid("ag-new").has_value());
  CHECK(v3_group(sim, "/address_groups/list", "address_group", "ag-new").is_null());
  CHECK(v4_group(sim, kV4Ags, "ag-new").is_null());
}

TEST_CASE("v3 address group writes reject bad bodies and unknown uuids", "[unit][pcsim][writes]") {
  Simulator sim(small_site(1), seeded(5));
  const std::string uuid = *sim.address_group_uuid("ag-one");
  auto expect_422 = [&](const std::string& method, const std::string& target, const std::string& body,
                        const std::string& says) {
    auto r = sim.handle(request(method, target, body));
    INFO(method << " " << body << " -> " << r.response.body);
    CHECK(r.response.status == 422);
    auto j = json::parse(r.response.body);
    CHECK(j.at("status") == "failure");
    CHECK(j.at("reason") == "VALIDATION_ERROR");
    CHECK_THAT(j.at("message").get<std::string>(), Catch::Contains(says));
  };
  expect_422("POST", v3("/address_groups"), "not json", "JSON object");
  expect_422("POST", v3("/address_groups"), R"({"description":"x"})", "'name' is a required property");
  expect_422("PUT", v3("/address_groups/" + uuid),
             R"({"name":"ag-one","ip_address_block_list":[{"ip":"10.0.0.0","prefix_length":40}]})",
             "ip_address_block_list[0].prefix_length: 40 is out of range");
  expect_422("PUT", v3("/address_groups/" + uuid),
             R"({"name":"ag-one","ip_address_block_list":[{"ip":"10.0.0.300","prefix_length":8}]})",
             "ip_address_block_list[0].ip: '10.0.0.300' is not an IPv4 address");
  // The stored group is unchanged by the refused writes.
  CHECK(v3_group(sim, "/address_groups/list", "address_group", "ag-one")
            .at("address_group").at("ip_address_block_list")[0].at("prefix_length") == 8);

  const std::string unknown = "00000000-0000-4000-8000-000000000000";
  for (const char* method : {"GET", "PUT", "DELETE"}) {
    auto r = sim.handle(request(method, v3("/address_groups/" + unknown), R"({"name":"x"})"));
    CHECK(r.response.status == 404);
    CHECK(json::parse(r.response.body).at("reason") == "ENTITY_NOT_FOUND");
  }
  CHECK(sim.handle(request("GET", v3("/address_groups"))).response.status == 405);
}

TEST_CASE("deleting a group or category value a policy uses is refused, and the admin force delete "
          "leaves a dangling reference",
          "[unit][pcsim][writes]") {
  Simulator sim(small_site(3), seeded(5));
  const std::string ag = *sim.address_group_uuid("ag-one");
  const std::string sg = *sim.service_group_uuid("sg-web");
  const std::vector<std::string> all = {"rule-0000", "rule-0001", "rule-0002"};
  CHECK(sim.policies_using_group(ag) == all);
  CHECK(sim.policies_using_group(*sim.address_group_uuid("ag-two")).empty());
  CHECK(sim.policies_using_category("AppType", "DB") == all);
  CHECK(sim.policies_using_category("AppTier", "Front").empty());

  auto r = call(sim, "DELETE", v3("/address_groups/" + ag));
  CHECK(r.response.status == 409);
  CHECK_THAT(r.response.body, Catch::Contains("used by 3 network security rule(s): rule-0000"));
  CHECK(call(sim, "DELETE", v3("/service_groups/" + sg)).response.status == 409);
  r = call(sim, "DELETE", v3("/categories/AppType/DB"));
  CHECK(r.response.status == 409);
  CHECK(json::parse(r.response.body).at("message_list")[0].at("reason") == "ENTITY_IN_USE");
  CHECK(sim.address_group_uuid("ag-one") == ag);
  CHECK(v3_has_value(sim, "AppType", "DB"));

  // The admin path deletes anyway and reports who is left dangling.
  auto forced = sim.handle(request("POST", "/_pcsim/force_delete",
                                   json{{"kind", "address_group"}, {"name", "ag-one"}}.dump()));
  REQUIRE(forced.response.status == 200);
  auto doc = json::parse(forced.response.body);
  CHECK(doc.at("deleted").at("uuid") == ag);
  CHECK(doc.at("referenced_by") == json(all));
  CHECK_FALSE(sim.address_group_uuid("ag-one").has_value());
  CHECK(v4_group(sim, kV4Ags, "ag-one").is_null());
  // The policies still carry the uuid, which no list resolves any more.
  auto rule = *sim.rule_by_name("rule-0001");
  CHECK(rule.at("spec").at("resources").at("app_rule").at("inbound_allow_list")[1]
            .at("address_group_inclusion_list")[0].at("uuid") == ag);

  forced = sim.handle(request("POST", "/_pcsim/force_delete",
                              json{{"kind", "service_group"}, {"uuid", sg}}.dump()));
  CHECK(forced.response.status == 200);
  CHECK_FALSE(sim.service_group_uuid("sg-web").has_value());
  forced = sim.handle(request("POST", "/_pcsim/force_delete",
                              json{{"kind", "category"}, {"key", "AppType"}, {"value", "DB"}}.dump()));
  CHECK(forced.response.status == 200);
  CHECK_FALSE(v3_has_value(sim, "AppType", "DB"));
  CHECK_FALSE(v4_has_category(sim, "AppType", "DB"));

  // Bad admin requests.
  CHECK(sim.handle(request("POST", "/_pcsim/force_delete", R"({"kind":"vm"})")).response.status == 400);
  CHECK(sim.handle(request("POST", "/_pcsim/force_delete", "nope")).response.status == 400);
  CHECK(sim.handle(request("POST", "/_pcsim/force_delete", R"({"kind":"address_group","name":"ag-gone"})"))
            .response.status == 404);
  CHECK(sim.handle(request("GET", "/_pcsim/force_delete")).response.status == 405);
}

TEST_CASE("v3 service groups: create, update, delete, bad bodies", "[unit][pcsim][writes]") {
  Simulator sim(small_site(1), seeded(9));
  json body = {{"name", "sg-db"},
               {"description", "databases"},
               {"service_list", json::array({{{"protocol", "TCP"},
                                              {"tcp_port_range_list", json::array({{{"start_port", 5432}, {"end_port", 5432}}})}},
                                             {{"protocol", "ICMP"}, {"icmp_type_code_list", json::array({{{"type", 8}}})}}})}};
  auto created = call(sim, "POST", v3("/service_groups"), body);
  REQUIRE(created.response.status == 200);
  const std::string uuid = json::parse(created.response.body).at("uuid");
  auto v4 = v4_group(sim, kV4Sgs, "sg-db");
  REQUIRE(v4.is_object());
  CHECK(v4.at("tcpServices") == json::array({{{"startPort", 5432}, {"endPort", 5432}}}));
  CHECK(v4.at("icmpServices") == json::array({{{"type", 8}}}));

  body["service_list"] = json::array({{{"protocol", "UDP"}, {"udp_port_range_list", json::array({{{"start_port", 53}, {"end_port", 53}}})}}});
  REQUIRE(call(sim, "PUT", v3("/service_groups/" + uuid), body).response.status == 200);
  CHECK(v3_group(sim, "/service_groups/list", "service_group", "sg-db").at("service_group").at("service_list") ==
        body["service_list"]);
  v4 = v4_group(sim, kV4Sgs, "sg-db");
  CHECK_FALSE(v4.contains("tcpServices"));
  CHECK(v4.at("udpServices") == json::array({{{"startPort", 53}, {"endPort", 53}}}));

  auto bad = call(sim, "PUT", v3("/service_groups/" + uuid),
                  {{"name", "sg-db"}, {"service_list", json::array({{{"protocol", "SCTP"}}})}});
  CHECK(bad.response.status == 422);
  CHECK_THAT(bad.response.body, Catch::Contains("service_list[0].protocol: expected ALL, ICMP, TCP or UDP"));
  bad = call(sim, "PUT", v3("/service_groups/" + uuid),
             {{"name", "sg-db"},
              {"service_list", json::array({{{"protocol", "TCP"},
                                             {"tcp_port_range_list", json::array({{{"start_port", 90}, {"end_port", 80}}})}}})}});
  CHECK(bad.response.status == 422);
  CHECK_THAT(bad.response.body, Catch::Contains("start_port is greater than end_port"));
  CHECK(call(sim, "POST", v3("/service_groups"), {{"name", "x"}}).response.status == 422);
  CHECK(call(sim, "GET", v3("/service_groups/00000000-0000-4000-8000-000000000000")).response.status == 404);

  REQUIRE(call(sim, "DELETE", v3("/service_groups/" + uuid)).response.status == 200);
  CHECK(v4_group(sim, kV4Sgs, "sg-db").is_null());
  CHECK_FALSE(sim.service_group_uuid("sg-db").has_value());
}

TEST_CASE("v3 category values: PUT creates (201) or updates (200), DELETE removes, both views",
          "[unit][pcsim][writes]") {
  Simulator sim(small_site(1), seeded(3));
  auto r = call(sim, "PUT", v3("/categories/AppType/Cache"), {{"value", "Cache"}, {"description", "caches"}});
  REQUIRE(r.response.status == 201);
  auto j = json::parse(r.response.body);
  CHECK(j.at("name") == "AppType");
  CHECK(j.at("value") == "Cache");
  CHECK(j.at("description") == "caches");
  CHECK(v3_has_value(sim, "AppType", "Cache"));
  CHECK(v4_has_category(sim, "AppType", "Cache"));
  CHECK(call(sim, "PUT", v3("/categories/AppType/Cache"), json::object()).response.status == 200);
  CHECK(call(sim, "GET", v3("/categories/AppType/Cache")).response.status == 200);

  // Bad input.
  r = call(sim, "PUT", v3("/categories/AppType/Cache"), {{"value", "Other"}});
  CHECK(r.response.status == 422);
  CHECK(json::parse(r.response.body).at("message_list")[0].at("reason") == "CATEGORY_NAME_VALUE_MISMATCH");
  CHECK(sim.handle(request("PUT", v3("/categories/AppType/Cache"), "[1]")).response.status == 422);
  r = call(sim, "PUT", v3("/categories/NoSuchKey/x"), json::object());
  CHECK(r.response.status == 404);
  CHECK_THAT(r.response.body, Catch::Contains("Category NoSuchKey does not exist"));
  CHECK(call(sim, "GET", v3("/categories/AppType/Nope")).response.status == 404);
  CHECK(call(sim, "DELETE", v3("/categories/AppType/Nope")).response.status == 404);

  REQUIRE(call(sim, "DELETE", v3("/categories/AppType/Cache")).response.status == 200);
  CHECK_FALSE(v3_has_value(sim, "AppType", "Cache"));
  CHECK_FALSE(v4_has_category(sim, "AppType", "Cache"));
}

TEST_CASE("v3 object writes are faultable and stay on v3 in v4 mode", "[unit][pcsim][writes]") {
  Simulator sim(small_site(1), seeded(3, "v4"));
  const std::string uuid = *sim.address_group_uuid("ag-two");
  json body = {{"name", "ag-two"}, {"ip_address_block_list", json::array({{{"ip", "10.1.1.1"}, {"prefix_length", 32}}})}};
  CHECK(call(sim, "PUT", v3("/address_groups/" + uuid), body).response.status == 200);
  CHECK(v4_group(sim, kV4Ags, "ag-two").at("ipv4Addresses")[0].at("value") == "10.1.1.1");
  sim.add_fault(parse_fault("address_groups_crud:status=503,count=1"));
  CHECK(call(sim, "PUT", v3("/address_groups/" + uuid), body).response.status == 503);
  CHECK(call(sim, "PUT", v3("/address_groups/" + uuid), body).response.status == 200);
  CHECK(sim.stats().at("endpoints").at("address_groups_crud").at("total") == 3);
}

TEST_CASE("with a write account, the read account may read but not write", "[unit][pcsim][writes]") {
  auto options = seeded(5);
  options.write_user = "flow-admin";
  options.write_password = "w-secret";
  Simulator sim(small_site(3), options);
  const json body = {{"name", "ag-new"}, {"ip_address_block_list", json::array()}};
  // The read account: listings yes, writes no.
  CHECK(post(sim, "/address_groups/list", json{{"kind", "address_group"}}).response.status == 200);
  auto refused = call(sim, "POST", v3("/address_groups"), body);
  CHECK(refused.response.status == 403);
  CHECK(refused.response.body.find("may not change") != std::string::npos);
  // The write account: both.
  auto as_writer = [&](const std::string& method, const std::string& target, const json& b) {
    http::HttpRequest r;
    r.method = method;
    r.target = target;
    r.body = b.is_null() ? std::string() : b.dump();
    r.headers.push_back({"Authorization", http::basic_auth_header("flow-admin", "w-secret")});
    return sim.handle(r);
  };
  CHECK(as_writer("POST", v3("/address_groups"), body).response.status == 200);
  CHECK(as_writer("POST", v3("/address_groups/list"), json{{"kind", "address_group"}}).response.status == 200);
  CHECK(as_writer("POST", v3("/address_groups"), json{{"name", "x"}}).response.status != 403);
  auto wrong = request("GET", v3("/address_groups/list"));
  wrong.headers = {{"Authorization", http::basic_auth_header("flow-admin", "nope")}};
  CHECK(sim.handle(wrong).response.status == 401);
}

TEST_CASE("v3 category keys: PUT creates (201) or updates (200), then values can be added",
          "[unit][pcsim][writes]") {
  Simulator sim(small_site(3), seeded(5));
  CHECK(call(sim, "GET", v3("/categories/Region")).response.status == 404);
  CHECK(call(sim, "PUT", v3("/categories/Region/eu"), json{{"value", "eu"}}).response.status == 404);
  auto created = call(sim, "PUT", v3("/categories/Region"), json{{"name", "Region"}, {"description", "where"}});
  CHECK(created.response.status == 201);
  CHECK(json::parse(created.response.body).at("description") == "where");
  CHECK(call(sim, "PUT", v3("/categories/Region"), json{{"name", "Region"}}).response.status == 200);
  CHECK(call(sim, "PUT", v3("/categories/Region"), json{{"name", "Other"}}).response.status == 422);
  CHECK(call(sim, "PUT", v3("/categories/Region/eu"), json{{"value", "eu"}}).response.status == 201);
  CHECK(call(sim, "GET", v3("/categories/Region")).response.status == 200);
}
