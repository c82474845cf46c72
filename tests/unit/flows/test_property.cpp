// Property test (issue #5 "Must show"): for random policies, any reordering, range splitting,
// subnet splitting, duplication or service/address group inlining of a policy is cosmetic, and
// adding a flow the policy does not allow is more permissive, with an example flow that lies
// inside the added rule and outside the original set. Seeded: the seed is printed on failure;
// FLOWS_SEED=<n> reruns one iteration.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "flows_test_support.hpp"

using namespace flowdrift;
using namespace flowdrift::flows;
using namespace flowdrift::flows::test;

namespace {

using Rng = std::mt19937;

int pick(Rng& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
bool chance(Rng& rng, int percent) { return pick(rng, 0, 99) < percent; }

std::string ipv4(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

std::uint32_t mask(std::uint32_t a, int prefix) {
  return prefix == 0 ? 0 : a & ~((std::uint32_t{1} << (32 - prefix)) - 1);
}

std::string cidr(std::uint32_t a, int prefix) { return ipv4(mask(a, prefix)) + "/" + std::to_string(prefix); }

// Addresses mostly inside 10.0.0.0/16 so that random rules overlap.
std::uint32_t random_address(Rng& rng) {
  if (chance(rng, 10)) return static_cast<std::uint32_t>(rng());
  return (10u << 24) + static_cast<std::uint32_t>(pick(rng, 0, 65535));
}

const std::vector<std::vector<std::string>> kCategoryPeers = {
    {"AppType:Web"}, {"AppType:App"}, {"Environment:Prod", "AppType:Web"}};

json random_peer(Rng& rng) {
  switch (pick(rng, 0, 9)) {
    case 0: return any_peer();
    case 1: case 2: return cats(kCategoryPeers[static_cast<std::size_t>(pick(rng, 0, 2))],
                                chance(rng, 50) ? "all" : "any");
    case 3: return ag(chance(rng, 50) ? "ag1" : "ag2");
    default: return subnet(cidr(random_address(rng), pick(rng, 16, 32)));
  }
}

// Ports in 0..1023 (occasionally anywhere) so that ranges overlap and touch.
json random_ports(Rng& rng) {
  json ports = json::array();
  for (int n = pick(rng, 1, 3); n > 0; --n) {
    const int lo = chance(rng, 10) ? pick(rng, 0, 65535) : pick(rng, 0, 1023);
    const int hi = std::min(65535, lo + (chance(rng, 30) ? 0 : pick(rng, 0, 200)));
    ports.push_back({lo, hi});
  }
  return ports;
}

json random_icmp_entry(Rng& rng) {
  switch (pick(rng, 0, 4)) {
    case 0: return json::object();
    case 1: return {{"type", pick(rng, 0, 20)}};
    case 2: return {{"code", pick(rng, 0, 5)}};
    default: return {{"type", pick(rng, 0, 20)}, {"code", pick(rng, 0, 5)}};
  }
}

json random_service(Rng& rng) {
  switch (pick(rng, 0, 11)) {
    case 0: return all_services();
    case 1: return svc_group(chance(rng, 50) ? "sg1" : "sg2");
    case 2: case 3: return icmp({random_icmp_entry(rng), random_icmp_entry(rng)});
    case 4: case 5: case 6: return udp(random_ports(rng));
    default: return tcp(random_ports(rng));
  }
}

json random_rule(Rng& rng) {
  return rule(chance(rng, 50) ? "inbound" : "outbound", random_peer(rng), random_service(rng));
}

json random_policy(Rng& rng) {
  json rules = json::array();
  for (int n = pick(rng, 0, 8); n > 0; --n) rules.push_back(random_rule(rng));
  json p = app(rules);
  const int intra = pick(rng, 0, 2);
  if (intra == 0) p["intra_group"] = "allow";
  if (intra == 2) p.erase("intra_group");
  p["allow_ipv6"] = chance(rng, 20);
  return p;
}

Groups site_groups() {
  Groups g;
  g.address_group("ag1", {"10.0.1.0/24", "10.0.3.0/25", "192.168.7.7/32"});
  g.address_group("ag2", {"10.0.0.0/23", "172.16.0.0/12"});
  g.service_group("sg1", {tcp({{80, 80}, {443, 443}}), udp({{53, 53}})});
  g.service_group("sg2", {icmp({{{"type", 8}}, {{"type", 0}, {"code", 0}}}), tcp({{1000, 1100}})});
  return g;
}

// One behaviour-preserving rewrite of a random rule; returns its name for the failure message.
std::string rewrite(Rng& rng, json& rules, Groups& groups, int& next_group) {
  if (rules.empty()) return "none";
  const std::size_t i = static_cast<std::size_t>(pick(rng, 0, static_cast<int>(rules.size()) - 1));
  json r = rules[i];
  json& svc = r["service"];
  json& peer = r["peer"];
  switch (pick(rng, 0, 6)) {
    case 0:
      rules.push_back(r);
      return "duplicate";
    case 1:
      if (svc.contains("ports")) {
        // Split one range at a random point, into this rule and a copy.
        json& ports = svc["ports"];
        const std::size_t k = static_cast<std::size_t>(pick(rng, 0, static_cast<int>(ports.size()) - 1));
        const int lo = ports[k][0], hi = ports[k][1];
        if (lo == hi) return "split-ports (single port)";
        const int m = pick(rng, lo, hi - 1);
        ports[k] = {lo, m};
        json copy = r;
        copy["service"]["ports"] = json::array({{m + 1, hi}});
        rules[i] = r;
        if (chance(rng, 50)) {
          rules.push_back(copy);
        } else {
          rules[i]["service"]["ports"].push_back({m + 1, hi});
        }
        return "split-ports";
      }
      return "split-ports (no ports)";
    case 2:
      if (peer.contains("subnet")) {
        const std::string s = peer["subnet"];
        const auto slash = s.find('/');
        const int prefix = std::stoi(s.substr(slash + 1));
        if (prefix == 32) return "split-subnet (/32)";
        std::uint32_t a = 0;
        for (std::size_t pos = 0, n = 0; n < 4; ++n) {
          const auto dot = s.find_first_of("./", pos);
          a = (a << 8) | static_cast<std::uint32_t>(std::stoul(s.substr(pos, dot - pos)));
          pos = dot + 1;
        }
        const std::uint32_t half = std::uint32_t{1} << (31 - prefix);
        json other = r;
        r["peer"]["subnet"] = cidr(a, prefix + 1);
        other["peer"]["subnet"] = cidr(a + half, prefix + 1);
        rules[i] = r;
        rules.push_back(other);
        return "split-subnet";
      }
      return "split-subnet (no subnet)";
    case 3:
      if (svc.contains("service_group")) {
        // Inline the group's services, one rule each.
        const std::string name = svc["service_group"];
        const json g = json::parse(groups.objects.at({policy::ObjectKind::ServiceGroup, name}).json);
        rules.erase(i);
        for (const json& s : g["services"]) {
          json copy = r;
          copy["service"] = s;
          rules.push_back(copy);
        }
        return "inline-service-group";
      } else {
        // Wrap the service into a new group of one service.
        const std::string name = "gen" + std::to_string(next_group++);
        groups.service_group(name, json::array({svc}));
        rules[i]["service"] = svc_group(name);
        return "wrap-service-group";
      }
    case 4:
      if (peer.contains("address_group")) {
        const std::string name = peer["address_group"];
        const json g = json::parse(groups.objects.at({policy::ObjectKind::AddressGroup, name}).json);
        rules.erase(i);
        for (const json& a : g["addresses"]) {
          json copy = r;
          copy["peer"] = subnet(a.get<std::string>());
          rules.push_back(copy);
        }
        return "inline-address-group";
      }
      return "inline-address-group (no group)";
    case 5:
      if (svc.contains("icmp")) {
        // Split a whole type into its codes.
        json& list = svc["icmp"];
        for (std::size_t k = 0; k < list.size(); ++k) {
          if (list[k].contains("type") && !list[k].contains("code")) {
            const int t = list[k]["type"];
            list.erase(k);
            for (int c = 0; c < 256; ++c) list.push_back({{"type", t}, {"code", c}});
            rules[i] = r;
            return "split-icmp-type";
          }
        }
      }
      return "split-icmp-type (none)";
    default:
      return "none";
  }
}

std::vector<std::uint32_t> seeds() {
  if (const char* s = std::getenv("FLOWS_SEED")) return {static_cast<std::uint32_t>(std::stoul(s))};
  std::vector<std::uint32_t> out;
  for (std::uint32_t i = 0; i < 400; ++i) out.push_back(20261125u + i);
  return out;
}

}  // namespace

TEST_CASE("property: rewrites of a policy that keep its flows are cosmetic", "[unit][flows][property]") {
  int rewrites = 0;
  for (const std::uint32_t seed : seeds()) {
    Rng rng(seed);
    Groups groups = site_groups();
    const json original = random_policy(rng);
    json copy = original;
    json& rules = copy["rules"];
    std::string applied;
    int next_group = 0;
    for (int n = pick(rng, 1, 6); n > 0; --n) applied += rewrite(rng, rules, groups, next_group) + " ";
    std::shuffle(rules.begin(), rules.end(), rng);
    INFO("seed " << seed << " (rerun with FLOWS_SEED=" << seed << ")");
    INFO("rewrites: " << applied);
    INFO("original: " << original.dump());
    INFO("rewritten: " << copy.dump());
    const FlowSet a = compiled(original, groups);
    const FlowSet b = compiled(copy, groups);
    const Comparison c = compare(a, b);
    INFO("examples: " << c.source_example_text << " | " << c.replica_example_text);
    REQUIRE(c.classification == Classification::Cosmetic);
    // Normalization makes equal behaviour equal data.
    REQUIRE(a == b);
    ++rewrites;
  }
  CHECK(rewrites == static_cast<int>(seeds().size()));
}

namespace {

// A concrete flow (peer address or category set, protocol value) and a rule containing it.
struct Added {
  Flow flow;
  json rule;
};

Added random_added_flow(Rng& rng, const std::string& target) {
  Added a;
  Flow& f = a.flow;
  f.target = target;
  f.direction = chance(rng, 50) ? Direction::Inbound : Direction::Outbound;
  f.protocol = static_cast<Protocol>(pick(rng, 0, 3));
  json peer;
  if (chance(rng, 30)) {
    f.kind = Flow::Kind::Categories;
    // Sometimes a category set no policy uses.
    const auto cats_list = chance(rng, 25) ? std::vector<std::string>{"Team:Ops"}
                                           : kCategoryPeers[static_cast<std::size_t>(pick(rng, 0, 2))];
    peer = cats(cats_list, "all");
    f.peer = peer.dump();
  } else {
    f.kind = Flow::Kind::Address;
    f.address = random_address(rng);
    peer = subnet(cidr(f.address, pick(rng, 20, 32)));
  }
  json service;
  switch (f.protocol) {
    case Protocol::Tcp:
    case Protocol::Udp: {
      f.value = static_cast<std::uint32_t>(chance(rng, 10) ? pick(rng, 0, 65535) : pick(rng, 0, 1100));
      const int lo = std::max(0, static_cast<int>(f.value) - pick(rng, 0, 3));
      const int hi = std::min(65535, static_cast<int>(f.value) + pick(rng, 0, 3));
      service = json{{"protocol", f.protocol == Protocol::Tcp ? "tcp" : "udp"},
                     {"ports", {{lo, hi}}}};
      break;
    }
    case Protocol::Icmp: {
      const int t = pick(rng, 0, 22), c = pick(rng, 0, 6);
      f.value = static_cast<std::uint32_t>(t * 256 + c);
      service = icmp({chance(rng, 50) ? json{{"type", t}, {"code", c}} : json{{"type", t}}});
      break;
    }
    case Protocol::Other:
      f.value = 0;
      service = all_services();  // the only way to allow other protocols
      break;
  }
  a.rule = rule(f.direction == Direction::Inbound ? "inbound" : "outbound", peer, service);
  return a;
}

}  // namespace

TEST_CASE("property: adding a flow is more permissive with an example inside it",
          "[unit][flows][property]") {
  int detected = 0;
  for (const std::uint32_t seed : seeds()) {
    Rng rng(seed);
    const Groups groups = site_groups();
    const json original = random_policy(rng);
    const FlowSet before = compiled(original, groups);
    Added added = random_added_flow(rng, before.target);
    for (int tries = 0; allows(before, added.flow) && tries < 100; ++tries)
      added = random_added_flow(rng, before.target);
    if (allows(before, added.flow)) continue;  // the random policy already allows everything

    json widened = original;
    widened["rules"].push_back(added.rule);
    std::shuffle(widened["rules"].begin(), widened["rules"].end(), rng);
    const FlowSet after = compiled(widened, groups);
    json only_added = app({added.rule});
    only_added["intra_group"] = "deny";
    const FlowSet rule_set = compiled(only_added, groups);

    INFO("seed " << seed << " (rerun with FLOWS_SEED=" << seed << ")");
    INFO("original: " << original.dump());
    INFO("added rule: " << added.rule.dump());
    INFO("added flow: " << describe(added.flow));
    REQUIRE(allows(after, added.flow));

    const Comparison c = compare(before, after);
    INFO("example: " << c.replica_example_text);
    REQUIRE(c.classification == Classification::MorePermissive);
    REQUIRE(c.replica_example.has_value());
    const Flow& ex = *c.replica_example;
    CHECK(allows(after, ex));
    CHECK_FALSE(allows(before, ex));
    CHECK(allows(rule_set, ex));  // inside the added rule
    if (ex.kind == Flow::Kind::Address) {
      // Every address of the example block is in the difference, the last one too.
      Flow last = ex;
      last.address = ex.prefix == 0 ? 0xffffffffu
                                    : ex.address + ((std::uint32_t{1} << (32 - ex.prefix)) - 1);
      CHECK(allows(after, last));
      CHECK_FALSE(allows(before, last));
    }
    // The same pair the other way round is more restrictive, with the same kind of evidence.
    const Comparison back = compare(after, before);
    CHECK(back.classification == Classification::MoreRestrictive);
    REQUIRE(back.source_example.has_value());
    CHECK_FALSE(allows(before, *back.source_example));
    ++detected;
  }
  // Nearly every random policy leaves room for a new flow; make sure the test did its job.
  CHECK(detected > static_cast<int>(seeds().size()) * 9 / 10);
}
