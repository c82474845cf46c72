// pcsim's v4-native content: loading the data file's "v4" section (extIds, reference resolution,
// the read-only fields a PC adds) and serving it: VPCs and entity groups (lists and GET one, no
// writes), native policies (listed with the v3-stored ones, GET one; read-only), and the
// policy_fields members merged into v3-stored policies (Simulator::v4_policy_of).
#include "pcsim/v4_native.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <tuple>

#include "pcsim/internal.hpp"
#include "pcsim/simulator.hpp"
#include "pcsim/v4.hpp"

namespace flowdrift::pcsim {

using http::ServerReply;
using nlohmann::json;
using namespace detail;

namespace v4 {
namespace {

constexpr std::string_view kReferenceKinds[] = {"category",     "address_group", "service_group",
                                                "entity_group", "vpc",           "dangling"};

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::runtime_error("pcsim data: " + where + ": " + what);
}

// "@kind:name" -> (kind, name); nullopt for a string of another form.
std::optional<std::pair<std::string, std::string>> split_reference(const std::string& text) {
  const auto colon = text.find(':');
  if (text.empty() || text[0] != '@' || colon == std::string::npos || colon == 1)
    return std::nullopt;
  for (std::size_t i = 1; i < colon; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (!std::islower(c) && c != '_') return std::nullopt;
  }
  return std::pair{text.substr(1, colon - 1), text.substr(colon + 1)};
}

// `text` with its reference, if it is one, resolved.
std::string resolved(const std::string& text, const std::string& where,
                     const ReferenceLookup& lookup) {
  auto ref = split_reference(text);
  if (!ref) return text;
  const auto& [kind, name] = *ref;
  if (std::find(std::begin(kReferenceKinds), std::end(kReferenceKinds), kind) ==
      std::end(kReferenceKinds)) {
    fail(where, "unknown reference kind '" + kind + "' in \"" + text +
                    "\" (category, address_group, service_group, entity_group, vpc, dangling)");
  }
  if (name.empty()) fail(where, "no name in \"" + text + "\"");
  if (kind == "dangling") return name;
  auto id = lookup(kind, name);
  if (!id) fail(where, "unknown " + kind + " '" + name + "' in \"" + text + "\"");
  return *id;
}

}  // namespace

void resolve_references(json& value, const std::string& where, const ReferenceLookup& lookup) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      resolve_references(it.value(), where + "." + it.key(), lookup);
    }
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      resolve_references(value[i], where + "[" + std::to_string(i) + "]", lookup);
    }
  } else if (value.is_string()) {
    value = resolved(value.get<std::string>(), where, lookup);
  }
}

void add_defaults(json& object, const json& defaults) {
  for (const auto& [key, value] : defaults.items()) {
    if (!object.contains(key)) object[key] = value;
  }
}

}  // namespace v4

namespace {

const V4NativeObject* find_object(const std::vector<V4NativeObject>& objects,
                                  const std::string& ext_id) {
  auto it = std::find_if(objects.begin(), objects.end(),
                         [&](const V4NativeObject& o) { return o.ext_id == ext_id; });
  return it == objects.end() ? nullptr : &*it;
}

// extId, the defaults a PC fills in, and the served text.
void finish(V4NativeObject& object, const json& defaults) {
  object.object["extId"] = object.ext_id;
  v4::add_defaults(object.object, defaults);
  object.text = object.object.dump();
}

void sort_by_name(std::vector<V4NativeObject>& objects) {
  std::sort(objects.begin(), objects.end(), [](const V4NativeObject& a, const V4NativeObject& b) {
    return std::tie(a.name, a.ext_id) < std::tie(b.name, b.ext_id);
  });
}

}  // namespace

// ---- loading ---------------------------------------------------------------------------------

// The items of one list with their per-instance extIds (salted: another instance, other ids).
std::vector<V4NativeObject> Simulator::new_v4_objects(const json& items,
                                                      std::string_view kind) const {
  std::vector<V4NativeObject> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string name = items[i].at("name").get<std::string>();
    const std::string key = std::string(kind) + '\n' + std::to_string(i) + '\n' + name;
    out.push_back({v4::uuid_from_hash(v4_salt_, key), name, items[i], {}});
  }
  return out;
}

void Simulator::resolve_v4_objects(std::vector<V4NativeObject>& objects,
                                   const std::string& where) const {
  for (std::size_t i = 0; i < objects.size(); ++i) {
    v4::resolve_references(objects[i].object, where + "[" + std::to_string(i) + "]", v4_lookup());
  }
}

v4::ReferenceLookup Simulator::v4_lookup() const {
  return [this](std::string_view kind, const std::string& name) {
    return v4_reference(kind, name);
  };
}

void Simulator::load_v4_native(const SiteV4& site) {
  validate_site_v4(site);
  // Every extId first: a reference may name any VPC or entity group of the section.
  vpcs_ = new_v4_objects(site.vpcs, "vpc");
  entity_groups_ = new_v4_objects(site.entity_groups, "entity_group");
  native_policies_ = new_v4_objects(site.policies, "policy");
  resolve_v4_objects(vpcs_, "v4.vpcs");
  resolve_v4_objects(entity_groups_, "v4.entity_groups");
  resolve_v4_objects(native_policies_, "v4.policies");
  for (auto& vpc : vpcs_) finish_vpc(vpc);
  for (auto& group : entity_groups_) finish_entity_group(group);
  for (auto& policy : native_policies_) finish_native_policy(policy);
  sort_by_name(vpcs_);
  sort_by_name(entity_groups_);
  sort_by_name(native_policies_);
  load_policy_fields(site.policy_fields);
}

void Simulator::finish_vpc(V4NativeObject& vpc) const {
  const json metadata = {{"$objectType", "common.v1.config.Metadata"},
                         {"ownerReferenceId", owner_uuid_},
                         {"ownerUserName", options_.user}};
  finish(vpc, {{"$objectType", "networking.v4.config.Vpc"},
               {"description", ""},
               {"vpcType", "REGULAR"},
               {"metadata", metadata}});
}

// Only members every version with entity groups has (v4.1 lacks creationTime,
// lastUpdateTime and isSystemDefined, v4.2 isSystemDefined: tests/fixtures/v4-sdk), so one
// object serves v4.1-v4.3; a data file may still give them.
void Simulator::finish_entity_group(V4NativeObject& group) {
  finish(group, {{"$objectType", "microseg.v4.config.EntityGroup"},
                 {"description", ""},
                 {"ownerExtId", owner_uuid_}});
}

void Simulator::finish_native_policy(V4NativeObject& policy) {
  auto rules = policy.object.find("rules");
  if (rules != policy.object.end() && rules->is_array()) {
    for (std::size_t i = 0; i < rules->size(); ++i) {
      json& rule = (*rules)[i];
      if (!rule.is_object()) continue;
      rule["extId"] = v4::uuid_from_hash(v4_salt_, policy.ext_id + "/rule/" + std::to_string(i));
      v4::add_defaults(rule, {{"$objectType", "microseg.v4.config.NetworkSecurityPolicyRule"}});
    }
  }
  const auto [created, updated] = random_times(v4_rng_);
  finish(policy, {{"$objectType", "microseg.v4.config.NetworkSecurityPolicy"},
                  {"creationTime", created},
                  {"lastUpdateTime", updated},
                  {"createdBy", owner_uuid_},
                  {"isSystemDefined", false}});
}

void Simulator::load_policy_fields(const json& fields) {
  for (const auto& [name, members] : fields.items()) {
    const std::string where = "v4.policy_fields." + name;
    json merged = members;
    v4::resolve_references(merged, where, v4_lookup());
    bool found = false;
    for (const auto& [uuid, rule] : rules_) {
      if (rule.name != name) continue;
      policy_fields_[uuid] = merged;
      found = true;
    }
    if (!found) {
      throw std::runtime_error("pcsim data: " + where + ": no v3-stored policy is called '" + name +
                               "'");
    }
  }
}

std::optional<std::string> Simulator::v4_reference(std::string_view kind,
                                                   const std::string& name) const {
  if (kind == "category") {
    const auto colon = name.find(':');
    if (colon == std::string::npos) return std::nullopt;
    const std::string key = name.substr(0, colon), value = name.substr(colon + 1);
    auto it = category_ext_id_.find(key + '\n' + value);
    if (it == category_ext_id_.end() || !category_defined(key, value)) return std::nullopt;
    return it->second;
  }
  if (kind == "address_group" || kind == "service_group") {
    const auto& names = kind == "address_group" ? ag_uuid_ : sg_uuid_;
    auto it = names.find(name);
    return it == names.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  const auto& objects = kind == "vpc" ? vpcs_ : entity_groups_;
  auto it = std::find_if(objects.begin(), objects.end(),
                         [&](const V4NativeObject& o) { return o.name == name; });
  return it == objects.end() ? std::nullopt : std::optional<std::string>(it->ext_id);
}

std::optional<std::string> Simulator::v4_ext_id(std::string_view kind,
                                                const std::string& name) const {
  std::lock_guard lock(mu_);
  return v4_reference(kind, name);
}

// ---- serving ---------------------------------------------------------------------------------

nlohmann::json Simulator::entity_group_object(const V4NativeObject& group) const {
  std::vector<std::string> users;
  const std::string quoted = '"' + group.ext_id + '"';
  for (const auto& policy : native_policies_) {
    if (policy.text.find(quoted) != std::string::npos) users.push_back(policy.ext_id);
  }
  for (const auto& [uuid, fields] : policy_fields_) {
    if (rules_.count(uuid) && fields.dump().find(quoted) != std::string::npos)
      users.push_back(uuid);
  }
  std::sort(users.begin(), users.end());
  json out = group.object;
  out["policyExtIds"] = users;
  return out;
}

std::vector<std::string> Simulator::v4_list_page(const std::string& endpoint,
                                                 const std::string& parent, std::size_t offset,
                                                 std::size_t limit, std::size_t* total) {
  if (endpoint == "v4_policies") return v4_policy_page(offset, limit, total);
  std::vector<std::string> built;
  const std::vector<std::string>* all = &built;
  if (is_coverage_list(endpoint)) {
    built = v4_coverage_list(endpoint, parent);
  } else if (endpoint == "v4_vpcs") {
    for (const auto& vpc : vpcs_) built.push_back(vpc.text);
  } else if (endpoint == "v4_entity_sync_policies") {
    for (const auto& e : entity_sync_) built.push_back(e.dump());
  } else if (endpoint == "v4_entity_groups") {
    for (const auto& group : entity_groups_) built.push_back(entity_group_object(group).dump());
  } else {
    all = endpoint == "v4_address_groups"   ? &v4_address_groups_
          : endpoint == "v4_service_groups" ? &v4_service_groups_
                                            : &v4_categories_;
  }
  *total = all->size();
  const std::size_t start = std::min(offset, all->size());
  const std::size_t end = start + std::min(limit, all->size() - start);
  return {all->begin() + static_cast<std::ptrdiff_t>(start),
          all->begin() + static_cast<std::ptrdiff_t>(end)};
}

// The v3-stored policies (sorted_rules()) and the native ones merged in name order.
std::vector<std::string> Simulator::v4_policy_page(std::size_t offset, std::size_t limit,
                                                   std::size_t* total) {
  const auto& rules = sorted_rules();
  *total = rules.size() + native_policies_.size();
  std::vector<std::string> out;
  std::size_t r = 0, n = 0;
  for (std::size_t pos = 0; pos < *total && out.size() < limit; ++pos) {
    const bool native =
        n < native_policies_.size() &&
        (r == rules.size() || std::tie(native_policies_[n].name, native_policies_[n].ext_id) <
                                  std::tie(rules[r]->name, rules[r]->uuid));
    if (pos >= offset) out.push_back(native ? native_policies_[n].text : v4_policy_text(*rules[r]));
    if (native) {
      ++n;
    } else {
      ++r;
    }
  }
  return out;
}

http::ServerReply Simulator::v4_read_only_object(const http::HttpRequest& request,
                                                 const std::string& endpoint,
                                                 const std::string& id) {
  const bool vpc = endpoint == "v4_vpcs_crud";
  if (request.method != "GET") {
    return v4_plain_error(405, endpoint, request.method,
                          vpc ? "pcsim: VPCs are read-only (GET only)."
                              : "pcsim: entity groups are read-only (GET only).");
  }
  const V4NativeObject* found = find_object(vpc ? vpcs_ : entity_groups_, id);
  if (!found) {
    return v4_plain_error(404, endpoint, request.method,
                          (vpc ? "VPC " : "Entity group ") + id + " not found.");
  }
  json data = vpc ? found->object : entity_group_object(*found);
  const std::string etag = v4::etag_of(data.dump());
  return v4_get_reply(endpoint, std::string(request.path()), std::move(data), etag);
}

std::optional<http::ServerReply> Simulator::v4_native_policy(const http::HttpRequest& request,
                                                             const std::string& id) const {
  const V4NativeObject* policy = find_object(native_policies_, id);
  if (!policy) return std::nullopt;
  if (request.method != "GET") {
    return v4_plain_error(405, "v4_policies_crud", request.method,
                          "pcsim: v4-native policies are read-only");
  }
  return v4_get_reply("v4_policies_crud", std::string(request.path()), policy->object,
                      v4::etag_of(policy->text));
}

}  // namespace flowdrift::pcsim
