#include "pcsim/v4_input.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

namespace flowdrift::pcsim::v4 {
namespace {

using nlohmann::json;

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string index(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

const json* find(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

InputError string_member(const json& obj, const std::string& path, const char* key, bool required,
                         std::size_t max_len, std::string* out) {
  const json* v = find(obj, key);
  if (!v) return required ? InputError{join(path, key), "is required"} : InputError{};
  if (!v->is_string()) return {join(path, key), "must be a string"};
  const auto& s = v->get_ref<const std::string&>();
  if (required && s.empty()) return {join(path, key), "must not be empty"};
  if (s.size() > max_len) {
    return {join(path, key), "is longer than " + std::to_string(max_len) + " characters"};
  }
  *out = s;
  return {};
}

InputError bool_member(const json& obj, const std::string& path, const char* key, bool* out) {
  const json* v = find(obj, key);
  if (!v) return {};
  if (!v->is_boolean()) return {join(path, key), "must be a boolean"};
  *out = v->get<bool>();
  return {};
}

InputError int_member(const json& obj, const std::string& path, const char* key, long long lo,
                      long long hi, bool required, std::optional<long long>* out) {
  const json* v = find(obj, key);
  if (!v) return required ? InputError{join(path, key), "is required"} : InputError{};
  if (!v->is_number_integer()) return {join(path, key), "must be an integer"};
  const long long n = v->get<long long>();
  if (n < lo || n > hi) {
    return {join(path, key), std::to_string(n) + " is out of range [" + std::to_string(lo) + ", " +
                                 std::to_string(hi) + "]"};
  }
  *out = n;
  return {};
}

// A list of extId strings; *present tells whether the member exists.
InputError id_list(const json& obj, const std::string& path, const char* key,
                   std::vector<std::string>* out, bool* present) {
  const json* v = find(obj, key);
  *present = v != nullptr;
  if (!v) return {};
  const std::string attr = join(path, key);
  if (!v->is_array()) return {attr, "must be an array of extIds"};
  if (v->empty()) return {attr, "must not be empty"};
  for (std::size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) return {index(attr, i), "must be a string (an extId)"};
    out->push_back((*v)[i].get<std::string>());
  }
  return {};
}

// [{startPort, endPort}] -> v3 [{start_port, end_port}].
InputError port_ranges(const json& list, const std::string& attr, json* out) {
  if (!list.is_array()) return {attr, "must be an array of {startPort, endPort}"};
  *out = json::array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string p = index(attr, i);
    if (!list[i].is_object()) return {p, "must be an object {startPort, endPort}"};
    std::optional<long long> start, end;
    if (auto e = int_member(list[i], p, "startPort", 0, 65535, true, &start); !e.ok()) return e;
    if (auto e = int_member(list[i], p, "endPort", 0, 65535, false, &end); !e.ok()) return e;
    if (!end) end = start;
    if (*start > *end) return {join(p, "endPort"), "is less than startPort"};
    out->push_back({{"start_port", *start}, {"end_port", *end}});
  }
  return {};
}

// [{type?, code?, isAllAllowed?}] -> v3 icmp_type_code_list; *all when every ICMP is allowed.
InputError icmp_codes(const json& list, const std::string& attr, json* out, bool* all) {
  if (!list.is_array()) return {attr, "must be an array of {type, code, isAllAllowed}"};
  *out = json::array();
  *all = list.empty();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string p = index(attr, i);
    if (!list[i].is_object()) return {p, "must be an object {type, code, isAllAllowed}"};
    bool any = false;
    if (auto e = bool_member(list[i], p, "isAllAllowed", &any); !e.ok()) return e;
    std::optional<long long> type, code;
    if (auto e = int_member(list[i], p, "type", 0, 255, false, &type); !e.ok()) return e;
    if (auto e = int_member(list[i], p, "code", 0, 255, false, &code); !e.ok()) return e;
    if (any || (!type && !code)) {
      *all = true;
      continue;
    }
    json tc = json::object();
    if (type) tc["type"] = *type;
    if (code) tc["code"] = *code;
    out->push_back(std::move(tc));
  }
  return {};
}

// {value, prefixLength} -> v3 {ip, prefix_length}.
InputError ipv4_address(const json& obj, const std::string& attr, json* out) {
  if (!obj.is_object()) return {attr, "must be an object {value, prefixLength}"};
  std::string ip;
  if (auto e = string_member(obj, attr, "value", true, 15, &ip); !e.ok()) return e;
  if (!valid_ipv4(ip)) return {join(attr, "value"), "'" + ip + "' is not an IPv4 address"};
  std::optional<long long> prefix;
  if (auto e = int_member(obj, attr, "prefixLength", 0, 32, false, &prefix); !e.ok()) return e;
  *out = {{"ip", ip}, {"prefix_length", prefix.value_or(32)}};
  return {};
}

// Category extIds -> a v3 filter (params grouped by key, in the order given).
InputError category_filter(const std::vector<std::string>& ids, const std::string& attr,
                           const InputLookup& lookup, json* filter) {
  std::map<std::string, std::vector<std::string>> params;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto kv = lookup.category(ids[i]);
    if (!kv) return {index(attr, i), "category " + ids[i] + " does not exist"};
    auto& values = params[kv->first];
    if (std::find(values.begin(), values.end(), kv->second) == values.end()) values.push_back(kv->second);
  }
  // v3 spells "this key, any of these values" MATCH_ANY; everything else is MATCH_ALL.
  const bool any = params.size() == 1 && params.begin()->second.size() > 1;
  json p = json::object();
  for (auto& [k, v] : params) p[k] = v;
  *filter = {{"type", any ? "CATEGORIES_MATCH_ANY" : "CATEGORIES_MATCH_ALL"},
             {"kind_list", json::array({"vm"})},
             {"params", std::move(p)}};
  return {};
}

struct AppRules {
  std::optional<std::set<std::string>> secured_ids;  // as given by the first rule carrying it
  std::vector<std::string> secured_order;
  std::string intra;  // "", ALLOW_ALL, DENY_ALL
  json inbound = json::array();
  json outbound = json::array();
  std::set<long long> used_rule_ids;
};

InputError secured_group(const json& spec, const std::string& path, bool required, AppRules& out) {
  std::vector<std::string> ids;
  bool present = false;
  if (auto e = id_list(spec, path, "securedGroupCategoryReferences", &ids, &present); !e.ok()) return e;
  if (!present) {
    return required ? InputError{join(path, "securedGroupCategoryReferences"), "is required"}
                    : InputError{};
  }
  std::set<std::string> set(ids.begin(), ids.end());
  if (!out.secured_ids) {
    out.secured_ids = set;
    out.secured_order = ids;
  } else if (*out.secured_ids != set) {
    return {join(path, "securedGroupCategoryReferences"),
            "differs from the secured group of an earlier rule (one secured group per policy)"};
  }
  return {};
}

InputError application_rule(const json& rule, const std::string& path, const InputLookup& lookup,
                            AppRules& out) {
  const std::string sp = join(path, "spec");
  const json& spec = rule.at("spec");
  if (auto e = secured_group(spec, sp, true, out); !e.ok()) return e;

  // The peer: exactly one of the src* or dest* kinds.
  static const char* const kPeerKinds[] = {"AllowSpec", "CategoryReferences", "Subnet",
                                           "AddressGroupReferences"};
  std::string side, kind;
  for (const char* s : {"src", "dest"}) {
    for (const char* k : kPeerKinds) {
      if (!find(spec, (std::string(s) + k).c_str())) continue;
      if (!side.empty() && side != s) {
        return {sp, "has both src* and dest* peers; a rule is either inbound (src) or outbound (dest)"};
      }
      if (!kind.empty()) {
        return {join(sp, std::string(s) + k),
                "only one peer per rule (already has " + side + kind + ")"};
      }
      side = s;
      kind = k;
    }
  }
  if (side.empty()) {
    return {sp, "needs a peer: one of srcAllowSpec, srcCategoryReferences, srcSubnet, "
                "srcAddressGroupReferences or the dest* equivalents"};
  }
  const std::string field = side + kind;
  const std::string fattr = join(sp, field);
  json entry = json::object();
  if (kind == "AllowSpec") {
    const json& v = spec.at(field);
    if (!v.is_string() || v.get<std::string>() != "ALL") {
      return {fattr, "must be \"ALL\" (NONE is not supported by pcsim)"};
    }
    entry["peer_specification_type"] = "ALL";
  } else if (kind == "CategoryReferences" || kind == "AddressGroupReferences") {
    std::vector<std::string> ids;
    bool present = false;
    if (auto e = id_list(spec, sp, field.c_str(), &ids, &present); !e.ok()) return e;
    if (kind == "CategoryReferences") {
      json filter;
      if (auto e = category_filter(ids, fattr, lookup, &filter); !e.ok()) return e;
      entry["peer_specification_type"] = "FILTER";
      entry["filter"] = std::move(filter);
    } else {
      json refs = json::array();
      for (std::size_t i = 0; i < ids.size(); ++i) {
        if (!lookup.address_group(ids[i])) {
          return {index(fattr, i), "address group " + ids[i] + " does not exist"};
        }
        refs.push_back({{"kind", "address_group"}, {"uuid", ids[i]}});
      }
      entry["peer_specification_type"] = "IP_SUBNET";
      entry["address_group_inclusion_list"] = std::move(refs);
    }
  } else {
    json subnet;
    if (auto e = ipv4_address(spec.at(field), fattr, &subnet); !e.ok()) return e;
    entry["peer_specification_type"] = "IP_SUBNET";
    entry["ip_subnet"] = std::move(subnet);
  }

  // Services: one v3 entry per protocol; service groups ride on the first.
  std::vector<json> protocols;
  if (const json* tcp = find(spec, "tcpServices")) {
    json ranges;
    if (auto e = port_ranges(*tcp, join(sp, "tcpServices"), &ranges); !e.ok()) return e;
    protocols.push_back({{"protocol", "TCP"}, {"tcp_port_range_list", std::move(ranges)}});
  }
  if (const json* udp = find(spec, "udpServices")) {
    json ranges;
    if (auto e = port_ranges(*udp, join(sp, "udpServices"), &ranges); !e.ok()) return e;
    protocols.push_back({{"protocol", "UDP"}, {"udp_port_range_list", std::move(ranges)}});
  }
  if (const json* icmp = find(spec, "icmpServices")) {
    json codes;
    bool all = false;
    if (auto e = icmp_codes(*icmp, join(sp, "icmpServices"), &codes, &all); !e.ok()) return e;
    json item = {{"protocol", "ICMP"}};
    if (!all) item["icmp_type_code_list"] = std::move(codes);
    protocols.push_back(std::move(item));
  }
  std::vector<std::string> sg_ids;
  bool has_sgs = false;
  if (auto e = id_list(spec, sp, "serviceGroupReferences", &sg_ids, &has_sgs); !e.ok()) return e;
  json sgs = json::array();
  for (std::size_t i = 0; i < sg_ids.size(); ++i) {
    if (!lookup.service_group(sg_ids[i])) {
      return {index(join(sp, "serviceGroupReferences"), i), "service group " + sg_ids[i] + " does not exist"};
    }
    sgs.push_back({{"kind", "service_group"}, {"uuid", sg_ids[i]}});
  }
  bool all_protocols = false;
  if (auto e = bool_member(spec, sp, "isAllProtocolAllowed", &all_protocols); !e.ok()) return e;
  if (all_protocols && (!protocols.empty() || has_sgs)) {
    return {join(sp, "isAllProtocolAllowed"), "cannot be combined with other services"};
  }
  if (protocols.empty() && !has_sgs) protocols.push_back({{"protocol", "ALL"}});
  if (protocols.empty()) protocols.push_back(json::object());

  std::string description;
  if (auto e = string_member(rule, path, "description", false, 1000, &description); !e.ok()) return e;
  std::optional<long long> rule_id;
  if (const json* ext = find(rule, "extId"); ext && ext->is_string() && lookup.rule_id) {
    rule_id = lookup.rule_id(ext->get<std::string>());
    if (rule_id && !out.used_rule_ids.insert(*rule_id).second) rule_id.reset();
  }
  json& list = side == "src" ? out.inbound : out.outbound;
  for (std::size_t i = 0; i < protocols.size(); ++i) {
    json e = entry;
    for (auto& [k, v] : protocols[i].items()) e[k] = v;
    if (i == 0 && has_sgs) e["service_group_list"] = sgs;
    if (i == 0 && rule_id) e["rule_id"] = *rule_id;
    if (!description.empty()) e["description"] = description;
    list.push_back(std::move(e));
  }
  return {};
}

// rules[i] of a policy: an object with a string `type` (into *type); *path = "rules[i]".
InputError rule_type(const json& rules, std::size_t i, std::string* path, std::string* type) {
  *path = index("rules", i);
  const json& r = rules[i];
  if (!r.is_object()) return {*path, "must be an object"};
  return string_member(r, *path, "type", true, 32, type);
}

}  // namespace

bool valid_ipv4(const std::string& ip) {
  int parts = 0;
  std::size_t i = 0;
  while (i <= ip.size()) {
    std::size_t dot = ip.find('.', i);
    if (dot == std::string::npos) dot = ip.size();
    const std::string part = ip.substr(i, dot - i);
    if (part.empty() || part.size() > 3 || part.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(part) > 255) {
      return false;
    }
    ++parts;
    i = dot + 1;
  }
  return parts == 4;
}

InputError policy_to_v3_spec(const json& body, const InputLookup& lookup, json* out) {
  if (!body.is_object()) return {"$", "request body must be a NetworkSecurityPolicy object"};
  std::string name, type, state, description;
  if (auto e = string_member(body, "", "name", true, 63, &name); !e.ok()) return e;
  if (auto e = string_member(body, "", "type", true, 32, &type); !e.ok()) return e;
  if (type != "APPLICATION" && type != "ISOLATION" && type != "QUARANTINE") {
    return {"type", "'" + type + "' is not supported by pcsim (APPLICATION, ISOLATION, QUARANTINE)"};
  }
  if (auto e = string_member(body, "", "state", true, 16, &state); !e.ok()) return e;
  if (state != "ENFORCE" && state != "MONITOR") {
    // pcsim stores v3 rules, whose action is APPLY or MONITOR: SAVE has no v3 spelling.
    return {"state", "'" + state + "': pcsim accepts ENFORCE or MONITOR"};
  }
  const bool has_description = find(body, "description") != nullptr;
  if (auto e = string_member(body, "", "description", false, 1000, &description); !e.ok()) return e;
  bool hitlog = false, ipv6 = false;
  if (auto e = bool_member(body, "", "isHitlogEnabled", &hitlog); !e.ok()) return e;
  if (auto e = bool_member(body, "", "isIpv6TrafficAllowed", &ipv6); !e.ok()) return e;
  const json empty = json::array();
  const json* rules = find(body, "rules");
  if (rules && !rules->is_array()) return {"rules", "must be an array of NetworkSecurityPolicyRule"};
  if (!rules) rules = &empty;

  json rule_body = {{"action", state == "ENFORCE" ? "APPLY" : "MONITOR"}};
  std::string resource_key;
  if (type == "ISOLATION") {
    resource_key = "isolation_rule";
    bool seen = false;
    for (std::size_t i = 0; i < rules->size(); ++i) {
      std::string p, rtype;
      if (auto e = rule_type(*rules, i, &p, &rtype); !e.ok()) return e;
      const json& r = (*rules)[i];
      if (rtype != "TWO_ENV_ISOLATION") {
        return {join(p, "type"), "'" + rtype + "': an ISOLATION policy holds one TWO_ENV_ISOLATION rule"};
      }
      if (seen) return {p, "an ISOLATION policy holds exactly one TWO_ENV_ISOLATION rule"};
      seen = true;
      const json* spec = find(r, "spec");
      if (!spec || !spec->is_object()) return {join(p, "spec"), "is required (TwoEnvIsolationRuleSpec)"};
      const std::string sp = join(p, "spec");
      for (auto [v4_key, v3_key] : {std::pair{"firstIsolationGroup", "first_entity_filter"},
                                    {"secondIsolationGroup", "second_entity_filter"}}) {
        std::vector<std::string> ids;
        bool present = false;
        if (auto e = id_list(*spec, sp, v4_key, &ids, &present); !e.ok()) return e;
        if (!present) return {join(sp, v4_key), "is required"};
        json filter;
        if (auto e = category_filter(ids, join(sp, v4_key), lookup, &filter); !e.ok()) return e;
        rule_body[v3_key] = std::move(filter);
      }
    }
    if (!seen) return {"rules", "an ISOLATION policy needs a TWO_ENV_ISOLATION rule"};
  } else {
    resource_key = type == "QUARANTINE" ? "quarantine_rule" : "app_rule";
    AppRules app;
    for (std::size_t i = 0; i < rules->size(); ++i) {
      std::string p, rtype;
      if (auto e = rule_type(*rules, i, &p, &rtype); !e.ok()) return e;
      const json& r = (*rules)[i];
      const json* spec = find(r, "spec");
      if (!spec || !spec->is_object()) return {join(p, "spec"), "is required"};
      if (rtype == "INTRA_GROUP") {
        const std::string sp = join(p, "spec");
        std::string action;
        if (auto e = string_member(*spec, sp, "securedGroupAction", true, 8, &action); !e.ok()) return e;
        if (action != "ALLOW" && action != "DENY") {
          return {join(sp, "securedGroupAction"), "'" + action + "': expected ALLOW or DENY"};
        }
        if (!app.intra.empty()) return {p, "only one INTRA_GROUP rule per policy"};
        app.intra = action == "ALLOW" ? "ALLOW_ALL" : "DENY_ALL";
        if (auto e = secured_group(*spec, sp, false, app); !e.ok()) return e;
      } else if (rtype == "APPLICATION" || rtype == "QUARANTINE") {
        if (auto e = application_rule(r, p, lookup, app); !e.ok()) return e;
      } else {
        return {join(p, "type"), "'" + rtype + "' is not supported by pcsim in a " + type +
                                     " policy (APPLICATION, INTRA_GROUP, QUARANTINE)"};
      }
    }
    if (!app.secured_ids) {
      return {"rules", "no rule names the secured group (securedGroupCategoryReferences)"};
    }
    json filter;
    if (auto e = category_filter(app.secured_order, "rules.securedGroupCategoryReferences", lookup, &filter);
        !e.ok()) {
      return e;
    }
    json target = {{"peer_specification_type", "FILTER"}, {"filter", std::move(filter)}};
    if (!app.intra.empty()) target["default_internal_policy"] = app.intra;
    rule_body["target_group"] = std::move(target);
    rule_body["inbound_allow_list"] = std::move(app.inbound);
    rule_body["outbound_allow_list"] = std::move(app.outbound);
  }
  json spec = {{"name", name},
               {"resources",
                {{"allow_ipv6_traffic", ipv6},
                 {"is_policy_hitlog_enabled", hitlog},
                 {resource_key, std::move(rule_body)}}}};
  if (has_description) spec["description"] = description;
  *out = std::move(spec);
  return {};
}

InputError address_group_from_v4(const json& body, AddressGroup* out) {
  if (!body.is_object()) return {"$", "request body must be an AddressGroup object"};
  if (auto e = string_member(body, "", "name", true, 64, &out->name); !e.ok()) return e;
  if (auto e = string_member(body, "", "description", false, 1000, &out->description); !e.ok()) return e;
  if (const json* ranges = find(body, "ipRanges"); ranges && !(ranges->is_array() && ranges->empty())) {
    return {"ipRanges", "is not supported by pcsim (its groups are v3 ip_address_block_list)"};
  }
  out->ip_address_block_list = json::array();
  if (const json* list = find(body, "ipv4Addresses")) {
    if (!list->is_array()) return {"ipv4Addresses", "must be an array of {value, prefixLength}"};
    for (std::size_t i = 0; i < list->size(); ++i) {
      json block;
      if (auto e = ipv4_address((*list)[i], index("ipv4Addresses", i), &block); !e.ok()) return e;
      out->ip_address_block_list.push_back(std::move(block));
    }
  }
  return {};
}

InputError service_group_from_v4(const json& body, ServiceGroup* out) {
  if (!body.is_object()) return {"$", "request body must be a ServiceGroup object"};
  if (auto e = string_member(body, "", "name", true, 64, &out->name); !e.ok()) return e;
  if (auto e = string_member(body, "", "description", false, 1000, &out->description); !e.ok()) return e;
  out->service_list = json::array();
  if (const json* tcp = find(body, "tcpServices")) {
    json ranges;
    if (auto e = port_ranges(*tcp, "tcpServices", &ranges); !e.ok()) return e;
    out->service_list.push_back({{"protocol", "TCP"}, {"tcp_port_range_list", std::move(ranges)}});
  }
  if (const json* udp = find(body, "udpServices")) {
    json ranges;
    if (auto e = port_ranges(*udp, "udpServices", &ranges); !e.ok()) return e;
    out->service_list.push_back({{"protocol", "UDP"}, {"udp_port_range_list", std::move(ranges)}});
  }
  if (const json* icmp = find(body, "icmpServices")) {
    json codes;
    bool all = false;
    if (auto e = icmp_codes(*icmp, "icmpServices", &codes, &all); !e.ok()) return e;
    json item = {{"protocol", "ICMP"}};
    if (!all) item["icmp_type_code_list"] = std::move(codes);
    out->service_list.push_back(std::move(item));
  }
  if (out->service_list.empty()) {
    return {"tcpServices", "a service group needs tcpServices, udpServices or icmpServices"};
  }
  return {};
}

InputError category_from_v4(const json& body, std::string* key, std::string* value,
                            std::string* description) {
  if (!body.is_object()) return {"$", "request body must be a Category object"};
  if (auto e = string_member(body, "", "key", true, 64, key); !e.ok()) return e;
  if (auto e = string_member(body, "", "value", true, 64, value); !e.ok()) return e;
  return string_member(body, "", "description", false, 1000, description);
}

}  // namespace flowdrift::pcsim::v4
