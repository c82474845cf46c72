// What a target site holds under each name: identifiers from its raw site data.
#include "plan/plan.hpp"

#include "core/json_get.hpp"

namespace flowdrift::plan {
namespace {

using nlohmann::json;
using policy::ObjectKind;

std::string text_at(const json& j, std::initializer_list<std::string_view> path) {
  return string_at_path(j, path);
}

void add(Target& t, ObjectKind kind, const std::string& name, TargetObject o) {
  if (name.empty()) return;
  auto [it, inserted] = t.objects.emplace(policy::ObjectKey{kind, name}, std::move(o));
  if (!inserted) t.ambiguous.insert(it->first);
}

}  // namespace

Target v3_target(const std::string& site, const policy::V3SiteData& data,
                 policy::Snapshot snapshot) {
  Target t;
  t.site = site;
  t.api = config::Api::V3;
  t.snapshot = std::move(snapshot);
  for (const auto& r : data.rules) {
    TargetObject o{text_at(r, {"metadata", "uuid"}), -1};
    const json& version = member_at(r, {"metadata", "spec_version"});
    if (version.is_number_integer()) o.spec_version = version.get<std::int64_t>();
    add(t, ObjectKind::Policy, text_at(r, {"spec", "name"}), o);
  }
  for (const auto& g : data.address_groups) {
    add(t, ObjectKind::AddressGroup, text_at(g, {"address_group", "name"}), {text_at(g, {"uuid"})});
  }
  for (const auto& g : data.service_groups) {
    add(t, ObjectKind::ServiceGroup, text_at(g, {"service_group", "name"}), {text_at(g, {"uuid"})});
  }
  for (const auto& k : data.category_keys) t.category_keys.insert(text_at(k, {"name"}));
  for (const auto& [key, values] : data.category_values) {
    t.category_keys.insert(key);
    for (const auto& v : values) add(t, ObjectKind::Category, key + ":" + text_at(v, {"value"}), {});
  }
  return t;
}

Target v4_target(const std::string& site, const policy::V4SiteData& data,
                 policy::Snapshot snapshot) {
  Target t;
  t.site = site;
  t.api = config::Api::V4;
  t.snapshot = std::move(snapshot);
  auto named = [&](ObjectKind kind, const std::vector<json>& list) {
    for (const auto& o : list) add(t, kind, text_at(o, {"name"}), {text_at(o, {"extId"})});
  };
  named(ObjectKind::Policy, data.policies);
  named(ObjectKind::AddressGroup, data.address_groups);
  named(ObjectKind::ServiceGroup, data.service_groups);
  named(ObjectKind::EntityGroup, data.entity_groups);
  for (const auto& c : data.categories) {
    const std::string key = text_at(c, {"key"});
    t.category_keys.insert(key);
    add(t, ObjectKind::Category, key + ":" + text_at(c, {"value"}), {text_at(c, {"extId"})});
  }
  return t;
}

}  // namespace flowdrift::plan
