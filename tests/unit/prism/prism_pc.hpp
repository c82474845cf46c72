// The simulated Prism Central the lib/prism tests poll: a SimulatedPc serving site_data() (v3
// and v4 views of one site) with the tests' password, the v4 list paths, and what no pcsim knob
// produces: page edits, network failures, hand-written answers and edits mid-poll.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "fetch_runners.hpp"
#include "http/types.hpp"
#include "pc_sites.hpp"
#include "pcsim/v4.hpp"
#include "support/simulated_pc.hpp"

namespace flowdrift::test {

// pc_options() with v4 list pages capped at `items` whatever $limit asks.
inline pcsim::SimulatorOptions capped_v4_pages(int items) {
  auto o = pc_options();
  o.max_v4_page_length = items;
  return o;
}

struct Pc : SimulatedPc {
  explicit Pc(const pcsim::SiteData& site, pcsim::SimulatorOptions options = pc_options())
      : SimulatedPc(site, std::move(options)) {}
  // A PC serving site_data(rules, address_groups, service_groups).
  explicit Pc(int rules, int address_groups = 3, int service_groups = 2,
              pcsim::SimulatorOptions options = pc_options())
      : Pc(site_data(rules, address_groups, service_groups), std::move(options)) {}
  // A PC serving site_data(rules) under one pcsim fault ("rules_list:status=503").
  Pc(int rules, const char* fault_spec) : Pc(rules) { fault(fault_spec); }
  void fault(const std::string& spec) { sim.add_fault(pcsim::parse_fault(spec)); }

  // The lib/prism fetches over `transport`: fetch_v3_site, fetch_v4_site, the snapshots.
  FetchOutcome poll(prism::FetchOptions options = test_options()) {
    return fetch(transport, std::move(options));
  }
  V4FetchOutcome poll_v4(prism::FetchOptions options = v4_test_options()) {
    return fetch_v4(transport, std::move(options));
  }
  SnapshotOutcome snapshot(bool v4, prism::FetchOptions options) {
    return fetch_snapshot(transport, std::move(options), v4);
  }
};

// ---- v4 paths --------------------------------------------------------------------------------

// "/api/microseg/v4.3/config/policies" is v4_path("microseg", "v4.3", "policies").
inline std::string v4_path(const std::string& ns, const std::string& version,
                           const std::string& list) {
  return "/api/" + ns + "/" + version + "/config/" + list;
}

inline const std::string kV4Policies = v4_path("microseg", "v4.3", "policies");
inline const std::string kV4AddressGroups = v4_path("microseg", "v4.3", "address-groups");
inline const std::string kV4ServiceGroups = v4_path("microseg", "v4.3", "service-groups");
inline const std::string kV4EntityGroups = v4_path("microseg", "v4.3", "entity-groups");
inline const std::string kV4Categories = v4_path("prism", "v4.3", "categories");
inline const std::string kV4Vpcs = v4_path("networking", "v4.3", "vpcs");

// A v4 ErrorResponse body with one AppMessage, as pcsim writes them.
inline nlohmann::json v4_error_body(const std::string& code, const std::string& message) {
  return nlohmann::json::parse(pcsim::v4::error_body(
      "microseg", "microseg.v4.config.ListNetworkSecurityPoliciesApiResponse", code, message));
}

// ---- site content ----------------------------------------------------------------------------

// A reference to a group by name (resolved by pcsim at load) or, for a group the site lacks,
// by a uuid no group has.
inline nlohmann::json group_ref(const std::string& kind, const std::string& name, bool exists) {
  if (exists) return {{"kind", kind}, {"name", name}};
  return {{"kind", kind}, {"uuid", "00000000-0000-4000-8000-00000000dead"}};
}

// `rule` also allowing inbound traffic from `address_group` (over `service_group` if given).
inline pcsim::SiteRule with_group_peer(pcsim::SiteRule rule, nlohmann::json address_group,
                                       nlohmann::json service_group = nullptr) {
  nlohmann::json entry{{"peer_specification_type", "IP_SUBNET"},
                       {"address_group_inclusion_list", nlohmann::json::array({address_group})}};
  if (!service_group.is_null())
    entry["service_group_list"] = nlohmann::json::array({service_group});
  rule.spec["resources"]["app_rule"]["inbound_allow_list"].push_back(std::move(entry));
  return rule;
}

// site_data(policies, address_groups, service_groups) whose first `grouped` rules also allow
// ag-0 over sg-0 (references that dangle when the site has no such group).
inline pcsim::SiteData v4_site(int policies, int address_groups = 3, int service_groups = 2,
                               int grouped = 0) {
  pcsim::SiteData site = site_data(policies, address_groups, service_groups);
  for (int i = 0; i < grouped; ++i) {
    site.rules[static_cast<std::size_t>(i)] =
        with_group_peer(site.rules[static_cast<std::size_t>(i)],
                        group_ref("address_group", "ag-0", address_groups > 0),
                        group_ref("service_group", "sg-0", service_groups > 0));
  }
  return site;
}

// "eg-007": names that sort as they count.
inline std::string numbered(const char* prefix, int i) {
  char name[32];
  std::snprintf(name, sizeof name, "%s-%03d", prefix, i);
  return name;
}

inline void add_entity_groups(pcsim::SiteData& site, int n) {
  for (int i = 0; i < n; ++i) site.v4.entity_groups.push_back({{"name", numbered("eg", i)}});
}

inline void add_vpcs(pcsim::SiteData& site, int n) {
  for (int i = 0; i < n; ++i) site.v4.vpcs.push_back({{"name", numbered("vpc", i)}});
}

// The v4 policy of rule `i` also gets `fields` (references "@kind:name" resolved by pcsim).
inline void add_policy_fields(pcsim::SiteData& site, int i, nlohmann::json fields) {
  site.v4.policy_fields[site_rule(i).spec.at("name").get<std::string>()] = std::move(fields);
}

inline constexpr const char* kListedVpc = "@vpc:vpc-000";
inline constexpr const char* kUnlistedVpc = "@dangling:00000000-0000-4000-8000-00000000c0de";

// Policy `i` scoped to one VPC: vpc-000, or one the site does not list.
inline void scope_to_vpc(pcsim::SiteData& site, int i, bool listed = false) {
  add_policy_fields(
      site, i,
      {{"scope", "VPC_LIST"},
       {"vpcReferences", nlohmann::json::array({listed ? kListedVpc : kUnlistedVpc})}});
}

// The v3 uuid (= v4 extId) of rule `i` of site_data().
inline std::string rule_uuid(const pcsim::Simulator& sim, int i) {
  const auto rule = sim.rule_by_name(site_rule(i).spec.at("name").get<std::string>());
  REQUIRE(rule);
  return rule->at("metadata").at("uuid").get<std::string>();
}

// ---- requests and answers --------------------------------------------------------------------

// A request carries the tests' credentials and asks for JSON.
inline void check_request_headers(const http::HttpRequest& r) {
  const auto auth = r.header("Authorization");
  REQUIRE(auth);
  const auto creds = http::parse_basic_auth(*auth);
  REQUIRE(creds);
  CHECK(creds->user == "admin");
  CHECK(creds->password == kPassword);
  CHECK(r.header("Accept") == std::optional<std::string_view>("application/json"));
}

// An error message quotes neither the password nor the Authorization header's token.
inline void check_redacted(const std::string& message) {
  const std::string auth = http::basic_auth_header("admin", kPassword);
  INFO(message);
  CHECK(message.find(kPassword) == std::string::npos);
  CHECK(message.find(auth.substr(auth.find(' ') + 1)) == std::string::npos);
}

inline bool is_list(const http::HttpRequest& r, const std::string& endpoint) {
  const auto path = r.path();
  return path.size() >= endpoint.size() && path.substr(path.size() - endpoint.size()) == endpoint;
}

// The offset of a v3 list request.
inline std::int64_t offset_of(const http::HttpRequest& r) {
  return nlohmann::json::parse(r.body).value("offset", std::int64_t{0});
}

// The $page of a v4 list request.
inline std::int64_t page_of(const http::HttpRequest& r) {
  return std::stoll(std::string(r.query_param("$page").value_or("0")));
}

// Rewrites the JSON bodies of `endpoint`'s 200 answers: edit(request, body).
inline SimulatedPc::Rewrite edit_bodies(
    std::string endpoint, std::function<void(const http::HttpRequest&, nlohmann::json&)> edit) {
  return [endpoint = std::move(endpoint), edit = std::move(edit)](const http::HttpRequest& r,
                                                                  http::HttpResponse& response) {
    if (!is_list(r, endpoint) || response.status != 200) return;
    nlohmann::json body = nlohmann::json::parse(response.body);
    edit(r, body);
    response.body = body.dump();
  };
}

// Rewrites the pages of a v3 list: edit(offset, page).
inline SimulatedPc::Rewrite edit_pages(std::string endpoint,
                                       std::function<void(std::int64_t, nlohmann::json&)> edit) {
  return edit_bodies(std::move(endpoint),
                     [edit = std::move(edit)](const http::HttpRequest& r, nlohmann::json& page) {
                       edit(offset_of(r), page);
                     });
}

// Rewrites the pages of a v4 list: edit($page, page).
inline SimulatedPc::Rewrite edit_v4_pages(std::string endpoint,
                                          std::function<void(std::int64_t, nlohmann::json&)> edit) {
  return edit_bodies(std::move(endpoint),
                     [edit = std::move(edit)](const http::HttpRequest& r, nlohmann::json& page) {
                       edit(page_of(r), page);
                     });
}

// Rewrites page `n` of a v4 list: edit(page).
inline SimulatedPc::Rewrite edit_v4_page(std::string endpoint, std::int64_t n,
                                         std::function<void(nlohmann::json&)> edit) {
  return edit_v4_pages(std::move(endpoint),
                       [n, edit = std::move(edit)](std::int64_t page, nlohmann::json& body) {
                         if (page == n) edit(body);
                       });
}

// Answers every request to `endpoint` with `reply` (an answer no pcsim fault gives).
inline SimulatedPc::Before answer(std::string endpoint, ScriptedReply reply) {
  return [endpoint = std::move(endpoint), reply = std::move(reply)](
             pcsim::Simulator&, const http::HttpRequest& r) -> std::optional<ScriptedReply> {
    if (!is_list(r, endpoint)) return std::nullopt;
    return reply;
  };
}

// A transport failure no PC causes (a TLS error), on every request to `endpoint`.
inline SimulatedPc::Before transport_error(std::string endpoint, ErrorReason reason,
                                           std::string message, bool retryable) {
  return answer(std::move(endpoint),
                ScriptedReply{make_error(reason, std::move(message), retryable), {}});
}

inline http::HttpResponse json_answer(int status, const nlohmann::json& body) {
  http::HttpResponse r;
  r.status = status;
  r.headers.push_back({"Content-Type", "application/json"});
  r.body = body.dump();
  return r;
}

// Runs change(sim) as the `n`-th request (0-based) to `endpoint` arrives: an edit mid-poll.
inline SimulatedPc::Before change_at(std::string endpoint, int n,
                                     std::function<void(pcsim::Simulator&)> change) {
  auto seen = std::make_shared<int>(0);
  return [endpoint = std::move(endpoint), n, change = std::move(change), seen](
             pcsim::Simulator& sim, const http::HttpRequest& r) -> std::optional<ScriptedReply> {
    if (is_list(r, endpoint) && (*seen)++ == n) change(sim);
    return std::nullopt;
  };
}

// The item at data[3] of a v4 list's page 0 is sent again at data[20] of page 1 (under the
// same extId; the count still adds up). *repeated is that extId once page 0 is sent.
inline SimulatedPc::Rewrite repeat_ext_id(std::string endpoint,
                                          std::shared_ptr<std::string> repeated) {
  return edit_v4_pages(std::move(endpoint), [repeated](std::int64_t page, nlohmann::json& body) {
    if (page == 0) *repeated = body.at("data").at(3).at("extId");
    if (page == 1) body.at("data").at(20)["extId"] = *repeated;
  });
}

}  // namespace flowdrift::test
