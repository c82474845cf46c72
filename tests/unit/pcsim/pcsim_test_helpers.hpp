// Shared helpers of the pcsim unit tests: small hand-built sites and request shortcuts.
#pragma once

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "http/types.hpp"
#include "pcsim/simulator.hpp"
#include "pcsim/site.hpp"
#include "support/temp_dir.hpp"

namespace flowdrift::pcsim::testing {

using nlohmann::json;

inline constexpr const char* kUser = "admin";
inline constexpr const char* kPassword = "nutanix/4u";

// Options of an instance seeded with `seed`, serving the API mode `mode`.
inline SimulatorOptions seeded(std::uint64_t seed, std::string mode = "both") {
  SimulatorOptions o;
  o.instance_seed = seed;
  o.api_mode = std::move(mode);
  return o;
}

// `n` app rules named rule-0000.. with one inbound FILTER, one address-group and one
// service-group entry each, plus two groups and the categories they use.
inline SiteData small_site(std::size_t n) {
  SiteData site;
  site.address_groups.push_back({"ag-one", "first", json::array({{{"ip", "10.0.0.0"}, {"prefix_length", 8}}})});
  site.address_groups.push_back({"ag-two", "", json::array({{{"ip", "192.168.1.5"}, {"prefix_length", 32}}})});
  ServiceGroup sg;
  sg.name = "sg-web";
  sg.service_list = json::array({{{"protocol", "TCP"}, {"tcp_port_range_list", json::array({{{"start_port", 80}, {"end_port", 80}}})}}});
  site.service_groups.push_back(sg);
  site.categories.push_back({"AppType", "Application type.", true, {"Web", "DB"}});
  site.categories.push_back({"AppTier", "Application tier.", true, {"Front"}});
  for (std::size_t i = 0; i < n; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "rule-%04zu", i);
    json filter = {{"type", "CATEGORIES_MATCH_ALL"}, {"kind_list", json::array({"vm"})},
                   {"params", {{"AppType", json::array({"Web"})}}}};
    json spec = {
        {"name", name},
        {"description", "rule number " + std::to_string(i)},
        {"resources",
         {{"allow_ipv6_traffic", false},
          {"is_policy_hitlog_enabled", false},
          {"app_rule",
           {{"action", i % 2 ? "MONITOR" : "APPLY"},
            {"target_group", {{"peer_specification_type", "FILTER"}, {"default_internal_policy", "DENY_ALL"}, {"filter", filter}}},
            {"inbound_allow_list",
             json::array({{{"peer_specification_type", "FILTER"},
                           {"filter", {{"type", "CATEGORIES_MATCH_ALL"}, {"kind_list", json::array({"vm"})},
                                       {"params", {{"AppType", json::array({"DB"})}}}}},
                           {"protocol", "TCP"},
                           {"tcp_port_range_list", json::array({{{"start_port", 5432}, {"end_port", 5432}}})}},
                          {{"peer_specification_type", "IP_SUBNET"},
                           {"address_group_inclusion_list", json::array({{{"kind", "address_group"}, {"name", "ag-one"}}})},
                           {"service_group_list", json::array({{{"kind", "service_group"}, {"name", "sg-web"}}})}}})},
            {"outbound_allow_list", json::array({{{"peer_specification_type", "ALL"}, {"protocol", "ALL"}}})}}}}}};
    site.rules.push_back({spec, json::object()});
  }
  return site;
}

inline http::HttpRequest request(std::string method, std::string target, std::string body = {},
                                 bool auth = true) {
  http::HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  if (auth) r.headers.push_back({"Authorization", http::basic_auth_header(kUser, kPassword)});
  return r;
}

inline http::ServerReply post(Simulator& sim, const std::string& api_path, const json& body) {
  return sim.handle(request("POST", std::string(kApiBase) + api_path, body.dump()));
}

inline json post_json(Simulator& sim, const std::string& api_path, const json& body) {
  auto reply = post(sim, api_path, body);
  if (reply.response.status != 200) {
    throw std::runtime_error("status " + std::to_string(reply.response.status) + ": " +
                             reply.response.body);
  }
  return json::parse(reply.response.body);
}

inline std::set<std::string> keys_of(const json& obj) {
  std::set<std::string> out;
  for (const auto& [k, v] : obj.items()) out.insert(k);
  return out;
}

inline json fixture(const std::string& name) {
  return json::parse(test::read_file(std::string(FLOWDRIFT_PUBLIC_FIXTURES) + "/" + name));
}

}  // namespace flowdrift::pcsim::testing
