#include "policy/normalize_v4.hpp"

#include <array>
#include <algorithm>
#include <charconv>
#include <cctype>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/memo_digest.hpp"
#include "core/printable.hpp"
#include "core/sha256.hpp"
#include "core/json_scan.hpp"
#include "policy/canonical_build.hpp"
#include "policy/json_access.hpp"
#include "policy/v4_schema.hpp"

// The v4 mapping is specified in docs/canonical-model.md ("v4 mapping"); the output must be the
// exact canonical form the v3 canonicalizer gives for the same intent.

namespace flowdrift::policy {
namespace {

using nlohmann::json;
namespace b = build;

// Shape errors are thrown inside this file only and become Error{Malformed} at the boundary;
// passing Result through every field accessor would hide the mapping.
struct Shape {
  std::string path;  // JSON pointer inside the entity
  std::string reason;
};
struct EntityFailure {
  std::string message;  // "policies[2] (web): /rules/0/type: reason"
};

[[noreturn]] void fail(std::string path, std::string reason) {
  throw Shape{std::move(path), std::move(reason)};
}

std::string at_key(const std::string& base, std::string_view key) {
  return build::pointer_child(base, key);
}
std::string at_index(const std::string& base, std::size_t i) { return build::pointer_child(base, i); }

using namespace access;  // the accessors for either DOM (policy/json_access.hpp)

template <class J>
Ref<J> as_object(Ref<J> j, const std::string& path) {
  if (!j.is_object()) fail(path, "expected object" + described(j));
  return j;
}

template <class J>
Ref<J> object_member(const J& obj, const std::string& path, const std::string& key) {
  auto m = member(obj, key);
  if (!m) fail(at_key(path, key), "missing (expected object)");
  return as_object<J>(*m, at_key(path, key));
}

template <class J>
auto opt_object(const J& obj, const std::string& path, const std::string& key) {
  auto m = member(obj, key);
  if (m) as_object<J>(*m, at_key(path, key));
  return m;
}

template <class J>
auto opt_array(const J& obj, const std::string& path, const std::string& key) {
  auto m = member(obj, key);
  if (m && !m->is_array()) fail(at_key(path, key), "expected array" + described(*m));
  return m;
}

// The string's value, if within max_string_bytes(key).
template <class J>
std::string bounded(const J& m, const std::string& path, const std::string& key) {
  std::string value = string_value(m);
  if (auto why = too_long(key, value.size())) fail(at_key(path, key), *why);
  return value;
}

template <class J>
std::string opt_string(const J& obj, const std::string& path, const std::string& key) {
  auto m = member(obj, key);
  if (!m) return {};
  if (!m->is_string()) fail(at_key(path, key), "expected string" + described(*m));
  return bounded(*m, path, key);
}

template <class J>
std::string req_string(const J& obj, const std::string& path, const std::string& key) {
  auto m = member(obj, key);
  if (!m) fail(at_key(path, key), "missing (expected non-empty string)");
  std::string value;
  if (m->is_string()) value = bounded(*m, path, key);
  if (value.empty()) fail(at_key(path, key), "expected non-empty string" + described(*m));
  return value;
}

template <class J>
std::optional<bool> opt_bool(const J& obj, const std::string& path, const std::string& key) {
  auto m = member(obj, key);
  if (!m) return std::nullopt;
  if (!is_boolean(*m)) fail(at_key(path, key), "expected boolean" + described(*m));
  return bool_value(*m);
}

template <class J>
std::int64_t int_in(const J& j, const std::string& path, std::int64_t lo, std::int64_t hi) {
  const std::optional<std::int64_t> v = integer_value(j);
  if (!v || *v < lo || *v > hi) {
    fail(path, "expected integer " + std::to_string(lo) + ".." + std::to_string(hi) + described(j));
  }
  return *v;
}

template <class J>
std::optional<std::int64_t> opt_int(const J& obj, const std::string& path,
                                    const std::string& key, std::int64_t lo, std::int64_t hi) {
  auto m = member(obj, key);
  if (!m) return std::nullopt;
  return int_in(*m, at_key(path, key), lo, hi);
}

template <class J>
std::int64_t req_int(const J& obj, const std::string& path, const std::string& key,
                     std::int64_t lo, std::int64_t hi) {
  auto v = opt_int(obj, path, key, lo, hi);
  if (!v) {
    fail(at_key(path, key),
         "missing (expected integer " + std::to_string(lo) + ".." + std::to_string(hi) + ")");
  }
  return *v;
}

// A list of extIds; absent, null and [] all give an empty list.
template <class J>
std::vector<std::string> id_list(const J& obj, const std::string& path, const std::string& key) {
  std::vector<std::string> out;
  auto list = opt_array(obj, path, key);
  if (!list) return out;
  const std::string lpath = at_key(path, key);
  std::size_t i = 0;
  for (Ref<J> id : *list) {
    std::string value;
    if (id.is_string()) value = string_value(id);
    if (value.empty()) fail(at_index(lpath, i), "expected non-empty string (extId)" + described(id));
    out.push_back(std::move(value));
    ++i;
  }
  return out;
}

template <class J>
std::uint32_t ipv4_at(const J& obj, const std::string& path, const std::string& key) {
  auto m = member(obj, key);
  if (!m) fail(at_key(path, key), "missing (expected IPv4 address)");
  std::optional<std::uint32_t> address;
  if (m->is_string()) address = b::parse_ipv4(string_value(*m));
  if (!address) fail(at_key(path, key), "expected IPv4 address" + described(*m));
  return *address;
}

// IPv4Address {value, prefixLength}; prefixLength defaults to 32 as in the v4 schema.
template <class J>
b::Cidr parse_ipv4_address(const J& j, const std::string& path) {
  as_object<J>(j, path);
  const std::uint32_t address = ipv4_at(j, path, "value");
  const auto prefix = opt_int(j, path, "prefixLength", 0, 32).value_or(32);
  return b::make_cidr(address, static_cast<int>(prefix));
}

template <class J>
b::PortRanges port_ranges(const J& list, const std::string& path) {
  b::PortRanges out;
  std::size_t i = 0;
  for (Ref<J> element : list) {
    const std::string rpath = at_index(path, i++);
    Ref<J> r = as_object<J>(element, rpath);
    const auto start = req_int(r, rpath, "startPort", 0, 65535);
    const auto end = opt_int(r, rpath, "endPort", 0, 65535).value_or(start);
    if (start > end) fail(rpath, "startPort greater than endPort");
    out.emplace(start, end);
  }
  return out;
}

template <class J>
b::IcmpSet icmp_items(const J& list, const std::string& path) {
  b::IcmpSet out;
  std::size_t i = 0;
  for (Ref<J> element : list) {
    const std::string ipath = at_index(path, i++);
    Ref<J> item = as_object<J>(element, ipath);
    const auto type = opt_int(item, ipath, "type", 0, 255);
    const auto code = opt_int(item, ipath, "code", 0, 255);
    if (opt_bool(item, ipath, "isAllAllowed").value_or(false)) {
      out.emplace(-1, -1);  // all ICMP, whatever type/code say
    } else {
      out.emplace(type.value_or(-1), code.value_or(-1));
    }
  }
  return out;
}

// tcpServices / udpServices / icmpServices of a rule spec or service group, one canonical
// service (its canonical text) per protocol present. An empty list counts as absent.
template <class J>
std::vector<std::string> protocol_services(const J& obj, const std::string& path) {
  std::vector<std::string> out;
  if (auto tcp = opt_array(obj, path, "tcpServices"); tcp && !tcp->empty()) {
    out.push_back(b::tcp_service_text(port_ranges(*tcp, at_key(path, "tcpServices"))));
  }
  if (auto udp = opt_array(obj, path, "udpServices"); udp && !udp->empty()) {
    out.push_back(b::udp_service_text(port_ranges(*udp, at_key(path, "udpServices"))));
  }
  if (auto icmp = opt_array(obj, path, "icmpServices"); icmp && !icmp->empty()) {
    out.push_back(b::icmp_service_text(icmp_items(*icmp, at_key(path, "icmpServices"))));
  }
  if (auto icmp = opt_array(obj, path, "icmpV6Services"); icmp && !icmp->empty()) {
    // v4.1+; v3 and the flows model have no ICMPv6
    out.push_back(
        b::icmp_service_text(icmp_items(*icmp, at_key(path, "icmpV6Services")), "icmp6"));
  }
  return out;
}

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Site index

struct Site {
  std::map<std::string, std::string> categories;  // extId -> "key:value"
  std::set<std::string> category_values;          // every "key:value" on the site
  b::GroupIndex address_groups;
  b::GroupIndex service_groups;
  b::GroupIndex entity_groups;
  std::map<std::string, std::string> vpcs;  // extId -> name
  // Every extId above -> "<kind>:<name>", for the extIds inside unmodelled (opaque) values.
  std::unordered_map<std::string, std::string> any_ids;
};

// "/rules/3/spec/x" -> "/rules/*/spec/x": where a member sits in the schema, whatever the list
// positions (findings name a construct once, not once per position).
std::string schema_path(std::string_view path) {
  std::string out;
  std::size_t i = 0;
  while (i < path.size()) {
    const std::size_t next = std::min(path.find('/', i + 1), path.size());
    const std::string_view part = path.substr(i, next - i);  // "/3"
    const bool index = part.size() > 1 && part.find_first_not_of("0123456789", 1) == part.npos;
    out += index ? std::string_view("/*") : part;
    i = next;
  }
  return out;
}

// Every string of `j` that is an extId of the site becomes "<kind>:<name>".
void resolve_ids(json& j, const Site& site) {
  if (j.is_string()) {
    const auto it = site.any_ids.find(j.get_ref<const std::string&>());
    if (it != site.any_ids.end()) j = it->second;
  } else if (j.is_structured()) {
    for (auto& e : j) resolve_ids(e, site);
  }
}

std::string resolved_id(const std::string& id, const Site& site) {
  const auto it = site.any_ids.find(id);
  return it == site.any_ids.end() ? id : it->second;
}

// What the model does not know of one canonical object (a policy, a rule, a group): kept as
// {relative path: opaque value} with site extIds replaced by "<kind>:<name>", and reported as
// findings "unmodelled: <schema path>" (or "... = <value>" for an unknown enum value).
struct Unmodelled {
  const Site* site = nullptr;
  std::vector<Finding>* findings = nullptr;
  json values = json::object();

  void field(const std::string& path, const std::string& rel, json value) {
    resolve_ids(value, *site);
    values[rel] = std::move(value);
    findings->push_back({"unmodelled", "", "unmodelled: " + schema_path(path)});
  }
  void enum_value(const std::string& path, const std::string& value) {
    findings->push_back({"unmodelled", "", "unmodelled: " + schema_path(path) + " = " +
                                               json(value).dump()});
  }
};

json to_dom(const json& j) { return j; }
json to_dom(const JsonRef& j) { return json::parse(j.text()); }

// Every member of `obj` (and of the objects below it that the schema walks) that `schema`
// does not list goes to `out`, under `rel` + its relative path. `skip` is walked elsewhere.
template <class J>
void collect_unmodelled(const J& obj, const v4::Schema& schema, const std::string& path,
                        const std::string& rel, Unmodelled& out, std::string_view skip = {}) {
  if (!obj.is_object()) return;  // the mapping reports wrong types
  each_member(obj, [&](std::string_view key, const auto& value) {
    if (v4::is_envelope_key(key) || key == skip) return;
    const v4::Field* f = schema.find(key);
    if (f != nullptr && f->nested == nullptr) return;  // modelled: the common case, no paths built
    const std::string here = rel + std::string(key);
    if (f == nullptr) {
      out.field(at_key(path, key), here, to_dom(value));
    } else if (value.is_object()) {
      collect_unmodelled(value, *f->nested, at_key(path, key), here + "/", out);
    } else if (value.is_array()) {
      std::size_t i = 0;
      for (const auto& item : value) {
        collect_unmodelled(item, *f->nested, at_index(at_key(path, key), i),
                           here + "/" + std::to_string(i) + "/", out);
        ++i;
      }
    }
  });
}

// Per-policy conversion state.
struct PolicyWork {
  const Site& site;
  b::BuiltPolicy out;

  Unmodelled unmodelled() { return Unmodelled{&site, &out.findings, json::object()}; }

  // Category extIds -> "key:value" set; unknown ones become "dangling:<extId>" + a finding.
  std::set<std::string> categories(const std::vector<std::string>& ids) {
    std::set<std::string> result;
    for (const auto& id : ids) {
      const auto it = site.categories.find(id);
      if (it == site.categories.end()) {
        out.findings.push_back(
            {"dangling_reference", "", "category uuid " + id + " not found on site"});
        result.insert("dangling:" + id);
      } else {
        out.categories.insert(it->second);
        result.insert(it->second);
      }
    }
    return result;
  }
  std::string address_group(const std::string& id) {
    return b::resolve_reference(site.address_groups.names_by_id, id, "address_group",
                                out.address_groups, out.findings);
  }
  std::string service_group(const std::string& id) {
    return b::resolve_reference(site.service_groups.names_by_id, id, "service_group",
                                out.service_groups, out.findings);
  }
  std::string entity_group(const std::string& id) {
    return b::resolve_reference(site.entity_groups.names_by_id, id, "entity_group",
                                out.entity_groups, out.findings);
  }
  std::set<std::string> entity_groups(const std::vector<std::string>& ids) {
    std::set<std::string> names;
    for (const auto& id : ids) names.insert(entity_group(id));
    return names;
  }
  std::set<std::string> vpcs(const std::vector<std::string>& ids) {
    std::set<std::string> names;
    NameSet unused;
    for (const auto& id : ids) {
      names.insert(b::resolve_reference(site.vpcs, id, "vpc", unused, out.findings));
    }
    return names;
  }
};

// v4.0 category references name VM categories: the v3 equivalent is kind_list ["vm"].
const std::set<std::string> kVmKinds{"vm"};

// What `<prefix>CategoryAssociatedEntityType` says a category reference selects: VM (the
// default, and all v4.0 and v3 can say), SUBNET or VPC.
template <class J>
std::string associated_kind(const J& spec, const std::string& path, const std::string& prefix,
                            Unmodelled& unmodelled) {
  const std::string key = prefix + "CategoryAssociatedEntityType";
  const std::string type = opt_string(spec, path, key);
  if (type.empty() || type == "VM") return "vm";
  if (type != "SUBNET" && type != "VPC") unmodelled.enum_value(at_key(path, key), type);
  return lowercase(type);
}

json string_set(const std::set<std::string>& s) { return json(s); }

template <class J>
std::string subnet_text(const J& spec, const std::string& path, const std::string& key);

template <class J>
std::vector<std::string> rule_peers(const J& spec, const std::string& path,
                                    const std::string& side, PolicyWork& work,
                                    Unmodelled& unmodelled) {
  std::vector<std::string> peers;
  const std::string allow = opt_string(spec, path, side + "AllowSpec");
  if (allow == "ALL") {
    peers.push_back(b::any_peer_text());
  } else if (!allow.empty() && allow != "NONE") {
    unmodelled.enum_value(at_key(path, side + "AllowSpec"), allow);
    peers.push_back(b::named_text("allow", lowercase(allow)));
  }
  const auto cat_ids = id_list(spec, path, side + "CategoryReferences");
  if (!cat_ids.empty()) {
    const std::string kind = associated_kind(spec, path, side, unmodelled);
    peers.push_back(b::category_peer_text(work.categories(cat_ids), "all",
                                          kind != "vm" ? kind : std::string()));
  }
  if (auto group = opt_string(spec, path, side + "EntityGroupReference"); !group.empty()) {
    peers.push_back(b::named_text("entity_group", work.entity_group(group)));
  }
  if (auto subnet = opt_object(spec, path, side + "Subnet")) {
    const b::Cidr cidr = parse_ipv4_address(*subnet, at_key(path, side + "Subnet"));
    peers.push_back(b::named_text("subnet", cidr.text()));
  }
  if (auto subnet = opt_object(spec, path, side + "Ipv6Subnet")) {
    peers.push_back(b::named_text(
        "subnet6", subnet_text(*subnet, at_key(path, side + "Ipv6Subnet"), "value")));
  }
  for (const auto& id : id_list(spec, path, side + "AddressGroupReferences")) {
    peers.push_back(b::named_text("address_group", work.address_group(id)));
  }
  return peers;
}

template <class J>
bool has_side(const J& spec, bool src) {
  // Spelt out, not built from the side and a suffix: this runs twice for every rule.
  static constexpr std::array<std::array<const char*, 6>, 2> kKeys{
      {{"srcAllowSpec", "srcCategoryReferences", "srcSubnet", "srcAddressGroupReferences",
        "srcEntityGroupReference", "srcIpv6Subnet"},
       {"destAllowSpec", "destCategoryReferences", "destSubnet", "destAddressGroupReferences",
        "destEntityGroupReference", "destIpv6Subnet"}}};
  for (const char* key : kKeys[src ? 0 : 1]) {
    if (member(spec, key)) return true;
  }
  return false;
}

// IPv6Address {value, prefixLength} -> "addr/len" with the address masked and written in its
// RFC 5952 form (inet_pton/inet_ntop), so equal subnets give equal text.
template <class J>
std::string subnet_text(const J& obj, const std::string& path, const std::string& key) {
  as_object<J>(obj, path);
  const std::string text = req_string(obj, path, key);
  const auto prefix = opt_int(obj, path, "prefixLength", 0, 128).value_or(128);
  auto masked = b::ipv6_masked(text, static_cast<int>(prefix));
  if (!masked) fail(at_key(path, key), "expected IPv6 address, got \"" + printable(text, 64) + "\"");
  return *masked;
}

// Services of a spec: one per protocol listed, one per service group; all protocols
// (explicitly, or when nothing is listed) subsumes the rest.
template <class J>
std::vector<std::string> rule_services(const J& spec, const std::string& path, PolicyWork& work,
                                       const char* groups_key = "serviceGroupReferences") {
  std::vector<std::string> services = protocol_services(spec, path);
  for (const auto& id : id_list(spec, path, groups_key)) {
    services.push_back(b::named_text("service_group", work.service_group(id)));
  }
  if (opt_bool(spec, path, "isAllProtocolAllowed").value_or(false) || services.empty()) {
    services.assign(1, b::all_service_text());
  }
  return services;
}

// Members a canonical rule carries beyond description, direction, peer and service: v4.1+
// rule switches, network functions and whatever the model does not know. Empty for every
// rule v3 or v4.0 can express.
template <class J>
json rule_extras(const J& rule, const J& spec, const std::string& rpath, const std::string& spath,
                 std::string_view type, PolicyWork& work) {
  json extras = json::object();
  if (auto name = opt_string(rule, rpath, "name"); !name.empty()) extras["name"] = name;
  if (opt_bool(rule, rpath, "isLoggingEnabled").value_or(false)) extras["logging"] = true;
  for (const auto& [key, canon] : {std::pair{"networkFunctionChainReference", "network_function_chain"},
                                   std::pair{"networkFunctionReference", "network_function"}}) {
    if (auto id = opt_string(spec, spath, key); !id.empty()) extras[canon] = resolved_id(id, work.site);
  }
  Unmodelled unmodelled = work.unmodelled();
  collect_unmodelled(rule, v4::kRule, rpath, "", unmodelled, "spec");
  if (const v4::Schema* schema = v4::rule_spec_schema(type)) {
    collect_unmodelled(spec, *schema, spath, "spec/", unmodelled);
  }
  if (!unmodelled.values.empty()) extras["unmodelled"] = std::move(unmodelled.values);
  return extras;
}

void add_rule(b::RuleSet& rules, std::string_view direction, const std::string& peer,
              const std::string& service, const std::string& description, const json& extras) {
  if (extras.empty()) return b::add_rule(rules, direction, peer, service, description);
  json rule = extras;
  rule["description"] = description;
  rule["direction"] = direction;
  rule["peer"] = json::parse(peer);
  rule["service"] = json::parse(service);
  rules.insert(rule.dump());
}

// What the rules of one policy add up to.
struct PolicyRules {
  std::set<std::string> secured;  // secured-group categories
  std::set<std::string> secured_kinds;
  std::set<std::string> secured_entity_groups;
  std::optional<std::string> intra;
  std::set<std::string> intra_services;
  std::vector<json> isolation_groups;
  bool have_isolation_rule = false;
  b::RuleSet rules;
  std::set<std::string> src_entity_groups;  // every entity group a rule names as a peer
  std::set<std::string> dest_entity_groups;
  std::set<std::string> applied_to;
  // What the intra-group and isolation rules say beyond their groups and action (rule_extras).
  json intra_rule = json::object();
  json isolation_rule = json::object();
};

template <class J>
void add_secured(const J& spec, const std::string& path, PolicyWork& work, PolicyRules& acc,
                 Unmodelled& unmodelled) {
  const auto ids = id_list(spec, path, "securedGroupCategoryReferences");
  if (!ids.empty()) {
    const auto groups = work.categories(ids);
    acc.secured.insert(groups.begin(), groups.end());
    acc.secured_kinds.insert(associated_kind(spec, path, "securedGroup", unmodelled));
  }
  if (auto eg = opt_string(spec, path, "securedGroupEntityGroupReference"); !eg.empty()) {
    acc.secured_entity_groups.insert(work.entity_group(eg));
  }
}

// An APPLICATION / QUARANTINE / SHARED_SERVICE rule -> one canonical rule per (peer, service).
template <class J>
void expand_application_rule(const J& rule, const J& spec, const std::string& rpath,
                             const std::string& path, std::string_view type, PolicyWork& work,
                             PolicyRules& acc) {
  const bool src = has_side(spec, true);
  const bool dest = has_side(spec, false);
  if (src && dest) fail(path, "both src* and dest* peer fields (a rule has one direction)");
  if (!src && !dest) fail(path, "no src* or dest* peer field (direction unknown)");
  const std::string side = src ? "src" : "dest";
  Unmodelled unmodelled = work.unmodelled();
  add_secured(spec, path, work, acc, unmodelled);
  const std::vector<std::string> peers = rule_peers(spec, path, side, work, unmodelled);
  const std::vector<std::string> services = rule_services(spec, path, work);
  json extras = rule_extras(rule, spec, rpath, path, type, work);
  if (type == "SHARED_SERVICE") extras["rule_type"] = "shared_service";
  const std::string description = opt_string(rule, rpath, "description");
  const std::string direction = src ? "inbound" : "outbound";
  for (const auto& p : peers) {
    for (const auto& s : services) add_rule(acc.rules, direction, p, s, description, extras);
  }
  if (auto eg = opt_string(spec, path, side + "EntityGroupReference"); !eg.empty()) {
    (src ? acc.src_entity_groups : acc.dest_entity_groups).insert(work.entity_group(eg));
  }
}

template <class J>
void add_intra_group_rule(const J& rule, const J& spec, const std::string& rpath,
                          const std::string& spath, PolicyWork& work, PolicyRules& acc) {
  Unmodelled unmodelled = work.unmodelled();
  add_secured(spec, spath, work, acc, unmodelled);
  const std::string action = req_string(spec, spath, "securedGroupAction");
  const std::string value = lowercase(action);
  if (action != "ALLOW" && action != "DENY") {
    unmodelled.enum_value(at_key(spath, "securedGroupAction"), action);
  }
  if (acc.intra && *acc.intra != value) fail(rpath, "second INTRA_GROUP rule with another action");
  acc.intra = value;
  // v4.1+: intra-group traffic limited to services (none listed: all of it, as in v4.0).
  if (member(spec, "tcpServices") || member(spec, "udpServices") || member(spec, "icmpServices") ||
      member(spec, "icmpV6Services") || member(spec, "securedGroupServiceReferences")) {
    for (auto& s : rule_services(spec, spath, work, "securedGroupServiceReferences")) {
      acc.intra_services.insert(std::move(s));
    }
  }
  acc.intra_rule.update(rule_extras(rule, spec, rpath, spath, "INTRA_GROUP", work));
}

template <class J>
json isolation_group(const J& spec, const std::string& path, const std::string& key,
                     PolicyWork& work) {
  const auto ids = id_list(spec, path, key);
  if (ids.empty()) fail(at_key(path, key), "missing (expected non-empty array of extIds)");
  return b::group_json(work.categories(ids), kVmKinds, "all");
}

// IsolationGroup {groupCategoryReferences, groupCategoryAssociatedEntityType,
// groupEntityGroupReference}: categories (of VMs, subnets or VPCs) and/or an entity group.
template <class J>
json multi_isolation_group(const J& group, const std::string& path, PolicyWork& work) {
  Unmodelled unmodelled = work.unmodelled();
  const auto ids = id_list(group, path, "groupCategoryReferences");
  const std::string eg = opt_string(group, path, "groupEntityGroupReference");
  if (ids.empty() && eg.empty()) {
    fail(at_key(path, "groupCategoryReferences"), "missing (expected categories or an entity group)");
  }
  json out = b::group_json(work.categories(ids), {associated_kind(group, path, "group", unmodelled)}, "all");
  if (!eg.empty()) out["entity_groups"] = json::array({work.entity_group(eg)});
  return out;
}

template <class J>
void add_isolation_rule(const J& rule, const J& spec, const std::string& rpath,
                        const std::string& spath, std::string_view type, PolicyWork& work,
                        PolicyRules& acc) {
  if (acc.have_isolation_rule) fail(rpath, "more than one isolation rule");
  acc.have_isolation_rule = true;
  if (type == "TWO_ENV_ISOLATION") {
    acc.isolation_groups.push_back(isolation_group(spec, spath, "firstIsolationGroup", work));
    acc.isolation_groups.push_back(isolation_group(spec, spath, "secondIsolationGroup", work));
  } else {
    // MultiEnvIsolationRuleSpec: spec.spec.isolationGroups[{groupCategoryReferences}].
    const std::string inner = at_key(spath, "spec");
    Ref<J> all = object_member(spec, spath, "spec");
    const auto groups = opt_array(all, inner, "isolationGroups");
    if (!groups || groups->size() < 2) {
      fail(at_key(inner, "isolationGroups"), "expected an array of at least 2 groups");
    }
    std::size_t g = 0;
    for (Ref<J> group : *groups) {
      const std::string gpath = at_index(at_key(inner, "isolationGroups"), g++);
      acc.isolation_groups.push_back(multi_isolation_group(as_object<J>(group, gpath), gpath, work));
    }
  }
  acc.isolation_rule = rule_extras(rule, spec, rpath, spath, type, work);
}

// FLEX (v4.3): an ordered allow/deny/reject rule between entity groups and subnets. Its
// semantics (priorities, deny) are beyond the allow-list flows model, so it stays one
// structural rule: lib/flows does not compile it and the diff marks its changes unknown.
template <class J>
void add_flex_rule(const J& rule, const J& spec, const std::string& rpath,
                   const std::string& spath, PolicyWork& work, PolicyRules& acc) {
  Unmodelled unmodelled = work.unmodelled();
  auto peers = [&](const std::string& side, const char* any_key) {
    std::set<std::string> out;
    if (opt_bool(spec, spath, any_key).value_or(false)) out.insert(b::any_peer_text());
    for (const auto& g : work.entity_groups(id_list(spec, spath, side + "EntityGroupReferences"))) {
      out.insert(b::named_text("entity_group", g));
    }
    if (auto subnet = opt_object(spec, spath, side + "Subnet")) {
      const b::Cidr cidr = parse_ipv4_address(*subnet, at_key(spath, side + "Subnet"));
      out.insert(b::named_text("subnet", cidr.text()));
    }
    json list = json::array();
    for (const auto& p : out) list.push_back(json::parse(p));
    return list;
  };
  const std::string action = req_string(spec, spath, "action");
  if (action != "ALLOW" && action != "DENY" && action != "REJECT") {
    unmodelled.enum_value(at_key(spath, "action"), action);
  }
  const std::string direction = req_string(spec, spath, "direction");
  if (direction != "IN" && direction != "OUT" && direction != "IN_OUT") {
    unmodelled.enum_value(at_key(spath, "direction"), direction);
  }
  json canon = rule_extras(rule, spec, rpath, spath, "FLEX", work);
  const auto applied = work.entity_groups(id_list(spec, spath, "appliedToEntityGroupReferences"));
  acc.applied_to.insert(applied.begin(), applied.end());
  canon["description"] = opt_string(rule, rpath, "description");
  canon["direction"] = "flex";
  canon["action"] = lowercase(action);
  canon["flow"] = lowercase(direction);
  canon["applied_to"] = json{{"entity_groups", string_set(applied)}};
  canon["sources"] = peers("src", "shouldAllowAnySrc");
  canon["destinations"] = peers("dest", "shouldAllowAnyDst");
  std::set<std::string> services;
  for (auto& s : rule_services(spec, spath, work)) services.insert(std::move(s));
  json list = json::array();
  for (const auto& s : services) list.push_back(json::parse(s));
  canon["services"] = std::move(list);
  if (auto p = opt_int(spec, spath, "priority", std::numeric_limits<std::int64_t>::min(),
                       std::numeric_limits<std::int64_t>::max())) {
    canon["priority"] = *p;
  }
  if (auto v = opt_string(spec, spath, "ipVersion"); !v.empty()) canon["ip_version"] = lowercase(v);
  if (opt_bool(spec, spath, "isSystemRule").value_or(false)) canon["system"] = true;
  acc.rules.insert(canon.dump());
}

// A rule type this model does not know (a later PC): kept whole, extIds resolved, as one rule
// whose direction is unknown.
template <class J>
void add_unknown_rule(const J& rule, const std::string& rpath, const std::string& type,
                      PolicyWork& work, PolicyRules& acc) {
  Unmodelled unmodelled = work.unmodelled();
  unmodelled.enum_value(at_key(rpath, "type"), type);
  json opaque = json::object();
  each_member(rule, [&](std::string_view key, const auto& value) {
    const v4::Field* f = v4::kRule.find(key);
    if (v4::is_envelope_key(key) || (f != nullptr && f->bookkeeping)) return;
    opaque[std::string(key)] = to_dom(value);
  });
  resolve_ids(opaque, work.site);
  acc.rules.insert(json{{"description", opt_string(rule, rpath, "description")},
                        {"direction", "unknown"},
                        {"opaque", std::move(opaque)}}.dump());
}

struct PolicyType {
  const char* v4;
  const char* canon;
};
constexpr PolicyType kPolicyTypes[] = {
    {"APPLICATION", "application"}, {"ISOLATION", "isolation"}, {"QUARANTINE", "quarantine"}};
// v4.1-v4.3 types, kept as their lowercase name.
constexpr std::string_view kNewerPolicyTypes[] = {"SHAREDSERVICE", "CRITICAL",
                                                  "COREINFRASTRUCTURE", "ZONE", "WORKLOAD"};

template <class J>
void add_rule_of_type(const J& rule, const std::string& rpath, const std::string& policy_type,
                      PolicyWork& work, PolicyRules& acc) {
  const std::string rtype = req_string(rule, rpath, "type");
  if (v4::rule_spec_schema(rtype) == nullptr) return add_unknown_rule(rule, rpath, rtype, work, acc);
  const std::string spath = at_key(rpath, "spec");
  Ref<J> spec = object_member(rule, rpath, "spec");
  const bool isolation_rule = rtype == "TWO_ENV_ISOLATION" || rtype == "MULTI_ENV_ISOLATION";
  // v4.0 shapes stay strict: isolation rules only in isolation policies and the reverse; the
  // newer policy types may mix them.
  const bool v40_type = policy_type == "APPLICATION" || policy_type == "QUARANTINE" ||
                        policy_type == "ISOLATION";
  if (v40_type && isolation_rule != (policy_type == "ISOLATION")) {
    fail(at_key(rpath, "type"), "rule type " + rtype + " in a policy of type " + policy_type);
  }
  if (rtype == "INTRA_GROUP") {
    add_intra_group_rule(rule, spec, rpath, spath, work, acc);
  } else if (isolation_rule) {
    add_isolation_rule(rule, spec, rpath, spath, rtype, work, acc);
  } else if (rtype == "FLEX") {
    add_flex_rule(rule, spec, rpath, spath, work, acc);
  } else {
    expand_application_rule(rule, spec, rpath, spath, rtype, work, acc);
  }
}

std::string policy_mode(const std::string& state, Unmodelled& unmodelled) {
  if (state == "ENFORCE") return "enforce";
  if (state == "MONITOR") return "monitor";
  if (state == "SAVE") return "save";
  if (state.empty()) fail("/state", "expected ENFORCE, MONITOR or SAVE, got \"\"");
  unmodelled.enum_value("/state", state);
  return lowercase(state);
}

std::string policy_type_name(const std::string& type, Unmodelled& unmodelled) {
  for (const auto& t : kPolicyTypes) {
    if (type == t.v4) return t.canon;
  }
  if (std::find(std::begin(kNewerPolicyTypes), std::end(kNewerPolicyTypes), type) ==
      std::end(kNewerPolicyTypes)) {
    unmodelled.enum_value("/type", type);
  }
  return lowercase(type);
}

// A policy-level list of entity groups that restates what the rules say is left out; one
// that says more (or other) is kept whole.
void add_if_more(json& canon, const char* key, const std::set<std::string>& listed,
                 const std::set<std::string>& from_rules) {
  if (listed.empty() || listed == from_rules) return;
  canon[key] = json{{"entity_groups", string_set(listed)}};
}

// Policy members v4.1+ added: VPC scope, address-family scope, priority, network functions and
// the policy-level entity-group lists. Each only when it says something v4.0 could not.
template <class J>
void add_policy_scope(const J& policy, json& canon, PolicyWork& work, Unmodelled& unmodelled) {
  const std::string scope = opt_string(policy, "", "scope");
  // ALL_VLAN is the default (and the only v3 meaning); any other scope is real intent.
  if (!scope.empty() && scope != "ALL_VLAN") {
    canon["scope"] = lowercase(scope);
    if (scope != "ALL_VPC" && scope != "VPC_LIST" && scope != "GLOBAL" && scope != "VPC_AS_CATEGORY") {
      unmodelled.enum_value("/scope", scope);
    }
  }
  if (auto vpcs = work.vpcs(id_list(policy, "", "vpcReferences")); !vpcs.empty()) {
    canon["vpcs"] = string_set(vpcs);
  }
  if (auto ids = id_list(policy, "", "scopeReferences"); !ids.empty()) {
    canon["scope_categories"] = string_set(work.categories(ids));
  }
  if (opt_bool(policy, "", "isIpv4AddressScope") == false) canon["ipv4_scope"] = false;
  if (opt_bool(policy, "", "isIpv6AddressScope") == true) canon["ipv6_scope"] = true;
  if (auto p = opt_int(policy, "", "priority", std::numeric_limits<std::int64_t>::min(),
                       std::numeric_limits<std::int64_t>::max())) {
    canon["priority"] = *p;
  }
  if (auto ids = id_list(policy, "", "networkFunctionReferences"); !ids.empty()) {
    json list(std::set<std::string>(ids.begin(), ids.end()));
    resolve_ids(list, work.site);
    canon["network_functions"] = std::move(list);
  }
}

template <class J>
void add_policy_lists(const J& policy, json& canon, const PolicyRules& acc, PolicyWork& work) {
  add_if_more(canon, "applied_to",
              work.entity_groups(id_list(policy, "", "appliedToEntityGroupReferences")),
              acc.applied_to);
  add_if_more(canon, "sources",
              work.entity_groups(id_list(policy, "", "sourceEntityGroupReferences")),
              acc.src_entity_groups);
  add_if_more(canon, "destinations",
              work.entity_groups(id_list(policy, "", "destinationEntityGroupReferences")),
              acc.dest_entity_groups);
}

// The secured group: the rules' categories (of the kinds they select) plus securedGroups, and
// their entity groups plus securedEntityGroupReferences (policy-level lists that restate the
// rules add nothing).
template <class J>
json secured_group(const J& policy, PolicyRules& acc, PolicyWork& work) {
  const auto listed = work.categories(id_list(policy, "", "securedGroups"));
  acc.secured.insert(listed.begin(), listed.end());
  const auto groups = work.entity_groups(id_list(policy, "", "securedEntityGroupReferences"));
  acc.secured_entity_groups.insert(groups.begin(), groups.end());
  if (acc.secured_kinds.empty()) acc.secured_kinds = kVmKinds;
  json out = b::group_json(acc.secured, acc.secured_kinds, "all");
  if (!acc.secured_entity_groups.empty()) out["entity_groups"] = string_set(acc.secured_entity_groups);
  return out;
}

template <class J>
b::BuiltPolicy canonicalize_policy(const J& policy, const Site& site) {
  as_object<J>(policy, "");
  PolicyWork work{site, {}};
  b::BuiltPolicy& out = work.out;
  Unmodelled unmodelled = work.unmodelled();
  out.name = req_string(policy, "", "name");
  const std::string type = req_string(policy, "", "type");
  out.type = policy_type_name(type, unmodelled);
  out.mode = policy_mode(opt_string(policy, "", "state"), unmodelled);
  json canon{{"name", out.name},
             {"description", opt_string(policy, "", "description")},
             {"type", out.type},
             {"mode", out.mode},
             {"allow_ipv6", opt_bool(policy, "", "isIpv6TrafficAllowed").value_or(false)},
             {"hitlog", opt_bool(policy, "", "isHitlogEnabled").value_or(false)}};
  add_policy_scope(policy, canon, work, unmodelled);

  PolicyRules acc;
  if (const auto list = opt_array(policy, "", "rules")) {
    std::size_t i = 0;
    for (Ref<J> r : *list) {
      const std::string rpath = at_index("/rules", i++);
      add_rule_of_type(as_object<J>(r, rpath), rpath, type, work, acc);
    }
  }
  add_policy_lists(policy, canon, acc, work);
  collect_unmodelled(policy, v4::kPolicy, "", "", unmodelled, "rules");
  if (!unmodelled.values.empty()) canon["unmodelled"] = std::move(unmodelled.values);

  const bool isolation = out.type == "isolation";
  if (isolation && !acc.have_isolation_rule) fail("/rules", "isolation policy without an isolation rule");
  if (acc.have_isolation_rule) {
    // Isolation is symmetric: groups ordered by canonical text.
    std::sort(acc.isolation_groups.begin(), acc.isolation_groups.end(),
              [](const json& a, const json& c) { return a.dump() < c.dump(); });
    canon["isolation"] = json(acc.isolation_groups);
  }
  if (!acc.isolation_rule.empty()) canon["isolation_rule"] = std::move(acc.isolation_rule);
  if (!acc.intra_rule.empty()) canon["intra_group_rule"] = std::move(acc.intra_rule);
  if (isolation) {
    out.json = canon.dump();
  } else {
    canon["secured_group"] = secured_group(policy, acc, work);
    if (acc.intra) canon["intra_group"] = *acc.intra;  // absent: not guessed, as in v3
    if (!acc.intra_services.empty()) {
      json list = json::array();
      for (const auto& s : acc.intra_services) list.push_back(json::parse(s));
      canon["intra_group_services"] = std::move(list);
    }
    out.json = b::dump_with_rules(std::move(canon), acc.rules);
  }
  out.hash = sha256_hex(out.json);
  return std::move(work.out);
}

// ---------------------------------------------------------------------------------------------
// Groups and categories

// `cidr_key` [{value,prefixLength}] and `range_key` [{startIp,endIp}] of `obj` (either may be
// null): masked CIDRs first, then ranges "a.b.c.d-e.f.g.h", each in numeric order, duplicates
// removed, nothing merged.
json ipv4_addresses(const json& obj, const std::string& path, const char* cidr_key,
                    const char* range_key) {
  // (0, network, prefix) for CIDRs, (1, start, end) for ranges.
  std::set<std::tuple<int, std::uint32_t, std::uint32_t>> items;
  if (const json* list = cidr_key ? opt_array(obj, path, cidr_key) : nullptr) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const b::Cidr c = parse_ipv4_address(list->at(i), at_index(at_key(path, cidr_key), i));
      items.emplace(0, c.network, static_cast<std::uint32_t>(c.prefix));
    }
  }
  if (const json* list = range_key ? opt_array(obj, path, range_key) : nullptr) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string rpath = at_index(at_key(path, range_key), i);
      const json& r = as_object<json>(list->at(i), rpath);
      const std::uint32_t start = ipv4_at(r, rpath, "startIp");
      const std::uint32_t end = ipv4_at(r, rpath, "endIp");
      if (start > end) fail(rpath, "startIp greater than endIp");
      items.emplace(1, start, end);
    }
  }
  json addresses = json::array();
  for (const auto& [kind, a, c] : items) {
    addresses.push_back(kind == 0 ? b::Cidr{a, static_cast<int>(c)}.text()
                                  : b::ipv4_text(a) + "-" + b::ipv4_text(c));
  }
  return addresses;
}

// IPv6 addresses and ranges of a v4.3 address group, as text sorted after the IPv4 ones
// ("addr/prefix", "start-end"; RFC 5952 text, not merged).
void add_ipv6_addresses(const json& group, json& addresses) {
  std::set<std::string> items;
  if (const json* list = opt_array(group, "", "ipv6Addresses")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      items.insert(subnet_text(list->at(i), at_index("/ipv6Addresses", i), "value"));
    }
  }
  if (const json* list = opt_array(group, "", "ipv6Ranges")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string rpath = at_index("/ipv6Ranges", i);
      const json& r = as_object<json>(list->at(i), rpath);
      auto ip = [&](const char* key) {
        auto text = b::ipv6_text(req_string(r, rpath, key));
        if (!text) fail(at_key(rpath, key), "expected IPv6 address");
        return *text;
      };
      items.insert(ip("startIp") + "-" + ip("endIp"));
    }
  }
  for (const auto& a : items) addresses.push_back(a);
}

// Unmodelled members of a group: kept in its canonical form and reported with its name.
void add_unmodelled(const json& group, const v4::Schema& schema, const Site& site, json& canon,
                    b::BuiltGroup& out) {
  Unmodelled unmodelled{&site, &out.findings, json::object()};
  collect_unmodelled(group, schema, "", "", unmodelled);
  if (!unmodelled.values.empty()) canon["unmodelled"] = std::move(unmodelled.values);
}

const Site kNoSite;  // groups are read before anything they could reference by extId

// What every group has (extId, name, description, unmodelled members); `add` maps the rest.
template <class F>
b::BuiltGroup build_group(const json& group, const v4::Schema& schema, const Site& site, F&& add) {
  as_object<json>(group, "");
  b::BuiltGroup out;
  out.id = req_string(group, "", "extId");
  out.name = req_string(group, "", "name");
  json canon{{"name", out.name}, {"description", opt_string(group, "", "description")}};
  add(canon, out);
  add_unmodelled(group, schema, site, canon, out);
  out.json = canon.dump();
  out.hash = sha256_hex(out.json);
  return out;
}

b::BuiltGroup canonicalize_address_group(const json& group) {
  return build_group(group, v4::kAddressGroup, kNoSite, [&](json& canon, b::BuiltGroup&) {
    canon["addresses"] = ipv4_addresses(group, "", "ipv4Addresses", "ipRanges");
    add_ipv6_addresses(group, canon["addresses"]);
  });
}

b::BuiltGroup canonicalize_service_group(const json& group) {
  return build_group(group, v4::kServiceGroup, kNoSite, [&](json& canon, b::BuiltGroup&) {
    std::set<std::string> services;  // canonical texts: sorted, unique
    for (auto& text : protocol_services(group, "")) services.insert(std::move(text));
    json list = json::array();
    for (const auto& text : services) list.push_back(json::parse(text));
    canon["services"] = std::move(list);
  });
}

// One AllowedEntity / ExceptEntity (v4.1+): what it selects, by every member it has (the SDK
// says `type` and `selectBy` choose which one is meaningful; all are kept, so nothing is lost).
// referenceExtIds resolve to "category:K:V", "address_group:name", "vpc:name", ... where the
// site knows them; a VM or subnet extId stays as it is.
json entity_selector(const json& e, const std::string& path, const Site& site, b::BuiltGroup& out) {
  as_object<json>(e, path);
  json canon = json::object();
  for (const auto& [key, canon_key] : {std::pair{"type", "type"}, std::pair{"selectBy", "select_by"},
                                       std::pair{"matchCriteria", "match"}}) {
    if (auto v = opt_string(e, path, key); !v.empty()) canon[canon_key] = lowercase(v);
  }
  std::set<std::string> refs;
  for (const auto& id : id_list(e, path, "referenceExtIds")) {
    const std::string text = resolved_id(id, site);
    if (text.rfind("category:", 0) == 0) out.categories.insert(text.substr(9));
    refs.insert(text);
  }
  if (!refs.empty()) canon["references"] = string_set(refs);
  if (auto v = opt_string(e, path, "referenceString"); !v.empty()) canon["pattern"] = v;
  for (const auto& [key, canon_key] : {std::pair{"kubeEntities", "kube_entities"}, std::pair{"fqdns", "fqdns"}}) {
    const auto list = id_list(e, path, key);
    if (!list.empty()) canon[canon_key] = json(std::set<std::string>(list.begin(), list.end()));
  }
  json addresses = json::array();
  if (auto a = opt_object(e, path, "addresses")) {
    addresses = ipv4_addresses(*a, at_key(path, "addresses"), "ipv4Addresses", nullptr);
  }
  if (auto r = opt_object(e, path, "ipRanges")) {
    for (auto& range : ipv4_addresses(*r, at_key(path, "ipRanges"), nullptr, "ipv4Ranges")) {
      addresses.push_back(std::move(range));
    }
  }
  if (!addresses.empty()) canon["addresses"] = std::move(addresses);
  return canon;
}

json entity_selectors(const json& group, const char* config_key, const Site& site,
                      b::BuiltGroup& out) {
  std::set<std::string> texts;
  if (auto config = opt_object(group, "", config_key)) {
    const std::string cpath = at_key("", config_key);
    if (const json* list = opt_array(*config, cpath, "entities")) {
      for (std::size_t i = 0; i < list->size(); ++i) {
        texts.insert(entity_selector(list->at(i), at_index(at_key(cpath, "entities"), i), site, out).dump());
      }
    }
  }
  json canon = json::array();
  for (const auto& t : texts) canon.push_back(json::parse(t));
  return canon;
}

// EntityGroup (v4.1+) -> {"allowed":[...],"description","except":[...],"name"}: the entities
// it allows minus the ones it excepts, each a set sorted by canonical text.
b::BuiltGroup canonicalize_entity_group(const json& group, const Site& site) {
  return build_group(group, v4::kEntityGroup, site, [&](json& canon, b::BuiltGroup& out) {
    canon["allowed"] = entity_selectors(group, "allowedConfig", site, out);
    canon["except"] = entity_selectors(group, "exceptConfig", site, out);
    for (const auto& c : out.categories) {
      if (site.category_values.count(c) == 0) {
        out.findings.push_back({"dangling_reference", "", "category " + c + " not defined on site"});
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Entity labels and the site

// Display name for error messages; never throws.
std::string string_field(const json& j, const char* key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
std::string string_field(const JsonRef& j, const char* key) {
  const auto m = j.find(key);
  return m && m->is_string() ? m->str() : std::string();
}

template <class J>
std::string label(std::string_view list, std::size_t i, const J& entity) {
  std::string known = string_field(entity, "name");
  if (known.empty()) {
    const std::string key = string_field(entity, "key");
    const std::string value = string_field(entity, "value");
    if (!key.empty() && !value.empty()) known = key + ":" + value;
  }
  if (known.empty()) known = string_field(entity, "extId");
  std::string out = std::string(list) + "[" + std::to_string(i) + "]";
  if (!known.empty()) out += " (" + printable(known, 64) + ")";  // the site's bytes, bounded
  return out;
}

template <class F>
auto for_entity(const std::string& name, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Shape& e) {
    throw EntityFailure{name + ": " + (e.path.empty() ? std::string("/") : e.path) + ": " +
                        e.reason};
  } catch (const json::exception& e) {
    throw EntityFailure{name + ": " + e.what()};
  }
}

template <class F>
std::vector<b::BuiltGroup> build_groups(const std::vector<json>& entities, std::string_view list,
                                        F canon) {
  std::vector<b::BuiltGroup> out;
  out.reserve(entities.size());
  for (std::size_t i = 0; i < entities.size(); ++i) {
    out.push_back(for_entity(label(list, i, entities[i]), [&] { return canon(entities[i]); }));
  }
  return out;
}

void index_categories(const std::vector<json>& categories, Site& site) {
  for (std::size_t i = 0; i < categories.size(); ++i) {
    const json& c = categories[i];
    for_entity(label("categories", i, c), [&] {
      as_object<json>(c, "");
      const std::string id = req_string(c, "", "extId");
      const std::string kv = req_string(c, "", "key") + ":" + req_string(c, "", "value");
      site.categories.emplace(id, kv);
      site.category_values.insert(kv);
    });
  }
}

// networking.v4.config.Vpc: only its name matters to a policy (scope by VPC).
void index_vpcs(const std::vector<json>& vpcs, Site& site) {
  for (std::size_t i = 0; i < vpcs.size(); ++i) {
    const json& v = vpcs[i];
    for_entity(label("vpcs", i, v), [&] {
      as_object<json>(v, "");
      site.vpcs.emplace(req_string(v, "", "extId"), req_string(v, "", "name"));
    });
  }
}

void index_ids(Site& site) {
  for (const auto& [id, kv] : site.categories) site.any_ids.emplace(id, "category:" + kv);
  for (const auto& [id, name] : site.address_groups.names_by_id) {
    site.any_ids.emplace(id, "address_group:" + name);
  }
  for (const auto& [id, name] : site.service_groups.names_by_id) {
    site.any_ids.emplace(id, "service_group:" + name);
  }
  for (const auto& [id, name] : site.vpcs) site.any_ids.emplace(id, "vpc:" + name);
}

template <class F>
Result<void> guarded(F&& f) {
  try {
    f();
    return {};
  } catch (const EntityFailure& e) {
    return make_error(ErrorReason::Malformed, e.message);
  } catch (const Shape& e) {  // every entity is wrapped; kept as a safety net
    return make_error(ErrorReason::Malformed, e.path + ": " + e.reason);
  } catch (const json::exception& e) {
    return make_error(ErrorReason::Malformed, std::string("unexpected JSON shape: ") + e.what());
  }
}

}  // namespace

namespace {

bool has_reference(const json& node, V4Reference kind, int depth);
void mark_references(const JsonRef& node, V4PolicyReferences& refs, int depth);

// What V4PolicyMemo entries depend on besides the policy text: every map canonicalize_policy
// resolves extIds through. Length-prefixed, so no names can make two contexts collide.
std::string reference_context(const Site& site) {
  std::string text;
  auto field = [&text](std::string_view f) {
    text += std::to_string(f.size());
    text += ':';
    text += f;
  };
  auto add = [&](std::string_view tag, const std::map<std::string, std::string>& m) {
    field(tag);
    field(std::to_string(m.size()));
    for (const auto& [id, name] : m) {
      field(id);
      field(name);
    }
  };
  add("address_groups", site.address_groups.names_by_id);
  add("service_groups", site.service_groups.names_by_id);
  add("categories", site.categories);
  add("entity_groups", site.entity_groups.names_by_id);
  add("vpcs", site.vpcs);
  return memo_digest(text);
}

V4PolicyReferences references_of(const JsonRef& policy) {
  V4PolicyReferences refs;
  mark_references(policy, refs, 0);
  return refs;
}

}  // namespace

struct V4PolicyMemo::State : PolicyMemoState<V4PolicyReferences> {
  // What the referenced lists of the last complete poll built (`references` is their digest),
  // never modified once kept: a builder that reuses it copies it before moving out of it.
  std::shared_ptr<Site> site;
  std::vector<Finding> reference_findings;
};

V4PolicyMemo::V4PolicyMemo() : s_(std::make_unique<State>()) {}
V4PolicyMemo::~V4PolicyMemo() = default;
std::size_t V4PolicyMemo::size() const { return s_->entries.size(); }
std::uint64_t V4PolicyMemo::hits() const { return s_->hits; }
std::uint64_t V4PolicyMemo::misses() const { return s_->misses; }
std::uint64_t V4PolicyMemo::page_hits() const { return s_->page_hits; }
std::uint64_t V4PolicyMemo::reference_hits() const { return s_->reference_hits; }
std::uint64_t V4PolicyMemo::snapshot_hits() const { return s_->snapshot_hits; }
std::size_t V4PolicyMemo::release_texts() { return s_->release_texts(); }
void V4PolicyMemo::clear() { s_->clear(); }

struct V4SiteBuilder::State {
  std::vector<Finding> findings;  // group findings (duplicate names)
  // Shared read-only with page work in flight (V4PolicyPageWork); replaced, never modified,
  // once policies are being added.
  std::shared_ptr<Site> site = std::make_shared<Site>();
  PolicyListing<Site, V4PolicyReferences> listing;
  bool references_set = false;
  bool finished = false;
  std::string references_digest;  // of the referenced lists' pages; "" when not known
  V4PolicyMemo::State* memo = nullptr;

  // What page work resolves against: null before the references.
  std::shared_ptr<const Site> ready_site() const { return references_set ? site : nullptr; }
};

V4SiteBuilder::V4SiteBuilder() : s_(std::make_unique<State>()) {}
V4SiteBuilder::V4SiteBuilder(V4PolicyMemo* memo) : s_(std::make_unique<State>()) {
  if (memo != nullptr) s_->memo = memo->s_.get();
  s_->listing.memo = s_->memo;
}
V4SiteBuilder::~V4SiteBuilder() = default;
V4SiteBuilder::V4SiteBuilder(V4SiteBuilder&&) noexcept = default;
V4SiteBuilder& V4SiteBuilder::operator=(V4SiteBuilder&&) noexcept = default;

Result<void> V4SiteBuilder::set_references(const V4SiteData& lists) {
  return set_references(lists, std::string());
}

Result<void> V4SiteBuilder::set_references(const V4SiteData& lists, std::string digest) {
  State& st = *s_;
  st.findings.clear();
  st.site = std::make_shared<Site>();
  Site& site = *st.site;
  auto r = guarded([&] {
    site.address_groups = b::index_groups(
        build_groups(lists.address_groups, "address_groups", canonicalize_address_group),
        ObjectKind::AddressGroup, st.findings);
    site.service_groups = b::index_groups(
        build_groups(lists.service_groups, "service_groups", canonicalize_service_group),
        ObjectKind::ServiceGroup, st.findings);
    index_categories(lists.categories, site);
    index_vpcs(lists.vpcs, site);
    index_ids(site);  // entity groups reference all of the above
    site.entity_groups = b::index_groups(
        build_groups(lists.entity_groups, "entity_groups",
                     [&site](const json& g) { return canonicalize_entity_group(g, site); }),
        ObjectKind::EntityGroup, st.findings);
    for (const auto& [id, name] : site.entity_groups.names_by_id) {
      site.any_ids.emplace(id, "entity_group:" + name);
    }
  });
  st.references_set = r.has_value();
  st.references_digest = st.references_set ? std::move(digest) : std::string();
  if (st.memo == nullptr) return r;
  st.memo->references = st.references_digest;
  st.memo->site = st.references_set ? st.site : nullptr;
  st.memo->reference_findings = st.findings;
  // Entries built against other names would be stale: the memo then starts over.
  if (st.references_set) st.memo->begin_poll(reference_context(site));
  return r;
}

bool V4SiteBuilder::reuse_references(const std::string& digest) {
  State& st = *s_;
  V4PolicyMemo::State* memo = st.memo;
  if (memo == nullptr || digest.empty() || digest != memo->references || !memo->site) {
    return false;
  }
  st.site = memo->site;
  st.findings = memo->reference_findings;
  st.references_set = true;
  st.references_digest = digest;
  memo->begin_poll(memo->context);  // the same names: every entry stays
  ++memo->reference_hits;
  return true;
}

Result<void> V4SiteBuilder::set_references(const std::vector<json>& address_groups,
                                           const std::vector<json>& service_groups,
                                           const std::vector<json>& categories) {
  V4SiteData lists;
  lists.address_groups = address_groups;
  lists.service_groups = service_groups;
  lists.categories = categories;
  return set_references(lists);
}

Result<void> V4SiteBuilder::add_policies(const std::vector<json>& page) {
  State& st = *s_;
  if (!st.references_set) {
    return make_error(ErrorReason::Other, "v4 site: policies added before groups and categories");
  }
  return guarded([&] {
    for (const json& p : page) {
      const std::size_t i = st.listing.policies.size();
      st.listing.policies.push_back(std::make_shared<const b::BuiltPolicy>(
          for_entity(label("policies", i, p), [&] { return canonicalize_policy(p, *st.site); })));
    }
  });
}

struct V4PolicyPageWork::State : PageWorkCore<Site, V4PolicyReferences> {};

namespace {

constexpr const char* kNoReferences = "v4 site: policies added before groups and categories";

// One listed policy from its raw text, at listing index `i`.
Result<std::pair<b::BuiltPolicy, V4PolicyReferences>> policy_from_text(std::string_view text,
                                                                      std::size_t i,
                                                                      const Site& site) {
  std::string parse_error;
  const auto doc = json_scan::JsonDoc::parse(text, parse_error);
  if (!doc || !doc->root().is_object()) {
    return make_error(ErrorReason::Malformed, "policies[" + std::to_string(i) + "]: " +
                                                  (doc ? std::string("not a JSON object") : parse_error));
  }
  const JsonRef policy = doc->root();
  std::pair<b::BuiltPolicy, V4PolicyReferences> out;
  out.second = references_of(policy);
  auto added = guarded([&] {
    out.first = for_entity(label("policies", i, policy), [&] { return canonicalize_policy(policy, site); });
  });
  if (!added) return added.error();
  return out;
}

}  // namespace

V4PolicyPageWork::V4PolicyPageWork() : s_(std::make_unique<State>()) {}
V4PolicyPageWork::~V4PolicyPageWork() = default;
V4PolicyPageWork::V4PolicyPageWork(V4PolicyPageWork&&) noexcept = default;
V4PolicyPageWork& V4PolicyPageWork::operator=(V4PolicyPageWork&&) noexcept = default;

std::size_t V4PolicyPageWork::pending() const { return s_->pending.size() - s_->done; }

void V4PolicyPageWork::run() { s_->run(&policy_from_text); }

V4PolicyPageWork V4SiteBuilder::begin_page(const std::vector<std::string_view>& texts) {
  return begin_page(texts, std::string(), PageFacts{});
}

V4PolicyPageWork V4SiteBuilder::begin_page(const std::vector<std::string_view>& texts,
                                           std::string digest, PageFacts facts) {
  V4PolicyPageWork work;
  s_->listing.begin(*work.s_, s_->ready_site(), kNoReferences, texts, std::move(digest),
                    std::move(facts));
  return work;
}

SharedFacts V4SiteBuilder::known_page(const std::string& digest) const {
  return s_->listing.known(s_->references_set, digest);
}

V4PolicyPageWork V4SiteBuilder::begin_known_page(const std::string& digest) {
  V4PolicyPageWork work;
  s_->listing.begin_known(*work.s_, s_->ready_site(), kNoReferences, digest);
  return work;
}

Result<V4PageReferences> V4SiteBuilder::end_page(V4PolicyPageWork work) {
  work.run();  // whatever is left (nothing when the caller ran it)
  V4PageReferences counts;
  auto ended = s_->listing.end(*work.s_, s_->site.get(), "v4 site: a page ended out of turn",
                               [&counts](const V4PolicyReferences& r) {
                                 counts.address_groups += r.address_groups ? 1 : 0;
                                 counts.service_groups += r.service_groups ? 1 : 0;
                                 counts.categories += r.categories ? 1 : 0;
                                 counts.entity_groups += r.entity_groups ? 1 : 0;
                                 counts.vpcs += r.vpcs ? 1 : 0;
                               });
  if (!ended) return ended.error();
  return counts;
}

Result<V4PolicyReferences> V4SiteBuilder::add_policy_text(std::string_view text) {
  auto counts = end_page(begin_page({text}));
  if (!counts) return counts.error();
  return V4PolicyReferences{counts->address_groups > 0, counts->service_groups > 0,
                            counts->categories > 0, counts->entity_groups > 0,
                            counts->vpcs > 0};
}

void V4SiteBuilder::restart_policies() { s_->listing.restart(); }

std::size_t V4SiteBuilder::policy_count() const { return s_->listing.policies.size(); }

Result<Snapshot> V4SiteBuilder::finish() {
  State& st = *s_;
  if (!st.references_set || st.finished || st.listing.begun != 0) {
    return make_error(ErrorReason::Other,
                      "v4 site: finish() without references, with pages not ended, or twice");
  }
  st.finished = true;
  std::string input;
  if (st.memo != nullptr) {
    input = st.listing.snapshot_input(st.references_digest, "v4");
    if (auto same = st.memo->same_snapshot(input)) {
      st.memo->sweep_if_grown();
      return std::move(*same);
    }
    st.memo->sweep();  // what a complete listing did not list is gone
  }
  st.listing.materialize();
  // The group indexes are moved out unless the memo or abandoned page work shares them.
  if (st.site.use_count() > 1) st.site = std::make_shared<Site>(*st.site);
  Site& site = *st.site;
  Snapshot snapshot = b::assemble_snapshot(
      st.listing.policies,
      {std::move(site.address_groups), std::move(site.service_groups),
       std::move(site.entity_groups), std::move(site.category_values)},
      std::move(st.findings));
  if (st.memo != nullptr) st.memo->remember_snapshot(std::move(input), snapshot);
  return snapshot;
}

Result<Snapshot> canonicalize_v4(const V4SiteData& site) {
  V4SiteBuilder builder;
  if (auto r = builder.set_references(site); !r) return r.error();
  if (auto r = builder.add_policies(site.policies); !r) return r.error();
  return builder.finish();
}

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool references_kind(std::string_view key, V4Reference kind) {
  switch (kind) {
    case V4Reference::AddressGroup:
      return key == "srcAddressGroupReferences" || key == "destAddressGroupReferences";
    case V4Reference::ServiceGroup: return key == "serviceGroupReferences";
    case V4Reference::Category: {
      constexpr std::string_view kSuffix = "CategoryReferences";
      return ends_with(key, kSuffix) || key == "firstIsolationGroup" ||
             key == "secondIsolationGroup" || key == "securedGroups" || key == "scopeReferences";
    }
    case V4Reference::EntityGroup:
      return ends_with(key, "EntityGroupReferences") || ends_with(key, "EntityGroupReference");
    case V4Reference::Vpc: return key == "vpcReferences";
  }
  return false;
}

// A list of extIds, or one (the singular *EntityGroupReference fields).
bool is_reference_value(const json& v) {
  return (v.is_array() && !v.empty()) || (v.is_string() && !v.get_ref<const std::string&>().empty());
}
bool is_reference_value(const JsonRef& v) {
  return (v.is_array() && !v.empty()) || (v.is_string() && v.text().size() > 2);  // not ""
}

// True if some object under `node` has a non-empty array (or string) under a key of `kind`. Depth is
// bounded: rule specs nest a few levels, and untrusted input must not exhaust the stack.
bool has_reference(const json& node, V4Reference kind, int depth) {
  constexpr int kMaxDepth = 12;
  if (depth > kMaxDepth) return false;
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (references_kind(key, kind) && is_reference_value(value)) return true;
      if (has_reference(value, kind, depth + 1)) return true;
    }
  } else if (node.is_array()) {
    for (const auto& v : node) {
      if (has_reference(v, kind, depth + 1)) return true;
    }
  }
  return false;
}

// has_reference for every kind at once, from a policy's raw text: one walk instead of five.
void mark_references(const JsonRef& node, V4PolicyReferences& refs, int depth) {
  constexpr int kMaxDepth = 12;  // as has_reference
  if (depth > kMaxDepth) return;
  if (node.is_object()) {
    each_member(node, [&](std::string_view key, const JsonRef& value) {
      if (is_reference_value(value)) {
        refs.address_groups |= references_kind(key, V4Reference::AddressGroup);
        refs.service_groups |= references_kind(key, V4Reference::ServiceGroup);
        refs.categories |= references_kind(key, V4Reference::Category);
        refs.entity_groups |= references_kind(key, V4Reference::EntityGroup);
        refs.vpcs |= references_kind(key, V4Reference::Vpc);
      }
      mark_references(value, refs, depth + 1);
    });
  } else if (node.is_array()) {
    for (JsonRef v : node) mark_references(v, refs, depth + 1);
  }
}

}  // namespace

std::size_t policies_referencing(const std::vector<json>& policies, V4Reference kind) {
  std::size_t n = 0;
  for (const auto& p : policies) {
    if (!p.is_object()) continue;
    if (has_reference(p, kind, 0)) ++n;
  }
  return n;
}

}  // namespace flowdrift::policy
