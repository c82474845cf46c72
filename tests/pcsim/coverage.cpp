// pcsim's VMs and what protects them for DR (docs/design/vm-coverage-api.md), served by the v3
// lists vms/list, protection_rules/list and recovery_plans/list with paging like every list.
// A test sets them with PUT /_pcsim/coverage:
//
//   {"vms": [{"name": "web-01", "categories": {"AppType": "Web", "Env": "Prod"}}],
//    "protection_rules": [{"name": "gold", "categories": {"Env": ["Prod"]},
//                          "match": "CATEGORIES_MATCH_ANY"}],
//    "recovery_plans": [{"name": "rp-web", "vms": ["web-01"], "categories": [{"AppTier": "Web"}]}]}
//
// Each gets a uuid (kept for a name already set); a recovery plan names its VMs by name and
// lists them by uuid reference. GET returns what is served.
#include <algorithm>

#include "pcsim/internal.hpp"
#include "pcsim/simulator.hpp"

namespace flowdrift::pcsim {

using nlohmann::json;
using http::ServerReply;
using namespace detail;

namespace {

bool string_map(const json& j, bool lists) {
  if (!j.is_object()) return false;
  for (const auto& [k, v] : j.items()) {
    if (lists ? !(v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) {
          return e.is_string();
        }))
              : !v.is_string()) {
      return false;
    }
  }
  return true;
}

// Why the document cannot be served, or "".
std::string problem(const json& doc) {
  if (!doc.is_object()) return "body must be a JSON object {vms, protection_rules, recovery_plans}";
  for (const auto& vm : doc.value("vms", json::array())) {
    if (!vm.is_object() || !vm.value("name", json()).is_string() ||
        !string_map(vm.value("categories", json::object()), false)) {
      return "vms[]: {name, categories: {key: value}}";
    }
  }
  for (const auto& r : doc.value("protection_rules", json::array())) {
    if (!r.is_object() || !r.value("name", json()).is_string() ||
        !string_map(r.value("categories", json::object()), true)) {
      return "protection_rules[]: {name, categories: {key: [values]}, match}";
    }
  }
  for (const auto& p : doc.value("recovery_plans", json::array())) {
    if (!p.is_object() || !p.value("name", json()).is_string()) {
      return "recovery_plans[]: {name, vms: [names], categories: [{key: value}]}";
    }
  }
  return "";
}

json categories_mapping(const json& categories) {
  json out = json::object();
  for (const auto& [k, v] : categories.items()) out[k] = json::array({v});
  return out;
}

}  // namespace

std::string Simulator::coverage_uuid(const std::string& kind, const std::string& name) {
  auto& id = coverage_uuids_[kind + '\n' + name];
  if (id.empty()) id = new_uuid();
  return id;
}

json Simulator::coverage_vm(const json& vm) {
  const std::string name = vm.at("name");
  const json cats = vm.value("categories", json::object());
  return {{"metadata", {{"kind", "vm"}, {"uuid", coverage_uuid("vm", name)},
                        {"categories", cats}, {"categories_mapping", categories_mapping(cats)}}},
          {"spec", {{"name", name}, {"resources", json::object()}}},
          {"status", {{"name", name}, {"state", "COMPLETE"}}}};
}

json Simulator::coverage_rule(const json& rule) {
  const std::string name = rule.at("name");
  return {{"metadata", {{"kind", "protection_rule"}, {"uuid", coverage_uuid("protection_rule", name)}}},
          {"spec", {{"name", name},
                    {"resources",
                     {{"category_filter", {{"type", rule.value("match", "CATEGORIES_MATCH_ANY")},
                                           {"kind_list", {"vm"}},
                                           {"params", rule.value("categories", json::object())}}},
                      {"ordered_availability_zone_list", json::array()}}}}}};
}

json Simulator::coverage_plan(const json& plan) {
  const std::string name = plan.at("name");
  json entities = json::array();
  for (const auto& vm : plan.value("vms", json::array())) {
    const std::string vm_name = vm.get<std::string>();
    entities.push_back({{"any_entity_reference",
                         {{"kind", "vm"}, {"uuid", coverage_uuid("vm", vm_name)}, {"name", vm_name}}}});
  }
  for (const auto& c : plan.value("categories", json::array())) entities.push_back({{"categories", c}});
  return {{"metadata", {{"kind", "recovery_plan"}, {"uuid", coverage_uuid("recovery_plan", name)}}},
          {"spec", {{"name", name},
                    {"resources",
                     {{"stage_list",
                       json::array({{{"stage_work", {{"recover_entities", {{"entity_info_list", entities}}}}}}})}}}}}};
}

ServerReply Simulator::admin_coverage(const http::HttpRequest& request) {
  auto served = [this] {
    json out{{"vms", json::array()}, {"protection_rules", json::array()}, {"recovery_plans", json::array()}};
    for (const auto* list : {&vms_, &protection_rules_, &recovery_plans_}) {
      const char* key = list == &vms_ ? "vms" : list == &protection_rules_ ? "protection_rules" : "recovery_plans";
      for (const auto& l : *list) out[key].push_back(json::parse(l.entity));
    }
    return json_reply(200, out.dump());
  };
  if (request.method == "GET") return served();
  if (request.method != "PUT") return json_reply(405, json{{"error", "use GET or PUT"}}.dump());
  const json doc = json::parse(request.body, nullptr, false);
  if (auto why = problem(doc); !why.empty()) return json_reply(400, json{{"error", why}}.dump());
  auto build = [&](const char* key, std::vector<Listed>& into, json (Simulator::*make)(const json&)) {
    into.clear();
    for (const auto& e : doc.value(key, json::array())) {
      into.push_back({e.at("name").get<std::string>(), (this->*make)(e).dump()});
    }
    std::sort(into.begin(), into.end(),
              [](const Listed& a, const Listed& b) { return a.sort_key < b.sort_key; });
  };
  build("vms", vms_, &Simulator::coverage_vm);
  build("protection_rules", protection_rules_, &Simulator::coverage_rule);
  build("recovery_plans", recovery_plans_, &Simulator::coverage_plan);
  return served();
}

}  // namespace flowdrift::pcsim
