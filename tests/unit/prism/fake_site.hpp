// FakeSite: an in-memory v3 Prism Central for lib/prism tests. It serves the list endpoints
// with real offset/length paging from entity vectors, and hooks let a test change the site
// mid-poll, answer with a fault, or mangle a page.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fetch_runners.hpp"  // kPassword, test_options, fetch
#include "prism/v3_client.hpp"
#include "support/scripted_transport.hpp"

namespace flowdrift::test {

using nlohmann::json;

inline http::HttpResponse json_response(int status, const json& body) {
  http::HttpResponse r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = body.dump();
  return r;
}

inline http::HttpResponse text_response(int status, std::string body) {
  http::HttpResponse r;
  r.status = status;
  r.headers = {{"Content-Type", "text/plain"}};
  r.body = std::move(body);
  return r;
}

inline std::string uuid_for(char tag, int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%c0000000-0000-4000-8000-%012d", tag, i);
  return buf;
}

inline json category_filter(const std::string& key, const std::string& value) {
  return json{{"type", "CATEGORIES_MATCH_ALL"},
              {"kind_list", json::array({"vm"})},
              {"params", json{{key, json::array({value})}}}};
}

// An app rule securing `target_key`:X and allowing inbound from `peer_key`:Prod.
inline json make_rule(int i, const std::string& target_key = "AppType",
                      const std::string& peer_key = "Environment") {
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
  return json{{"metadata", json{{"kind", "network_security_rule"}, {"uuid", uuid_for('r', i)}}},
              {"spec", json{{"name", name},
                            {"description", ""},
                            {"resources", json{{"allow_ipv6_traffic", false},
                                               {"is_policy_hitlog_enabled", false},
                                               {"app_rule", app_rule}}}}}};
}

inline json make_address_group(int i) {
  return json{{"address_group",
               json{{"name", "ag-" + std::to_string(i)},
                    {"description", ""},
                    {"ip_address_block_list",
                     json::array({json{{"ip", "10.0.0." + std::to_string(i % 250)},
                                       {"prefix_length", 32}}})}}},
              {"uuid", uuid_for('a', i)}};
}

inline json make_service_group(int i) {
  return json{{"service_group",
               json{{"name", "sg-" + std::to_string(i)},
                    {"is_system_defined", false},
                    {"service_list",
                     json::array({json{{"protocol", "TCP"},
                                       {"tcp_port_range_list",
                                        json::array({json{{"start_port", 1000 + i},
                                                          {"end_port", 1000 + i}}})}}})}}},
              {"uuid", uuid_for('s', i)}};
}

inline json make_category_key(const std::string& name) {
  return json{{"name", name}, {"description", ""}, {"system_defined", false}};
}

inline json make_category_value(const std::string& key, const std::string& value) {
  return json{{"name", key}, {"value", value}, {"description", nullptr}, {"system_defined", false}};
}

struct ListCall {
  std::string endpoint;  // e.g. "network_security_rules/list"
  std::int64_t offset = 0;
  std::int64_t length = 0;
  int index = 0;  // how many requests this endpoint had before this one
  const http::HttpRequest* request = nullptr;
};

class FakeSite {
 public:
  // Runs before a request is served; may change the site, or return a response (a fault).
  using Hook = std::function<std::optional<Result<http::HttpResponse>>(FakeSite&, const ListCall&)>;
  // Runs on a page about to be sent (to break its shape).
  using Mangle = std::function<void(const ListCall&, json& page)>;

  std::string prefix = "/api/nutanix/v3/";
  std::map<std::string, std::vector<json>> lists;    // endpoint -> entities
  std::map<std::string, std::string> metadata_kind;  // endpoint -> metadata.kind
  std::map<std::string, int> calls;                  // endpoint -> requests served or faulted
  std::optional<std::int64_t> page_cap;              // server-side cap below `length`
  Hook hook;
  Mangle mangle;

  Result<http::HttpResponse> serve(const http::HttpRequest& request) {
    std::string_view path = request.path();
    if (request.method != "POST" || path.substr(0, prefix.size()) != prefix) {
      return text_response(404, "no such path");
    }
    ListCall call;
    call.endpoint = std::string(path.substr(prefix.size()));
    call.request = &request;
    json body = json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return text_response(400, "bad body");
    call.offset = body.value("offset", std::int64_t{0});
    call.length = body.value("length", std::int64_t{20});
    call.index = calls[call.endpoint]++;
    if (hook) {
      if (auto fault = hook(*this, call)) return std::move(*fault);
    }
    auto it = lists.find(call.endpoint);
    if (it == lists.end()) {
      return json_response(404, json{{"api_version", "3.1"},
                                     {"code", 404},
                                     {"state", "ERROR"},
                                     {"message_list", json::array({json{
                                                          {"reason", "ENTITY_NOT_FOUND"},
                                                          {"message", "no such list"}}})}});
    }
    const auto& all = it->second;
    std::int64_t length = call.length;
    if (page_cap) length = std::min(length, *page_cap);
    json entities = json::array();
    for (std::int64_t i = call.offset;
         i < static_cast<std::int64_t>(all.size()) && i < call.offset + length; ++i) {
      entities.push_back(all[static_cast<std::size_t>(i)]);
    }
    json page{{"api_version", "3.1"},
              {"metadata", json{{"kind", metadata_kind.count(call.endpoint)
                                             ? metadata_kind[call.endpoint]
                                             : std::string("unknown")},
                                {"total_matches", all.size()},
                                {"offset", call.offset},
                                {"length", entities.size()}}},
              {"entities", entities}};
    if (mangle) mangle(call, page);
    return json_response(200, page);
  }

  ScriptedTransport::Responder responder() {
    return [this](const http::HttpRequest& r) { return serve(r); };
  }

  // Requests the transport saw for one endpoint, in order.
  static std::vector<const http::HttpRequest*> requests_to(const ScriptedTransport& t,
                                                           const std::string& endpoint) {
    std::vector<const http::HttpRequest*> out;
    for (const auto& r : t.requests) {
      if (r.path().size() >= endpoint.size() &&
          r.path().substr(r.path().size() - endpoint.size()) == endpoint) {
        out.push_back(&r);
      }
    }
    return out;
  }
};

// A site with `rules` rules (target AppType, peer Environment), a few groups and four category
// keys of which only AppType and Environment are referenced.
inline FakeSite make_site(int rules, int address_groups = 3, int service_groups = 2) {
  FakeSite site;
  auto& r = site.lists["network_security_rules/list"];
  for (int i = 0; i < rules; ++i) r.push_back(make_rule(i));
  site.metadata_kind["network_security_rules/list"] = "network_security_rule";
  auto& ag = site.lists["address_groups/list"];
  for (int i = 0; i < address_groups; ++i) ag.push_back(make_address_group(i));
  site.metadata_kind["address_groups/list"] = "address_group";
  auto& sg = site.lists["service_groups/list"];
  for (int i = 0; i < service_groups; ++i) sg.push_back(make_service_group(i));
  site.metadata_kind["service_groups/list"] = "service_group";
  auto& keys = site.lists["categories/list"];
  site.metadata_kind["categories/list"] = "category_key";
  for (const char* key : {"AppType", "Environment", "Unused", "App Tier"}) {
    keys.push_back(make_category_key(key));
  }
  for (int i = 0; i < 7; ++i) {
    site.lists["categories/AppType/list"].push_back(
        make_category_value("AppType", "App" + std::to_string(i)));
  }
  site.lists["categories/Environment/list"] = {make_category_value("Environment", "Prod"),
                                               make_category_value("Environment", "Dev")};
  site.lists["categories/Unused/list"] = {make_category_value("Unused", "x")};
  site.lists["categories/App%20Tier/list"] = {make_category_value("App Tier", "web")};
  return site;
}

}  // namespace flowdrift::test
