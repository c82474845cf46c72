#include <catch2/catch.hpp>
#include <iostream>
#include <fstream>
#include "policy/normalize_v3.hpp"
using nlohmann::json;
using namespace flowdrift::policy;
static json load(const std::string& f){ std::ifstream i(std::string(FLOWDRIFT_SHARED_FIXTURES)+"/"+f); return json::parse(i);}
TEST_CASE("tmp") {
  V3SiteData s;
  s.rules.push_back(load("v3_nsr_app_rule_intent_response.json"));
  { json tmp = load("v3_nsr_list_isolation_rule.json"); for (auto& e: tmp.at("entities")) s.rules.push_back(e); }
  { json tmp = load("v3_address_groups_list.json"); for (auto& e: tmp.at("entities")) s.address_groups.push_back(e); }
  { json tmp = load("v3_service_groups_list.json"); for (auto& e: tmp.at("entities")) s.service_groups.push_back(e); }
  s.category_values["Environment"] = {json{{"name","Environment"},{"value","Dev"}}};
  auto r = canonicalize_v3(s);
  REQUIRE(r.has_value());
  for (auto& o : r->objects) std::cout << to_string(o.kind) << " " << o.name << " " << o.hash << "\n" << o.json << "\n";
  for (auto& f : r->findings) std::cout << f.kind << " | " << f.object << " | " << f.detail << "\n";
  for (auto& k : referenced_category_keys(s.rules)) std::cout << k << "\n";
}
