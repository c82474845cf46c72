// pcsim v4 versions and v4-native content: every v4.M up to --v4-version served with the same
// data (and switched at runtime), entity groups (v4.1+) and VPCs, native policies listed with
// the v3-stored ones, policy_fields merged into v3-stored policies, "@kind:name" references
// resolved per instance (and load errors naming the place), and the data file's "v4" section
// round-tripping through site_to_json/site_from_json.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "pcsim_v4_helpers.hpp"

using namespace flowdrift;
using namespace flowdrift::pcsim;
using namespace flowdrift::pcsim::testing;

namespace {

const std::string kDeadUuid = "00000000-0000-4000-8000-00000000dead";

std::string url(const std::string& ns, int minor, const std::string& tail) {
  return "/api/" + ns + "/v4." + std::to_string(minor) + "/config/" + tail;
}

SimulatorOptions at_version(std::uint64_t seed, std::string version = "v4.3") {
  SimulatorOptions o;
  o.instance_seed = seed;
  o.v4_version = std::move(version);
  return o;
}

json entity(const std::string& type, const std::string& select_by, const std::string& reference) {
  return {{"type", type}, {"selectBy", select_by}, {"referenceExtIds", json::array({reference})}};
}

// small_site(2) (rule-0000, rule-0001, ag-one, ag-two, sg-web, AppType:Web/DB, AppTier:Front)
// plus a "v4" section using every reference kind.
json v4_doc() {
  json doc = site_to_json(small_site(2));
  json flex = {{"$objectType", "microseg.v4.config.FlexRuleSpec"},
               {"action", "ALLOW"},
               {"direction", "IN"},
               {"appliedToEntityGroupReferences", json::array({"@entity_group:eg-web"})},
               {"srcEntityGroupReferences", json::array({"@entity_group:eg-db"})}};
  json shared = {{"serviceGroupReferences", json::array({"@service_group:sg-web"})},
                 {"destAddressGroupReferences", json::array({"@dangling:" + kDeadUuid})}};
  doc["v4"] = {
      {"vpcs",
       json::array({{{"name", "vpc-prod"}, {"description", "production"}}, {{"name", "vpc-dev"}}})},
      {"entity_groups",
       json::array(
           {{{"name", "eg-web"},
             {"description", "web tier"},
             {"allowedConfig",
              {{"entities",
                json::array({entity("VM", "CATEGORY_EXT_ID", "@category:AppType:Web")})}}},
             {"exceptConfig",
              {{"entities",
                json::array({entity("ADDRESS_GROUP", "EXT_ID", "@address_group:ag-two")})}}}},
            {{"name", "eg-db"},
             {"description", "@Ops: owned by ops"},
             {"allowedConfig",
              {{"entities",
                json::array({entity("VPC", "CATEGORY_EXT_ID", "@category:AppType:DB")})}}}}})},
      {"policies",
       json::array({{{"name", "zone-prod"},
                     {"type", "ZONE"},
                     {"state", "ENFORCE"},
                     {"description", "v4.3 only"},
                     {"scope", "VPC_LIST"},
                     {"vpcReferences", json::array({"@vpc:vpc-prod"})},
                     {"securedEntityGroupReferences", json::array({"@entity_group:eg-web"})},
                     {"futureTopLevel", {{"anything", json::array({1, 2})}}},
                     {"rules", json::array({{{"type", "FLEX"}, {"name", "flex-1"}, {"spec", flex}},
                                            {{"type", "SHARED_SERVICE"},
                                             {"description", "dns"},
                                             {"spec", shared}}})}},
                    {{"name", "aaa-first"},
                     {"type", "APPLICATION"},
                     {"state", "MONITOR"},
                     {"rules", json::array()}}})},
      {"policy_fields",
       {{"rule-0001",
         {{"futureField", {{"x", 1}}},
          {"vpcReferences", json::array({"@vpc:vpc-prod"})},
          {"scope", "VPC_LIST"},
          {"securedEntityGroupReferences", json::array({"@entity_group:eg-db"})}}}}}};
  return doc;
}

// name -> extId of a v4 list (objects with `name`), or "key:value" -> extId for categories.
std::map<std::string, std::string> ids_by_name(Simulator& sim, const std::string& path) {
  std::map<std::string, std::string> out;
  for (const auto& o : get_all(sim, path)) {
    const std::string name = o.contains("name") ? o.at("name").get<std::string>()
                                                : o.at("key").get<std::string>() + ":" +
                                                      o.at("value").get<std::string>();
    out[name] = o.at("extId");
  }
  return out;
}

std::vector<std::string> names_of(const std::vector<json>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) out.push_back(o.at("name"));
  return out;
}

std::string owner_of(Simulator& sim) {
  return sim.rule_by_name("rule-0000")->at("metadata").at("owner_reference").at("uuid");
}

std::string error_object_type(const http::ServerReply& r) {
  return json::parse(r.response.body).at("data").at("$objectType");
}

std::string error_message(const http::ServerReply& r) {
  return json::parse(r.response.body).at("data").at("error")[0].at("message");
}

std::set<std::string> as_set(const json& strings) { return {strings.begin(), strings.end()}; }

bool uuid_shaped(const std::string& s) {
  return s.size() == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-';
}

void load(const json& doc) { Simulator sim(site_from_json(doc), at_version(1)); }

}  // namespace

TEST_CASE("every v4.M up to v4.3 serves the same data and newer versions answer 404",
          "[unit][pcsim][v4]") {
  Simulator sim(site_from_json(v4_doc()), at_version(3));
  CHECK(sim.v4_version() == "v4.3");
  const std::vector<std::pair<std::string, std::string>> lists = {{"microseg", "policies"},
                                                                  {"microseg", "address-groups"},
                                                                  {"microseg", "service-groups"},
                                                                  {"prism", "categories"},
                                                                  {"networking", "vpcs"}};
  for (const auto& [ns, tail] : lists) {
    INFO(ns << " " << tail);
    const json v40 = get_json(sim, url(ns, 0, tail)).at("data");
    REQUIRE_FALSE(v40.empty());
    const std::string first = v40[0].at("extId");
    const Got one = get_one(sim, url(ns, 0, tail + "/" + first));
    for (int m = 1; m <= 3; ++m) {
      const json body = get_json(sim, url(ns, m, tail));
      CHECK(body.at("data") == v40);
      CHECK(body.at("metadata")
                .at("links")[0]
                .at("href")
                .get<std::string>()
                .rfind(url(ns, m, tail) + "?", 0) == 0);
      const Got again = get_one(sim, url(ns, m, tail + "/" + first));
      CHECK(again.data == one.data);
      CHECK(again.etag == one.etag);
    }
    const auto newer = get(sim, url(ns, 4, tail));
    CHECK(newer.response.status == 404);
    CHECK(error_object_type(newer) == ns + ".v4.error.ErrorResponse");
  }
  for (const std::string bad : {"v4", "v4.01", "v4.x", "v3"}) {
    CHECK(get(sim, "/api/microseg/" + bad + "/config/policies").response.status == 404);
  }

  Simulator older(site_from_json(v4_doc()), at_version(3, "v4.1"));
  CHECK(get(older, url("microseg", 1, "policies")).response.status == 200);
  CHECK(get(older, url("networking", 1, "vpcs")).response.status == 200);
  CHECK(get(older, url("microseg", 2, "policies")).response.status == 404);
  CHECK(get(older, url("prism", 2, "categories")).response.status == 404);
  CHECK(get(older, url("networking", 3, "vpcs")).response.status == 404);
  // Same seed, same data: the version changes what is served, not the ids.
  CHECK(get_json(older, url("microseg", 0, "policies")).at("data") ==
        get_json(sim, url("microseg", 0, "policies")).at("data"));

  for (const std::string bad : {"v4.4", "v4", "v4.01", "4.1", "v3.0", ""}) {
    INFO(bad);
    CHECK_THROWS_AS(Simulator(small_site(1), at_version(1, bad)), std::invalid_argument);
  }
}

TEST_CASE("the newest v4 version switches at runtime through the admin API and set_v4_version",
          "[unit][pcsim][v4]") {
  Simulator sim(site_from_json(v4_doc()), at_version(4));
  auto current = get(sim, "/_pcsim/version");
  CHECK(current.response.status == 200);
  CHECK(json::parse(current.response.body) == json{{"version", "v4.3"}});
  const std::string before = get_json(sim, url("microseg", 3, "policies")).at("data").dump();
  CHECK(get(sim, url("microseg", 3, "entity-groups")).response.status == 200);

  auto down = send(sim, "POST", "/_pcsim/version", {{"version", "v4.1"}});
  CHECK(down.response.status == 200);
  CHECK(json::parse(down.response.body) == json{{"version", "v4.1"}});
  CHECK(sim.v4_version() == "v4.1");
  CHECK(sim.stats().at("v4_version") == "v4.1");
  CHECK(get(sim, url("microseg", 3, "entity-groups")).response.status == 404);
  CHECK(get(sim, url("microseg", 2, "policies")).response.status == 404);
  CHECK(get(sim, url("microseg", 1, "entity-groups")).response.status == 200);
  CHECK(get_json(sim, url("microseg", 1, "policies")).at("data").dump() == before);

  for (const std::string body :
       {R"({"version":"v4.4"})", R"({"version":"v4.10"})", R"({"version":"v5.0"})",
        R"({"version":"4.1"})", R"({"version":3})", R"({"mode":"v4.2"})", "v4.2"}) {
    INFO(body);
    CHECK(sim.handle(request("POST", "/_pcsim/version", body)).response.status == 400);
  }
  CHECK(sim.v4_version() == "v4.1");
  CHECK(send(sim, "DELETE", "/_pcsim/version").response.status == 405);

  sim.set_v4_version("v4.3");
  CHECK(json::parse(get(sim, "/_pcsim/version").response.body).at("version") == "v4.3");
  CHECK(get(sim, url("microseg", 3, "entity-groups")).response.status == 200);
  CHECK(get_json(sim, url("microseg", 3, "policies")).at("data").dump() == before);
  CHECK_THROWS_AS(sim.set_v4_version("v4.9"), std::invalid_argument);
  CHECK(sim.v4_version() == "v4.3");
}

TEST_CASE("one v4 namespace can lag the PC's version or be absent", "[unit][pcsim][v4]") {
  auto options = at_version(5);
  options.v4_namespace_versions = {{"microseg", "v4.1"}, {"networking", "none"}};
  Simulator sim(site_from_json(v4_doc()), options);
  CHECK(get(sim, url("microseg", 3, "policies")).response.status == 404);
  CHECK(get(sim, url("microseg", 2, "policies")).response.status == 404);
  CHECK(get(sim, url("microseg", 1, "policies")).response.status == 200);
  CHECK(get(sim, url("microseg", 1, "entity-groups")).response.status == 200);
  CHECK(get(sim, url("prism", 3, "categories")).response.status == 200);
  for (int minor = 0; minor <= 3; ++minor) {
    CHECK(get(sim, url("networking", minor, "vpcs")).response.status == 404);
  }

  sim.set_v4_namespace_version("microseg", "");  // upgraded to the PC's version
  sim.set_v4_namespace_version("networking", "v4.3");
  CHECK(get(sim, url("microseg", 3, "policies")).response.status == 200);
  CHECK(get(sim, url("networking", 3, "vpcs")).response.status == 200);
  // Never above the PC's own version.
  sim.set_v4_version("v4.2");
  CHECK(get(sim, url("networking", 3, "vpcs")).response.status == 404);
  CHECK(get(sim, url("networking", 2, "vpcs")).response.status == 200);

  CHECK_THROWS_AS(sim.set_v4_namespace_version("clustermgmt", "v4.1"), std::invalid_argument);
  CHECK_THROWS_AS(sim.set_v4_namespace_version("prism", "v4.9"), std::invalid_argument);
  auto bad = at_version(5);
  bad.v4_namespace_versions = {{"prism", ""}};
  CHECK_THROWS_AS(Simulator(site_from_json(v4_doc()), bad), std::invalid_argument);
}

TEST_CASE("writes, tasks, ETags, faults, modes and churn work alike on every served version",
          "[unit][pcsim][v4]") {
  Simulator sim(site_from_json(v4_doc()), at_version(5));
  const std::string ag = *sim.address_group_uuid("ag-two");
  const Got got = get_one(sim, url("microseg", 1, "address-groups/" + ag));
  CHECK(get_one(sim, url("microseg", 3, "address-groups/" + ag)).etag == got.etag);
  json body = got.data;
  body["description"] = "edited at v4.3";
  auto put = send(sim, "PUT", url("microseg", 3, "address-groups/" + ag), body, got.etag);
  REQUIRE(put.response.status == 202);
  const json reference = json::parse(put.response.body);
  const std::string task = reference.at("data").at("extId");
  CHECK(reference.at("metadata").at("links")[0].at("href") == url("prism", 3, "tasks/" + task));
  CHECK(get_json(sim, url("prism", 2, "tasks/" + task)).at("data").at("status") == "SUCCEEDED");
  CHECK(get_one(sim, url("microseg", 0, "address-groups/" + ag)).data.at("description") ==
        "edited at v4.3");
  CHECK(send(sim, "PUT", url("microseg", 2, "address-groups/" + ag), body, got.etag)
            .response.status == 412);

  sim.add_fault(parse_fault("v4_vpcs:status=503,count=1"));
  sim.add_fault(parse_fault("v4_entity_groups_crud:status=500,count=1"));
  CHECK(get(sim, url("networking", 2, "vpcs")).response.status == 503);
  CHECK(get(sim, url("networking", 2, "vpcs")).response.status == 200);
  const std::string group =
      get_json(sim, url("microseg", 1, "entity-groups")).at("data")[0].at("extId");
  CHECK(get(sim, url("microseg", 3, "entity-groups/" + group)).response.status == 500);
  CHECK(get(sim, url("microseg", 3, "entity-groups/" + group)).response.status == 200);
  CHECK_NOTHROW(parse_fault("v4_vpcs_crud:drop"));
  CHECK_NOTHROW(parse_fault("v4_entity_groups:empty"));
  const json endpoints = sim.stats().at("endpoints");
  CHECK(endpoints.at("v4_vpcs").at("503") == 1);
  CHECK(endpoints.at("v4_vpcs").at("200") == 1);
  CHECK(endpoints.at("v4_entity_groups_crud").at("500") == 1);
  CHECK(endpoints.at("v4_entity_groups").at("total") == 1);

  const std::string vpc = get_json(sim, url("networking", 0, "vpcs")).at("data")[0].at("extId");
  sim.set_api_mode("v3");
  for (const auto& path :
       {url("microseg", 3, "policies"), url("networking", 0, "vpcs"),
        url("networking", 3, "vpcs/" + vpc), url("microseg", 2, "entity-groups")}) {
    INFO(path);
    CHECK(get(sim, path).response.status == 404);
  }
  sim.set_api_mode("both");

  sim.set_churn(true);
  CHECK(sim.stats().at("churn_edits") == 0);
  get(sim, url("microseg", 2, "policies"));
  get(sim, url("microseg", 3, "policies"));
  CHECK(sim.stats().at("churn_edits") == 2);
}

TEST_CASE("v4.0 has no entity-groups path", "[unit][pcsim][v4]") {
  Simulator sim(site_from_json(v4_doc()), at_version(6));
  const auto list = get(sim, url("microseg", 0, "entity-groups"));
  CHECK(list.response.status == 404);
  CHECK(error_object_type(list) == "microseg.v4.error.ErrorResponse");
  const std::string id =
      get_json(sim, url("microseg", 1, "entity-groups")).at("data")[0].at("extId");
  CHECK(get(sim, url("microseg", 0, "entity-groups/" + id)).response.status == 404);
  CHECK(get(sim, url("microseg", 1, "entity-groups/" + id)).response.status == 200);
  CHECK(sim.stats().at("endpoints").at("unknown").at("404") == 2);
}

TEST_CASE("entity groups and VPCs resolve references to this instance's extIds",
          "[unit][pcsim][v4]") {
  const SiteData site = site_from_json(v4_doc());
  Simulator a(site, at_version(11)), b(site, at_version(12));
  std::map<std::string, std::string> ids_a;
  for (Simulator* sim : {&a, &b}) {
    const auto vpcs = get_all(*sim, url("networking", 3, "vpcs"));
    REQUIRE(names_of(vpcs) == std::vector<std::string>{"vpc-dev", "vpc-prod"});
    CHECK(vpcs[1].at("$objectType") == "networking.v4.config.Vpc");
    CHECK(vpcs[1].at("description") == "production");
    CHECK(vpcs[0].at("description") == "");
    CHECK(vpcs[1].at("vpcType") == "REGULAR");
    CHECK(vpcs[1].at("metadata").at("ownerReferenceId") == owner_of(*sim));
    CHECK(uuid_shaped(vpcs[1].at("extId")));
    const Got vpc =
        get_one(*sim, url("networking", 3, "vpcs/" + vpcs[1].at("extId").get<std::string>()));
    CHECK(vpc.data == vpcs[1]);

    const auto cats = ids_by_name(*sim, url("prism", 3, "categories"));
    const auto groups = get_all(*sim, url("microseg", 3, "entity-groups"));
    REQUIRE(names_of(groups) == std::vector<std::string>{"eg-db", "eg-web"});
    const json& web = groups[1];
    CHECK(web.at("$objectType") == "microseg.v4.config.EntityGroup");
    CHECK(web.at("description") == "web tier");
    CHECK(web.at("allowedConfig").at("entities")[0].at("referenceExtIds") ==
          json::array({cats.at("AppType:Web")}));
    CHECK(web.at("allowedConfig").at("entities")[0].at("selectBy") == "CATEGORY_EXT_ID");
    CHECK(web.at("exceptConfig").at("entities")[0].at("referenceExtIds") ==
          json::array({*sim->address_group_uuid("ag-two")}));
    CHECK(groups[0].at("allowedConfig").at("entities")[0].at("referenceExtIds") ==
          json::array({cats.at("AppType:DB")}));
    CHECK(groups[0].at("description") == "@Ops: owned by ops");  // not a reference: kept
    CHECK(web.at("ownerExtId") == owner_of(*sim));
    // Only what every version with entity groups has: v4.1 lacks the timestamps.
    CHECK_FALSE(web.contains("creationTime"));
    CHECK_FALSE(web.contains("isSystemDefined"));
    const auto policies = ids_by_name(*sim, url("microseg", 3, "policies"));
    CHECK(web.at("policyExtIds") == json::array({policies.at("zone-prod")}));
    CHECK(as_set(groups[0].at("policyExtIds")) ==
          std::set<std::string>{policies.at("zone-prod"), policies.at("rule-0001")});
    const Got one =
        get_one(*sim, url("microseg", 1, "entity-groups/" + web.at("extId").get<std::string>()));
    CHECK(one.data == web);

    if (sim == &a) {
      ids_a = {{"vpc", vpcs[1].at("extId")},
               {"group", web.at("extId")},
               {"policy", policies.at("zone-prod")}};
    } else {
      CHECK(ids_a.at("vpc") != vpcs[1].at("extId"));
      CHECK(ids_a.at("group") != web.at("extId"));
      CHECK(ids_a.at("policy") != policies.at("zone-prod"));
    }
  }

  const std::string eg = ids_a.at("group");
  for (const std::string method : {"PUT", "DELETE"}) {
    auto r = send(a, method, url("microseg", 3, "entity-groups/" + eg), json::object(), "\"x\"");
    CHECK(r.response.status == 405);
  }
  CHECK(
      send(a, "POST", url("microseg", 3, "entity-groups"), {{"name", "eg-new"}}).response.status ==
      405);
  CHECK(send(a, "PUT", url("networking", 3, "vpcs/" + ids_a.at("vpc")), json::object())
            .response.status == 405);
  const auto missing = get(a, url("networking", 3, "vpcs/" + kDeadUuid));
  CHECK(missing.response.status == 404);
  CHECK(error_object_type(missing) == "networking.v4.error.ErrorResponse");
  CHECK(json::parse(missing.response.body).at("$objectType") ==
        "networking.v4.config.GetVpcApiResponse");
  CHECK(json::parse(get(a, url("networking", 3, "vpcs")).response.body).at("$objectType") ==
        "networking.v4.config.ListVpcsApiResponse");
  CHECK(json::parse(get(a, url("microseg", 3, "entity-groups")).response.body).at("$objectType") ==
        "microseg.v4.config.ListEntityGroupsApiResponse");
  CHECK(json::parse(get(a, url("microseg", 3, "entity-groups/" + eg)).response.body)
            .at("$objectType") == "microseg.v4.config.GetEntityGroupApiResponse");
}

TEST_CASE("native policies are listed among the v3-stored ones as written", "[unit][pcsim][v4]") {
  Simulator sim(site_from_json(v4_doc()), at_version(21));
  const auto all = get_all(sim, url("microseg", 3, "policies"));
  REQUIRE(names_of(all) ==
          std::vector<std::string>{"aaa-first", "rule-0000", "rule-0001", "zone-prod"});
  const json& zone = all[3];
  const auto vpcs = ids_by_name(sim, url("networking", 3, "vpcs"));
  const auto groups = ids_by_name(sim, url("microseg", 3, "entity-groups"));
  CHECK(keys_of(zone) == std::set<std::string>{"$objectType", "createdBy", "creationTime",
                                               "description", "extId", "futureTopLevel",
                                               "isSystemDefined", "lastUpdateTime", "name", "rules",
                                               "scope", "securedEntityGroupReferences", "state",
                                               "type", "vpcReferences"});
  CHECK(zone.at("$objectType") == "microseg.v4.config.NetworkSecurityPolicy");
  CHECK(zone.at("type") == "ZONE");
  CHECK(zone.at("futureTopLevel") == json{{"anything", json::array({1, 2})}});
  CHECK(zone.at("vpcReferences") == json::array({vpcs.at("vpc-prod")}));
  CHECK(zone.at("securedEntityGroupReferences") == json::array({groups.at("eg-web")}));
  CHECK(zone.at("createdBy") == owner_of(sim));
  CHECK(zone.at("isSystemDefined") == false);
  const json& flex = zone.at("rules")[0];
  CHECK(keys_of(flex) == std::set<std::string>{"$objectType", "extId", "name", "spec", "type"});
  CHECK(flex.at("$objectType") == "microseg.v4.config.NetworkSecurityPolicyRule");
  CHECK(flex.at("spec").at("$objectType") == "microseg.v4.config.FlexRuleSpec");
  CHECK(flex.at("spec").at("appliedToEntityGroupReferences") == json::array({groups.at("eg-web")}));
  CHECK(flex.at("spec").at("srcEntityGroupReferences") == json::array({groups.at("eg-db")}));
  const json& shared = zone.at("rules")[1];
  CHECK(shared.at("type") == "SHARED_SERVICE");
  CHECK(shared.at("spec").at("serviceGroupReferences") ==
        json::array({*sim.service_group_uuid("sg-web")}));
  CHECK(shared.at("spec").at("destAddressGroupReferences") == json::array({kDeadUuid}));
  const std::set<std::string> ids = {zone.at("extId"), flex.at("extId"), shared.at("extId")};
  CHECK(ids.size() == 3);
  for (const auto& id : ids) CHECK(uuid_shaped(id));

  const std::string target = url("microseg", 0, "policies/" + zone.at("extId").get<std::string>());
  const Got one = get_one(sim, target);
  CHECK(one.data == zone);
  for (const std::string method : {"PUT", "DELETE"}) {
    auto r = send(sim, method, target, one.data, one.etag);
    CHECK(r.response.status == 405);
    CHECK(error_message(r) == "pcsim: v4-native policies are read-only");
  }
  CHECK(get_one(sim, target).data == zone);

  const json v3 = post_json(sim, "/network_security_rules/list", json::object());
  CHECK(v3.at("metadata").at("total_matches") == 2);
  for (int page = 0; page < 4; ++page) {
    const json body =
        get_json(sim, url("microseg", 2, "policies") + "?$limit=1&$page=" + std::to_string(page));
    CHECK(body.at("metadata").at("totalAvailableResults") == 4);
    CHECK(body.at("data")[0].at("name") == all[static_cast<std::size_t>(page)].at("name"));
  }
}

TEST_CASE("an unknown reference is a load error naming the place", "[unit][pcsim][v4]") {
  using Catch::Contains;
  json doc = v4_doc();
  doc["v4"]["policies"][0]["securedEntityGroupReferences"][0] = "@entity_group:eg-nope";
  CHECK_THROWS_WITH(
      load(doc), Contains("v4.policies[0].securedEntityGroupReferences[0]") && Contains("eg-nope"));
  doc = v4_doc();
  doc["v4"]["entity_groups"][0]["allowedConfig"]["entities"][0]["referenceExtIds"][0] =
      "@category:AppType:Nope";
  CHECK_THROWS_WITH(load(doc),
                    Contains("v4.entity_groups[0].allowedConfig.entities[0].referenceExtIds[0]") &&
                        Contains("AppType:Nope"));
  doc = v4_doc();
  doc["v4"]["policy_fields"]["rule-0001"]["vpcReferences"][0] = "@vpc:vpc-nope";
  CHECK_THROWS_WITH(
      load(doc), Contains("v4.policy_fields.rule-0001.vpcReferences[0]") && Contains("vpc-nope"));
  doc = v4_doc();
  doc["v4"]["vpcs"][0]["description"] = "@address_group:ag-nope";
  CHECK_THROWS_WITH(load(doc), Contains("v4.vpcs[0].description") && Contains("ag-nope"));
  doc = v4_doc();
  doc["v4"]["policies"][1]["rules"] = json::array({{{"spec", {{"x", "@vm:web-1"}}}}});
  CHECK_THROWS_WITH(load(doc), Contains("v4.policies[1].rules[0].spec.x") &&
                                   Contains("unknown reference kind 'vm'"));
  doc = v4_doc();
  doc["v4"]["policies"][1]["description"] = "@entity_group:";
  CHECK_THROWS_WITH(load(doc), Contains("v4.policies[1].description") && Contains("no name"));
  doc = v4_doc();
  doc["v4"]["policy_fields"]["rule-9999"] = {{"scope", "ALL_VPC"}};
  CHECK_THROWS_WITH(load(doc),
                    Contains("v4.policy_fields.rule-9999") && Contains("no v3-stored policy"));
  CHECK_NOTHROW(load(v4_doc()));

  doc = v4_doc();
  doc["v4"]["bogus"] = json::array();
  CHECK_THROWS_WITH(site_from_json(doc), Contains("v4.bogus") && Contains("unknown key"));
  doc = v4_doc();
  doc["v4"]["vpcs"][1]["name"] = "vpc-prod";
  CHECK_THROWS_WITH(site_from_json(doc),
                    Contains("v4.vpcs[1]") && Contains("duplicate name 'vpc-prod'"));
  doc = v4_doc();
  doc["v4"]["policies"][1].erase("name");
  CHECK_THROWS_WITH(site_from_json(doc), Contains("v4.policies[1]") && Contains("name"));
  doc = v4_doc();
  doc["v4"]["policy_fields"]["rule-0000"] = json::array();
  CHECK_THROWS_WITH(site_from_json(doc),
                    Contains("v4.policy_fields.rule-0000") && Contains("object"));
  CHECK_THROWS_WITH(site_from_json(json{{"v4", json::array()}}),
                    Contains("v4") && Contains("object"));
}

TEST_CASE("policy_fields merge into a v3-stored policy and survive churn and writes",
          "[unit][pcsim][v4]") {
  Simulator sim(site_from_json(v4_doc()), at_version(31));
  const std::string uuid = sim.rule_by_name("rule-0001")->at("metadata").at("uuid");
  const std::string target = url("microseg", 3, "policies/" + uuid);
  const auto vpcs = ids_by_name(sim, url("networking", 3, "vpcs"));
  const auto groups = ids_by_name(sim, url("microseg", 3, "entity-groups"));
  auto check_fields = [&](const json& policy) {
    CHECK(policy.at("futureField") == json{{"x", 1}});
    CHECK(policy.at("scope") == "VPC_LIST");
    CHECK(policy.at("vpcReferences") == json::array({vpcs.at("vpc-prod")}));
    CHECK(policy.at("securedEntityGroupReferences") == json::array({groups.at("eg-db")}));
    CHECK(policy.at("name") == "rule-0001");
    CHECK(policy.at("type") == "APPLICATION");
    CHECK_FALSE(policy.at("rules").empty());
  };
  const Got loaded = get_one(sim, target);
  check_fields(loaded.data);
  const std::string other = sim.rule_by_name("rule-0000")->at("metadata").at("uuid");
  const Got untouched = get_one(sim, url("microseg", 3, "policies/" + other));
  CHECK(untouched.data.at("scope") == "ALL_VLAN");
  CHECK_FALSE(untouched.data.contains("futureField"));

  sim.set_churn(true);
  get(sim, url("microseg", 3, "policies"));
  get(sim, url("microseg", 3, "policies"));
  sim.set_churn(false);
  const Got churned = get_one(sim, target);
  CHECK(churned.etag != loaded.etag);
  CHECK(churned.data.at("description").get<std::string>().find("(rev ") != std::string::npos);
  check_fields(churned.data);

  json entity = *sim.rule_by_name("rule-0001");
  json v3_body = {{"metadata", entity.at("metadata")}, {"spec", entity.at("spec")}};
  v3_body["spec"]["description"] = "v3 edit";
  const std::string v3_path = std::string(kApiBase) + "/network_security_rules/" + uuid;
  CHECK(sim.handle(request("PUT", v3_path, v3_body.dump())).response.status == 202);
  const Got after_v3 = get_one(sim, target);
  CHECK(after_v3.data.at("description") == "v3 edit");
  check_fields(after_v3.data);

  json v4_body = after_v3.data;
  v4_body["description"] = "v4 edit";
  CHECK(send(sim, "PUT", target, v4_body, after_v3.etag).response.status == 202);
  const Got after_v4 = get_one(sim, target);
  CHECK(after_v4.data.at("description") == "v4 edit");
  check_fields(after_v4.data);

  // Deleted, the policy no longer counts as a user of the entity group it referenced.
  const std::string eg_db = url("microseg", 3, "entity-groups/" + groups.at("eg-db"));
  const std::string zone = ids_by_name(sim, url("microseg", 3, "policies")).at("zone-prod");
  CHECK(as_set(get_one(sim, eg_db).data.at("policyExtIds")) == std::set<std::string>{uuid, zone});
  CHECK(sim.handle(request("DELETE", v3_path)).response.status == 202);
  CHECK(get_one(sim, eg_db).data.at("policyExtIds") == json::array({zone}));
}

TEST_CASE("the v4 section round-trips through site_to_json and site_from_json",
          "[unit][pcsim][v4]") {
  const json doc = v4_doc();
  const SiteData site = site_from_json(doc);
  const json dumped = site_to_json(site);
  CHECK(dumped.at("v4") == doc.at("v4"));
  CHECK(dumped.at("v4").at("policies")[0].at("vpcReferences")[0] == "@vpc:vpc-prod");
  CHECK(site_to_json(site_from_json(dumped)) == dumped);

  flowdrift::test::TempDir dir;
  write_site_file(dir.file("site.json"), site);
  CHECK(site_to_json(load_site_file(dir.file("site.json"))) == dumped);

  CHECK_FALSE(site_to_json(small_site(1)).contains("v4"));
  const SiteData vpcs_only =
      site_from_json(json{{"v4", {{"vpcs", json::array({{{"name", "vpc-a"}}})}}}});
  CHECK(vpcs_only.v4.vpcs.size() == 1);
  CHECK(site_from_json(site_to_json(vpcs_only)).v4.vpcs == vpcs_only.v4.vpcs);
  CHECK(site_to_json(vpcs_only).at("v4").at("policies") == json::array());

  // Two instances of the dumped site: same names, their own extIds.
  Simulator a(site_from_json(dumped), at_version(41)), b(site_from_json(dumped), at_version(42));
  const auto va = ids_by_name(a, url("networking", 3, "vpcs"));
  const auto vb = ids_by_name(b, url("networking", 3, "vpcs"));
  REQUIRE(va.size() == 2);
  REQUIRE(vb.size() == 2);
  CHECK(va.begin()->first == vb.begin()->first);
  CHECK(va.begin()->second != vb.begin()->second);
}
