// The sites the lib/prism tests poll, as pcsim data: rules "rule-NNNNN" securing AppType:AppX
// (X = i % 7) and allowing inbound TCP 443 from Environment:Prod, address groups "ag-N",
// service groups "sg-N", and the category keys AppType (App0..App6), Environment (Prod, Dev),
// Unused (x) and "App Tier" (web).
#pragma once

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "pcsim/simulator.hpp"

namespace flowdrift::test {

inline nlohmann::json category_filter(const std::string& key, const std::string& value) {
  using nlohmann::json;
  return json{{"type", "CATEGORIES_MATCH_ALL"},
              {"kind_list", json::array({"vm"})},
              {"params", json{{key, json::array({value})}}}};
}

// The v3 spec of an app rule securing `target_key`:App(i % 7), inbound from `peer_key`:Prod.
inline pcsim::SiteRule site_rule(int i, const std::string& target_key = "AppType",
                                 const std::string& peer_key = "Environment") {
  using nlohmann::json;
  char name[32];
  std::snprintf(name, sizeof name, "rule-%05d", i);
  json inbound = json::array({json{{"peer_specification_type", "FILTER"},
                                   {"filter", category_filter(peer_key, "Prod")},
                                   {"protocol", "TCP"},
                                   {"tcp_port_range_list",
                                    json::array({json{{"start_port", 443}, {"end_port", 443}}})}}});
  json app_rule{{"action", "APPLY"},
                {"target_group",
                 json{{"peer_specification_type", "FILTER"},
                      {"default_internal_policy", "DENY_ALL"},
                      {"filter", category_filter(target_key, "App" + std::to_string(i % 7))}}},
                {"inbound_allow_list", inbound},
                {"outbound_allow_list", json::array()}};
  pcsim::SiteRule rule;
  rule.spec = json{{"name", name},
                   {"description", ""},
                   {"resources", json{{"allow_ipv6_traffic", false},
                                      {"is_policy_hitlog_enabled", false},
                                      {"app_rule", app_rule}}}};
  return rule;
}

inline pcsim::SiteData site_data(int rules, int address_groups = 3, int service_groups = 2) {
  using nlohmann::json;
  pcsim::SiteData site;
  for (int i = 0; i < rules; ++i) site.rules.push_back(site_rule(i));
  for (int i = 0; i < address_groups; ++i) {
    site.address_groups.push_back(
        {"ag-" + std::to_string(i), "",
         json::array({json{{"ip", "10.0.0." + std::to_string(i % 250)}, {"prefix_length", 32}}})});
  }
  for (int i = 0; i < service_groups; ++i) {
    site.service_groups.push_back(
        {"sg-" + std::to_string(i), "", false,
         json::array({json{{"protocol", "TCP"},
                           {"tcp_port_range_list",
                            json::array({json{{"start_port", 1000 + i},
                                              {"end_port", 1000 + i}}})}}})});
  }
  pcsim::CategoryKey app{"AppType", "", false, {}};
  for (int i = 0; i < 7; ++i) app.values.push_back("App" + std::to_string(i));
  site.categories = {app,
                     {"Environment", "", false, {"Prod", "Dev"}},
                     {"Unused", "", false, {"x"}},
                     {"App Tier", "", false, {"web"}}};
  return site;
}

}  // namespace flowdrift::test
