// Set difference of two FlowSets, one concrete example flow per side, and human text.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "flows/flows.hpp"
#include "policy/ipv4.hpp"

namespace flowdrift::flows {
namespace {

using nlohmann::json;

constexpr std::uint32_t kMaxAddress = 0xffffffffu;

void append_band(std::vector<AddressBand>& bands, Interval addrs, IntervalSet values) {
  if (values.empty()) return;
  if (!bands.empty() && bands.back().values == values &&
      std::uint64_t{bands.back().addresses.hi} + 1 == addrs.lo) {
    bands.back().addresses.hi = addrs.hi;
    return;
  }
  bands.push_back({addrs, std::move(values)});
}

const CategoryFlows* find_category(const std::vector<CategoryFlows>& cats, const std::string& peer) {
  auto it = std::lower_bound(cats.begin(), cats.end(), peer,
                             [](const CategoryFlows& c, const std::string& p) { return c.peer < p; });
  return it != cats.end() && it->peer == peer ? &*it : nullptr;
}

// a \ b for one plane.
Plane plane_minus(const Plane& a, const Plane& b) {
  Plane out;
  // Walk a's bands, cutting each at b's band boundaries.
  std::size_t j = 0;
  for (const AddressBand& band : a.addresses) {
    std::uint64_t start = band.addresses.lo;
    const std::uint64_t end = band.addresses.hi;
    while (start <= end) {
      while (j < b.addresses.size() && b.addresses[j].addresses.hi < start) ++j;
      std::uint64_t seg_end = end;
      IntervalSet values;
      if (j < b.addresses.size() && b.addresses[j].addresses.lo <= start) {
        seg_end = std::min<std::uint64_t>(end, b.addresses[j].addresses.hi);
        values = subtract(band.values, b.addresses[j].values);
      } else {
        if (j < b.addresses.size())
          seg_end = std::min<std::uint64_t>(end, std::uint64_t{b.addresses[j].addresses.lo} - 1);
        values = band.values;
      }
      append_band(out.addresses,
                  {static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(seg_end)},
                  std::move(values));
      start = seg_end + 1;
    }
  }
  // A category peer of a is covered by the same peer in b or by what b allows from any address;
  // never by b's subnets (which addresses the category's VMs have is unknown).
  const IntervalSet b_any = allowed_from_any(b);
  for (const CategoryFlows& c : a.categories) {
    IntervalSet values = c.values;
    if (const CategoryFlows* other = find_category(b.categories, c.peer))
      values = subtract(values, other->values);
    values = subtract(values, b_any);
    if (!values.empty()) out.categories.push_back({c.peer, std::move(values)});
  }
  return out;
}

FlowDifference minus(const FlowSet& x, const FlowSet& y) {
  FlowDifference d;
  d.target = x.target;
  const bool same_target = x.target == y.target;
  for (std::size_t i = 0; i < kPlanes; ++i) {
    d.planes[i] = same_target ? plane_minus(x.planes[i], y.planes[i]) : x.planes[i];
  }
  const IntraGroup yi = same_target ? y.intra : IntraGroup::Deny;
  d.intra = x.intra == IntraGroup::Allow && yi == IntraGroup::Deny;
  // Unspecified is the PC default, which could be either: only a possible difference.
  d.intra_uncertain = (x.intra == IntraGroup::Allow && yi == IntraGroup::Unspecified) ||
                      (x.intra == IntraGroup::Unspecified && yi == IntraGroup::Deny);
  d.ipv6 = x.ipv6 && !(same_target && y.ipv6);
  // x allows the flows between groups that y separates and x does not.
  std::set_difference(y.separations.begin(), y.separations.end(), x.separations.begin(),
                      x.separations.end(), std::back_inserter(d.unseparated));
  return d;
}

// Largest CIDR block starting at `lo` that fits in [lo, hi].
int block_prefix(std::uint32_t lo, std::uint32_t hi) {
  for (int prefix = 0; prefix < 32; ++prefix) {
    const std::uint64_t size = std::uint64_t{1} << (32 - prefix);
    if ((lo & (size - 1)) == 0 && std::uint64_t{lo} + size - 1 <= hi) return prefix;
  }
  return 32;
}

std::optional<Flow> example(const FlowDifference& d) {
  for (std::size_t i = 0; i < kPlanes; ++i) {
    const Plane& p = d.planes[i];
    Flow f;
    f.target = d.target;
    f.direction = static_cast<Direction>(i / 4);
    f.protocol = static_cast<Protocol>(i % 4);
    if (!p.addresses.empty()) {
      const AddressBand& band = p.addresses.front();
      f.kind = Flow::Kind::Address;
      f.address = band.addresses.lo;
      f.prefix = block_prefix(band.addresses.lo, band.addresses.hi);
      f.value = band.values.front().lo;
      return f;
    }
    if (!p.categories.empty()) {
      f.kind = Flow::Kind::Categories;
      f.peer = p.categories.front().peer;
      f.value = p.categories.front().values.front().lo;
      return f;
    }
  }
  Flow f;
  f.target = d.target;
  if (d.ipv6) {
    f.kind = Flow::Kind::Ipv6;
    return f;
  }
  if (d.intra || d.intra_uncertain) {
    f.kind = Flow::Kind::IntraGroup;
    return f;
  }
  if (!d.unseparated.empty()) {
    f.kind = Flow::Kind::Unseparated;
    f.target.clear();
    f.peer = d.unseparated.front().first;
    f.other_group = d.unseparated.front().second;
    return f;
  }
  return std::nullopt;
}

std::string text_of_example(const FlowDifference& d, const std::optional<Flow>& f) {
  if (!f) return "";
  std::string s = describe(*f);
  if (f->kind == Flow::Kind::IntraGroup && !d.intra)
    s += " (intra_group unspecified on one side: the Prism Central default decides)";
  return s;
}

// {"categories":[...],"match":...} (peer or group) -> "categories A, B (match any)".
std::string group_text(std::string_view canonical) {
  json g = json::parse(canonical, nullptr, false);
  if (g.is_discarded() || !g.is_object() || !g.contains("categories")) return std::string(canonical);
  std::string s = "categories ";
  const json& cats = g["categories"];
  if (!cats.is_array() || cats.empty()) return "no categories";
  for (std::size_t i = 0; i < cats.size(); ++i) {
    if (i) s += ", ";
    s += cats[i].is_string() ? cats[i].get<std::string>() : cats[i].dump();
  }
  if (cats.size() > 1 && g.contains("match") && g["match"].is_string())
    s += " (match " + g["match"].get<std::string>() + ")";
  return s;
}

std::string target_text(const std::string& target) {
  if (target.empty()) return "";
  const auto bar = target.find("|scope=");
  std::string s = group_text(std::string_view(target).substr(0, bar));
  if (bar != std::string::npos) s += " scope " + target.substr(bar + 7);
  return s;
}

const Plane& plane_of(const FlowSet& s, const Flow& f) {
  return s.planes[plane_index(f.direction, f.protocol)];
}

}  // namespace

IntervalSet allowed_from_any(const Plane& p) {
  const auto& bands = p.addresses;
  if (bands.empty() || bands.front().addresses.lo != 0 || bands.back().addresses.hi != kMaxAddress)
    return {};
  IntervalSet out = bands.front().values;
  for (std::size_t i = 1; i < bands.size() && !out.empty(); ++i) {
    if (bands[i].addresses.lo != bands[i - 1].addresses.hi + 1) return {};
    out = intersect(out, bands[i].values);
  }
  return out;
}

bool FlowDifference::empty() const {
  if (intra || intra_uncertain || ipv6 || !unseparated.empty()) return false;
  return std::all_of(planes.begin(), planes.end(), [](const Plane& p) { return p.empty(); });
}

std::string describe(const Flow& f) {
  const std::string secured =
      f.target.empty() ? "" : " (secured group " + target_text(f.target) + ")";
  switch (f.kind) {
    case Flow::Kind::IntraGroup: return "traffic within the secured group " + target_text(f.target);
    case Flow::Kind::Ipv6: return "IPv6 traffic" + secured;
    case Flow::Kind::Unseparated:
      return "traffic between " + group_text(f.peer) + " and " + group_text(f.other_group) +
             " (isolation)";
    case Flow::Kind::Address:
    case Flow::Kind::Categories: break;
  }
  std::string s = f.direction == Direction::Inbound ? "inbound " : "outbound ";
  switch (f.protocol) {
    case Protocol::Tcp: s += "TCP/" + std::to_string(f.value); break;
    case Protocol::Udp: s += "UDP/" + std::to_string(f.value); break;
    case Protocol::Icmp:
      s += "ICMP type " + std::to_string(f.value / 256) + " code " + std::to_string(f.value % 256);
      break;
    case Protocol::Other: s += "IP protocols other than TCP/UDP/ICMP"; break;
  }
  s += f.direction == Direction::Inbound ? " from " : " to ";
  if (f.kind == Flow::Kind::Categories) {
    s += group_text(f.peer);
  } else if (f.prefix == 0) {
    s += "any";
  } else {
    s += policy::ipv4_text(f.address);
    if (f.prefix < 32) s += "/" + std::to_string(f.prefix);
  }
  return s + secured;
}

bool allows(const FlowSet& set, const Flow& f) {
  switch (f.kind) {
    case Flow::Kind::IntraGroup: return set.target == f.target && set.intra == IntraGroup::Allow;
    case Flow::Kind::Ipv6: return set.target == f.target && set.ipv6;
    case Flow::Kind::Unseparated: {
      auto pair = std::minmax(f.peer, f.other_group);
      return !std::binary_search(set.separations.begin(), set.separations.end(),
                                 std::pair<std::string, std::string>(pair.first, pair.second));
    }
    case Flow::Kind::Address:
    case Flow::Kind::Categories: break;
  }
  if (set.target != f.target) return false;
  const Plane& p = plane_of(set, f);
  if (f.kind == Flow::Kind::Categories) {
    if (const CategoryFlows* c = find_category(p.categories, f.peer); c && contains(c->values, f.value))
      return true;
    return contains(allowed_from_any(p), f.value);
  }
  auto it = std::upper_bound(p.addresses.begin(), p.addresses.end(), f.address,
                             [](std::uint32_t a, const AddressBand& b) { return a < b.addresses.lo; });
  if (it == p.addresses.begin()) return false;
  --it;
  return it->addresses.hi >= f.address && contains(it->values, f.value);
}

std::string_view to_string(Classification c) {
  switch (c) {
    case Classification::Cosmetic: return "cosmetic";
    case Classification::MorePermissive: return "more_permissive";
    case Classification::MoreRestrictive: return "more_restrictive";
    case Classification::Both: return "both";
  }
  return "both";
}

Classification classify(const FlowDifference& only_source, const FlowDifference& only_replica) {
  const bool s = !only_source.empty();
  const bool r = !only_replica.empty();
  if (s && r) return Classification::Both;
  if (r) return Classification::MorePermissive;
  if (s) return Classification::MoreRestrictive;
  return Classification::Cosmetic;
}

Comparison compare(const FlowSet& source, const FlowSet& replica) {
  Comparison c;
  c.only_source = minus(source, replica);
  c.only_replica = minus(replica, source);
  c.source_example = example(c.only_source);
  c.replica_example = example(c.only_replica);
  c.source_example_text = text_of_example(c.only_source, c.source_example);
  c.replica_example_text = text_of_example(c.only_replica, c.replica_example);
  c.classification = classify(c.only_source, c.only_replica);
  return c;
}

}  // namespace flowdrift::flows
