#include "pcsim/v4.hpp"

#include <cctype>
#include <charconv>
#include <cstdio>

namespace flowdrift::pcsim::v4 {
namespace {

using nlohmann::json;

constexpr std::string_view kRuleObject = "microseg.v4.config.NetworkSecurityPolicyRule";
constexpr std::string_view kAppSpec = "microseg.v4.config.ApplicationRuleSpec";

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string string_member(const json& obj, const char* key) {
  const json* v = member(obj, key);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

bool bool_member(const json& obj, const char* key) {
  const json* v = member(obj, key);
  return v && v->is_boolean() && v->get<bool>();
}

long long int_member(const json& obj, const char* key, long long fallback) {
  const json* v = member(obj, key);
  return v && v->is_number_integer() ? v->get<long long>() : fallback;
}

// filter.params {k:[v...]} -> [extId of k:v...] (keys sorted, values in order).
json category_refs(const json* filter, const IdSource& ids) {
  json refs = json::array();
  const json* params = filter ? member(*filter, "params") : nullptr;
  if (!params || !params->is_object()) return refs;
  for (const auto& [key, values] : params->items()) {
    if (!values.is_array()) continue;
    for (const auto& v : values) {
      if (v.is_string()) refs.push_back(ids.category(key, v.get<std::string>()));
    }
  }
  return refs;
}

json uuid_refs(const json* list) {
  json refs = json::array();
  if (!list || !list->is_array()) return refs;
  for (const auto& ref : *list) {
    std::string uuid = string_member(ref, "uuid");
    if (!uuid.empty()) refs.push_back(uuid);
  }
  return refs;
}

json port_ranges(const json* list) {
  json out = json::array();
  if (list && list->is_array()) {
    for (const auto& r : *list) {
      out.push_back({{"startPort", int_member(r, "start_port", 0)},
                     {"endPort", int_member(r, "end_port", int_member(r, "start_port", 65535))}});
    }
  }
  // v3: a TCP/UDP entry without ranges allows every port.
  if (out.empty()) out.push_back({{"startPort", 0}, {"endPort", 65535}});
  return out;
}

json icmp_services(const json* list) {
  json out = json::array();
  if (list && list->is_array()) {
    for (const auto& tc : *list) {
      json s = json::object();
      if (const json* t = member(tc, "type"); t && t->is_number_integer()) s["type"] = *t;
      if (const json* c = member(tc, "code"); c && c->is_number_integer()) s["code"] = *c;
      if (s.empty()) s["isAllAllowed"] = true;
      out.push_back(std::move(s));
    }
  }
  if (out.empty()) out.push_back({{"isAllAllowed", true}});
  return out;
}

// The service fields of one v3 allow-list entry, merged into `spec`.
void add_services(const json& entry, json& spec) {
  const std::string protocol = string_member(entry, "protocol");
  json groups = uuid_refs(member(entry, "service_group_list"));
  if (protocol == "TCP") {
    spec["tcpServices"] = port_ranges(member(entry, "tcp_port_range_list"));
  } else if (protocol == "UDP") {
    spec["udpServices"] = port_ranges(member(entry, "udp_port_range_list"));
  } else if (protocol == "ICMP") {
    spec["icmpServices"] = icmp_services(member(entry, "icmp_type_code_list"));
  }
  if (!groups.empty()) spec["serviceGroupReferences"] = std::move(groups);
  const bool explicit_protocol = protocol == "TCP" || protocol == "UDP" || protocol == "ICMP";
  if (!explicit_protocol && !spec.contains("serviceGroupReferences")) {
    spec["isAllProtocolAllowed"] = true;
  }
}

// The peer alternatives of one entry ("src"/"dest" fields); v4 holds one peer kind per rule,
// so an IP_SUBNET entry with a subnet and address groups becomes two rules.
std::vector<json> peers_of(const json& entry, const std::string& prefix, const IdSource& ids) {
  std::string type = string_member(entry, "peer_specification_type");
  const json* filter = member(entry, "filter");
  const json* subnet = member(entry, "ip_subnet");
  const json* ags = member(entry, "address_group_inclusion_list");
  if (type.empty()) {
    const bool has_ip = (subnet && subnet->is_object()) || (ags && ags->is_array() && !ags->empty());
    if (filter && filter->is_object() && !has_ip) type = "FILTER";
    if (has_ip && !(filter && filter->is_object())) type = "IP_SUBNET";
  }
  std::vector<json> out;
  if (type == "ALL") {
    out.push_back({{prefix + "AllowSpec", "ALL"}});
  } else if (type == "FILTER") {
    out.push_back({{prefix + "CategoryReferences", category_refs(filter, ids)}});
  } else if (type == "IP_SUBNET") {
    if (subnet && subnet->is_object()) {
      out.push_back({{prefix + "Subnet",
                      {{"$objectType", "common.v1.config.IPv4Address"},
                       {"value", string_member(*subnet, "ip")},
                       {"prefixLength", int_member(*subnet, "prefix_length", 32)}}}});
    }
    json refs = uuid_refs(ags);
    if (!refs.empty()) out.push_back({{prefix + "AddressGroupReferences", std::move(refs)}});
  }
  return out;
}

json make_rule(const std::string& ext_id, std::string_view type, json spec,
               const std::string& description) {
  json rule = {{"$objectType", kRuleObject}, {"extId", ext_id}, {"type", type}, {"spec", std::move(spec)}};
  if (!description.empty()) rule["description"] = description;
  return rule;
}

void add_direction(const json& rule_body, const char* list_key, const std::string& prefix,
                   bool empty_allows_all, const json& secured, const std::string& policy_id,
                   const IdSource& ids, json& rules) {
  const json* list = member(rule_body, list_key);
  const bool empty = !list || !list->is_array() || list->empty();
  if (empty) {
    if (!empty_allows_all) return;
    json spec = {{"$objectType", kAppSpec},
                 {"securedGroupCategoryReferences", secured},
                 {prefix + "AllowSpec", "ALL"},
                 {"isAllProtocolAllowed", true}};
    rules.push_back(make_rule(ids.derived(policy_id + "/" + prefix + "/all"), "APPLICATION",
                              std::move(spec), ""));
    return;
  }
  long long index = 0;
  for (const auto& entry : *list) {
    ++index;
    if (!entry.is_object()) continue;
    const long long rule_id = int_member(entry, "rule_id", index);
    const auto peers = peers_of(entry, prefix, ids);
    for (std::size_t p = 0; p < peers.size(); ++p) {
      json spec = {{"$objectType", kAppSpec}, {"securedGroupCategoryReferences", secured}};
      for (const auto& [k, v] : peers[p].items()) spec[k] = v;
      add_services(entry, spec);
      rules.push_back(make_rule(ids.derived(policy_id + "/" + prefix + "/" +
                                            std::to_string(rule_id) + "/" + std::to_string(p)),
                                "APPLICATION", std::move(spec),
                                string_member(entry, "description")));
    }
  }
}

std::string link_href(std::string_view path, long long page, long long limit) {
  return std::string(path) + "?$page=" + std::to_string(page) + "&$limit=" + std::to_string(limit);
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::uint64_t fnv1a(std::uint64_t seed, std::string_view text) {
  std::uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  // Final avalanche (splitmix64) so nearby texts give unrelated ids.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

}  // namespace

int parse_version(std::string_view text) {
  constexpr std::string_view prefix = "v4.";
  if (text.substr(0, prefix.size()) != prefix) return -1;
  const std::string_view digits = text.substr(prefix.size());
  int minor = -1;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), minor);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size()) return -1;
  if (std::to_string(minor) != digits) return -1;  // "v4.03", "v4.+1"
  return minor;
}

std::string base_path(std::string_view ns, int minor) {
  return "/api/" + std::string(ns) + "/v4." + std::to_string(minor) + "/config";
}

nlohmann::json policy_from_v3(const nlohmann::json& entity, const IdSource& ids) {
  const json empty = json::object();
  const json* md = member(entity, "metadata");
  const json* spec = member(entity, "spec");
  if (!md) md = &empty;
  if (!spec) spec = &empty;
  const json* res = member(*spec, "resources");
  if (!res) res = &empty;
  const std::string policy_id = string_member(*md, "uuid");

  std::string type = "APPLICATION";
  const json* body = nullptr;
  bool outbound_empty_allows_all = true;
  for (auto [key, v4_type] : {std::pair{"app_rule", "APPLICATION"}, {"ad_rule", "APPLICATION"},
                              {"isolation_rule", "ISOLATION"}, {"quarantine_rule", "QUARANTINE"}}) {
    if (const json* b = member(*res, key); b && b->is_object()) {
      body = b;
      type = v4_type;
      outbound_empty_allows_all = std::string_view(key) != "quarantine_rule";
      break;
    }
  }
  if (!body) body = &empty;

  const std::string action = string_member(*body, "action");
  json policy = {{"$objectType", "microseg.v4.config.NetworkSecurityPolicy"},
                 {"extId", policy_id},
                 {"name", string_member(*spec, "name")},
                 {"type", type},
                 {"state", action == "APPLY" ? "ENFORCE" : action == "MONITOR" ? "MONITOR" : "SAVE"},
                 {"scope", "ALL_VLAN"},
                 {"isHitlogEnabled", bool_member(*res, "is_policy_hitlog_enabled")},
                 {"isIpv6TrafficAllowed", bool_member(*res, "allow_ipv6_traffic")},
                 {"isSystemDefined", false}};
  if (const json* d = member(*spec, "description"); d && d->is_string()) policy["description"] = *d;
  if (auto t = string_member(*md, "creation_time"); !t.empty()) policy["creationTime"] = t;
  if (auto t = string_member(*md, "last_update_time"); !t.empty()) policy["lastUpdateTime"] = t;
  if (const json* owner = member(*md, "owner_reference")) {
    if (auto u = string_member(*owner, "uuid"); !u.empty()) policy["createdBy"] = u;
  }

  json rules = json::array();
  if (type == "ISOLATION") {
    json iso = {{"$objectType", "microseg.v4.config.TwoEnvIsolationRuleSpec"},
                {"firstIsolationGroup", category_refs(member(*body, "first_entity_filter"), ids)},
                {"secondIsolationGroup", category_refs(member(*body, "second_entity_filter"), ids)}};
    rules.push_back(make_rule(ids.derived(policy_id + "/isolation"), "TWO_ENV_ISOLATION",
                              std::move(iso), ""));
  } else {
    const json* target = member(*body, "target_group");
    json secured = category_refs(target ? member(*target, "filter") : nullptr, ids);
    const std::string internal = target ? string_member(*target, "default_internal_policy") : "";
    if (internal == "ALLOW_ALL" || internal == "DENY_ALL") {
      json intra = {{"$objectType", "microseg.v4.config.IntraEntityGroupRuleSpec"},
                    {"securedGroupAction", internal == "ALLOW_ALL" ? "ALLOW" : "DENY"},
                    {"securedGroupCategoryReferences", secured}};
      rules.push_back(make_rule(ids.derived(policy_id + "/intra"), "INTRA_GROUP",
                                std::move(intra), ""));
    }
    add_direction(*body, "inbound_allow_list", "src", false, secured, policy_id, ids, rules);
    add_direction(*body, "outbound_allow_list", "dest", outbound_empty_allows_all, secured,
                  policy_id, ids, rules);
  }
  policy["rules"] = std::move(rules);
  return policy;
}

nlohmann::json address_group(const std::string& ext_id, const std::string& name,
                             const std::string& description, const nlohmann::json& ip_blocks) {
  json addresses = json::array();
  if (ip_blocks.is_array()) {
    for (const auto& b : ip_blocks) {
      addresses.push_back({{"$objectType", "common.v1.config.IPv4Address"},
                           {"value", string_member(b, "ip")},
                           {"prefixLength", int_member(b, "prefix_length", 32)}});
    }
  }
  return {{"$objectType", "microseg.v4.config.AddressGroup"},
          {"extId", ext_id},
          {"name", name},
          {"description", description},
          {"ipv4Addresses", std::move(addresses)}};
}

nlohmann::json service_group(const std::string& ext_id, const std::string& name,
                             const std::string& description, bool is_system_defined,
                             const nlohmann::json& service_list) {
  json sg = {{"$objectType", "microseg.v4.config.ServiceGroup"},
             {"extId", ext_id},
             {"name", name},
             {"description", description},
             {"isSystemDefined", is_system_defined}};
  json tcp = json::array(), udp = json::array(), icmp = json::array();
  if (service_list.is_array()) {
    for (const auto& s : service_list) {
      const std::string protocol = string_member(s, "protocol");
      json* target = protocol == "TCP" ? &tcp : protocol == "UDP" ? &udp : nullptr;
      if (target) {
        for (auto& r : port_ranges(member(s, protocol == "TCP" ? "tcp_port_range_list"
                                                                : "udp_port_range_list"))) {
          target->push_back(std::move(r));
        }
      } else if (protocol == "ICMP") {
        for (auto& i : icmp_services(member(s, "icmp_type_code_list"))) icmp.push_back(std::move(i));
      }
    }
  }
  if (!tcp.empty()) sg["tcpServices"] = std::move(tcp);
  if (!udp.empty()) sg["udpServices"] = std::move(udp);
  if (!icmp.empty()) sg["icmpServices"] = std::move(icmp);
  return sg;
}

nlohmann::json category(const std::string& ext_id, const std::string& key,
                        const std::string& value, const std::string& description,
                        bool system_defined) {
  return {{"$objectType", "prism.v4.config.Category"},
          {"extId", ext_id},
          {"key", key},
          {"value", value},
          {"type", system_defined ? "SYSTEM" : "USER"},
          {"description", description}};
}

PageError parse_page(const http::HttpRequest& request, Page* out) {
  auto read = [&](const char* name, long long lo, long long hi, long long* value) -> PageError {
    auto text = request.query_param(name);
    if (!text) return {};
    long long v = 0;
    auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (text->empty() || ec != std::errc() || ptr != text->data() + text->size()) {
      return {name, "Invalid value '" + *text + "' for " + name + ": must be an integer"};
    }
    if (v < lo || v > hi) {
      return {name, std::string(name) + ": " + std::to_string(v) + " is out of range [" +
                        std::to_string(lo) + ", " + std::to_string(hi) + "]"};
    }
    *value = v;
    return {};
  };
  if (auto e = read("$page", 0, 1'000'000'000, &out->page); !e.attribute.empty()) return e;
  return read("$limit", 1, kMaxLimit, &out->limit);
}

std::string list_body(std::string_view object_type, std::string_view path, const Page& page,
                      std::size_t total, const std::vector<std::string>& items,
                      std::string_view item_type) {
  const long long limit = page.limit;
  const long long n = static_cast<long long>(total);
  const long long last = n == 0 ? 0 : (n - 1) / limit;
  json links = json::array({{{"rel", "self"}, {"href", link_href(path, page.page, limit)}},
                            {{"rel", "first"}, {"href", link_href(path, 0, limit)}}});
  if (page.page < last) {
    links.push_back({{"rel", "next"}, {"href", link_href(path, page.page + 1, limit)}});
  }
  links.push_back({{"rel", "last"}, {"href", link_href(path, last, limit)}});
  json metadata = {{"totalAvailableResults", total},
                   {"flags", json::array({{{"name", "hasError"}, {"value", false}},
                                          {{"name", "isPaginated"}, {"value", true}}})},
                   {"links", std::move(links)},
                   {"messages", json::array()},
                   {"extraInfo", json::array()}};
  std::string out = R"({"$objectType":)" + json(object_type).dump() +
                    R"(,"$reserved":{"$fv":"v4.r0"})";
  if (!items.empty()) {
    out += R"(,"data":[)";
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i) out += ',';
      out += items[i];
    }
    out += ']';
    if (!item_type.empty()) {
      out += R"(,"$dataItemDiscriminator":)" + json("List<" + std::string(item_type) + ">").dump();
    }
  }
  out += R"(,"metadata":)" + metadata.dump() + "}";
  return out;
}

std::string error_body(std::string_view ns, std::string_view object_type, std::string_view code,
                       std::string_view message) {
  const std::string error_ns = std::string(ns) + ".v4.error.";
  json app_message = {{"$objectType", error_ns + "AppMessage"},
                      {"code", code},
                      {"message", message},
                      {"severity", "ERROR"},
                      {"errorGroup", upper(ns)},
                      {"locale", "en_US"},
                      {"argumentsMap", json::object()}};
  json body = {{"$objectType", object_type},
               {"$reserved", {{"$fv", "v4.r0"}}},
               {"data", {{"$objectType", error_ns + "ErrorResponse"},
                         {"error", json::array({std::move(app_message)})}}}};
  return body.dump();
}

std::string schema_error_body(std::string_view ns, std::string_view object_type,
                              std::string_view path, const PageError& error,
                              const std::string& timestamp, std::string_view location) {
  const std::string error_ns = std::string(ns) + ".v4.error.";
  json validation = {{"$objectType", error_ns + "SchemaValidationError"},
                     {"statusCode", 400},
                     {"error", "Bad Request"},
                     {"path", path},
                     {"timestamp", timestamp},
                     {"validationErrorMessages",
                      json::array({{{"$objectType", error_ns + "SchemaValidationErrorMessage"},
                                    {"attributePath", error.attribute},
                                    {"location", location},
                                    {"message", error.message}}})}};
  json body = {{"$objectType", object_type},
               {"$reserved", {{"$fv", "v4.r0"}}},
               {"data", {{"$objectType", error_ns + "ErrorResponse"}, {"error", std::move(validation)}}}};
  return body.dump();
}

std::string uuid_from_hash(std::uint64_t salt, std::string_view text) {
  return uuid_text(fnv1a(salt, text), fnv1a(salt ^ 0x9e3779b97f4a7c15ull, text));
}

std::string uuid_text(std::uint64_t hi, std::uint64_t lo) {
  hi = (hi & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xFFFF),
                static_cast<unsigned>(hi & 0xFFFF), static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return buf;
}

std::string etag_of(std::string_view body) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(fnv1a(0, body)));
  return buf;
}

}  // namespace flowdrift::pcsim::v4
