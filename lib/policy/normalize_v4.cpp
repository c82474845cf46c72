#include "policy/normalize_v4.hpp"

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

#include "core/printable.hpp"
#include "core/sha256.hpp"
#include "core/json_scan.hpp"
#include "policy/canonical_build.hpp"

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
  std::string out = base + "/";
  for (char c : key) {  // RFC 6901
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}
std::string at_index(const std::string& base, std::size_t i) {
  return base + "/" + std::to_string(i);
}

// The accessors below read either DOM: nlohmann's (groups, categories, add_policies) or the
// flat json_scan::JsonDoc a policy page's raw texts are scanned into (V4PolicyPageWork),
// which costs no allocation per value. Each primitive has one overload per DOM; `Ref<J>` is
// how a value is held (a reference into nlohmann's tree, a small handle into a JsonDoc).
using json_scan::JsonRef;
template <class J>
using Ref = std::conditional_t<std::is_same_v<J, json>, const json&, JsonRef>;
template <class J>  // Ref<J> in a container
using Held = std::conditional_t<std::is_same_v<J, json>, std::reference_wrapper<const json>, JsonRef>;

bool is_null(const JsonRef& j) { return j.type() == JsonRef::Type::Null; }
bool is_boolean(const json& j) { return j.is_boolean(); }
bool is_boolean(const JsonRef& j) { return j.is_bool(); }
bool bool_value(const json& j) { return j.get<bool>(); }
bool bool_value(const JsonRef& j) { return j.is_true(); }
std::string string_value(const json& j) { return j.get<std::string>(); }
std::string string_value(const JsonRef& j) { return j.str(); }
std::string dumped(const json& j) { return j.dump(); }
std::string dumped(const JsonRef& j) { return std::string(j.text()); }

// An integer that fits int64 (floats are not ports).
std::optional<std::int64_t> integer_value(const json& j) {
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(u);
    }
  } else if (j.is_number_integer()) {
    return j.get<std::int64_t>();
  }
  return std::nullopt;
}
std::optional<std::int64_t> integer_value(const JsonRef& j) {
  if (j.type() != JsonRef::Type::Number) return std::nullopt;
  const std::string_view t = j.text();
  std::int64_t v = 0;
  auto [next, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc{} || next != t.data() + t.size()) return std::nullopt;  // float, too big
  return v;
}

// Null counts as absent: the SDKs serialize unset optional fields as null. Of a key given
// twice, the last counts (as nlohmann's parse keeps it).
const json* member(const json& obj, const std::string& key) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}
std::optional<JsonRef> member(const JsonRef& obj, const std::string& key) {
  auto m = obj.find(key);
  if (!m || is_null(*m)) return std::nullopt;
  return m;
}

template <class J>
std::string described(const J& j) {
  std::string text = dumped(j);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return std::string(", got ") + j.type_name() + " " + text;
}

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
// service per protocol present. An empty list counts as absent.
template <class J>
std::vector<json> protocol_services(const J& obj, const std::string& path) {
  std::vector<json> out;
  if (auto tcp = opt_array(obj, path, "tcpServices"); tcp && !tcp->empty()) {
    out.push_back(b::tcp_service(port_ranges(*tcp, at_key(path, "tcpServices"))));
  }
  if (auto udp = opt_array(obj, path, "udpServices"); udp && !udp->empty()) {
    out.push_back(b::udp_service(port_ranges(*udp, at_key(path, "udpServices"))));
  }
  if (auto icmp = opt_array(obj, path, "icmpServices"); icmp && !icmp->empty()) {
    out.push_back(b::icmp_service(icmp_items(*icmp, at_key(path, "icmpServices"))));
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
};

// Per-policy conversion state.
struct PolicyWork {
  const Site& site;
  b::BuiltPolicy out;

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
};

// v4.0 category references name VM categories: the v3 equivalent is kind_list ["vm"].
const std::set<std::string> kVmKinds{"vm"};

template <class J>
std::vector<std::string> rule_peers(const J& spec, const std::string& path,
                                    const std::string& side, PolicyWork& work) {
  std::vector<std::string> peers;
  const std::string allow = opt_string(spec, path, side + "AllowSpec");
  if (allow == "ALL") {
    peers.push_back(b::any_peer().dump());
  } else if (!allow.empty() && allow != "NONE") {
    fail(at_key(path, side + "AllowSpec"), "expected ALL or NONE, got \"" + allow + "\"");
  }
  const auto cat_ids = id_list(spec, path, side + "CategoryReferences");
  if (!cat_ids.empty()) {
    peers.push_back(b::category_peer_json(work.categories(cat_ids), "all").dump());
  }
  if (auto subnet = opt_object(spec, path, side + "Subnet")) {
    const b::Cidr cidr = parse_ipv4_address(*subnet, at_key(path, side + "Subnet"));
    peers.push_back(json{{"subnet", cidr.text()}}.dump());
  }
  for (const auto& id : id_list(spec, path, side + "AddressGroupReferences")) {
    peers.push_back(
        json{{"address_group",
              b::resolve_reference(work.site.address_groups.names_by_id, id, "address_group",
                                   work.out.address_groups, work.out.findings)}}
            .dump());
  }
  return peers;
}

template <class J>
bool has_side(const J& spec, const std::string& side) {
  for (const char* suffix :
       {"AllowSpec", "CategoryReferences", "Subnet", "AddressGroupReferences"}) {
    if (member(spec, side + suffix)) return true;
  }
  return false;
}

// An APPLICATION / QUARANTINE rule -> one canonical rule per (peer, service).
template <class J>
void expand_application_rule(const J& spec, const std::string& path,
                             const std::string& description, PolicyWork& work, b::RuleSet& rules) {
  const bool src = has_side(spec, "src");
  const bool dest = has_side(spec, "dest");
  if (src && dest) fail(path, "both src* and dest* peer fields (a rule has one direction)");
  if (!src && !dest) fail(path, "no src* or dest* peer field (direction unknown)");
  const std::string side = src ? "src" : "dest";
  const std::vector<std::string> peers = rule_peers(spec, path, side, work);

  std::vector<std::string> services;
  for (const json& s : protocol_services(spec, path)) services.push_back(s.dump());
  for (const auto& id : id_list(spec, path, "serviceGroupReferences")) {
    services.push_back(
        json{{"service_group",
              b::resolve_reference(work.site.service_groups.names_by_id, id, "service_group",
                                   work.out.service_groups, work.out.findings)}}
            .dump());
  }
  // Explicitly all protocols subsumes any listed service; no service at all also means all.
  if (opt_bool(spec, path, "isAllProtocolAllowed").value_or(false) || services.empty()) {
    services.assign(1, b::all_service().dump());
  }
  const std::string direction = src ? "inbound" : "outbound";
  for (const auto& p : peers) {
    for (const auto& s : services) b::add_rule(rules, direction, p, s, description);
  }
}

template <class J>
json isolation_group(const J& spec, const std::string& path, const std::string& key,
                     PolicyWork& work) {
  const auto ids = id_list(spec, path, key);
  if (ids.empty()) fail(at_key(path, key), "missing (expected non-empty array of extIds)");
  return b::group_json(work.categories(ids), kVmKinds, "all");
}

struct PolicyType {
  const char* v4;
  const char* canon;
};
constexpr PolicyType kPolicyTypes[] = {
    {"APPLICATION", "application"}, {"ISOLATION", "isolation"}, {"QUARANTINE", "quarantine"}};

template <class J>
b::BuiltPolicy canonicalize_policy(const J& policy, const Site& site) {
  as_object<J>(policy, "");
  PolicyWork work{site, {}};
  b::BuiltPolicy& out = work.out;
  out.name = req_string(policy, "", "name");
  const std::string type = req_string(policy, "", "type");
  out.type = lowercase(type);  // newer types (SHAREDSERVICE, ...) kept as their lowercase name
  for (const auto& t : kPolicyTypes) {
    if (type == t.v4) out.type = t.canon;
  }
  const std::string state = opt_string(policy, "", "state");
  if (state == "ENFORCE") {
    out.mode = "enforce";
  } else if (state == "MONITOR") {
    out.mode = "monitor";
  } else if (state == "SAVE") {
    out.mode = "save";
  } else {
    fail("/state", "expected ENFORCE, MONITOR or SAVE, got \"" + state + "\"");
  }
  json canon{{"name", out.name},
             {"description", opt_string(policy, "", "description")},
             {"type", out.type},
             {"mode", out.mode},
             {"allow_ipv6", opt_bool(policy, "", "isIpv6TrafficAllowed").value_or(false)},
             {"hitlog", opt_bool(policy, "", "isHitlogEnabled").value_or(false)}};
  // ALL_VLAN is the default (and the only v3 meaning); any other scope is real intent.
  const std::string scope = opt_string(policy, "", "scope");
  if (!scope.empty() && scope != "ALL_VLAN") canon["scope"] = lowercase(scope);

  const bool isolation = out.type == "isolation";
  std::set<std::string> secured;
  std::optional<std::string> intra;
  std::vector<json> isolation_groups;
  bool have_isolation_rule = false;
  b::RuleSet rules;

  const auto list = opt_array(policy, "", "rules");
  std::vector<Held<J>> rule_list;
  if (list) {
    for (Ref<J> r : *list) rule_list.push_back(r);
  }
  for (std::size_t i = 0; i < rule_list.size(); ++i) {
    const std::string rpath = at_index("/rules", i);
    Ref<J> rule = as_object<J>(rule_list[i], rpath);
    const std::string rtype = req_string(rule, rpath, "type");
    const std::string spath = at_key(rpath, "spec");
    Ref<J> spec = object_member(rule, rpath, "spec");
    const bool isolation_rule = rtype == "TWO_ENV_ISOLATION" || rtype == "MULTI_ENV_ISOLATION";
    if (isolation_rule != isolation) {
      fail(at_key(rpath, "type"), "rule type " + rtype + " in a policy of type " + type);
    }
    if (rtype == "INTRA_GROUP") {
      const auto groups = work.categories(id_list(spec, spath, "securedGroupCategoryReferences"));
      secured.insert(groups.begin(), groups.end());
      const std::string action = req_string(spec, spath, "securedGroupAction");
      std::string value;
      if (action == "ALLOW") {
        value = "allow";
      } else if (action == "DENY") {
        value = "deny";
      } else {
        fail(at_key(spath, "securedGroupAction"), "expected ALLOW or DENY, got \"" + action + "\"");
      }
      if (intra && *intra != value) fail(rpath, "second INTRA_GROUP rule with another action");
      intra = value;
    } else if (rtype == "APPLICATION" || rtype == "QUARANTINE") {
      const auto groups = work.categories(id_list(spec, spath, "securedGroupCategoryReferences"));
      secured.insert(groups.begin(), groups.end());
      expand_application_rule(spec, spath, opt_string(rule, rpath, "description"), work, rules);
    } else if (isolation_rule) {
      if (have_isolation_rule) fail(rpath, "more than one isolation rule");
      have_isolation_rule = true;
      if (rtype == "TWO_ENV_ISOLATION") {
        isolation_groups.push_back(isolation_group(spec, spath, "firstIsolationGroup", work));
        isolation_groups.push_back(isolation_group(spec, spath, "secondIsolationGroup", work));
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
          isolation_groups.push_back(isolation_group(as_object<J>(group, gpath), gpath,
                                                     "groupCategoryReferences", work));
        }
      }
    } else {
      fail(at_key(rpath, "type"),
           "unsupported rule type \"" + rtype +
               "\" (expected APPLICATION, QUARANTINE, INTRA_GROUP, TWO_ENV_ISOLATION or "
               "MULTI_ENV_ISOLATION)");
    }
  }

  if (isolation) {
    if (!have_isolation_rule) fail("/rules", "isolation policy without an isolation rule");
    // Isolation is symmetric: groups ordered by canonical text.
    std::sort(isolation_groups.begin(), isolation_groups.end(),
              [](const json& a, const json& c) { return a.dump() < c.dump(); });
    canon["isolation"] = json(isolation_groups);
    out.json = canon.dump();
  } else {
    canon["secured_group"] = b::group_json(secured, kVmKinds, "all");
    if (intra) canon["intra_group"] = *intra;  // absent: not guessed, as in v3
    out.json = b::dump_with_rules(std::move(canon), rules);
  }
  out.hash = sha256_hex(out.json);
  return std::move(work.out);
}

// ---------------------------------------------------------------------------------------------
// Groups and categories

b::BuiltGroup canonicalize_address_group(const json& group) {
  as_object<json>(group, "");
  b::BuiltGroup out;
  out.id = req_string(group, "", "extId");
  out.name = req_string(group, "", "name");
  // (0, network, prefix) for CIDRs, (1, start, end) for ranges: CIDRs first, each numerically.
  std::set<std::tuple<int, std::uint32_t, std::uint32_t>> items;
  if (const json* list = opt_array(group, "", "ipv4Addresses")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const b::Cidr c = parse_ipv4_address(list->at(i), at_index("/ipv4Addresses", i));
      items.emplace(0, c.network, static_cast<std::uint32_t>(c.prefix));
    }
  }
  if (const json* list = opt_array(group, "", "ipRanges")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string rpath = at_index("/ipRanges", i);
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
  const json canon{{"name", out.name},
                   {"description", opt_string(group, "", "description")},
                   {"addresses", std::move(addresses)}};
  out.json = canon.dump();
  out.hash = sha256_hex(out.json);
  return out;
}

b::BuiltGroup canonicalize_service_group(const json& group) {
  as_object<json>(group, "");
  b::BuiltGroup out;
  out.id = req_string(group, "", "extId");
  out.name = req_string(group, "", "name");
  std::map<std::string, json> services;  // by canonical text: sorted, unique
  for (json& s : protocol_services(group, "")) {
    std::string text = s.dump();
    services.emplace(std::move(text), std::move(s));
  }
  json list = json::array();
  for (auto& entry : services) list.push_back(std::move(entry.second));
  const json canon{{"name", out.name},
                   {"description", opt_string(group, "", "description")},
                   {"services", std::move(list)}};
  out.json = canon.dump();
  out.hash = sha256_hex(out.json);
  return out;
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
bool has_reference(const JsonRef& node, V4Reference kind, int depth);

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
  return sha256_hex(text);
}

V4PolicyReferences references_of(const JsonRef& policy) {
  V4PolicyReferences refs;
  auto rules = policy.find("rules");
  if (!rules) return refs;
  refs.address_groups = has_reference(*rules, V4Reference::AddressGroup, 0);
  refs.service_groups = has_reference(*rules, V4Reference::ServiceGroup, 0);
  refs.categories = has_reference(*rules, V4Reference::Category, 0);
  return refs;
}

}  // namespace

struct V4PolicyMemo::State {
  struct Entry {
    // Shared with the snapshots' builders: a hit costs a reference, not a copy of its sets.
    std::shared_ptr<const b::BuiltPolicy> policy;
    V4PolicyReferences refs;
    std::uint64_t generation = 0;  // the last poll that listed it
  };
  std::string context;  // reference_context() the entries were built in
  std::unordered_map<std::string, Entry> entries;  // SHA-256 of the raw text -> entry
  std::uint64_t generation = 0;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
};

V4PolicyMemo::V4PolicyMemo() : s_(std::make_unique<State>()) {}
V4PolicyMemo::~V4PolicyMemo() = default;
std::size_t V4PolicyMemo::size() const { return s_->entries.size(); }
std::uint64_t V4PolicyMemo::hits() const { return s_->hits; }
std::uint64_t V4PolicyMemo::misses() const { return s_->misses; }

struct V4SiteBuilder::State {
  std::vector<Finding> findings;  // group findings (duplicate names)
  // Shared read-only with page work in flight (V4PolicyPageWork); replaced, never modified,
  // once policies are being added.
  std::shared_ptr<Site> site = std::make_shared<Site>();
  std::vector<std::shared_ptr<const b::BuiltPolicy>> policies;
  std::size_t begun = 0;  // policies of pages begun but not yet ended
  bool references_set = false;
  bool finished = false;
  V4PolicyMemo::State* memo = nullptr;
};

V4SiteBuilder::V4SiteBuilder() : s_(std::make_unique<State>()) {}
V4SiteBuilder::V4SiteBuilder(V4PolicyMemo* memo) : s_(std::make_unique<State>()) {
  if (memo != nullptr) s_->memo = memo->s_.get();
}
V4SiteBuilder::~V4SiteBuilder() = default;
V4SiteBuilder::V4SiteBuilder(V4SiteBuilder&&) noexcept = default;
V4SiteBuilder& V4SiteBuilder::operator=(V4SiteBuilder&&) noexcept = default;

Result<void> V4SiteBuilder::set_references(const std::vector<json>& address_groups,
                                           const std::vector<json>& service_groups,
                                           const std::vector<json>& categories) {
  State& st = *s_;
  st.findings.clear();
  st.site = std::make_shared<Site>();
  Site& site = *st.site;
  auto r = guarded([&] {
    site.address_groups = b::index_groups(
        build_groups(address_groups, "address_groups", canonicalize_address_group),
        ObjectKind::AddressGroup, st.findings);
    site.service_groups = b::index_groups(
        build_groups(service_groups, "service_groups", canonicalize_service_group),
        ObjectKind::ServiceGroup, st.findings);
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
  });
  st.references_set = r.has_value();
  if (st.references_set && st.memo != nullptr) {
    // Entries built against other names would be stale: start over.
    std::string context = reference_context(site);
    if (context != st.memo->context) {
      st.memo->entries.clear();
      st.memo->context = std::move(context);
    }
    ++st.memo->generation;
  }
  return r;
}

Result<void> V4SiteBuilder::add_policies(const std::vector<json>& page) {
  State& st = *s_;
  if (!st.references_set) {
    return make_error(ErrorReason::Other, "v4 site: policies added before groups and categories");
  }
  return guarded([&] {
    for (const json& p : page) {
      const std::size_t i = st.policies.size();
      st.policies.push_back(std::make_shared<const b::BuiltPolicy>(
          for_entity(label("policies", i, p), [&] { return canonicalize_policy(p, *st.site); })));
    }
  });
}

struct V4PolicyPageWork::State {
  struct Pending {
    std::size_t slot = 0;  // position on the page
    std::string text;      // raw policy JSON, copied: the page buffer is not ours
    std::string key;       // memo key (SHA-256 of the text); empty without a memo
    std::shared_ptr<const b::BuiltPolicy> policy;
    V4PolicyReferences refs;
  };
  std::shared_ptr<const Site> site;
  std::size_t base = 0;  // listing index of the page's first policy
  std::vector<std::shared_ptr<const b::BuiltPolicy>> slots;  // hits filled by begin_page
  std::vector<V4PolicyReferences> refs;                      // per slot
  std::vector<Pending> pending;
  std::size_t done = 0;  // pending items run() has finished
  std::optional<Error> error;
};

V4PolicyPageWork::V4PolicyPageWork() : s_(std::make_unique<State>()) {}
V4PolicyPageWork::~V4PolicyPageWork() = default;
V4PolicyPageWork::V4PolicyPageWork(V4PolicyPageWork&&) noexcept = default;
V4PolicyPageWork& V4PolicyPageWork::operator=(V4PolicyPageWork&&) noexcept = default;

std::size_t V4PolicyPageWork::pending() const { return s_->pending.size() - s_->done; }

void V4PolicyPageWork::run() {
  State& w = *s_;
  for (; w.done < w.pending.size() && !w.error; ++w.done) {
    auto& item = w.pending[w.done];
    const std::size_t i = w.base + item.slot;
    std::string parse_error;
    const auto doc = json_scan::JsonDoc::parse(item.text, parse_error);
    if (!doc || !doc->root().is_object()) {
      w.error = make_error(ErrorReason::Malformed,
                           "policies[" + std::to_string(i) + "]: " +
                               (doc ? std::string("not a JSON object") : parse_error));
      return;
    }
    const JsonRef policy = doc->root();
    item.refs = references_of(policy);
    auto added = guarded([&] {
      item.policy = std::make_shared<const b::BuiltPolicy>(for_entity(
          label("policies", i, policy), [&] { return canonicalize_policy(policy, *w.site); }));
    });
    if (!added) {
      w.error = added.error();
      return;
    }
    std::string().swap(item.text);
  }
}

V4PolicyPageWork V4SiteBuilder::begin_page(const std::vector<std::string_view>& texts) {
  State& st = *s_;
  V4PolicyPageWork work;
  auto& w = *work.s_;
  if (!st.references_set) {
    w.error = make_error(ErrorReason::Other, "v4 site: policies added before groups and categories");
    return work;
  }
  w.site = st.site;
  w.base = st.policies.size() + st.begun;
  st.begun += texts.size();
  w.slots.resize(texts.size());
  w.refs.resize(texts.size());
  for (std::size_t k = 0; k < texts.size(); ++k) {
    std::string key;
    if (st.memo != nullptr) {
      key = sha256_hex(texts[k]);
      if (auto it = st.memo->entries.find(key); it != st.memo->entries.end()) {
        it->second.generation = st.memo->generation;
        ++st.memo->hits;
        w.slots[k] = it->second.policy;
        w.refs[k] = it->second.refs;
        continue;
      }
    }
    w.pending.push_back({k, std::string(texts[k]), std::move(key), nullptr, {}});
  }
  return work;
}

Result<V4PageReferences> V4SiteBuilder::end_page(V4PolicyPageWork work) {
  State& st = *s_;
  auto& w = *work.s_;
  work.run();  // whatever is left (nothing when the caller ran it)
  if (w.error) return *w.error;
  if (w.site != st.site || w.base != st.policies.size() || st.begun < w.slots.size()) {
    return make_error(ErrorReason::Other, "v4 site: a page ended out of turn");
  }
  st.begun -= w.slots.size();
  for (auto& item : w.pending) {
    w.slots[item.slot] = item.policy;
    w.refs[item.slot] = item.refs;
    if (st.memo != nullptr) {
      ++st.memo->misses;
      st.memo->entries[std::move(item.key)] = {std::move(item.policy), item.refs,
                                               st.memo->generation};
    }
  }
  V4PageReferences counts;
  for (std::size_t k = 0; k < w.slots.size(); ++k) {
    st.policies.push_back(std::move(w.slots[k]));
    counts.address_groups += w.refs[k].address_groups ? 1 : 0;
    counts.service_groups += w.refs[k].service_groups ? 1 : 0;
    counts.categories += w.refs[k].categories ? 1 : 0;
  }
  return counts;
}

Result<V4PolicyReferences> V4SiteBuilder::add_policy_text(std::string_view text) {
  auto counts = end_page(begin_page({text}));
  if (!counts) return counts.error();
  return V4PolicyReferences{counts->address_groups > 0, counts->service_groups > 0,
                            counts->categories > 0};
}

void V4SiteBuilder::restart_policies() {
  s_->policies.clear();
  s_->begun = 0;  // pages begun and not ended are abandoned
}

std::size_t V4SiteBuilder::policy_count() const { return s_->policies.size(); }

Result<Snapshot> V4SiteBuilder::finish() {
  State& st = *s_;
  if (!st.references_set || st.finished || st.begun != 0) {
    return make_error(ErrorReason::Other,
                      "v4 site: finish() without references, with pages not ended, or twice");
  }
  st.finished = true;
  if (st.memo != nullptr) {
    // A complete listing: what it did not list is gone from the site.
    std::erase_if(st.memo->entries, [gen = st.memo->generation](const auto& e) {
      return e.second.generation != gen;
    });
  }
  // The group indexes are moved out unless abandoned page work still shares them.
  if (st.site.use_count() > 1) st.site = std::make_shared<Site>(*st.site);
  Site& site = *st.site;
  return b::assemble_snapshot(st.policies, std::move(site.address_groups),
                              std::move(site.service_groups), site.category_values,
                              std::move(st.findings));
}

Result<Snapshot> canonicalize_v4(const V4SiteData& site) {
  V4SiteBuilder builder;
  if (auto r = builder.set_references(site.address_groups, site.service_groups, site.categories);
      !r) {
    return r.error();
  }
  if (auto r = builder.add_policies(site.policies); !r) return r.error();
  return builder.finish();
}

namespace {

bool references_kind(std::string_view key, V4Reference kind) {
  switch (kind) {
    case V4Reference::AddressGroup:
      return key == "srcAddressGroupReferences" || key == "destAddressGroupReferences";
    case V4Reference::ServiceGroup: return key == "serviceGroupReferences";
    case V4Reference::Category: {
      constexpr std::string_view kSuffix = "CategoryReferences";
      return (key.size() >= kSuffix.size() && key.substr(key.size() - kSuffix.size()) == kSuffix) ||
             key == "firstIsolationGroup" || key == "secondIsolationGroup";
    }
  }
  return false;
}

// True if some object under `node` has a non-empty array under a key of `kind`. Depth is
// bounded: rule specs nest a few levels, and untrusted input must not exhaust the stack.
bool has_reference(const json& node, V4Reference kind, int depth) {
  constexpr int kMaxDepth = 12;
  if (depth > kMaxDepth) return false;
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (references_kind(key, kind) && value.is_array() && !value.empty()) return true;
      if (has_reference(value, kind, depth + 1)) return true;
    }
  } else if (node.is_array()) {
    for (const auto& v : node) {
      if (has_reference(v, kind, depth + 1)) return true;
    }
  }
  return false;
}

bool has_reference(const JsonRef& node, V4Reference kind, int depth) {
  constexpr int kMaxDepth = 12;
  if (depth > kMaxDepth) return false;
  if (node.is_object()) {
    for (const auto& [key, value] : node.members()) {
      if (value.is_array() && !value.empty() && references_kind(key.str(), kind)) return true;
      if (has_reference(value, kind, depth + 1)) return true;
    }
  } else if (node.is_array()) {
    for (JsonRef v : node) {
      if (has_reference(v, kind, depth + 1)) return true;
    }
  }
  return false;
}

}  // namespace

std::size_t policies_referencing(const std::vector<json>& policies, V4Reference kind) {
  std::size_t n = 0;
  for (const auto& p : policies) {
    if (!p.is_object()) continue;
    auto rules = p.find("rules");
    if (rules != p.end() && has_reference(*rules, kind, 0)) ++n;
  }
  return n;
}

}  // namespace flowdrift::policy
