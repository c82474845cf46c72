// The stored form of a site's coverage inputs (drift/coverage.hpp coverage_text), and the read
// states' names.
#include <nlohmann/json.hpp>

#include "drift/coverage.hpp"

namespace flowdrift::drift {
namespace {

using nlohmann::json;

Error malformed(const std::string& where, const std::string& what) {
  return make_error(ErrorReason::Malformed, where + ": " + what);
}

Result<std::vector<std::string>> strings_at(const json& o, const char* key, const std::string& where) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_array()) return malformed(where, std::string(key) + " is not a list");
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string()) return malformed(where, std::string(key) + ": an element is not a string");
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<std::string> string_at(const json& o, const char* key, const std::string& where) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_string()) return malformed(where, std::string(key) + " is not a string");
  return it->get<std::string>();
}

Result<VmRecord> parse_vm(const json& j, const std::string& where) {
  if (!j.is_object()) return malformed(where, "is not an object");
  auto id = string_at(j, "id", where);
  auto name = string_at(j, "name", where);
  auto categories = strings_at(j, "categories", where);
  if (!id) return id.error();
  if (!name) return name.error();
  if (!categories) return categories.error();
  return VmRecord{std::move(*id), std::move(*name), std::move(*categories)};
}

Result<ProtectionRecord> parse_protection(const json& j, const std::string& where) {
  if (!j.is_object()) return malformed(where, "is not an object");
  auto kind = string_at(j, "kind", where);
  auto name = string_at(j, "name", where);
  auto categories = strings_at(j, "categories", where);
  auto vm_ids = strings_at(j, "vm_ids", where);
  if (!kind) return kind.error();
  if (*kind != "protection_policy" && *kind != "recovery_plan") {
    return malformed(where, "kind is neither protection_policy nor recovery_plan");
  }
  if (!name) return name.error();
  if (!categories) return categories.error();
  if (!vm_ids) return vm_ids.error();
  auto all = j.find("match_all");
  if (all == j.end() || !all->is_boolean()) return malformed(where, "match_all is not a boolean");
  return ProtectionRecord{std::move(*kind), std::move(*name), std::move(*categories),
                          all->get<bool>(), std::move(*vm_ids)};
}

template <class T>
Result<std::vector<T>> parse_list(const json& doc, const char* key, const std::string& where,
                                  Result<T> (*parse)(const json&, const std::string&)) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_array()) return malformed(where, std::string(key) + " is not a list");
  std::vector<T> out;
  for (std::size_t i = 0; i < it->size(); ++i) {
    auto one = parse((*it)[i], where + "." + key + "[" + std::to_string(i) + "]");
    if (!one) return one.error();
    out.push_back(std::move(*one));
  }
  return out;
}

}  // namespace

std::string coverage_text(const CoverageData& data) {
  json vms = json::array();
  for (const auto& vm : data.vms) {
    vms.push_back({{"id", vm.id}, {"name", vm.name}, {"categories", vm.categories}});
  }
  json protections = json::array();
  for (const auto& p : data.protections) {
    protections.push_back({{"kind", p.kind}, {"name", p.name}, {"categories", p.categories},
                           {"match_all", p.match_all}, {"vm_ids", p.vm_ids}});
  }
  // Valid UTF-8 from a strict read; never throws on what is not.
  return json{{"vms", std::move(vms)}, {"protections", std::move(protections)}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

Result<CoverageData> parse_coverage_text(const std::string& text, const std::string& where) {
  const json doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) return malformed(where, "is not a JSON object");
  auto vms = parse_list(doc, "vms", where, parse_vm);
  if (!vms) return vms.error();
  auto protections = parse_list(doc, "protections", where, parse_protection);
  if (!protections) return protections.error();
  return CoverageData{std::move(*vms), std::move(*protections)};
}

std::string_view to_string(CoverageRead::State s) {
  switch (s) {
    case CoverageRead::State::NotRead: return "not_read";
    case CoverageRead::State::NotServed: return "not_served";
    case CoverageRead::State::Complete: return "complete";
    case CoverageRead::State::Failed: return "failed";
  }
  return "not_read";
}

}  // namespace flowdrift::drift
