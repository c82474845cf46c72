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
// lists them by uuid reference. GET returns what is served (the v3 entities).
//
// The same document is served over v4 (docs/design/vm-coverage-api.md): vmm `ahv/config/vms`
// (extId = the v3 uuid, categories by the site's category extIds), datapolicies
// `protection-policies` (categoryIds: every value of the rule's categories) and, from v4.2,
// `recovery-plans` with their `stages` (one VM stage naming the plan's VMs, if any, then one
// per categories entry). A key:value the site does not define gets a stable hash-derived extId
// that no category list resolves.
#include <algorithm>
#include <optional>

#include "pcsim/internal.hpp"
#include "pcsim/simulator.hpp"
#include "pcsim/v4.hpp"

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
    const json vms = p.is_object() ? p.value("vms", json::array()) : json();
    const json cats = p.is_object() ? p.value("categories", json::array()) : json();
    if (!p.is_object() || !p.value("name", json()).is_string() || !vms.is_array() ||
        !std::all_of(vms.begin(), vms.end(), [](const json& v) { return v.is_string(); }) ||
        !cats.is_array() || !std::all_of(cats.begin(), cats.end(), [](const json& c) {
          return string_map(c, false);
        })) {
      return "recovery_plans[]: {name, vms: [names], categories: [{key: value}]}";
    }
  }
  return "";
}

// The document's items of `key`, sorted by name as the v3 lists are.
std::vector<json> by_name(const json& doc, const char* key) {
  std::vector<json> out;
  for (const auto& e : doc.value(key, json::array())) out.push_back(e);
  std::stable_sort(out.begin(), out.end(), [](const json& a, const json& b) {
    return a.at("name").get<std::string>() < b.at("name").get<std::string>();
  });
  return out;
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

// ---- v4 --------------------------------------------------------------------------------------

namespace detail {

bool is_coverage_list(std::string_view endpoint) {
  return endpoint == "v4_vms" || endpoint == "v4_protection_policies" ||
         endpoint == "v4_recovery_plans" || endpoint == "v4_recovery_stages";
}

std::string_view v4_item_type(std::string_view endpoint) {
  if (endpoint == "v4_vms") return "vmm.v4.ahv.config.Vm";
  if (endpoint == "v4_protection_policies") return "datapolicies.v4.config.ProtectionPolicy";
  if (endpoint == "v4_recovery_plans") return "datapolicies.v4.config.RecoveryPlan";
  if (endpoint == "v4_recovery_stages") return "datapolicies.v4.config.RecoveryStage";
  return {};
}

}  // namespace detail

std::string Simulator::coverage_category_id(const std::string& key,
                                            const std::string& value) const {
  if (auto id = v4_reference("category", key + ':' + value)) return *id;
  return v4::uuid_from_hash(v4_salt_, "coverage-category\n" + key + '\n' + value);
}

json Simulator::v4_coverage_vm(const json& vm) {
  const std::string name = vm.at("name");
  const json cats = vm.value("categories", json::object());
  json categories = json::array();
  for (const auto& [k, v] : cats.items()) {
    categories.push_back({{"$objectType", "vmm.v4.ahv.config.CategoryReference"},
                          {"extId", coverage_category_id(k, v.get<std::string>())}});
  }
  return {{"$objectType", "vmm.v4.ahv.config.Vm"},
          {"$reserved", {{"$fv", "v4.r3"}}},
          {"extId", coverage_uuid("vm", name)},
          {"name", name},
          {"categories", categories},
          {"powerState", "ON"}};
}

json Simulator::v4_coverage_policy(const json& rule) {
  const std::string name = rule.at("name");
  const json cats = rule.value("categories", json::object());
  json ids = json::array();
  for (const auto& [k, values] : cats.items()) {
    for (const auto& v : values) ids.push_back(coverage_category_id(k, v.get<std::string>()));
  }
  return {{"$objectType", "datapolicies.v4.config.ProtectionPolicy"},
          {"$reserved", {{"$fv", "v4.r3"}}},
          {"extId", coverage_uuid("protection_rule", name)},
          {"name", name},
          {"categoryIds", ids},
          {"replicationLocations", json::array()},
          {"replicationConfigurations", json::array()}};
}

json Simulator::v4_coverage_plan(const json& plan) {
  const std::string name = plan.at("name");
  return {{"$objectType", "datapolicies.v4.config.RecoveryPlan"},
          {"$reserved", {{"$fv", "v4.r3"}}},
          {"extId", coverage_uuid("recovery_plan", name)},
          {"name", name}};
}

// One VM stage naming the plan's VMs (if it names any), then one per categories entry.
std::vector<json> Simulator::v4_coverage_stages(const json& plan) {
  const std::string plan_id = coverage_uuid("recovery_plan", plan.at("name").get<std::string>());
  std::vector<json> stages;
  auto stage = [&](const char* member, json list) {
    const std::size_t i = stages.size();
    stages.push_back(
        {{"$objectType", "datapolicies.v4.config.RecoveryStage"},
         {"extId", v4::uuid_from_hash(v4_salt_, "stage\n" + plan_id + '\n' + std::to_string(i))},
         {"priority", i + 1},
         {"entityType", "VM"},
         {member, std::move(list)}});
  };
  json entities = json::array();
  for (const auto& vm : plan.value("vms", json::array())) {
    entities.push_back({{"extId", coverage_uuid("vm", vm.get<std::string>())}});
  }
  if (!entities.empty()) stage("entities", std::move(entities));
  for (const auto& c : plan.value("categories", json::array())) {
    json ids = json::array();
    for (const auto& [k, v] : c.items())
      ids.push_back(coverage_category_id(k, v.get<std::string>()));
    stage("categoryExtIds", std::move(ids));
  }
  return stages;
}

std::optional<json> Simulator::coverage_plan_by_id(const std::string& ext_id) {
  for (const auto& plan : coverage_doc_.value("recovery_plans", json::array())) {
    if (coverage_uuid("recovery_plan", plan.at("name").get<std::string>()) == ext_id) return plan;
  }
  return std::nullopt;
}

std::vector<std::string> Simulator::v4_coverage_list(const std::string& endpoint,
                                                     const std::string& parent) {
  std::vector<std::string> out;
  if (endpoint == "v4_recovery_stages") {
    if (auto plan = coverage_plan_by_id(parent)) {
      for (const auto& s : v4_coverage_stages(*plan)) out.push_back(s.dump());
    }
    return out;
  }
  const char* key = endpoint == "v4_vms"                   ? "vms"
                    : endpoint == "v4_protection_policies" ? "protection_rules"
                                                           : "recovery_plans";
  json (Simulator::*make)(const json&) = endpoint == "v4_vms" ? &Simulator::v4_coverage_vm
                                         : endpoint == "v4_protection_policies"
                                             ? &Simulator::v4_coverage_policy
                                             : &Simulator::v4_coverage_plan;
  for (const auto& e : by_name(coverage_doc_, key)) out.push_back((this->*make)(e).dump());
  return out;
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
  coverage_doc_ = doc;
  return served();
}

}  // namespace flowdrift::pcsim
