// pcsim API: paging, auth, entity shapes against the fixtures, CRUD, per-instance identity,
// churn and list performance.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <set>

#include "pcsim_test_helpers.hpp"

using namespace flowdrift;
using namespace flowdrift::pcsim;
using namespace flowdrift::pcsim::testing;

namespace {

void check_error_envelope(const http::ServerReply& r, int status, const std::string& reason) {
  CHECK(r.response.status == status);
  auto body = json::parse(r.response.body);
  CHECK(body.at("api_version") == "3.1");
  CHECK(body.at("code") == status);
  CHECK(body.at("state") == "ERROR");
  CHECK(body.contains("kind"));
  REQUIRE(body.at("message_list").size() == 1);
  CHECK(body.at("message_list")[0].at("reason") == reason);
  CHECK(body.at("message_list")[0].at("message").is_string());
}

// Specs as a client would canonicalize them: rule_ids dropped, group uuids mapped to names.
json portable_spec(const Simulator& sim, const SiteData& site, json spec) {
  std::map<std::string, std::string> names;
  for (const auto& g : site.address_groups) names[*sim.address_group_uuid(g.name)] = g.name;
  for (const auto& g : site.service_groups) names[*sim.service_group_uuid(g.name)] = g.name;
  auto& res = spec.at("resources");
  for (auto rk : {"app_rule", "quarantine_rule"}) {
    if (!res.contains(rk)) continue;
    for (auto dir : {"inbound_allow_list", "outbound_allow_list"}) {
      for (auto& e : res.at(rk).at(dir)) {
        e.erase("rule_id");
        for (auto list : {"address_group_inclusion_list", "service_group_list"}) {
          if (!e.contains(list)) continue;
          for (auto& ref : e.at(list)) ref = {{"kind", ref.at("kind")}, {"name", names.at(ref.at("uuid"))}};
        }
      }
    }
  }
  return spec;
}

std::vector<json> all_rules(Simulator& sim, int length) {
  std::vector<json> out;
  long long offset = 0;
  for (;;) {
    auto page = post_json(sim, "/network_security_rules/list",
                          {{"kind", "network_security_rule"}, {"offset", offset}, {"length", length}});
    for (auto& e : page.at("entities")) out.push_back(e);
    offset += static_cast<long long>(page.at("entities").size());
    if (page.at("entities").empty() || offset >= page.at("metadata").at("total_matches").get<long long>()) break;
  }
  return out;
}

}  // namespace

TEST_CASE("rules list pages: default 20, clamp to 500, offset past the end", "[unit][pcsim]") {
  Simulator sim(small_site(1234));

  auto first = post_json(sim, "/network_security_rules/list", {{"kind", "network_security_rule"}});
  CHECK(first.at("api_version") == "3.1");
  CHECK(first.at("entities").size() == 20);
  CHECK(first.at("metadata").at("total_matches") == 1234);
  CHECK(first.at("metadata").at("length") == 20);
  CHECK(first.at("metadata").at("offset") == 0);
  CHECK(first.at("entities")[0].at("spec").at("name") == "rule-0000");

  auto big = post_json(sim, "/network_security_rules/list", {{"length", 1000}, {"offset", 100}});
  CHECK(big.at("entities").size() == 500);
  CHECK(big.at("metadata").at("length") == 500);
  CHECK(big.at("entities")[0].at("spec").at("name") == "rule-0100");

  auto tail = post_json(sim, "/network_security_rules/list", {{"length", 500}, {"offset", 1000}});
  CHECK(tail.at("entities").size() == 234);
  CHECK(tail.at("metadata").at("total_matches") == 1234);

  auto past = post_json(sim, "/network_security_rules/list", {{"length", 500}, {"offset", 5000}});
  CHECK(past.at("entities").empty());
  CHECK(past.at("metadata").at("total_matches") == 1234);
  CHECK(past.at("metadata").at("length") == 0);

  // An empty body is the defaults.
  auto empty_body = sim.handle(request("POST", "/api/nutanix/v3/network_security_rules/list"));
  CHECK(empty_body.response.status == 200);
  CHECK(json::parse(empty_body.response.body).at("entities").size() == 20);

  // Walking every page yields each rule once, in name order.
  auto rules = all_rules(sim, 500);
  REQUIRE(rules.size() == 1234);
  std::set<std::string> uuids;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    uuids.insert(rules[i].at("metadata").at("uuid").get<std::string>());
    if (i) CHECK(rules[i - 1].at("spec").at("name") < rules[i].at("spec").at("name"));
  }
  CHECK(uuids.size() == 1234);
}

TEST_CASE("max_page_length caps every v3 list page below what length asks", "[unit][pcsim]") {
  SimulatorOptions options;
  options.max_page_length = 40;
  Simulator sim(small_site(95), options);
  auto first = post_json(sim, "/network_security_rules/list", {{"length", 100}});
  CHECK(first.at("entities").size() == 40);
  CHECK(first.at("metadata").at("length") == 40);
  CHECK(first.at("metadata").at("total_matches") == 95);
  auto last = post_json(sim, "/network_security_rules/list", {{"length", 100}, {"offset", 80}});
  CHECK(last.at("entities").size() == 15);
  CHECK(last.at("entities")[0].at("spec").at("name") == "rule-0080");
  auto groups = post_json(sim, "/address_groups/list", {{"kind", "address_group"}, {"length", 100}});
  CHECK(groups.at("entities").size() <= 40);
  // Smaller requests are served as asked.
  CHECK(post_json(sim, "/network_security_rules/list", {{"length", 7}}).at("entities").size() == 7);

  for (int bad : {0, -1, kMaxPageLength + 1}) {
    SimulatorOptions o;
    o.max_page_length = bad;
    CHECK_THROWS_AS(Simulator(small_site(1), o), std::invalid_argument);
  }
}

TEST_CASE("sort_order DESCENDING reverses and is echoed like the fixture", "[unit][pcsim]") {
  Simulator sim(small_site(3));
  auto page = post_json(sim, "/network_security_rules/list",
                        {{"kind", "network_security_rule"}, {"offset", 2}, {"length", 1},
                         {"sort_attribute", "name"}, {"sort_order", "DESCENDING"}});
  CHECK(page.at("entities").size() == 1);
  CHECK(page.at("entities")[0].at("spec").at("name") == "rule-0000");
  auto fx = fixture("v3_nsr_list_isolation_rule.json");
  CHECK(keys_of(page.at("metadata")) == keys_of(fx.at("metadata")));
  CHECK(page.at("metadata") == fx.at("metadata"));  // same paging: kind, totals and echo
}

TEST_CASE("invalid list requests get a 422 VALIDATION_ERROR envelope", "[unit][pcsim]") {
  Simulator sim(small_site(5));
  const std::string path = "/api/nutanix/v3/network_security_rules/list";
  for (const char* body : {R"({"offset": -1})", R"({"length": 0})", R"({"length": -5})",
                           R"({"length": "abc"})", R"({"length": 1.5})", R"({"offset": "0"})",
                           R"({"kind": "vm"})", R"({"sort_order": "UP"})", "not json", "[1,2]"}) {
    INFO(body);
    check_error_envelope(sim.handle(request("POST", path, body)), 422, "VALIDATION_ERROR");
  }
  check_error_envelope(sim.handle(request("POST", "/api/nutanix/v3/address_groups/list", R"({"length": -1})")),
                       422, "VALIDATION_ERROR");
}

TEST_CASE("basic auth is required everywhere and 401 bodies are plain text", "[unit][pcsim]") {
  Simulator sim(small_site(2));
  auto check_401 = [](const http::ServerReply& r) {
    CHECK(r.response.status == 401);
    CHECK(r.response.header("Content-Type").value_or("").find("text/plain") == 0);
    CHECK(json::parse(r.response.body, nullptr, false).is_discarded());
  };
  check_401(sim.handle(request("POST", "/api/nutanix/v3/network_security_rules/list", "{}", false)));
  check_401(sim.handle(request("GET", "/_pcsim/stats", "", false)));
  check_401(sim.handle(request("POST", "/api/nutanix/v3/nothing/here", "{}", false)));

  auto wrong = request("POST", "/api/nutanix/v3/address_groups/list", "{}", false);
  wrong.headers.push_back({"Authorization", http::basic_auth_header("admin", "wrong")});
  check_401(sim.handle(wrong));
  auto garbage = request("POST", "/api/nutanix/v3/address_groups/list", "{}", false);
  garbage.headers.push_back({"Authorization", "Basic %%%"});
  check_401(sim.handle(garbage));

  SimulatorOptions opts;
  opts.user = "svc";
  opts.password = "s3cret";
  Simulator custom(small_site(1), opts);
  check_401(custom.handle(request("POST", "/api/nutanix/v3/network_security_rules/list", "{}")));
  auto ok = request("POST", "/api/nutanix/v3/network_security_rules/list", "{}", false);
  ok.headers.push_back({"Authorization", http::basic_auth_header("svc", "s3cret")});
  CHECK(custom.handle(ok).response.status == 200);
}

TEST_CASE("unknown paths and uuids answer 404 envelopes", "[unit][pcsim]") {
  Simulator sim(small_site(2));
  check_error_envelope(sim.handle(request("POST", "/api/nutanix/v3/images/list", "{}")), 404,
                       "ENTITY_NOT_FOUND");
  check_error_envelope(sim.handle(request("GET", "/index.html")), 404, "ENTITY_NOT_FOUND");
  check_error_envelope(
      sim.handle(request("GET", "/api/nutanix/v3/network_security_rules/00000000-0000-4000-8000-000000000000")),
      404, "ENTITY_NOT_FOUND");
  check_error_envelope(sim.handle(request("POST", "/api/nutanix/v3/categories/NoSuchKey/list", "{}")),
                       404, "ENTITY_NOT_FOUND");
  CHECK(sim.handle(request("GET", "/api/nutanix/v3/network_security_rules/list")).response.status == 405);
}

TEST_CASE("generated entities have the fixtures' shapes", "[unit][pcsim]") {
  const auto site = generate_site(60, 11);
  Simulator sim(site);
  auto rules = all_rules(sim, 500);
  REQUIRE(rules.size() == 60);

  auto iso_fx = fixture("v3_nsr_list_isolation_rule.json").at("entities")[0];
  auto app_fx = fixture("v3_nsr_app_rule_intent_response.json");
  bool saw_iso = false, saw_app = false;
  for (const auto& e : rules) {
    CHECK(keys_of(e) == keys_of(iso_fx));
    CHECK(keys_of(e.at("metadata")) == keys_of(iso_fx.at("metadata")));
    CHECK(keys_of(e.at("status")) == keys_of(iso_fx.at("status")));
    CHECK(e.at("metadata").at("kind") == "network_security_rule");
    CHECK(keys_of(e.at("metadata").at("owner_reference")) == keys_of(iso_fx.at("metadata").at("owner_reference")));
    CHECK(e.at("status").at("state") == "COMPLETE");
    CHECK(e.at("status").at("execution_context").at("task_uuid").is_array());
    CHECK(e.at("status").at("resources") == e.at("spec").at("resources"));
    CHECK(e.at("status").at("name") == e.at("spec").at("name"));
    const auto& res = e.at("spec").at("resources");
    if (res.contains("isolation_rule")) {
      saw_iso = true;
      CHECK(keys_of(res.at("isolation_rule")) == keys_of(iso_fx.at("spec").at("resources").at("isolation_rule")));
    }
    if (res.contains("app_rule")) {
      saw_app = true;
      const auto& fx_app = app_fx.at("spec").at("resources").at("app_rule");
      CHECK(keys_of(res.at("app_rule")) == keys_of(fx_app));
      CHECK(keys_of(res.at("app_rule").at("target_group")) == keys_of(fx_app.at("target_group")));
      for (const auto& entry : res.at("app_rule").at("inbound_allow_list")) {
        CHECK(entry.at("rule_id").is_number_integer());
        for (auto list : {"address_group_inclusion_list", "service_group_list"}) {
          if (!entry.contains(list)) continue;
          for (const auto& ref : entry.at(list)) {
            CHECK(keys_of(ref) == std::set<std::string>{"kind", "uuid"});  // names must be resolved
          }
        }
      }
    }
  }
  CHECK(saw_iso);
  CHECK(saw_app);

  auto ags = post_json(sim, "/address_groups/list", {{"kind", "address_group"}});
  auto ag_fx = fixture("v3_address_groups_list.json");
  CHECK(keys_of(ags) == keys_of(ag_fx));
  CHECK(keys_of(ags.at("metadata")) == keys_of(ag_fx.at("metadata")));
  CHECK(ags.at("metadata").at("kind") == "address_group");
  REQUIRE_FALSE(ags.at("entities").empty());
  CHECK(keys_of(ags.at("entities")[0]) == keys_of(ag_fx.at("entities")[0]));
  CHECK(keys_of(ags.at("entities")[0].at("address_group")) ==
        keys_of(ag_fx.at("entities")[0].at("address_group")));

  auto sgs = post_json(sim, "/service_groups/list",
                       {{"kind", "service_group"}, {"sort_attribute", "name"}, {"sort_order", "ASCENDING"}});
  auto sg_fx = fixture("v3_service_groups_list.json");
  CHECK(keys_of(sgs.at("metadata")) == keys_of(sg_fx.at("metadata")));
  CHECK(keys_of(sgs.at("entities")[0]) == keys_of(sg_fx.at("entities")[0]));
  CHECK(keys_of(sgs.at("entities")[0].at("service_group")) ==
        keys_of(sg_fx.at("entities")[0].at("service_group")));

  auto keys = post_json(sim, "/categories/list", {{"kind", "category"}, {"length", 100}});
  auto keys_fx = fixture("v3_categories_keys_list.json");
  CHECK(keys_of(keys.at("metadata")) == keys_of(keys_fx.at("metadata")));
  CHECK(keys.at("metadata").at("kind") == "category_key");
  CHECK(keys_of(keys.at("entities")[0]) == keys_of(keys_fx.at("entities")[0]));
  std::set<std::string> key_names;
  for (const auto& k : keys.at("entities")) key_names.insert(k.at("name").get<std::string>());
  CHECK(key_names.count("AppType") == 1);
  CHECK(key_names.count("Quarantine") == 1);

  auto values = post_json(sim, "/categories/Environment/list", {{"kind", "category"}});
  auto values_fx = fixture("v3_category_key_and_values.json").at("category_values");
  REQUIRE(values.at("entities").size() == 5);
  CHECK(keys_of(values.at("entities")[0]) == keys_of(values_fx[0]));
  CHECK(values.at("entities")[0].at("name") == "Environment");
  CHECK(values.at("metadata").at("total_matches") == 5);
}

TEST_CASE("two instances of one site: same intent, different per-PC identifiers", "[unit][pcsim]") {
  const auto site = generate_site(40, 9);
  SimulatorOptions o1, o2;
  o1.instance_seed = 1;
  o2.instance_seed = 2;
  Simulator a(site, o1), b(site, o2);
  auto ra = all_rules(a, 500), rb = all_rules(b, 500);
  REQUIRE(ra.size() == rb.size());
  int rule_ids_differ = 0;
  for (std::size_t i = 0; i < ra.size(); ++i) {
    const auto& ma = ra[i].at("metadata");
    const auto& mb = rb[i].at("metadata");
    CHECK(ra[i].at("spec").at("name") == rb[i].at("spec").at("name"));
    CHECK(ma.at("uuid") != mb.at("uuid"));
    CHECK(ma.at("owner_reference").at("uuid") != mb.at("owner_reference").at("uuid"));
    CHECK(ma.at("creation_time") != mb.at("creation_time"));
    CHECK(ra[i].at("status").at("execution_context") != rb[i].at("status").at("execution_context"));
    if (ra[i].at("spec") != rb[i].at("spec")) ++rule_ids_differ;
    CHECK(portable_spec(a, site, ra[i].at("spec")) == portable_spec(b, site, rb[i].at("spec")));
  }
  CHECK(rule_ids_differ > 30);  // rule ids and group uuids are per PC
  CHECK(*a.address_group_uuid(site.address_groups[0].name) != *b.address_group_uuid(site.address_groups[0].name));

  // The same instance seed reproduces the same identifiers; unseeded instances differ.
  Simulator a2(site, o1);
  CHECK(all_rules(a2, 500) == ra);
  Simulator r1(site), r2(site);
  CHECK(all_rules(r1, 7)[0].at("metadata").at("uuid") != all_rules(r2, 7)[0].at("metadata").at("uuid"));
}

TEST_CASE("CRUD: create, get, update with spec_version, delete", "[unit][pcsim]") {
  Simulator sim(small_site(3));
  const std::string base = "/api/nutanix/v3/network_security_rules";
  json spec = {{"name", "created"},
               {"resources",
                {{"isolation_rule",
                  {{"action", "APPLY"},
                   {"first_entity_filter", {{"type", "CATEGORIES_MATCH_ALL"}, {"kind_list", {"vm"}}, {"params", {{"AppType", {"Web"}}}}}},
                   {"second_entity_filter", {{"type", "CATEGORIES_MATCH_ALL"}, {"kind_list", {"vm"}}, {"params", {{"AppType", {"DB"}}}}}}}}}}};

  check_error_envelope(sim.handle(request("POST", base, json{{"spec", spec}}.dump())), 422, "VALIDATION_ERROR");
  CHECK_THAT(sim.handle(request("POST", base, json{{"spec", spec}}.dump())).response.body,
             Catch::Contains("'metadata' is a required property"));

  auto created = sim.handle(request("POST", base,
      json{{"api_version", "3.1"}, {"metadata", {{"kind", "network_security_rule"}}}, {"spec", spec}}.dump()));
  REQUIRE(created.response.status == 202);
  auto cbody = json::parse(created.response.body);
  const std::string uuid = cbody.at("metadata").at("uuid");
  const std::string task = cbody.at("status").at("execution_context").at("task_uuid");
  CHECK(cbody.at("metadata").at("spec_version") == 0);

  auto task_reply = sim.handle(request("GET", "/api/nutanix/v3/tasks/" + task));
  REQUIRE(task_reply.response.status == 200);
  CHECK(json::parse(task_reply.response.body).at("status") == "SUCCEEDED");
  CHECK(json::parse(task_reply.response.body).at("entity_reference_list")[0].at("uuid") == uuid);

  auto got = sim.handle(request("GET", base + "/" + uuid));
  REQUIRE(got.response.status == 200);
  auto entity = json::parse(got.response.body);
  CHECK(entity.at("api_version") == "3.1");
  CHECK(entity.at("spec") == spec);
  CHECK(entity.at("status").at("state") == "COMPLETE");
  CHECK(post_json(sim, "/network_security_rules/list", json::object()).at("metadata").at("total_matches") == 4);

  // Update: the client sends back metadata with the spec_version it read.
  json put_body = {{"metadata", entity.at("metadata")}, {"spec", entity.at("spec")}};
  put_body["spec"]["description"] = "edited";
  put_body["metadata"]["spec_version"] = 5;
  auto conflict = sim.handle(request("PUT", base + "/" + uuid, put_body.dump()));
  check_error_envelope(conflict, 409, "CONCURRENT_REQUESTS_NOT_ALLOWED");
  put_body["metadata"]["spec_version"] = 0;
  auto updated = sim.handle(request("PUT", base + "/" + uuid, put_body.dump()));
  REQUIRE(updated.response.status == 202);
  CHECK(json::parse(updated.response.body).at("status").at("execution_context").at("task_uuid").is_string());
  auto after = json::parse(sim.handle(request("GET", base + "/" + uuid)).response.body);
  CHECK(after.at("metadata").at("spec_version") == 1);
  CHECK(after.at("spec").at("description") == "edited");
  CHECK(after.at("status").at("description") == "edited");
  CHECK(after.at("metadata").at("creation_time") == entity.at("metadata").at("creation_time"));
  // A second writer holding the old version loses.
  check_error_envelope(sim.handle(request("PUT", base + "/" + uuid, put_body.dump())), 409,
                       "CONCURRENT_REQUESTS_NOT_ALLOWED");
  json no_version = put_body;
  no_version["metadata"].erase("spec_version");
  check_error_envelope(sim.handle(request("PUT", base + "/" + uuid, no_version.dump())), 422, "VALIDATION_ERROR");
  check_error_envelope(sim.handle(request("PUT", base + "/00000000-0000-4000-8000-000000000000", put_body.dump())),
                       404, "ENTITY_NOT_FOUND");

  // Delete: 202 shaped like the fixture, then gone from GET and list.
  auto del = sim.handle(request("DELETE", base + "/" + uuid));
  REQUIRE(del.response.status == 202);
  auto dbody = json::parse(del.response.body);
  auto dfx = fixture("v3_nsr_delete_response.json");
  CHECK(keys_of(dbody) == keys_of(dfx));
  CHECK(keys_of(dbody.at("status")) == keys_of(dfx.at("status")));
  CHECK(keys_of(dbody.at("metadata")) == keys_of(dfx.at("metadata")));
  CHECK(dbody.at("status").at("state") == "DELETE_PENDING");
  CHECK(dbody.at("status").at("execution_context").at("task_uuid").is_string());
  CHECK(dbody.at("spec") == "");
  check_error_envelope(sim.handle(request("GET", base + "/" + uuid)), 404, "ENTITY_NOT_FOUND");
  check_error_envelope(sim.handle(request("DELETE", base + "/" + uuid)), 404, "ENTITY_NOT_FOUND");
  auto list = post_json(sim, "/network_security_rules/list", json::object());
  CHECK(list.at("metadata").at("total_matches") == 3);
  for (const auto& e : list.at("entities")) CHECK(e.at("metadata").at("uuid") != uuid);
}

TEST_CASE("direct helpers edit, add and remove rules as a UI user would", "[unit][pcsim]") {
  Simulator sim(small_site(2));
  auto before = *sim.rule_by_name("rule-0001");
  REQUIRE(sim.edit_rule("rule-0001", [](json& spec) {
    spec["resources"]["app_rule"]["action"] = "APPLY";
    spec["resources"]["app_rule"]["outbound_allow_list"].push_back(
        {{"peer_specification_type", "IP_SUBNET"},
         {"address_group_inclusion_list", json::array({{{"kind", "address_group"}, {"name", "ag-two"}}})}});
  }));
  auto after = *sim.rule_by_name("rule-0001");
  CHECK(after.at("metadata").at("spec_version") == before.at("metadata").at("spec_version").get<int>() + 1);
  CHECK(after.at("metadata").at("uuid") == before.at("metadata").at("uuid"));
  const auto& out = after.at("spec").at("resources").at("app_rule").at("outbound_allow_list");
  REQUIRE(out.size() == 2);
  CHECK(out[1].at("address_group_inclusion_list")[0].at("uuid") == *sim.address_group_uuid("ag-two"));
  CHECK(out[1].at("rule_id").is_number_integer());
  CHECK_FALSE(sim.edit_rule("nope", [](json&) {}));

  auto site = small_site(1);
  site.rules[0].spec["name"] = "added";
  const std::string id = sim.add_rule(site.rules[0]);
  CHECK(sim.rule_count() == 3);
  CHECK(sim.rule_by_name("added")->at("metadata").at("uuid") == id);
  CHECK(sim.remove_rule("rule-0000"));
  CHECK_FALSE(sim.remove_rule("rule-0000"));
  CHECK(sim.rule_names() == std::vector<std::string>{"added", "rule-0001"});
}

TEST_CASE("churn modifies one policy on every first-page rules list", "[unit][pcsim]") {
  Simulator sim(small_site(5));
  auto snapshot = [&] { return post_json(sim, "/network_security_rules/list", {{"length", 500}}).at("entities"); };
  auto s0 = snapshot();
  CHECK(snapshot() == s0);  // churn off: stable

  sim.set_churn(true);
  auto s1 = snapshot();
  auto s2 = snapshot();
  CHECK(s1 != s0);
  CHECK(s2 != s1);
  int changed = 0;
  for (std::size_t i = 0; i < s0.size(); ++i) {
    if (s2[i] != s0[i]) {
      ++changed;
      CHECK(s2[i].at("metadata").at("spec_version").get<int>() >
            s0[i].at("metadata").at("spec_version").get<int>());
    }
  }
  CHECK(changed == 2);
  // Later pages do not churn.
  auto p2 = post_json(sim, "/network_security_rules/list", {{"offset", 2}, {"length", 2}});
  auto p2b = post_json(sim, "/network_security_rules/list", {{"offset", 2}, {"length", 2}});
  CHECK(p2 == p2b);
  CHECK(sim.stats().at("churn_edits") == 2);

  // Admin switch.
  auto off = sim.handle(request("POST", "/_pcsim/churn", R"({"enabled": false})"));
  REQUIRE(off.response.status == 200);
  CHECK_FALSE(sim.churn());
  auto s3 = snapshot();
  CHECK(snapshot() == s3);
}

TEST_CASE("5,000 policies x ~20 rules list completely in pages of 500", "[unit][pcsim][slow]") {
  Simulator sim(generate_site(5000, 1));
  std::size_t bytes = 0, pages = 0;
  const auto start = std::chrono::steady_clock::now();
  for (long long offset = 0; offset < 5000; offset += 500) {
    auto reply = sim.handle(request("POST", "/api/nutanix/v3/network_security_rules/list",
                                    R"({"kind":"network_security_rule","length":500,"offset":)" +
                                        std::to_string(offset) + "}"));
    REQUIRE(reply.response.status == 200);
    bytes += reply.response.body.size();
    ++pages;
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(pages == 10);
  CHECK(bytes > 5'000'000);  // ~20 rules each, spec and status
  // Speed is a figure, not a pass/fail line (timed tests flake on a loaded machine).
  WARN("listing 5,000 policies took "
       << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms");
  // And the last page is complete and parses.
  auto last = post_json(sim, "/network_security_rules/list", {{"length", 500}, {"offset", 4500}});
  CHECK(last.at("entities").size() == 500);
}

TEST_CASE("handle() and the control API are safe to call from several threads", "[unit][pcsim]") {
  Simulator sim(small_site(50));
  sim.set_churn(true);
  std::atomic<int> ok{0}, faulted{0};
  auto worker = [&] {
    for (int i = 0; i < 200; ++i) {
      auto r = sim.handle(request("POST", "/api/nutanix/v3/network_security_rules/list",
                                  R"({"length":10,"offset":)" + std::to_string(i % 2 * 10) + "}"));
      if (r.response.status == 200 && json::parse(r.response.body).at("entities").size() == 10) ++ok;
      if (r.response.status == 503) ++faulted;
    }
  };
  std::thread a(worker), b(worker);
  for (int i = 0; i < 50; ++i) {
    sim.add_fault(parse_fault("rules_list:status=503,count=1"));
    (void)sim.stats();
  }
  a.join();
  b.join();
  CHECK(ok + faulted == 400);
  CHECK(faulted <= 50);
  auto stats = sim.stats();
  CHECK(stats.at("endpoints").at("rules_list").at("total") == 400);
  // Every offset-0 request churned unless a 503 answered it instead.
  const int edits = stats.at("churn_edits").get<int>();
  CHECK(edits <= 200);
  CHECK(edits >= 200 - faulted);
}
