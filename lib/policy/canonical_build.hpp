// Internal building blocks of the canonical model (docs/canonical-model.md) that do not depend on
// the API version: IPv4/CIDR masking, port and ICMP sets, rule sets, unique names and snapshot
// assembly. The one definition of these bytes: normalize_v3.cpp and normalize_v4.cpp both build
// on it, so that v3 and v4 sites produce byte-identical output.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/ipv4.hpp"
#include "policy/model.hpp"
#include "policy/name_set.hpp"

namespace flowdrift::policy::build {

// Dotted-quad IPv4 text (policy/ipv4.hpp), also spelled build::parse_ipv4 / build::ipv4_text.
using policy::ipv4_text;
using policy::parse_ipv4;

struct Cidr {
  std::uint32_t network = 0;  // already masked to `prefix`
  int prefix = 0;
  auto operator<=>(const Cidr&) const = default;
  std::string text() const;  // "10.1.0.0/24"
};
// `address` masked to `prefix` (0..32, caller-validated).
Cidr make_cidr(std::uint32_t address, int prefix);

// An IPv6 address masked to `prefix` (0..128) as "addr/prefix" in RFC 5952 text
// (inet_ntop), or nullopt when `text` is not an IPv6 address.
std::optional<std::string> ipv6_masked(const std::string& text, int prefix);
// An IPv6 address in RFC 5952 text, or nullopt.
std::optional<std::string> ipv6_text(const std::string& text);

// Rules are made of the canonical texts below, for every entry of every policy, so they are
// written as text (core/json_text), byte for byte what dump() gives, without building a DOM.

// Port ranges of one protocol: sorted numerically, duplicates removed, never merged.
using PortRanges = std::set<std::pair<std::int64_t, std::int64_t>>;
// ICMP (type, code) pairs, -1 meaning "any" (key omitted); "any" sorts first.
using IcmpSet = std::set<std::pair<std::int64_t, std::int64_t>>;

// {"ports":[[start,end],...],"protocol":"tcp"}; no ranges means every port: [[0,65535]].
std::string tcp_service_text(const PortRanges& ranges);
std::string udp_service_text(const PortRanges& ranges);
// {"icmp":[{"code":c,"type":t},...],"protocol":p}; no items means all ICMP: [{}]. `protocol`
// is "icmp", or "icmp6" for v4.1's ICMPv6 services.
std::string icmp_service_text(const IcmpSet& items, std::string_view protocol = "icmp");
// {"all":true} and {"any":true}.
std::string all_service_text();
std::string any_peer_text();
// {"<key>":"<value>"}: a peer or service that names one thing ("subnet", "address_group", ...).
std::string named_text(std::string_view key, std::string_view value);

// Category matching is OR within a key and, for "all", AND across keys; with one key (or one
// category) "all" and "any" select the same VMs, so the canonical form says "all" there. This
// also makes v3 MATCH_ANY filters equal to v4 category references, which have no match type.
std::string_view effective_match(const std::set<std::string>& categories, std::string_view match);

// Group (secured group, isolation group): {"categories":[...],"kinds":[...],"match":m}.
nlohmann::json group_json(const std::set<std::string>& categories,
                          const std::set<std::string>& kinds, std::string_view match);
// Category peer: {"categories":[...],"match":m}, or with `kind` (v4, not "vm")
// {"categories":[...],"kinds":[kind],"match":m}.
std::string category_peer_text(const std::set<std::string>& categories, std::string_view match,
                               std::string_view kind = {});

// JSON Pointer (RFC 6901) of a member or an element below `base`: where both normalizers report
// bad input.
std::string pointer_child(const std::string& base, std::string_view key);
std::string pointer_child(const std::string& base, std::size_t index);

// Canonical rule texts of one policy: a set sorted by text.
using RuleSet = std::set<std::string>;
// Inserts the text json{{"description",d},{"direction",..},{"peer",p},{"service",s}}.dump()
// would give, built from already-canonical peer and service texts.
void add_rule(RuleSet& rules, std::string_view direction, const std::string& peer_text,
              const std::string& service_text, const std::string& description);
// `policy` (without "rules") dumped with `rules` spliced in as its "rules" array.
std::string dump_with_rules(nlohmann::json policy, const RuleSet& rules);

// (name, content hash) per item -> final name per item. Items sharing a name are ordered by
// hash; the first keeps it, the others become "<name> (duplicate N)" with a duplicate_name
// finding. With `merge_identical`, equal-content items share one name.
std::vector<std::string> unique_names(const std::vector<std::pair<std::string, std::string>>& items,
                                      bool merge_identical, std::string_view what,
                                      std::vector<Finding>& findings);

// One canonicalized address or service group, before name disambiguation.
struct BuiltGroup {
  std::string id;  // uuid / extId the policies reference it by
  std::string name;
  std::string json;
  std::string hash;
  std::set<std::string> categories;  // "key:value" an entity group selects by
  std::vector<Finding> findings;     // about this group; `object` filled in with its name
};

// The groups of one kind on a site, names made unique.
struct GroupIndex {
  std::map<std::string, std::string> names_by_id;  // id -> final name
  std::map<std::string, CanonicalObject> by_name;  // final name -> object
  std::map<std::string, std::set<std::string>> categories_by_name;  // entity groups only
};
GroupIndex index_groups(std::vector<BuiltGroup> groups, ObjectKind kind,
                        std::vector<Finding>& findings);

// One canonicalized policy, before name disambiguation.
struct BuiltPolicy {
  std::string name;
  std::string type;
  std::string mode;
  std::string json;
  std::string hash;
  NameSet address_groups;  // final names referenced
  NameSet service_groups;
  NameSet entity_groups;
  NameSet categories;  // "key:value" referenced
  std::vector<Finding> findings;     // `object` filled in by assemble_snapshot
  bool has_text = true;              // false: `json` let go once stored (CanonicalObject)
};

// The same policy without its canonical text, for a memo whose policies are stored.
BuiltPolicy without_text(const BuiltPolicy& policy);
// The text let go in place (its memory freed), for a policy nothing else holds.
void drop_text(BuiltPolicy& policy);

// Marks an unresolvable reference: the policy keeps "dangling:<id>" and gets a finding.
// Returns the final group name or the marker; adds resolved names to `referenced`.
std::string resolve_reference(const std::map<std::string, std::string>& names_by_id,
                              const std::string& id, std::string_view kind,
                              NameSet& referenced, std::vector<Finding>& findings);

// Everything on a site that policies reference, groups already indexed.
struct SiteObjects {
  GroupIndex address_groups;
  GroupIndex service_groups;
  GroupIndex entity_groups;            // v4.1+
  std::set<std::string> categories;    // every "key:value" on the site
};

// Policies named uniquely, referenced groups and categories (those in `site.categories`)
// emitted, categories not on the site reported, everything sorted and hashed. An entity
// group's categories count as referenced by the policies using it.
Snapshot assemble_snapshot(std::vector<BuiltPolicy> policies, SiteObjects site,
                           std::vector<Finding> findings);
// The same from policies shared with a per-site cache (V4PolicyMemo): copied, not moved, and
// a policy taken from the cache costs one copy of its texts rather than of all its sets.
Snapshot assemble_snapshot(const std::vector<std::shared_ptr<const BuiltPolicy>>& policies,
                           SiteObjects site, std::vector<Finding> findings);

}  // namespace flowdrift::policy::build
