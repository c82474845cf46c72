// Canonical policy JSON -> FlowSet. The canonical model already encodes v3 semantics (an empty
// inbound list is no inbound rule, an empty app/vdi outbound list is an explicit any/all rule,
// no protocol is {"all":true}), so this only expands references and normalizes sets.
#include <algorithm>
#include <charconv>
#include <limits>
#include <unordered_map>

#include "flows/flows.hpp"
#include "core/json_scan.hpp"
#include "policy/ipv4.hpp"

namespace flowdrift::flows {
namespace {

using json = json_scan::JsonRef;
using json_scan::JsonDoc;
using policy::ObjectKind;
using policy::parse_ipv4;

constexpr std::uint32_t kMaxAddress = std::numeric_limits<std::uint32_t>::max();

// Values per protocol of one service (or a union of services).
using ServiceValues = std::array<IntervalSet, 4>;

// The resolver and the groups already expanded: a site's policies share a few groups, and
// parsing each group once per site rather than once per reference is most of the speed.
struct Env {
  const Resolver& resolve;
  std::unordered_map<std::string, IntervalSet>& address_groups;
  std::unordered_map<std::string, std::array<IntervalSet, 4>>& service_groups;
};

ServiceValues all_protocols() {
  ServiceValues v;
  v[static_cast<std::size_t>(Protocol::Tcp)] = {{0, 65535}};
  v[static_cast<std::size_t>(Protocol::Udp)] = {{0, 65535}};
  v[static_cast<std::size_t>(Protocol::Icmp)] = {{0, 65535}};
  v[static_cast<std::size_t>(Protocol::Other)] = {{0, 0}};
  return v;
}

// Names where bad input is: "policy 'web': /rules/3/peer/subnet: expected ..., got ...".
struct Ctx {
  std::string where;  // "policy 'web'"
  Error fail(const std::string& pointer, const std::string& reason) const {
    return make_error(ErrorReason::Malformed,
                      pointer.empty() ? where + ": " + reason : where + ": " + pointer + ": " + reason);
  }
};

std::string shown(json j) {
  if (j.type() == json::Type::Null) return "null";
  std::string s(j.text());
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return std::string(j.type_name()) + " " + s;
}

// "a.b.c.d/n" (canonical CIDRs are masked, but we mask again rather than trust) or v4's
// "a.b.c.d-e.f.g.h" range.
std::optional<Interval> parse_block(std::string_view s) {
  if (auto dash = s.find('-'); dash != std::string_view::npos) {
    auto lo = parse_ipv4(s.substr(0, dash));
    auto hi = parse_ipv4(s.substr(dash + 1));
    if (!lo || !hi || *lo > *hi) return std::nullopt;
    return Interval{*lo, *hi};
  }
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = parse_ipv4(s.substr(0, slash));
  unsigned prefix = 0;
  auto tail = s.substr(slash + 1);
  auto [next, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), prefix);
  if (!ip || ec != std::errc{} || next != tail.data() + tail.size() || tail.empty() || prefix > 32)
    return std::nullopt;
  const std::uint64_t size = std::uint64_t{1} << (32 - prefix);
  const std::uint32_t lo = static_cast<std::uint32_t>(*ip & ~(size - 1));
  return Interval{lo, static_cast<std::uint32_t>(lo + (size - 1))};
}

std::optional<std::uint32_t> get_uint(json j, std::uint32_t max) { return j.uint_at_most(max); }

std::optional<json> find(json obj, const char* key) { return obj.find(key); }

Result<IntervalSet> parse_ports(json ports, const std::string& ptr, const Ctx& ctx) {
  if (!ports.is_array()) return ctx.fail(ptr, "expected array of [start,end], got " + shown(ports));
  IntervalSet out;
  out.reserve(ports.size());
  for (std::size_t i = 0; i < ports.size(); ++i) {
    json r = ports[i];
    const std::string p = ptr + "/" + std::to_string(i);
    if (!r.is_array() || r.size() != 2)
      return ctx.fail(p, "expected [start,end], got " + shown(r));
    auto s = get_uint(r[0], 65535);
    auto e = get_uint(r[1], 65535);
    if (!s || !e || *s > *e)
      return ctx.fail(p, "expected ports 0..65535 with start <= end, got " + shown(r));
    out.push_back({*s, *e});
  }
  return normalized(std::move(out));
}

Result<IntervalSet> parse_icmp(json list, const std::string& ptr, const Ctx& ctx) {
  if (!list.is_array()) return ctx.fail(ptr, "expected array of {type,code}, got " + shown(list));
  IntervalSet out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    json e = list[i];
    const std::string p = ptr + "/" + std::to_string(i);
    if (!e.is_object()) return ctx.fail(p, "expected object, got " + shown(e));
    std::optional<std::uint32_t> type, code;
    if (auto t = find(e, "type")) {
      type = get_uint(*t, 255);
      if (!type) return ctx.fail(p + "/type", "expected integer 0..255, got " + shown(*t));
    }
    if (auto c = find(e, "code")) {
      code = get_uint(*c, 255);
      if (!code) return ctx.fail(p + "/code", "expected integer 0..255, got " + shown(*c));
    }
    // Value = type*256+code, so "any code of type t" is one interval and "any" is [0,65535].
    if (type && code) {
      out.push_back({*type * 256 + *code, *type * 256 + *code});
    } else if (type) {
      out.push_back({*type * 256, *type * 256 + 255});
    } else if (code) {
      for (std::uint32_t t = 0; t < 256; ++t) out.push_back({t * 256 + *code, t * 256 + *code});
    } else {
      out.push_back({0, 65535});
    }
  }
  return normalized(std::move(out));
}

Result<ServiceValues> parse_service(json s, const std::string& ptr, const Ctx& ctx,
                                    Env& env, bool allow_group);

// A referenced group's JSON object, parsed by its view (once per comparison).
Result<json> group_root(const policy::ObjectView& view, const Ctx& gctx) {
  const auto root = view.root();
  if (!root) return gctx.fail("", "not valid JSON: " + view.error());
  if (!root->is_object()) return gctx.fail("", "not a JSON object");
  return *root;
}

Result<ServiceValues> expand_service_group(const std::string& name, const std::string& ptr,
                                           const Ctx& ctx, Env& env) {
  if (auto it = env.service_groups.find(name); it != env.service_groups.end()) return it->second;
  const auto* view = env.resolve(ObjectKind::ServiceGroup, name);
  if (!view) return ctx.fail(ptr, "service_group '" + name + "' cannot be resolved");
  // Errors inside the group name the policy, the reference and the place in the group.
  const Ctx gctx{ctx.where + ": " + ptr + ": service_group '" + name + "'"};
  auto root = group_root(*view, gctx);
  if (!root) return root.error();
  const json g = *root;
  auto services = find(g, "services");
  if (!services || !services->is_array())
    return gctx.fail("/services", "missing (expected array of services)");
  ServiceValues out;
  for (std::size_t i = 0; i < services->size(); ++i) {
    auto v = parse_service((*services)[i], "/services/" + std::to_string(i), gctx, env, false);
    if (!v) return v.error();
    for (std::size_t p = 0; p < out.size(); ++p) out[p] = unite(out[p], (*v)[p]);
  }
  env.service_groups.emplace(name, out);
  return out;
}

Result<ServiceValues> parse_service(json s, const std::string& ptr, const Ctx& ctx,
                                    Env& env, bool allow_group) {
  if (!s.is_object()) return ctx.fail(ptr, "expected service object, got " + shown(s));
  if (auto all = find(s, "all")) {
    if (!all->is_true()) return ctx.fail(ptr + "/all", "expected true, got " + shown(*all));
    return all_protocols();
  }
  if (auto group = find(s, "service_group")) {
    if (!allow_group) return ctx.fail(ptr, "a service group cannot contain a service group");
    if (!group->is_string())
      return ctx.fail(ptr + "/service_group", "expected string, got " + shown(*group));
    return expand_service_group(group->str(), ptr + "/service_group", ctx, env);
  }
  auto proto = find(s, "protocol");
  if (!proto || !proto->is_string())
    return ctx.fail(ptr, "expected one of all, service_group, protocol");
  const std::string& name = proto->str();
  ServiceValues out;
  if (name == "tcp" || name == "udp") {
    auto ports = find(s, "ports");
    if (!ports) return ctx.fail(ptr + "/ports", "missing");
    auto v = parse_ports(*ports, ptr + "/ports", ctx);
    if (!v) return v.error();
    out[static_cast<std::size_t>(name == "tcp" ? Protocol::Tcp : Protocol::Udp)] = std::move(*v);
    return out;
  }
  if (name == "icmp") {
    auto icmp = find(s, "icmp");
    if (!icmp) return ctx.fail(ptr + "/icmp", "missing");
    auto v = parse_icmp(*icmp, ptr + "/icmp", ctx);
    if (!v) return v.error();
    out[static_cast<std::size_t>(Protocol::Icmp)] = std::move(*v);
    return out;
  }
  return ctx.fail(ptr + "/protocol", "expected tcp, udp or icmp, got " + shown(*proto));
}

// A peer is either addresses (any, subnet, address group) or a symbolic category set.
struct Peer {
  IntervalSet addresses;
  std::string categories;  // canonical peer JSON when a category peer
};

Result<Peer> parse_peer(json p, const std::string& ptr, const Ctx& ctx, Env& env) {
  if (!p.is_object()) return ctx.fail(ptr, "expected peer object, got " + shown(p));
  Peer out;
  if (auto any = find(p, "any")) {
    if (!any->is_true()) return ctx.fail(ptr + "/any", "expected true, got " + shown(*any));
    out.addresses = {{0, kMaxAddress}};
    return out;
  }
  if (auto subnet = find(p, "subnet")) {
    auto block = subnet->is_string() ? parse_block(subnet->str())
                                     : std::nullopt;
    if (!block)
      return ctx.fail(ptr + "/subnet", "expected CIDR a.b.c.d/n, got " + shown(*subnet));
    out.addresses = {*block};
    return out;
  }
  if (auto group = find(p, "address_group")) {
    if (!group->is_string())
      return ctx.fail(ptr + "/address_group", "expected string, got " + shown(*group));
    const std::string& name = group->str();
    if (auto it = env.address_groups.find(name); it != env.address_groups.end()) {
      out.addresses = it->second;
      return out;
    }
    const auto* view = env.resolve(ObjectKind::AddressGroup, name);
    if (!view)
      return ctx.fail(ptr + "/address_group", "address_group '" + name + "' cannot be resolved");
    const Ctx gctx{ctx.where + ": " + ptr + "/address_group: address_group '" + name + "'"};
    auto root = group_root(*view, gctx);
    if (!root) return root.error();
    const json g = *root;
    auto addrs = find(g, "addresses");
    if (!addrs || !addrs->is_array())
      return gctx.fail("/addresses", "missing (expected array of CIDRs)");
    const std::vector<json> blocks = addrs->elements();
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      const json a = blocks[i];
      auto block = a.is_string() ? parse_block(a.str()) : std::nullopt;
      if (!block)
        return gctx.fail("/addresses/" + std::to_string(i),
                         "expected a.b.c.d/n or a.b.c.d-e.f.g.h, got " + shown(a));
      out.addresses.push_back(*block);
    }
    out.addresses = normalized(std::move(out.addresses));
    env.address_groups.emplace(name, out.addresses);
    return out;
  }
  if (auto cats = find(p, "categories")) {
    if (!cats->is_array()) return ctx.fail(ptr + "/categories", "expected array, got " + shown(*cats));
    // The canonical text is the identity: same categories, match and kinds, same peer.
    out.categories = std::string(p.text());
    return out;
  }
  if (auto group = find(p, "entity_group")) {
    if (!group->is_string())
      return ctx.fail(ptr + "/entity_group", "expected string, got " + shown(*group));
    // Symbolic like a category set: which addresses its members have cannot be seen. What
    // the group selects is its own object, compared as such (reference drift).
    out.categories = std::string(p.text());
    return out;
  }
  return ctx.fail(ptr, "expected one of any, subnet, address_group, categories, entity_group");
}

// Rectangles (addresses x values) of one plane before normalization.
struct PlaneBuilder {
  std::vector<std::pair<IntervalSet, IntervalSet>> rects;  // (values, addresses)
  std::vector<CategoryFlows> categories;
};

bool less_set(const IntervalSet& a, const IntervalSet& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](const Interval& x, const Interval& y) {
                                        return x.lo < y.lo || (x.lo == y.lo && x.hi < y.hi);
                                      });
}

void append_band(std::vector<AddressBand>& bands, Interval addrs, IntervalSet values) {
  if (!bands.empty() && bands.back().values == values &&
      std::uint64_t{bands.back().addresses.hi} + 1 == addrs.lo) {
    bands.back().addresses.hi = addrs.hi;
    return;
  }
  bands.push_back({addrs, std::move(values)});
}

Plane build_plane(PlaneBuilder& b) {
  Plane plane;
  // Rules sharing a service share a value set: union their addresses first, so the sweep below
  // handles few distinct value sets however many CIDRs the address groups hold.
  std::sort(b.rects.begin(), b.rects.end(),
            [](const auto& x, const auto& y) { return less_set(x.first, y.first); });
  std::vector<std::pair<IntervalSet, IntervalSet>> groups;
  for (auto& r : b.rects) {
    if (r.first.empty() || r.second.empty()) continue;
    if (!groups.empty() && groups.back().first == r.first) {
      groups.back().second = unite(groups.back().second, r.second);
    } else {
      groups.push_back(std::move(r));
    }
  }
  // Sweep the IPv4 axis: between consecutive boundaries the active groups are constant, and
  // the band's values are the union of theirs.
  struct Event {
    std::uint64_t pos;
    std::uint32_t group;
    int delta;
  };
  std::vector<Event> events;
  for (std::uint32_t g = 0; g < groups.size(); ++g) {
    for (const Interval& a : groups[g].second) {
      events.push_back({a.lo, g, +1});
      events.push_back({std::uint64_t{a.hi} + 1, g, -1});
    }
  }
  std::sort(events.begin(), events.end(),
            [](const Event& x, const Event& y) { return x.pos < y.pos; });
  std::vector<int> active(groups.size(), 0);
  int n_active = 0;
  std::uint64_t prev = 0;
  for (std::size_t i = 0; i < events.size();) {
    const std::uint64_t pos = events[i].pos;
    if (n_active > 0 && prev < pos) {
      IntervalSet values;
      for (std::size_t g = 0; g < groups.size(); ++g) {
        if (active[g] > 0) values = unite(values, groups[g].first);
      }
      append_band(plane.addresses,
                  {static_cast<std::uint32_t>(prev), static_cast<std::uint32_t>(pos - 1)},
                  std::move(values));
    }
    for (; i < events.size() && events[i].pos == pos; ++i) {
      int& a = active[events[i].group];
      if (a == 0 && events[i].delta > 0) ++n_active;
      a += events[i].delta;
      if (a == 0 && events[i].delta < 0) --n_active;
    }
    prev = pos;
  }

  // Categories: one entry per peer, minus what "any" already allows (so that a redundant
  // category rule next to an any rule compiles to the same set as without it).
  std::sort(b.categories.begin(), b.categories.end(),
            [](const CategoryFlows& x, const CategoryFlows& y) { return x.peer < y.peer; });
  const IntervalSet from_any = allowed_from_any(plane);
  for (auto& c : b.categories) {
    if (!plane.categories.empty() && plane.categories.back().peer == c.peer) {
      plane.categories.back().values = unite(plane.categories.back().values, c.values);
    } else {
      plane.categories.push_back(std::move(c));
    }
  }
  std::vector<CategoryFlows> kept;
  for (auto& c : plane.categories) {
    c.values = subtract(c.values, from_any);
    if (!c.values.empty()) kept.push_back(std::move(c));
  }
  plane.categories = std::move(kept);
  return plane;
}

}  // namespace

Resolver view_resolver(const policy::SnapshotView& view) {
  return [&view](ObjectKind kind, std::string_view name) { return view.find(kind, name); };
}

Compiler::Compiler(Resolver resolve) : resolve_(std::move(resolve)) {}

Result<FlowSet> compile_policy(std::string_view policy_json, const Resolver& resolve) {
  return Compiler(resolve).compile(policy_json);
}

namespace {

// The members whose flows this model knows (docs/flows.md). A policy or rule with any other
// (FLEX rules, unknown rule types, network functions, unmodelled members, ...) does not
// compile: the diff compares it structurally and says its direction is unknown.
constexpr std::string_view kPolicyKeys[] = {
    "name", "description", "type", "mode", "allow_ipv6", "hitlog", "scope", "vpcs",
    "scope_categories", "secured_group", "intra_group", "rules", "isolation"};
constexpr std::string_view kRuleKeys[] = {"description", "direction", "peer", "service"};

template <std::size_t N>
bool listed(std::string_view key, const std::string_view (&known)[N]) {
  return std::find(std::begin(known), std::end(known), key) != std::end(known);
}

std::optional<std::string> unknown_member(json obj, bool (*reads)(std::string_view)) {
  for (const auto& [key, value] : obj.members()) {
    std::string k = key.str();
    if (!reads(k)) return k;
  }
  return std::nullopt;
}

}  // namespace

bool reads_policy_member(std::string_view key) { return listed(key, kPolicyKeys); }
bool reads_rule_member(std::string_view key) { return listed(key, kRuleKeys); }

namespace {

// Isolation separates every pair of its groups from each other, symmetrically.
std::optional<Error> add_isolation(json iso, const Ctx& ctx, FlowSet& out) {
  if (!iso.is_array()) return ctx.fail("/isolation", "expected array of groups, got " + shown(iso));
  std::vector<std::string> groups;
  for (json g : iso.elements()) groups.emplace_back(g.text());
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  for (std::size_t i = 0; i < groups.size(); ++i) {
    for (std::size_t j = i + 1; j < groups.size(); ++j) out.separations.emplace_back(groups[i], groups[j]);
  }
  return std::nullopt;
}

// Where the policy applies (secured group, v4 scope and VPCs) and its intra-group traffic.
std::optional<Error> add_target(json p, const Ctx& ctx, FlowSet& out) {
  if (auto sg = find(p, "secured_group")) {
    if (!sg->is_object()) return ctx.fail("/secured_group", "expected object, got " + shown(*sg));
    out.target = std::string(sg->text());
  }
  if (auto scope = find(p, "scope")) {
    // v4 only; a VPC-scoped policy governs other traffic than an all-VLAN one.
    if (!scope->is_string()) return ctx.fail("/scope", "expected string, got " + shown(*scope));
    out.target += "|scope=" + scope->str();
  }
  for (const char* key : {"vpcs", "scope_categories"}) {
    // Which VPCs it governs is part of where the policy applies, like its scope.
    if (auto where = find(p, key)) out.target += std::string("|") + key + "=" + std::string(where->text());
  }
  out.intra = IntraGroup::Unspecified;
  if (auto intra = find(p, "intra_group")) {
    if (intra->str_equals("allow")) {
      out.intra = IntraGroup::Allow;
    } else if (intra->str_equals("deny")) {
      out.intra = IntraGroup::Deny;
    } else {
      return ctx.fail("/intra_group", "expected allow or deny, got " + shown(*intra));
    }
  } else if (find(p, "isolation").has_value()) {
    out.intra = IntraGroup::Deny;  // not a concept of isolation policies
  }
  return std::nullopt;
}

// One rule's flows, added to the builder of each plane (direction x protocol) it allows.
std::optional<Error> add_rule(json r, const std::string& ptr, const Ctx& ctx, Env& env,
                              std::array<PlaneBuilder, kPlanes>& builders) {
  if (!r.is_object()) return ctx.fail(ptr, "expected rule object, got " + shown(r));
  if (auto key = unknown_member(r, reads_rule_member)) {
    return ctx.fail(ptr + "/" + *key, "a construct the flows model does not know");
  }
  auto dir = find(r, "direction");
  Direction d;
  if (dir && dir->str_equals("inbound")) {
    d = Direction::Inbound;
  } else if (dir && dir->str_equals("outbound")) {
    d = Direction::Outbound;
  } else {
    return ctx.fail(ptr + "/direction",
                    "expected inbound or outbound, got " + (dir ? shown(*dir) : "nothing"));
  }
  auto peer_j = find(r, "peer");
  if (!peer_j) return ctx.fail(ptr + "/peer", "missing");
  auto svc_j = find(r, "service");
  if (!svc_j) return ctx.fail(ptr + "/service", "missing");
  auto peer = parse_peer(*peer_j, ptr + "/peer", ctx, env);
  if (!peer) return peer.error();
  auto svc = parse_service(*svc_j, ptr + "/service", ctx, env, true);
  if (!svc) return svc.error();
  for (std::size_t proto = 0; proto < 4; ++proto) {
    IntervalSet& values = (*svc)[proto];
    if (values.empty()) continue;
    PlaneBuilder& b = builders[plane_index(d, static_cast<Protocol>(proto))];
    if (!peer->categories.empty()) {
      b.categories.push_back({peer->categories, std::move(values)});
    } else {
      b.rects.emplace_back(std::move(values), peer->addresses);
    }
  }
  return std::nullopt;
}

}  // namespace

Result<FlowSet> Compiler::compile(std::string_view policy_json) {
  std::string parse_error;
  const auto doc = JsonDoc::parse(policy_json, parse_error);
  if (!doc) return Ctx{"policy"}.fail("", "not valid JSON: " + parse_error);
  return compile(doc->root());
}

Result<FlowSet> Compiler::compile(const policy::ObjectView& policy) {
  const auto root = policy.root();
  if (!root) return Ctx{"policy"}.fail("", "not valid JSON: " + policy.error());
  return compile(*root);
}

Result<FlowSet> Compiler::compile(json_scan::JsonRef p) {
  Env env{resolve_, address_groups_, service_groups_};
  Ctx ctx{"policy"};
  if (!p.is_object()) return ctx.fail("", "not a JSON object");
  if (auto name = find(p, "name"); name && name->is_string())
    ctx.where = "policy '" + name->str() + "'";

  if (auto key = unknown_member(p, reads_policy_member)) {
    return ctx.fail("/" + *key, "a construct the flows model does not know");
  }
  FlowSet out;
  if (auto v6 = find(p, "allow_ipv6")) {
    if (!v6->is_bool()) return ctx.fail("/allow_ipv6", "expected bool, got " + shown(*v6));
    out.ipv6 = v6->is_true();
  }
  if (auto iso = find(p, "isolation")) {
    if (auto err = add_isolation(*iso, ctx, out)) return *err;
    if (!find(p, "rules")) return out;
  }
  if (auto err = add_target(p, ctx, out)) return *err;

  auto rules = find(p, "rules");
  if (!rules) return out;
  if (!rules->is_array()) return ctx.fail("/rules", "expected array, got " + shown(*rules));
  std::array<PlaneBuilder, kPlanes> builders;
  const std::vector<json> rule_list = rules->elements();
  for (std::size_t i = 0; i < rule_list.size(); ++i) {
    if (auto err = add_rule(rule_list[i], "/rules/" + std::to_string(i), ctx, env, builders)) {
      return *err;
    }
  }
  for (std::size_t i = 0; i < kPlanes; ++i) out.planes[i] = build_plane(builders[i]);
  return out;
}

}  // namespace flowdrift::flows
