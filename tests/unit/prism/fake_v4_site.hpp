// FakeV4Site: an in-memory v4 Prism Central (microseg, prism categories, networking VPCs) for
// lib/prism tests. Serves the list endpoints with real $page/$limit paging and v4 envelopes under
// each version it serves (v4.0 to v4.3 unless told otherwise); hooks let a test
// change the site mid-poll, answer with a fault, or mangle a page.
#pragma once

#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "fake_site.hpp"  // json_response, text_response, uuid_for, kPassword, test_options
#include "prism/v4_client.hpp"
#include "support/scripted_transport.hpp"

namespace flowdrift::test {

// "/api/microseg/v4.3/config/policies" is v4_path("microseg", "v4.3", "policies").
inline std::string v4_path(const std::string& ns, const std::string& version,
                           const std::string& list) {
  return "/api/" + ns + "/" + version + "/config/" + list;
}

// The site's lists are kept under the paths of this version and served under every version
// FakeV4Site::served names.
inline const std::string kV4Version = "v4.3";
inline const std::string kV4Policies = v4_path("microseg", kV4Version, "policies");
inline const std::string kV4AddressGroups = v4_path("microseg", kV4Version, "address-groups");
inline const std::string kV4ServiceGroups = v4_path("microseg", kV4Version, "service-groups");
inline const std::string kV4EntityGroups = v4_path("microseg", kV4Version, "entity-groups");
inline const std::string kV4Categories = v4_path("prism", kV4Version, "categories");
inline const std::string kV4Vpcs = v4_path("networking", kV4Version, "vpcs");

inline std::string category_ext_id(int i) { return uuid_for('c', i); }
inline std::string address_group_ext_id(int i) { return uuid_for('a', i); }
inline std::string service_group_ext_id(int i) { return uuid_for('s', i); }
inline std::string entity_group_ext_id(int i) { return uuid_for('e', i); }
inline std::string vpc_ext_id(int i) { return uuid_for('v', i); }

// An APPLICATION policy securing category c(i % 7) with an INTRA_GROUP rule and an inbound
// rule from category c7 (Environment:Prod). `with_groups` adds an inbound rule from address
// group a0 over service group s0.
inline json make_v4_policy(int i, bool with_groups = false) {
  char name[32];
  std::snprintf(name, sizeof name, "policy-%05d", i);
  const json secured = json::array({category_ext_id(i % 7)});
  json rules = json::array();
  rules.push_back(json{{"$objectType", "microseg.v4.config.NetworkSecurityPolicyRule"},
                       {"extId", uuid_for('q', i * 10)},
                       {"type", "INTRA_GROUP"},
                       {"spec", json{{"$objectType", "microseg.v4.config.IntraEntityGroupRuleSpec"},
                                     {"securedGroupAction", "DENY"},
                                     {"securedGroupCategoryReferences", secured}}}});
  rules.push_back(json{
      {"$objectType", "microseg.v4.config.NetworkSecurityPolicyRule"},
      {"extId", uuid_for('q', i * 10 + 1)},
      {"type", "APPLICATION"},
      {"spec", json{{"$objectType", "microseg.v4.config.ApplicationRuleSpec"},
                    {"securedGroupCategoryReferences", secured},
                    {"srcCategoryReferences", json::array({category_ext_id(7)})},
                    {"tcpServices", json::array({json{{"startPort", 443}, {"endPort", 443}}})}}}});
  if (with_groups) {
    rules.push_back(
        json{{"$objectType", "microseg.v4.config.NetworkSecurityPolicyRule"},
             {"extId", uuid_for('q', i * 10 + 2)},
             {"type", "APPLICATION"},
             {"spec", json{{"$objectType", "microseg.v4.config.ApplicationRuleSpec"},
                           {"securedGroupCategoryReferences", secured},
                           {"srcAddressGroupReferences", json::array({address_group_ext_id(0)})},
                           {"serviceGroupReferences", json::array({service_group_ext_id(0)})}}}});
  }
  return json{{"$objectType", "microseg.v4.config.NetworkSecurityPolicy"},
              {"$reserved", json{{"$fv", "v4.r0"}}},
              {"extId", uuid_for('p', i)},
              {"name", name},
              {"description", ""},
              {"type", "APPLICATION"},
              {"state", "ENFORCE"},
              {"scope", "ALL_VLAN"},
              {"isHitlogEnabled", false},
              {"isIpv6TrafficAllowed", false},
              {"isSystemDefined", false},
              {"rules", rules}};
}

inline json make_v4_address_group(int i) {
  return json{
      {"$objectType", "microseg.v4.config.AddressGroup"},
      {"extId", address_group_ext_id(i)},
      {"name", "ag-" + std::to_string(i)},
      {"ipv4Addresses",
       json::array({json{{"value", "10.0.0." + std::to_string(i % 250)}, {"prefixLength", 32}}})}};
}

inline json make_v4_service_group(int i) {
  return json{{"$objectType", "microseg.v4.config.ServiceGroup"},
              {"extId", service_group_ext_id(i)},
              {"name", "sg-" + std::to_string(i)},
              {"isSystemDefined", false},
              {"tcpServices", json::array({json{{"startPort", 1000 + i}, {"endPort", 1000 + i}}})}};
}

inline json make_v4_category(int i, const std::string& key, const std::string& value) {
  return json{{"$objectType", "prism.v4.config.Category"},
              {"extId", category_ext_id(i)},
              {"key", key},
              {"value", value},
              {"type", "USER"}};
}

inline json make_v4_entity_group(int i) {
  return json{{"$objectType", "microseg.v4.config.EntityGroup"},
              {"extId", entity_group_ext_id(i)},
              {"name", "eg-" + std::to_string(i)},
              {"isSystemDefined", false}};
}

inline json make_v4_vpc(int i) {
  return json{{"$objectType", "networking.v4.config.Vpc"},
              {"extId", vpc_ext_id(i)},
              {"name", "vpc-" + std::to_string(i)},
              {"vpcType", "REGULAR"}};
}

// A v4.1+ policy: make_v4_policy(i) whose first rule secures entity group e0.
inline json make_v4_entity_group_policy(int i) {
  json p = make_v4_policy(i);
  p["rules"][0]["spec"]["securedGroupEntityGroupReference"] = entity_group_ext_id(0);
  return p;
}

// make_v4_policy(i) scoped to VPC v0.
inline json make_v4_vpc_policy(int i) {
  json p = make_v4_policy(i);
  p["scope"] = "VPC_LIST";
  p["vpcReferences"] = json::array({vpc_ext_id(0)});
  return p;
}

inline json v4_error_body(const std::string& code, const std::string& message) {
  return json{
      {"$objectType", "microseg.v4.config.ListNetworkSecurityPoliciesApiResponse"},
      {"data", json{{"$objectType", "microseg.v4.error.ErrorResponse"},
                    {"error", json::array({json{{"$objectType", "microseg.v4.error.AppMessage"},
                                                {"code", code},
                                                {"message", message},
                                                {"severity", "ERROR"}}})}}}};
}

struct V4Call {
  std::string endpoint;  // path without base, at kV4Version (kV4Policies) whatever was asked
  std::string version;   // the version asked for
  std::int64_t page = 0;
  std::int64_t limit = 0;
  int index = 0;  // how many requests this endpoint had before this one
  const http::HttpRequest* request = nullptr;
};

class FakeV4Site {
 public:
  // Runs before a request is served; may change the site, or return a response (a fault).
  using Hook = std::function<std::optional<Result<http::HttpResponse>>(FakeV4Site&, const V4Call&)>;
  // Runs on a page about to be sent (to break its shape).
  using Mangle = std::function<void(const V4Call&, json& page)>;

  std::string base;                                // base_path the client is given
  std::map<std::string, std::vector<json>> lists;  // endpoint (at kV4Version) -> items
  // The versions served per namespace; any other answers 404 (entity groups: v4.1 and later)
  // before hooks and `calls` see the request.
  std::map<std::string, std::vector<std::string>> served = {
      {"microseg", {"v4.3", "v4.2", "v4.1", "v4.0"}},
      {"prism", {"v4.3", "v4.2", "v4.1", "v4.0"}},
      {"networking", {"v4.3", "v4.2", "v4.1", "v4.0"}}};
  std::map<std::string, int> calls;                // endpoint -> requests served or faulted
  std::optional<std::int64_t> page_cap;            // server returns fewer than $limit
  Hook hook;
  Mangle mangle;

  Result<http::HttpResponse> serve(const http::HttpRequest& request) {
    std::string_view path = request.path();
    if (request.method != "GET" || path.substr(0, base.size()) != base) {
      return text_response(404, "no such path");
    }
    V4Call call;
    call.request = &request;
    if (!route(path.substr(base.size()), call)) {
      return json_response(404, v4_error_body("MIC-404", "no such version"));
    }
    auto page = number_param(request, "$page", 0);
    auto limit = number_param(request, "$limit", 50);
    if (!page || !limit || *page < 0 || *limit < 1 || *limit > 100) {
      // What the server says to an out-of-range $limit: a SchemaValidationError.
      return json_response(
          400, json{{"data",
                     json{{"$objectType", "microseg.v4.error.ErrorResponse"},
                          {"error", json{{"statusCode", 400},
                                         {"error", "Bad Request"},
                                         {"validationErrorMessages",
                                          json::array({json{{"attributePath", "$limit"},
                                                            {"message", "out of range"}}})}}}}}});
    }
    call.page = *page;
    call.limit = *limit;
    call.index = calls[call.endpoint]++;
    if (hook) {
      if (auto fault = hook(*this, call)) return std::move(*fault);
    }
    auto it = lists.find(call.endpoint);
    if (it == lists.end()) return json_response(404, v4_error_body("MIC-404", "no such list"));
    const auto& all = it->second;
    std::int64_t n = call.limit;
    if (page_cap) n = std::min(n, *page_cap);
    json data = json::array();
    for (std::int64_t i = call.page * call.limit;
         i < static_cast<std::int64_t>(all.size()) && i < call.page * call.limit + n; ++i) {
      data.push_back(all[static_cast<std::size_t>(i)]);
    }
    json body{
        {"$objectType", "microseg.v4.config.ListApiResponse"},
        {"$reserved", json{{"$fv", "v4.r0"}}},
        {"metadata", json{{"totalAvailableResults", all.size()},
                          {"flags", json::array({json{{"name", "hasError"}, {"value", false}},
                                                 json{{"name", "isPaginated"}, {"value", true}}})},
                          {"links", json::array({json{{"rel", "self"}, {"href", request.target}}})},
                          {"messages", json::array()},
                          {"extraInfo", json::array()}}}};
    if (!data.empty()) body["data"] = data;  // the server leaves `data` out of an empty page
    if (mangle) mangle(call, body);
    return json_response(200, body);
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

 private:
  // /api/{ns}/{version}/config/{list}: the version, and the list's path at kV4Version. False
  // when the namespace does not serve that version (or the list, before v4.1 for entity groups).
  bool route(std::string_view path, V4Call& call) const {
    const auto ns_end = path.find('/', 5);
    const auto version_end = path.find('/', ns_end + 1);
    if (path.substr(0, 5) != "/api/" || ns_end == path.npos || version_end == path.npos) {
      call.endpoint = std::string(path);  // not a v4 path: a list no one has
      return true;
    }
    const std::string ns(path.substr(5, ns_end - 5));
    call.version = std::string(path.substr(ns_end + 1, version_end - ns_end - 1));
    call.endpoint = "/api/" + ns + "/" + kV4Version + std::string(path.substr(version_end));
    auto versions = served.find(ns);
    if (versions == served.end()) return false;
    const auto& list = versions->second;
    if (std::find(list.begin(), list.end(), call.version) == list.end()) return false;
    return call.version != "v4.0" || call.endpoint != kV4EntityGroups;
  }

  static std::optional<std::int64_t> number_param(const http::HttpRequest& r, const char* name,
                                                  std::int64_t fallback) {
    auto v = r.query_param(name);
    if (!v) return fallback;
    if (v->empty() || v->size() > 9) return std::nullopt;
    std::int64_t n = 0;
    for (char c : *v) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    return n;
  }
};

// A site with `policies` policies (the first `grouped` of them also referencing a0/s0), some
// groups, and categories c0..c6 (AppType:App0..6), c7 Environment:Prod, c8 Environment:Dev.
inline FakeV4Site make_v4_site(int policies, int address_groups = 3, int service_groups = 2,
                               int grouped = 0) {
  FakeV4Site site;
  auto& p = site.lists[kV4Policies];
  for (int i = 0; i < policies; ++i) p.push_back(make_v4_policy(i, i < grouped));
  auto& ag = site.lists[kV4AddressGroups];
  for (int i = 0; i < address_groups; ++i) ag.push_back(make_v4_address_group(i));
  auto& sg = site.lists[kV4ServiceGroups];
  for (int i = 0; i < service_groups; ++i) sg.push_back(make_v4_service_group(i));
  auto& cats = site.lists[kV4Categories];
  for (int i = 0; i < 7; ++i)
    cats.push_back(make_v4_category(i, "AppType", "App" + std::to_string(i)));
  cats.push_back(make_v4_category(7, "Environment", "Prod"));
  cats.push_back(make_v4_category(8, "Environment", "Dev"));
  site.lists[kV4EntityGroups];  // served, empty
  site.lists[kV4Vpcs];
  return site;
}

}  // namespace flowdrift::test
