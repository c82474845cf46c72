#include "drift/coverage_v4.hpp"

#include <algorithm>

namespace flowdrift::drift {
namespace {

using nlohmann::json;

Error malformed(const std::string& where, const std::string& what) {
  return make_error(ErrorReason::Malformed, where + ": " + what);
}

Result<std::string> string_at(const json& item, const char* key, const std::string& where) {
  auto it = item.find(key);
  if (it == item.end() || !it->is_string()) return malformed(where, std::string(key) + " is not a string");
  return it->get<std::string>();
}

Result<std::string> resolved(const json& ext_id, const std::string& where,
                             const CategoryNames& categories) {
  if (!ext_id.is_string()) return malformed(where, "is not a string");
  auto it = categories.find(ext_id.get<std::string>());
  if (it == categories.end()) {
    return malformed(where, "category " + ext_id.get<std::string>() + " is not among the site's categories");
  }
  return it->second;
}

// A list of category extIds (`refs` false) or of {extId} references (`refs` true), resolved
// and sorted; absent is empty.
Result<std::vector<std::string>> category_list(const json& item, const char* key, bool refs,
                                               const std::string& where,
                                               const CategoryNames& categories) {
  std::vector<std::string> out;
  auto it = item.find(key);
  if (it == item.end() || it->is_null()) return out;
  if (!it->is_array()) return malformed(where, std::string(key) + " is not a list");
  for (std::size_t i = 0; i < it->size(); ++i) {
    const std::string here = where + "." + key + "[" + std::to_string(i) + "]";
    const json& e = (*it)[i];
    if (refs && !e.is_object()) return malformed(here, "is not an object");
    auto name = resolved(refs ? e.value("extId", json()) : e, refs ? here + ".extId" : here, categories);
    if (!name) return name.error();
    out.push_back(std::move(*name));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

Result<VmRecord> parse_v4_vm(const json& item, const std::string& where,
                             const CategoryNames& categories) {
  if (!item.is_object()) return malformed(where, "is not an object");
  auto id = string_at(item, "extId", where);
  if (!id) return id.error();
  auto name = string_at(item, "name", where);
  if (!name) return name.error();
  auto cats = category_list(item, "categories", true, where, categories);
  if (!cats) return cats.error();
  return VmRecord{*id, *name, std::move(*cats)};
}

Result<ProtectionRecord> parse_v4_protection_policy(const json& item, const std::string& where,
                                                    const CategoryNames& categories) {
  if (!item.is_object()) return malformed(where, "is not an object");
  auto name = string_at(item, "name", where);
  if (!name) return name.error();
  auto cats = category_list(item, "categoryIds", false, where, categories);
  if (!cats) return cats.error();
  return ProtectionRecord{"protection_policy", *name, std::move(*cats), false, {}};
}

Result<std::vector<ProtectionRecord>> parse_v4_recovery_stage(const json& item,
                                                              const std::string& where,
                                                              const std::string& plan,
                                                              const CategoryNames& categories) {
  if (!item.is_object()) return malformed(where, "is not an object");
  std::vector<ProtectionRecord> out;
  const auto type = item.find("entityType");
  if (type != item.end() && !type->is_string()) return malformed(where, "entityType is not a string");
  if (type != item.end() && *type != "VM") return out;  // volume groups are not VMs
  auto cats = category_list(item, "categoryExtIds", false, where, categories);
  if (!cats) return cats.error();
  if (!cats->empty()) out.push_back({"recovery_plan", plan, std::move(*cats), false, {}});
  ProtectionRecord by_id{"recovery_plan", plan, {}, false, {}};
  const auto entities = item.value("entities", json::array());
  if (!entities.is_array()) return malformed(where, "entities is not a list");
  for (std::size_t i = 0; i < entities.size(); ++i) {
    const std::string here = where + ".entities[" + std::to_string(i) + "]";
    if (!entities[i].is_object()) return malformed(here, "is not an object");
    auto id = string_at(entities[i], "extId", here);
    if (!id) return id.error();
    by_id.vm_ids.push_back(std::move(*id));
  }
  if (!by_id.vm_ids.empty()) out.push_back(std::move(by_id));
  return out;
}

}  // namespace flowdrift::drift
