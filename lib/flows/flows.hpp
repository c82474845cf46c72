// Behavioural comparison (docs/flows.md, docs/domain.md "Comparing behaviour, not
// text"): a canonical policy compiles into the set of flows it allows, and two policies are
// compared as sets with interval arithmetic. Flow allow-lists have no order and no first match,
// so no solver is needed. Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "core/json_scan.hpp"
#include "policy/model.hpp"
#include "policy/view.hpp"

namespace flowdrift::flows {

// Closed interval [lo, hi] of 32-bit values: IPv4 addresses, ports, ICMP type*256+code.
struct Interval {
  std::uint32_t lo = 0;
  std::uint32_t hi = 0;
  bool operator==(const Interval&) const = default;
};

// Sorted, disjoint, non-adjacent intervals: a normalized set, so [80,80]+[81,90] is [80,90]
// and two equal sets are equal vectors.
using IntervalSet = std::vector<Interval>;

IntervalSet normalized(IntervalSet v);  // sorts and merges overlapping/adjacent intervals
IntervalSet unite(const IntervalSet& a, const IntervalSet& b);
IntervalSet subtract(const IntervalSet& a, const IntervalSet& b);
IntervalSet intersect(const IntervalSet& a, const IntervalSet& b);
bool contains(const IntervalSet& s, std::uint32_t v);

enum class Direction : std::uint8_t { Inbound, Outbound };
// Other = every IP protocol that is not TCP, UDP or ICMP (what "all protocols" adds); its only
// value is 0. ICMP values are type*256+code.
enum class Protocol : std::uint8_t { Tcp, Udp, Icmp, Other };
inline constexpr std::size_t kPlanes = 8;  // Direction x Protocol
constexpr std::size_t plane_index(Direction d, Protocol p) {
  return static_cast<std::size_t>(d) * 4 + static_cast<std::size_t>(p);
}

// A slice of the IPv4 axis and the values (ports, ICMP codes) allowed for every address in it.
struct AddressBand {
  Interval addresses;
  IntervalSet values;  // never empty
  bool operator==(const AddressBand&) const = default;
};

// Flows to/from a category set. Kept symbolic: which addresses its VMs have cannot be seen, so a
// category peer equals only the same canonical category set, and is covered only by that set
// or by flows allowed from every IPv4 address (peer "any").
struct CategoryFlows {
  std::string peer;    // the canonical peer JSON {"categories":[...],"match":...}
  IntervalSet values;  // never empty
  bool operator==(const CategoryFlows&) const = default;
};

// All flows of one direction and protocol.
struct Plane {
  std::vector<AddressBand> addresses;     // sorted, disjoint; adjacent equal bands merged
  std::vector<CategoryFlows> categories;  // sorted by peer; values not already allowed from any
  bool empty() const { return addresses.empty() && categories.empty(); }
  bool operator==(const Plane&) const = default;
};

// What the plane allows from every IPv4 address (peer "any"), hence for every category peer too:
// the intersection of the band values when the bands cover the whole axis, else empty.
IntervalSet allowed_from_any(const Plane& p);

// intra_group as the canonical policy says it: absent means the PC default, which we do not
// guess (docs/canonical-model.md §2).
enum class IntraGroup : std::uint8_t { Deny, Allow, Unspecified };

// The allowed-flow set of one policy. Every flow has the secured group (`target`) at its local
// end, so policies securing different groups share no flow.
struct FlowSet {
  std::string target;  // canonical secured group JSON (+ v4 scope); "" for isolation policies
  std::array<Plane, kPlanes> planes;
  IntraGroup intra = IntraGroup::Deny;  // flows between members of the secured group
  bool ipv6 = false;                    // allow_ipv6: IPv6 traffic is not filtered
  // Isolation: pairs of canonical group JSON (first < second) whose traffic is blocked. Their
  // absence on one side means that side allows those flows.
  std::vector<std::pair<std::string, std::string>> separations;
  bool operator==(const FlowSet&) const = default;
};

// What one side allows and the other does not. Same shapes as FlowSet.
struct FlowDifference {
  std::string target;
  std::array<Plane, kPlanes> planes;
  bool intra = false;            // intra-group flows allowed on this side only
  bool intra_uncertain = false;  // intra_group unspecified on one side, specified on the other
  bool ipv6 = false;             // IPv6 allowed on this side only
  // Isolations the other side has and this one lacks: flows between the two groups that
  // only this side allows.
  std::vector<std::pair<std::string, std::string>> unseparated;
  bool empty() const;
};

// One concrete flow, for evidence. `kind` says which fields are meaningful.
struct Flow {
  enum class Kind : std::uint8_t { Address, Categories, IntraGroup, Ipv6, Unseparated };
  Kind kind = Kind::Address;
  std::string target;
  Direction direction = Direction::Inbound;
  Protocol protocol = Protocol::Tcp;
  std::uint32_t value = 0;    // port, or ICMP type*256+code
  std::uint32_t address = 0;  // Address: first address of the block
  int prefix = 32;            // Address: every address of address/prefix is in the difference
  std::string peer;           // Categories: canonical peer JSON; Unseparated: first group
  std::string other_group;    // Unseparated: second group
};

// Human text, e.g. "inbound TCP/8443 from categories AppType:Web (secured group categories
// AppTier:DB)" or "outbound UDP/53 to 10.1.2.0/24 (secured group ...)".
std::string describe(const Flow& f);

// Whether `set` allows `f` (Address/Categories flows: the single address `f.address`).
bool allows(const FlowSet& set, const Flow& f);

// A referenced address group or service group by name (its view parses it once), or nullptr
// when it is not in the snapshot.
using Resolver =
    std::function<const policy::ObjectView*(policy::ObjectKind, std::string_view name)>;

// Resolves against the referenced objects of `view` (which must outlive the resolver).
Resolver view_resolver(const policy::SnapshotView& view);

// The canonical members this model reads (docs/flows.md "What does not compile"): a policy or
// rule with any other member does not compile, and the diff says its direction is unknown.
bool reads_policy_member(std::string_view key);
bool reads_rule_member(std::string_view key);

// Compiles one canonical policy JSON (docs/canonical-model.md §2-4). Malformed JSON, an unknown
// shape or a reference the resolver cannot resolve (e.g. "dangling:<uuid>") is an
// Error{Malformed} naming the policy and the JSON pointer.
Result<FlowSet> compile_policy(std::string_view policy_json, const Resolver& resolve);

// The same, for many policies of one snapshot: each referenced group is parsed once. The
// resolver's answers must not change during the compiler's lifetime.
class Compiler {
 public:
  explicit Compiler(Resolver resolve);
  Result<FlowSet> compile(std::string_view policy_json);
  Result<FlowSet> compile(const policy::ObjectView& policy);  // parsed by its view
  Result<FlowSet> compile(json_scan::JsonRef policy);

 private:
  Resolver resolve_;
  std::unordered_map<std::string, IntervalSet> address_groups_;
  std::unordered_map<std::string, std::array<IntervalSet, 4>> service_groups_;
};

enum class Classification : std::uint8_t { Cosmetic, MorePermissive, MoreRestrictive, Both };
std::string_view to_string(Classification c);

struct Comparison {
  FlowDifference only_source;   // flows the source allows and the replica does not
  FlowDifference only_replica;  // flows the replica allows and the source does not
  std::optional<Flow> source_example;   // set iff only_source is not empty
  std::optional<Flow> replica_example;  // set iff only_replica is not empty
  std::string source_example_text;      // describe(*source_example), "" when none
  std::string replica_example_text;
  Classification classification = Classification::Cosmetic;
};

Comparison compare(const FlowSet& source, const FlowSet& replica);

// cosmetic (both empty), more_permissive (replica only), more_restrictive (source only), both.
Classification classify(const FlowDifference& only_source, const FlowDifference& only_replica);

}  // namespace flowdrift::flows
