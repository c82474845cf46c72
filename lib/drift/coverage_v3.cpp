#include "drift/coverage_v3.hpp"

#include <algorithm>


namespace flowdrift::drift {
namespace {

using nlohmann::json;

Error malformed(const std::string& where, const std::string& what) {
  return make_error(ErrorReason::Malformed, where + ": " + what);
}

// The object at `key` of `parent`, or an error naming it.
Result<const json*> object_at(const json& parent, const char* key, const std::string& where) {
  auto it = parent.find(key);
  if (it == parent.end() || !it->is_object()) return malformed(where, std::string(key) + " is not an object");
  return &*it;
}

Result<std::string> string_at(const json& parent, const char* key, const std::string& where) {
  auto it = parent.find(key);
  if (it == parent.end() || !it->is_string()) return malformed(where, std::string(key) + " is not a string");
  return it->get<std::string>();
}

// The string at `key` of `parent`, `fallback` when absent, an error when it is not a string.
Result<std::string> string_or(const json& parent, const char* key, std::string fallback,
                              const std::string& where) {
  if (!parent.contains(key)) return fallback;
  return string_at(parent, key, where);
}

// The member at `path` below `parent` (an object), null when a step is absent or null; an error
// naming the first step that is there and is not an object.
Result<const json*> optional_at(const json& parent, std::initializer_list<const char*> path,
                                const std::string& where) {
  static const json none;
  const json* at = &parent;
  std::string here = where;
  for (const char* key : path) {
    if (at->is_null()) return &none;
    if (!at->is_object()) return malformed(here, "is not an object");
    auto it = at->find(key);
    if (it == at->end()) return &none;
    at = &*it;
    here += std::string(".") + key;
  }
  return at;
}

// {key: value} or, with `lists`, {key: [values]}, as sorted "key:value" strings.
Result<std::vector<std::string>> category_pairs(const json& map, bool lists, const std::string& where) {
  if (!map.is_object()) return malformed(where, "is not an object");
  std::vector<std::string> out;
  for (const auto& [key, v] : map.items()) {
    const json values = lists ? v : json::array({v});
    if (!values.is_array()) return malformed(where + "." + key, "is not a list of values");
    for (const auto& value : values) {
      if (!value.is_string()) return malformed(where + "." + key, "a value is not a string");
      out.push_back(key + ":" + value.get<std::string>());
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// spec.name, as every v3 intent entity has it.
Result<std::string> spec_name(const json& entity, const std::string& where) {
  auto spec = object_at(entity, "spec", where);
  if (!spec) return spec.error();
  return string_at(**spec, "name", where + ".spec");
}

Result<std::vector<ProtectionRecord>> stage_records(const json& stage,
                                                           const std::string& name,
                                                           const std::string& where) {
  std::vector<ProtectionRecord> out;
  auto found = optional_at(stage, {"stage_work", "recover_entities", "entity_info_list"}, where);
  if (!found) return found.error();
  const json& list = (*found)->is_null() ? json::array() : **found;
  if (!list.is_array()) return malformed(where, "entity_info_list is not a list");
  ProtectionRecord by_id{"recovery_plan", name, {}, false, {}};
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string here = where + ".entity_info_list[" + std::to_string(i) + "]";
    const auto& info = list[i];
    if (!info.is_object()) return malformed(here, "is not an object");
    if (auto ref = info.find("any_entity_reference"); ref != info.end()) {
      auto uuid = ref->is_object() ? string_at(*ref, "uuid", here + ".any_entity_reference")
                                   : Result<std::string>(malformed(here, "any_entity_reference is not an object"));
      if (!uuid) return uuid.error();
      auto kind = string_or(*ref, "kind", "vm", here + ".any_entity_reference");
      if (!kind) return kind.error();
      if (*kind == "vm") by_id.vm_ids.push_back(*uuid);
    } else if (auto cats = info.find("categories"); cats != info.end()) {
      auto pairs = category_pairs(*cats, false, here + ".categories");
      if (!pairs) return pairs.error();
      out.push_back({"recovery_plan", name, std::move(*pairs), true, {}});
    } else {
      return malformed(here, "neither any_entity_reference nor categories");
    }
  }
  if (!by_id.vm_ids.empty()) out.push_back(std::move(by_id));
  return out;
}


}  // namespace

Result<VmRecord> parse_v3_vm(const json& entity, const std::string& where) {
  if (!entity.is_object()) return malformed(where, "is not an object");
  auto metadata = object_at(entity, "metadata", where);
  if (!metadata) return metadata.error();
  auto uuid = string_at(**metadata, "uuid", where + ".metadata");
  if (!uuid) return uuid.error();
  auto name = spec_name(entity, where);
  if (!name) return name.error();
  const bool mapping = (*metadata)->contains("categories_mapping");
  const json cats = (*metadata)->value(mapping ? "categories_mapping" : "categories", json::object());
  auto pairs = category_pairs(cats, mapping,
                              where + ".metadata." + (mapping ? "categories_mapping" : "categories"));
  if (!pairs) return pairs.error();
  return VmRecord{*uuid, *name, std::move(*pairs)};
}

Result<ProtectionRecord> parse_v3_protection_rule(const json& entity, const std::string& where) {
  if (!entity.is_object()) return malformed(where, "is not an object");
  auto name = spec_name(entity, where);
  if (!name) return name.error();
  auto found = optional_at(entity, {"spec", "resources", "category_filter"}, where);
  if (!found) return found.error();
  const json& filter = (*found)->is_null() ? json::object() : **found;
  if (!filter.is_object()) return malformed(where, "spec.resources.category_filter is not an object");
  auto type_of = string_or(filter, "type", "CATEGORIES_MATCH_ANY", where + ".spec.resources.category_filter");
  if (!type_of) return type_of.error();
  const std::string& type = *type_of;
  if (type != "CATEGORIES_MATCH_ANY" && type != "CATEGORIES_MATCH_ALL") {
    return malformed(where, "category_filter.type " + type + " is not CATEGORIES_MATCH_ANY or _ALL");
  }
  const auto kinds = filter.value("kind_list", json::array({"vm"}));
  const bool vms = kinds.is_array() && std::find(kinds.begin(), kinds.end(), json("vm")) != kinds.end();
  ProtectionRecord out{"protection_policy", *name, {}, type == "CATEGORIES_MATCH_ALL", {}};
  if (!vms) return out;
  auto pairs = category_pairs(filter.value("params", json::object()), true,
                              where + ".spec.resources.category_filter.params");
  if (!pairs) return pairs.error();
  out.categories = std::move(*pairs);
  return out;
}

Result<std::vector<ProtectionRecord>> parse_v3_recovery_plan(const json& entity,
                                                                    const std::string& where) {
  if (!entity.is_object()) return malformed(where, "is not an object");
  auto name = spec_name(entity, where);
  if (!name) return name.error();
  auto found = optional_at(entity, {"spec", "resources", "stage_list"}, where);
  if (!found) return found.error();
  const json& stages = (*found)->is_null() ? json::array() : **found;
  if (!stages.is_array()) return malformed(where, "spec.resources.stage_list is not a list");
  std::vector<ProtectionRecord> out;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const std::string here = where + ".stage_list[" + std::to_string(i) + "]";
    if (!stages[i].is_object()) return malformed(here, "is not an object");
    auto records = stage_records(stages[i], *name, here);
    if (!records) return records.error();
    for (auto& r : *records) out.push_back(std::move(r));
  }
  return out;
}

Result<CoverageData> parse_v3_coverage(const std::vector<json>& vms,
                                       const std::vector<json>& rules,
                                       const std::vector<json>& plans) {
  CoverageData out;
  for (std::size_t i = 0; i < vms.size(); ++i) {
    auto vm = parse_v3_vm(vms[i], "vms/list entities[" + std::to_string(i) + "]");
    if (!vm) return vm.error();
    out.vms.push_back(std::move(*vm));
  }
  for (std::size_t i = 0; i < rules.size(); ++i) {
    auto r = parse_v3_protection_rule(rules[i], "protection_rules/list entities[" + std::to_string(i) + "]");
    if (!r) return r.error();
    out.protections.push_back(std::move(*r));
  }
  for (std::size_t i = 0; i < plans.size(); ++i) {
    auto p = parse_v3_recovery_plan(plans[i], "recovery_plans/list entities[" + std::to_string(i) + "]");
    if (!p) return p.error();
    for (auto& r : *p) out.protections.push_back(std::move(r));
  }
  return out;
}

}  // namespace flowdrift::drift
