#include "policy/normalize_v3.hpp"

#include "policy/canonical_build.hpp"
#include "policy/json_access.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "core/json_scan.hpp"
#include "core/memo_digest.hpp"
#include "core/printable.hpp"
#include "core/sha256.hpp"

// The canonical form produced here is specified in docs/canonical-model.md; keep the two in step
// (and bump kCanonVersion when the output changes).

namespace flowdrift::policy {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Shape errors. Thrown only inside this file and turned into Error{Malformed} at the boundary:
// threading Result through every field accessor would bury the mapping logic.

struct ShapeError {
  std::string path;  // JSON pointer inside the entity
  std::string what;
};

// A ShapeError with the entity named ("rules[3] (web-tier)").
struct EntityError {
  std::string message;
};

[[noreturn]] void fail(const std::string& path, std::string what) {
  throw ShapeError{path, std::move(what)};
}

std::string child(const std::string& base, std::string_view key) {
  return build::pointer_child(base, key);
}

std::string child(const std::string& base, std::size_t index) {
  return build::pointer_child(base, index);
}

// The accessors read either DOM (policy/json_access.hpp): nlohmann's for whole sites and
// groups, the flat json_scan::JsonDoc for the raw texts of listed rules.
using namespace access;

template <class J>
Ref<J> require_object(const J& j, const std::string& path) {
  if (!j.is_object()) fail(path, "expected object" + described(j));
  return j;
}

template <class J>
Ref<J> member_object(const J& obj, const std::string& path, const char* key) {
  const auto m = member(obj, key);
  if (!m) fail(child(path, key), "missing (expected object)");
  return require_object(*m, child(path, key));
}

template <class J>
auto opt_array(const J& obj, const std::string& path, const char* key) {
  auto m = member(obj, key);
  if (m && !m->is_array()) fail(child(path, key), "expected array" + described(*m));
  return m;
}

// The string's value, if within max_string_bytes(key).
template <class J>
std::string bounded(const J& m, const std::string& path, const char* key) {
  std::string s = string_value(m);
  if (auto why = too_long(key, s.size())) fail(child(path, key), *why);
  return s;
}

template <class J>
std::string opt_string(const J& obj, const std::string& path, const char* key) {
  const auto m = member(obj, key);
  if (!m) return {};
  if (!m->is_string()) fail(child(path, key), "expected string" + described(*m));
  return bounded(*m, path, key);
}

template <class J>
std::string req_string(const J& obj, const std::string& path, const char* key) {
  const auto m = member(obj, key);
  if (!m) fail(child(path, key), "missing (expected non-empty string)");
  std::string s = m->is_string() ? bounded(*m, path, key) : std::string();
  if (s.empty()) fail(child(path, key), "expected non-empty string" + described(*m));
  return s;
}

template <class J>
bool opt_bool(const J& obj, const std::string& path, const char* key) {
  const auto m = member(obj, key);
  if (!m) return false;
  if (!is_boolean(*m)) fail(child(path, key), "expected boolean" + described(*m));
  return bool_value(*m);
}

template <class J>
std::int64_t int_in(const J& j, const std::string& path, std::int64_t lo, std::int64_t hi) {
  auto v = integer_value(j);  // floats ("80.0") are not ports
  if (!v || *v < lo || *v > hi) {
    fail(path, "expected integer " + std::to_string(lo) + ".." + std::to_string(hi) + described(j));
  }
  return *v;
}

template <class J>
std::int64_t req_int(const J& obj, const std::string& path, const char* key, std::int64_t lo,
                     std::int64_t hi) {
  const auto m = member(obj, key);
  if (!m) {
    fail(child(path, key),
         "missing (expected integer " + std::to_string(lo) + ".." + std::to_string(hi) + ")");
  }
  return int_in(*m, child(path, key), lo, hi);
}

std::string label_of(std::string_view list, std::size_t index, const std::string& known) {
  std::string out = std::string(list) + "[" + std::to_string(index) + "]";
  if (!known.empty()) out += " (" + printable(known, 64) + ")";  // the site's bytes, bounded
  return out;
}

// Runs one entity's conversion, naming the entity in any shape error.
template <class F>
auto with_entity(const std::string& label, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const ShapeError& e) {
    throw EntityError{label + ": " + (e.path.empty() ? std::string("/") : e.path) + ": " + e.what};
  } catch (const json::exception& e) {
    throw EntityError{label + ": " + e.what()};
  }
}

// Best-effort display name of an entity for error messages; never throws.
std::string string_at(const json& j, std::initializer_list<const char*> keys) {
  const json* cur = &j;
  for (const char* k : keys) {
    if (!cur->is_object()) return {};
    auto it = cur->find(k);
    if (it == cur->end()) return {};
    cur = &*it;
  }
  return cur->is_string() ? cur->get<std::string>() : std::string();
}
std::string string_at(const JsonRef& j, std::initializer_list<const char*> keys) {
  std::optional<JsonRef> cur = j;
  for (const char* k : keys) {
    cur = cur->is_object() ? cur->find(k) : std::nullopt;
    if (!cur) return {};
  }
  return cur->is_string() ? cur->str() : std::string();
}

// ---------------------------------------------------------------------------------------------
// IPv4 / CIDR

// {ip, prefix_length} -> network address masked to the prefix.
template <class J>
build::Cidr parse_subnet(const J& subnet, const std::string& path) {
  require_object(subnet, path);
  const auto ip = member(subnet, "ip");
  if (!ip) fail(child(path, "ip"), "missing (expected IPv4 address)");
  std::optional<std::uint32_t> addr;
  if (ip->is_string()) addr = build::parse_ipv4(string_value(*ip));
  if (!addr) fail(child(path, "ip"), "expected IPv4 address" + described(*ip));
  const auto prefix = static_cast<int>(req_int(subnet, path, "prefix_length", 0, 32));
  return build::make_cidr(*addr, prefix);
}

// ---------------------------------------------------------------------------------------------
// Category filters

struct Filter {
  std::string match;                 // "all" | "any"
  std::set<std::string> categories;  // "key:value"
  std::set<std::string> kinds;

  json group_json() const { return build::group_json(categories, kinds, match); }
  std::string peer_text() const { return build::category_peer_text(categories, match); }
};

template <class J>
Filter parse_filter(const J& f, const std::string& path) {
  require_object(f, path);
  Filter out;
  const std::string type = opt_string(f, path, "type");
  if (type.empty() || type == "CATEGORIES_MATCH_ANY") {
    out.match = "any";  // the swagger default
  } else if (type == "CATEGORIES_MATCH_ALL") {
    out.match = "all";
  } else {
    fail(child(path, "type"),
         "expected CATEGORIES_MATCH_ALL or CATEGORIES_MATCH_ANY, got \"" + type + "\"");
  }
  if (const auto kinds = opt_array(f, path, "kind_list")) {
    const std::string kpath = child(path, "kind_list");
    std::size_t i = 0;
    for (const auto& k : *kinds) {
      if (!k.is_string()) fail(child(kpath, i), "expected string" + described(k));
      out.kinds.insert(string_value(k));
      ++i;
    }
  }
  const std::string ppath = child(path, "params");
  each_member(member_object(f, path, "params"), [&](std::string_view key, const auto& values) {
    const std::string vpath = child(ppath, key);
    if (is_null(values)) return;
    if (!values.is_array()) fail(vpath, "expected array of strings" + described(values));
    std::size_t i = 0;
    for (const auto& v : values) {
      if (!v.is_string()) fail(child(vpath, i), "expected string" + described(v));
      out.categories.insert(std::string(key) + ":" + string_value(v));
      ++i;
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Services

// `list`: an optional array member (opt_array).
template <class List>
build::PortRanges port_ranges(const List& list, const std::string& path) {
  build::PortRanges ranges;  // empty: every port
  if (!list) return ranges;
  std::size_t i = 0;
  for (const auto& item : *list) {
    const std::string rpath = child(path, i++);
    const auto& r = require_object(item, rpath);
    const auto start = req_int(r, rpath, "start_port", 0, 65535);
    const auto end = req_int(r, rpath, "end_port", 0, 65535);
    if (start > end) fail(rpath, "start_port greater than end_port");
    ranges.emplace(start, end);
  }
  return ranges;
}

template <class List>
build::IcmpSet icmp_items(const List& list, const std::string& path) {
  build::IcmpSet items;  // empty: all ICMP; -1 = key absent (any type / any code)
  if (!list) return items;
  std::size_t i = 0;
  for (const auto& entry : *list) {
    const std::string ipath = child(path, i++);
    const auto& item = require_object(entry, ipath);
    std::int64_t type = -1;
    std::int64_t code = -1;
    if (const auto t = member(item, "type")) type = int_in(*t, child(ipath, "type"), 0, 255);
    if (const auto c = member(item, "code")) code = int_in(*c, child(ipath, "code"), 0, 255);
    items.emplace(type, code);
  }
  return items;
}

// The canonical text of the service for an explicit TCP/UDP/ICMP protocol; nullopt for ALL or
// no protocol.
template <class J>
std::optional<std::string> protocol_service(const J& entry, const std::string& path) {
  const std::string protocol = opt_string(entry, path, "protocol");
  if (protocol == "TCP") {
    return build::tcp_service_text(port_ranges(opt_array(entry, path, "tcp_port_range_list"),
                                               child(path, "tcp_port_range_list")));
  }
  if (protocol == "UDP") {
    return build::udp_service_text(port_ranges(opt_array(entry, path, "udp_port_range_list"),
                                               child(path, "udp_port_range_list")));
  }
  if (protocol == "ICMP") {
    return build::icmp_service_text(icmp_items(opt_array(entry, path, "icmp_type_code_list"),
                                               child(path, "icmp_type_code_list")));
  }
  if (!protocol.empty() && protocol != "ALL") {
    fail(child(path, "protocol"), "expected ALL, ICMP, TCP or UDP, got \"" + protocol + "\"");
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Site index: what policies resolve their references against.

struct SiteIndex {
  std::map<std::string, std::string> address_group_names;  // uuid -> (disambiguated) name
  std::map<std::string, std::string> service_group_names;
  std::set<std::string> category_values;  // "key:value"
};

using PolicyOut = build::BuiltPolicy;

template <class J>
std::string reference_uuid(const J& ref, const std::string& path) {
  require_object(ref, path);
  return req_string(ref, path, "uuid");
}

// Peers and services are returned as canonical JSON text: rules are assembled from them as
// text (see build::add_rule), which keeps 100k-rule sites cheap.
template <class J>
std::vector<std::string> rule_peers(const J& e, const std::string& path, const SiteIndex& index,
                                    PolicyOut& out) {
  std::string type = opt_string(e, path, "peer_specification_type");
  const auto filter = member(e, "filter");
  const auto subnet = member(e, "ip_subnet");
  const auto groups = opt_array(e, path, "address_group_inclusion_list");
  const bool has_groups = groups && !groups->empty();
  if (type.empty()) {
    // Older payloads omit the type; infer it only when exactly one kind of peer is present.
    const int kinds = (filter ? 1 : 0) + ((subnet || has_groups) ? 1 : 0);
    if (kinds != 1) {
      fail(child(path, "peer_specification_type"),
           "missing, and the peer cannot be inferred from filter / ip_subnet / "
           "address_group_inclusion_list");
    }
    type = filter ? "FILTER" : "IP_SUBNET";
  }
  std::vector<std::string> peers;
  if (type == "ALL") {
    peers.push_back(build::any_peer_text());
  } else if (type == "FILTER") {
    if (!filter) fail(child(path, "filter"), "missing (peer_specification_type FILTER)");
    Filter f = parse_filter(*filter, child(path, "filter"));
    out.categories.insert(f.categories.begin(), f.categories.end());
    peers.push_back(f.peer_text());
  } else if (type == "IP_SUBNET") {
    if (subnet) {
      peers.push_back(
          build::named_text("subnet", parse_subnet(*subnet, child(path, "ip_subnet")).text()));
    }
    if (groups) {
      const std::string gpath = child(path, "address_group_inclusion_list");
      std::size_t i = 0;
      for (const auto& group : *groups) {
        const std::string uuid = reference_uuid(group, child(gpath, i++));
        peers.push_back(build::named_text(
            "address_group", build::resolve_reference(index.address_group_names, uuid,
                                                      "address_group", out.address_groups,
                                                      out.findings)));
      }
    }
    if (peers.empty()) {
      fail(path,
           "peer_specification_type IP_SUBNET without ip_subnet or "
           "address_group_inclusion_list");
    }
  } else {
    fail(child(path, "peer_specification_type"),
         "expected ALL, FILTER or IP_SUBNET, got \"" + type + "\"");
  }
  return peers;
}

template <class J>
std::vector<std::string> rule_services(const J& e, const std::string& path,
                                       const SiteIndex& index, PolicyOut& out) {
  std::vector<std::string> services;
  if (auto s = protocol_service(e, path)) services.push_back(std::move(*s));
  if (const auto groups = opt_array(e, path, "service_group_list")) {
    const std::string gpath = child(path, "service_group_list");
    std::size_t i = 0;
    for (const auto& group : *groups) {
      const std::string uuid = reference_uuid(group, child(gpath, i++));
      services.push_back(build::named_text(
          "service_group", build::resolve_reference(index.service_group_names, uuid,
                                                    "service_group", out.service_groups,
                                                    out.findings)));
    }
  }
  // v3: "If a protocol is not configured ... then it is allowed".
  if (services.empty()) services.push_back(build::all_service_text());
  return services;
}

// One allow-list entry -> one rule per (peer, service).
template <class J>
void expand_entry(const J& e, const std::string& path, std::string_view direction,
                  const SiteIndex& index, PolicyOut& out, build::RuleSet& rules) {
  require_object(e, path);
  const std::vector<std::string> peers = rule_peers(e, path, index, out);
  const std::vector<std::string> services = rule_services(e, path, index, out);
  const std::string description = opt_string(e, path, "description");
  for (const auto& p : peers) {
    for (const auto& s : services) build::add_rule(rules, direction, p, s, description);
  }
}

struct RuleType {
  const char* key;
  const char* type;
};
constexpr std::array<RuleType, 4> kRuleTypes{{{"app_rule", "application"},
                                              {"isolation_rule", "isolation"},
                                              {"quarantine_rule", "quarantine"},
                                              {"ad_rule", "vdi"}}};

// The one rule type a policy's resources hold (exactly one is required).
template <class J>
const RuleType& rule_type(const J& resources, const std::string& rpath) {
  const RuleType* kind = nullptr;
  for (const auto& rt : kRuleTypes) {
    if (!member(resources, rt.key)) continue;
    if (kind != nullptr) {
      fail(rpath, std::string("more than one rule type (") + kind->key + ", " + rt.key + ")");
    }
    kind = &rt;
  }
  if (kind == nullptr) {
    fail(rpath, "no known rule type (app_rule, isolation_rule, quarantine_rule, ad_rule)");
  }
  return *kind;
}

template <class J>
std::string mode_of(const J& rule, const std::string& path) {
  const std::string action = opt_string(rule, path, "action");
  if (action == "APPLY") return "enforce";
  if (action == "MONITOR") return "monitor";
  fail(child(path, "action"), "expected APPLY or MONITOR, got \"" + action + "\"");
}

// An isolation rule: its two groups, in an order that makes swapping them change nothing.
template <class J>
void add_isolation(const J& rule, const std::string& path, PolicyOut& out, json& canon) {
  const char* keys[] = {"first_entity_filter", "second_entity_filter"};
  std::vector<json> groups;
  for (const char* k : keys) {
    const Filter f = parse_filter(member_object(rule, path, k), child(path, k));
    out.categories.insert(f.categories.begin(), f.categories.end());
    groups.push_back(f.group_json());
  }
  if (groups[1].dump() < groups[0].dump()) std::swap(groups[0], groups[1]);
  canon.emplace("isolation", json(groups));
}

// The secured group of an app, quarantine or VDI rule, and its intra-group policy.
template <class J>
void add_target_group(const J& rule, const std::string& path, PolicyOut& out, json& canon) {
  const std::string tpath = child(path, "target_group");
  const auto& target = member_object(rule, path, "target_group");
  const Filter secured = parse_filter(member_object(target, tpath, "filter"), child(tpath, "filter"));
  out.categories.insert(secured.categories.begin(), secured.categories.end());
  canon.emplace("secured_group", secured.group_json());
  const std::string intra = opt_string(target, tpath, "default_internal_policy");
  if (intra == "ALLOW_ALL") {
    canon.emplace("intra_group", "allow");
  } else if (intra == "DENY_ALL") {
    canon.emplace("intra_group", "deny");
  } else if (!intra.empty()) {
    fail(child(tpath, "default_internal_policy"),
         "expected ALLOW_ALL or DENY_ALL, got \"" + intra + "\"");
  }  // absent: left out rather than guessing the PC's default
}

// The inbound and outbound allow lists as canonical rules.
template <class J>
build::RuleSet allow_lists(const J& rule, const std::string& path, const SiteIndex& index,
                           PolicyOut& out) {
  build::RuleSet rules;
  for (const char* list : {"inbound_allow_list", "outbound_allow_list"}) {
    const std::string lpath = child(path, list);
    const std::string_view direction = list[0] == 'i' ? "inbound" : "outbound";
    std::size_t i = 0;
    if (const auto entries = opt_array(rule, path, list)) {
      for (const auto& e : *entries) expand_entry(e, child(lpath, i++), direction, index, out, rules);
    }
  }
  const auto outbound = opt_array(rule, path, "outbound_allow_list");
  // v3: an empty outbound list of an app/VDI rule allows everything out; make it equal to an
  // explicit allow-all so the two spellings never show as drift. Quarantine lists stay literal.
  if ((!outbound || outbound->empty()) && out.type != "quarantine") {
    build::add_rule(rules, "outbound", build::any_peer_text(), build::all_service_text(), "");
  }
  return rules;
}

template <class J>
PolicyOut canonicalize_policy(const J& entity, const SiteIndex& index) {
  require_object(entity, "");
  const auto& spec = member_object(entity, "", "spec");
  PolicyOut out;
  out.name = req_string(spec, "/spec", "name");
  const std::string description = opt_string(spec, "/spec", "description");
  const auto& resources = member_object(spec, "/spec", "resources");
  const std::string rpath = "/spec/resources";
  const bool allow_ipv6 = opt_bool(resources, rpath, "allow_ipv6_traffic");
  const bool hitlog = opt_bool(resources, rpath, "is_policy_hitlog_enabled");
  const RuleType& kind = rule_type(resources, rpath);
  const std::string path = child(rpath, kind.key);
  const auto& rule = member_object(resources, rpath, kind.key);
  out.type = kind.type;
  out.mode = mode_of(rule, path);

  json canon{{"name", out.name}, {"description", description}, {"type", out.type},
             {"mode", out.mode}, {"allow_ipv6", allow_ipv6},   {"hitlog", hitlog}};
  if (out.type == "isolation") {
    add_isolation(rule, path, out, canon);
    out.json = canon.dump();
  } else {
    add_target_group(rule, path, out, canon);
    out.json = build::dump_with_rules(std::move(canon), allow_lists(rule, path, index, out));
  }
  out.hash = sha256_hex(out.json);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Address and service groups

struct GroupOut {
  std::string uuid;
  std::string name;
  std::string json_text;
  std::string hash;
};

GroupOut canonicalize_address_group(const json& entity) {
  require_object(entity, "");
  GroupOut out;
  out.uuid = req_string(entity, "", "uuid");
  const json& ag = member_object(entity, "", "address_group");
  const std::string path = "/address_group";
  out.name = req_string(ag, path, "name");
  std::set<build::Cidr> addresses;
  if (const json* blocks = opt_array(ag, path, "ip_address_block_list")) {
    const std::string bpath = child(path, "ip_address_block_list");
    for (std::size_t i = 0; i < blocks->size(); ++i) {
      addresses.insert(parse_subnet(blocks->at(i), child(bpath, i)));
    }
  }
  json list = json::array();
  for (const auto& c : addresses) list.push_back(c.text());
  const json canon{{"name", out.name},
                   {"description", opt_string(ag, path, "description")},
                   {"addresses", std::move(list)}};
  out.json_text = canon.dump();
  out.hash = sha256_hex(out.json_text);
  return out;
}

GroupOut canonicalize_service_group(const json& entity) {
  require_object(entity, "");
  GroupOut out;
  out.uuid = req_string(entity, "", "uuid");
  const json& sg = member_object(entity, "", "service_group");
  const std::string path = "/service_group";
  out.name = req_string(sg, path, "name");
  std::set<std::string> services;  // canonical texts: sorted, unique
  if (const json* list = opt_array(sg, path, "service_list")) {
    const std::string lpath = child(path, "service_list");
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string spath = child(lpath, i);
      const json& entry = require_object(list->at(i), spath);
      if (!member(entry, "protocol")) {
        fail(child(spath, "protocol"), "missing (expected ALL, ICMP, TCP or UDP)");
      }
      services.insert(protocol_service(entry, spath).value_or(build::all_service_text()));
    }
  }
  json list = json::array();
  for (const auto& text : services) list.push_back(json::parse(text));
  const json canon{{"name", out.name},
                   {"description", opt_string(sg, path, "description")},
                   {"services", std::move(list)}};
  out.json_text = canon.dump();
  out.hash = sha256_hex(out.json_text);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Site assembly (names made unique and the snapshot built by policy/canonical_build)

// Canonicalizes a group list; fills uuid -> name and returns the groups by final name.
template <class Canon>
build::GroupIndex index_groups(const std::vector<json>& entities, std::string_view list,
                               const char* inner, ObjectKind kind, Canon canon,
                               std::map<std::string, std::string>& names,
                               std::vector<Finding>& findings) {
  std::vector<build::BuiltGroup> groups;
  groups.reserve(entities.size());
  for (std::size_t i = 0; i < entities.size(); ++i) {
    const json& e = entities[i];
    std::string known = string_at(e, {inner, "name"});
    if (known.empty()) known = string_at(e, {"uuid"});
    GroupOut g = with_entity(label_of(list, i, known), [&] { return canon(e); });
    groups.push_back(
        {std::move(g.uuid), std::move(g.name), std::move(g.json_text), std::move(g.hash), {}, {}});
  }
  auto index = build::index_groups(std::move(groups), kind, findings);
  names = index.names_by_id;
  return index;
}

std::set<std::string> category_value_set(const std::string& key, const std::vector<json>& values) {
  std::set<std::string> out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::string label = "category_values[" + key + "][" + std::to_string(i) + "]";
    const std::string value = with_entity(label, [&] {
      require_object(values[i], "");
      return req_string(values[i], "", "value");
    });
    out.insert(key + ":" + value);
  }
  return out;
}

// The member `key` when `j` is an object and it is one (const json* or optional<JsonRef>).
template <class J>
auto find_object(const J& j, const char* key) {
  auto m = j.is_object() ? member(j, key) : decltype(member(j, key)){};
  return m && m->is_object() ? m : decltype(m){};
}

// Category keys of one filter, tolerating any shape (this runs before validation).
template <class J>
void collect_filter_keys(const J& filter, std::set<std::string>& keys) {
  const auto params = find_object(filter, "params");
  if (params) each_member(*params, [&](std::string_view key, const auto&) { keys.emplace(key); });
}

}  // namespace

namespace {

template <class F>
Result<void> guarded(F&& f) {
  try {
    f();
    return {};
  } catch (const EntityError& e) {
    return make_error(ErrorReason::Malformed, e.message);
  } catch (const ShapeError& e) {  // not reached: every entity is wrapped; kept as a safety net
    return make_error(ErrorReason::Malformed, e.path + ": " + e.what);
  } catch (const json::exception& e) {
    return make_error(ErrorReason::Malformed, std::string("unexpected JSON shape: ") + e.what());
  }
}

}  // namespace

struct V3RuleMemo::State : PolicyMemoState<V3RuleReferences> {
  // What the group lists of the last complete poll built (`references` is their digest).
  SiteIndex index;
  build::GroupIndex address_groups;
  build::GroupIndex service_groups;
  std::vector<Finding> group_findings;
  // The category values it added, and the digest of their pages.
  std::string categories;
  std::set<std::string> category_values;
};

V3RuleMemo::V3RuleMemo() : s_(std::make_unique<State>()) {}
V3RuleMemo::~V3RuleMemo() = default;
std::size_t V3RuleMemo::size() const { return s_->entries.size(); }
std::uint64_t V3RuleMemo::hits() const { return s_->hits; }
std::uint64_t V3RuleMemo::misses() const { return s_->misses; }
std::uint64_t V3RuleMemo::page_hits() const { return s_->page_hits; }
std::uint64_t V3RuleMemo::reference_hits() const { return s_->reference_hits; }
std::uint64_t V3RuleMemo::snapshot_hits() const { return s_->snapshot_hits; }
std::size_t V3RuleMemo::release_texts() { return s_->release_texts(); }
void V3RuleMemo::clear() { s_->clear(); }

struct V3RulePageWork::State : PageWorkCore<SiteIndex, V3RuleReferences> {};

V3RulePageWork::V3RulePageWork() : s_(std::make_unique<State>()) {}
V3RulePageWork::~V3RulePageWork() = default;
V3RulePageWork::V3RulePageWork(V3RulePageWork&&) noexcept = default;
V3RulePageWork& V3RulePageWork::operator=(V3RulePageWork&&) noexcept = default;

std::size_t V3RulePageWork::pending() const { return s_->pending.size() - s_->done; }

namespace {

constexpr const char* kNoGroups = "v3 site: rules added before groups";

// The name of rule `i` in messages.
template <class J>
std::string rule_label(std::size_t i, const J& e) {
  std::string known = string_at(e, {"spec", "name"});
  if (known.empty()) known = string_at(e, {"metadata", "uuid"});
  return label_of("rules", i, known);
}

template <class J>
bool uses_groups(const J& rule, const char* key);
template <class J>
void collect_rule_keys(const J& entity, std::set<std::string>& keys);

template <class J>
V3RuleReferences references_of(const J& rule) {
  V3RuleReferences refs;
  refs.address_groups = uses_groups(rule, "address_group_inclusion_list");
  refs.service_groups = uses_groups(rule, "service_group_list");
  std::set<std::string> keys;
  collect_rule_keys(rule, keys);
  refs.category_keys.assign(keys.begin(), keys.end());
  return refs;
}

// One listed rule from its raw text, at listing index `i`.
Result<std::pair<PolicyOut, V3RuleReferences>> rule_from_text(std::string_view text, std::size_t i,
                                                            const SiteIndex& index) {
  std::string parse_error;
  const auto doc = json_scan::JsonDoc::parse(text, parse_error);
  if (!doc) return make_error(ErrorReason::Malformed, "rules[" + std::to_string(i) + "]: " + parse_error);
  const JsonRef e = doc->root();
  std::pair<PolicyOut, V3RuleReferences> out;
  out.second = references_of(e);
  auto built = guarded([&] {
    out.first = with_entity(rule_label(i, e), [&] { return canonicalize_policy(e, index); });
  });
  if (!built) return built.error();
  return out;
}

// What v3 rules resolve against: the group names by uuid, as one digest.
std::string group_context(const SiteIndex& index) {
  std::string text;
  for (const auto* names : {&index.address_group_names, &index.service_group_names}) {
    for (const auto& [uuid, name] : *names) text += uuid + '\0' + name + '\0';
    text += '\1';
  }
  return memo_digest(text);
}

}  // namespace

void V3RulePageWork::run() { s_->run(&rule_from_text); }

struct V3SiteBuilder::State {
  std::vector<Finding> findings;  // group findings (duplicate names)
  SiteIndex index;
  // What rule pages resolve against, shared read-only with page work in flight.
  std::shared_ptr<const SiteIndex> rules_index;
  build::GroupIndex address_groups;
  build::GroupIndex service_groups;
  PolicyListing<SiteIndex, V3RuleReferences> listing;
  std::set<std::string> category_keys;
  bool groups_set = false;
  bool finished = false;
  std::string groups_digest;      // of the group lists' pages; "" when not known
  std::string categories_digest;  // of the category values' pages; "" when not known
  V3RuleMemo::State* memo = nullptr;

  // Rule pages resolve against the groups from here on.
  void groups_ready() {
    groups_set = true;
    rules_index = std::make_shared<const SiteIndex>(index);
  }
};

V3SiteBuilder::V3SiteBuilder() : s_(std::make_unique<State>()) {}
V3SiteBuilder::V3SiteBuilder(V3RuleMemo* memo) : s_(std::make_unique<State>()) {
  if (memo != nullptr) s_->memo = memo->s_.get();
  s_->listing.memo = s_->memo;
}
V3SiteBuilder::~V3SiteBuilder() = default;
V3SiteBuilder::V3SiteBuilder(V3SiteBuilder&&) noexcept = default;
V3SiteBuilder& V3SiteBuilder::operator=(V3SiteBuilder&&) noexcept = default;

Result<void> V3SiteBuilder::set_groups(const std::vector<json>& address_groups,
                                       const std::vector<json>& service_groups) {
  return set_groups(address_groups, service_groups, std::string());
}

Result<void> V3SiteBuilder::set_groups(const std::vector<json>& address_groups,
                                       const std::vector<json>& service_groups,
                                       std::string digest) {
  State& st = *s_;
  st.findings.clear();
  auto r = guarded([&] {
    st.address_groups = index_groups(address_groups, "address_groups", "address_group",
                                     ObjectKind::AddressGroup, canonicalize_address_group,
                                     st.index.address_group_names, st.findings);
    st.service_groups = index_groups(service_groups, "service_groups", "service_group",
                                     ObjectKind::ServiceGroup, canonicalize_service_group,
                                     st.index.service_group_names, st.findings);
  });
  st.groups_set = false;
  st.rules_index = nullptr;  // rule pages fail until groups are set
  st.groups_digest.clear();
  if (r) {
    st.groups_ready();
    st.groups_digest = std::move(digest);
  }
  if (st.memo == nullptr) return r;
  st.memo->references = st.groups_digest;
  st.memo->index = st.index;
  st.memo->address_groups = st.address_groups;
  st.memo->service_groups = st.service_groups;
  st.memo->group_findings = st.findings;
  // Rules resolved against other names would be stale: the memo then starts over.
  if (st.groups_set) st.memo->begin_poll(group_context(st.index));
  return r;
}

bool V3SiteBuilder::reuse_groups(const std::string& digest) {
  State& st = *s_;
  V3RuleMemo::State* memo = st.memo;
  if (memo == nullptr || digest.empty() || digest != memo->references) return false;
  st.index = memo->index;
  st.address_groups = memo->address_groups;
  st.service_groups = memo->service_groups;
  st.findings = memo->group_findings;
  st.groups_ready();
  st.groups_digest = digest;
  memo->begin_poll(memo->context);  // the same names: every rule stays
  ++memo->reference_hits;
  return true;
}

Result<void> V3SiteBuilder::add_rules(const std::vector<json>& page) {
  State& st = *s_;
  if (!st.groups_set) return make_error(ErrorReason::Other, kNoGroups);
  for (const auto& k : referenced_category_keys(page)) st.category_keys.insert(k);
  return guarded([&] {
    for (const json& e : page) {
      const std::size_t i = st.listing.policies.size();
      st.listing.policies.push_back(std::make_shared<const PolicyOut>(
          with_entity(rule_label(i, e), [&] { return canonicalize_policy(e, st.index); })));
    }
  });
}

V3RulePageWork V3SiteBuilder::begin_page(const std::vector<std::string_view>& texts,
                                         std::string digest, PageFacts facts) {
  V3RulePageWork work;
  s_->listing.begin(*work.s_, s_->rules_index, kNoGroups, texts, std::move(digest),
                    std::move(facts));
  return work;
}

V3RulePageWork V3SiteBuilder::begin_borrowed_page(const std::vector<std::string_view>& texts) {
  V3RulePageWork work;
  s_->listing.begin(*work.s_, s_->rules_index, kNoGroups, texts, std::string(), PageFacts{},
                    /*borrowed=*/true, /*batch=*/true);
  return work;
}

SharedFacts V3SiteBuilder::known_page(const std::string& digest) const {
  return s_->listing.known(s_->groups_set, digest);
}

V3RulePageWork V3SiteBuilder::begin_known_page(const std::string& digest) {
  V3RulePageWork work;
  s_->listing.begin_known(*work.s_, s_->rules_index, kNoGroups, digest);
  return work;
}

Result<V3PageReferences> V3SiteBuilder::end_page(V3RulePageWork work) {
  State& st = *s_;
  work.run();  // whatever is left (nothing when the caller ran it)
  V3PageReferences counts;
  auto ended = st.listing.end(*work.s_, st.rules_index.get(), "v3 site: a page ended out of turn",
                              [&](const V3RuleReferences& r) {
                                counts.address_groups += r.address_groups ? 1 : 0;
                                counts.service_groups += r.service_groups ? 1 : 0;
                                st.category_keys.insert(r.category_keys.begin(),
                                                        r.category_keys.end());
                              });
  if (!ended) return ended.error();
  return counts;
}

void V3SiteBuilder::restart_rules() {
  s_->listing.restart();
  s_->category_keys.clear();
}

std::size_t V3SiteBuilder::rule_count() const { return s_->listing.policies.size(); }

std::vector<std::string> V3SiteBuilder::category_keys() const {
  return {s_->category_keys.begin(), s_->category_keys.end()};
}

std::vector<std::string> V3SiteBuilder::rule_categories() const {
  std::unordered_set<const std::string*> seen;  // names are interned: one address a name
  std::vector<std::string> out;
  s_->listing.materialize();  // fills in pages taken whole; what the listing holds is the same
  for (const auto& policy : s_->listing.policies) {
    for (const std::string& c : policy->categories) {
      if (seen.insert(&c).second) out.push_back(c);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<void> V3SiteBuilder::add_category_values(const std::string& key,
                                                const std::vector<json>& values) {
  return guarded([&] {
    auto kv = category_value_set(key, values);
    s_->index.category_values.insert(kv.begin(), kv.end());
  });
}

bool V3SiteBuilder::reuse_category_values(const std::string& digest) {
  State& st = *s_;
  if (st.memo == nullptr || digest.empty() || digest != st.memo->categories) return false;
  st.index.category_values = st.memo->category_values;
  st.categories_digest = digest;
  return true;
}

void V3SiteBuilder::category_values_added(std::string digest) {
  State& st = *s_;
  st.categories_digest = std::move(digest);
  if (st.memo == nullptr) return;
  st.memo->categories = st.categories_digest;
  st.memo->category_values = st.index.category_values;
}

Result<Snapshot> V3SiteBuilder::finish() {
  State& st = *s_;
  if (!st.groups_set || st.finished) {
    return make_error(ErrorReason::Other, "v3 site: finish() without groups, or twice");
  }
  if (st.listing.begun != 0) {
    return make_error(ErrorReason::Other, "v3 site: finish() with pages not ended");
  }
  st.finished = true;
  std::string input;
  if (st.memo != nullptr) {
    input = st.listing.snapshot_input(st.groups_digest, st.categories_digest);
    if (auto same = st.memo->same_snapshot(input)) {
      st.memo->sweep_if_grown();
      return std::move(*same);
    }
    st.memo->sweep();  // what a complete listing did not list is gone
  }
  st.listing.materialize();
  Snapshot snapshot = build::assemble_snapshot(
      st.listing.policies,
      {std::move(st.address_groups), std::move(st.service_groups), {},
       std::move(st.index.category_values)},
      std::move(st.findings));
  if (st.memo != nullptr) st.memo->remember_snapshot(std::move(input), snapshot);
  return snapshot;
}

Result<Snapshot> canonicalize_v3(const V3SiteData& site) {
  V3SiteBuilder builder;
  if (auto r = builder.set_groups(site.address_groups, site.service_groups); !r) return r.error();
  if (auto r = builder.add_rules(site.rules); !r) return r.error();
  for (const auto& [key, values] : site.category_values) {
    if (auto r = builder.add_category_values(key, values); !r) return r.error();
  }
  return builder.finish();
}

namespace {

template <class J>
void collect_rule_keys(const J& entity, std::set<std::string>& keys) {
  const auto spec = find_object(entity, "spec");
  const auto resources = spec ? find_object(*spec, "resources") : decltype(spec){};
  if (!resources) return;
  for (const auto& rt : kRuleTypes) {
    const auto rule = find_object(*resources, rt.key);
    if (!rule) continue;
    for (const char* f : {"first_entity_filter", "second_entity_filter"}) {
      if (const auto filter = find_object(*rule, f)) collect_filter_keys(*filter, keys);
    }
    if (const auto target = find_object(*rule, "target_group")) {
      if (const auto filter = find_object(*target, "filter")) collect_filter_keys(*filter, keys);
    }
    for (const char* list : {"inbound_allow_list", "outbound_allow_list"}) {
      const auto entries = member(*rule, list);
      if (!entries || !entries->is_array()) continue;
      for (const auto& entry : *entries) {
        if (const auto filter = find_object(entry, "filter")) collect_filter_keys(*filter, keys);
      }
    }
  }
}

// Whether some allow-list entry of `rule` (any rule type) has a non-empty `key` list.
template <class J>
bool uses_groups(const J& rule, const char* key) {
  const auto spec = find_object(rule, "spec");
  const auto res = spec ? find_object(*spec, "resources") : decltype(spec){};
  if (!res) return false;
  bool used = false;
  each_member(*res, [&](std::string_view, const auto& body) {
    if (used || !body.is_object()) return;
    for (const char* list : {"inbound_allow_list", "outbound_allow_list"}) {
      const auto entries = member(body, list);
      if (!entries || !entries->is_array()) continue;
      for (const auto& entry : *entries) {
        if (!entry.is_object()) continue;
        const auto refs = member(entry, key);
        if (refs && refs->is_array() && !refs->empty()) used = true;
      }
    }
  });
  return used;
}

}  // namespace

std::vector<std::string> referenced_category_keys(const std::vector<json>& rules) {
  std::set<std::string> keys;
  for (const auto& entity : rules) collect_rule_keys(entity, keys);
  return {keys.begin(), keys.end()};
}

std::size_t rules_referencing(const std::vector<json>& rules, const char* key) {
  return static_cast<std::size_t>(
      std::count_if(rules.begin(), rules.end(), [key](const json& r) { return uses_groups(r, key); }));
}

}  // namespace flowdrift::policy
