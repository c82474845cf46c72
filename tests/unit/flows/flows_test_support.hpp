// Helpers for the flows unit tests: canonical policy JSON builders and an in-memory resolver.
#pragma once

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "flows/flows.hpp"

namespace flowdrift::flows::test {

using nlohmann::json;

inline json group(std::vector<std::string> categories, const std::string& match = "all") {
  return json{{"categories", std::move(categories)}, {"kinds", {"vm"}}, {"match", match}};
}

inline json cats(std::vector<std::string> categories, const std::string& match = "all") {
  return json{{"categories", std::move(categories)}, {"match", match}};
}
inline json any_peer() { return json{{"any", true}}; }
inline json subnet(const std::string& cidr) { return json{{"subnet", cidr}}; }
inline json ag(const std::string& name) { return json{{"address_group", name}}; }

inline json tcp(json ports) { return json{{"protocol", "tcp"}, {"ports", std::move(ports)}}; }
inline json udp(json ports) { return json{{"protocol", "udp"}, {"ports", std::move(ports)}}; }
inline json icmp(json list) { return json{{"protocol", "icmp"}, {"icmp", std::move(list)}}; }
inline json all_services() { return json{{"all", true}}; }
inline json svc_group(const std::string& name) { return json{{"service_group", name}}; }

inline json rule(const std::string& direction, json peer, json service,
                 const std::string& description = "") {
  return json{{"description", description},
              {"direction", direction},
              {"peer", std::move(peer)},
              {"service", std::move(service)}};
}

// An application policy securing AppTier:DB with the given rules; intra-group deny, no IPv6.
inline json app(json rules) {
  return json{{"allow_ipv6", false},        {"description", ""},
              {"hitlog", false},            {"intra_group", "deny"},
              {"mode", "enforce"},          {"name", "db-tier"},
              {"rules", std::move(rules)},  {"secured_group", group({"AppTier:DB"})},
              {"type", "application"}};
}

inline json isolation(json first, json second) {
  return json{{"allow_ipv6", false}, {"description", ""},      {"hitlog", false},
              {"isolation", {std::move(first), std::move(second)}},
              {"mode", "enforce"},   {"name", "prod-dev"},     {"type", "isolation"}};
}

// Referenced address and service groups by name, as a Snapshot would hold them. Views are made
// when first resolved, one per group, as a SnapshotView makes them.
struct Groups {
  std::map<std::pair<policy::ObjectKind, std::string>, policy::CanonicalObject> objects;
  mutable std::map<std::pair<policy::ObjectKind, std::string>, policy::ObjectView> views;

  void address_group(const std::string& name, std::vector<std::string> addresses) {
    add(policy::ObjectKind::AddressGroup, name,
        json{{"addresses", std::move(addresses)}, {"description", ""}, {"name", name}});
  }
  void service_group(const std::string& name, json services) {
    add(policy::ObjectKind::ServiceGroup, name,
        json{{"description", ""}, {"name", name}, {"services", std::move(services)}});
  }
  void add(policy::ObjectKind kind, const std::string& name, const json& j) {
    policy::CanonicalObject o;
    o.kind = kind;
    o.name = name;
    o.json = j.dump();
    views.erase({kind, name});  // its parse refers to the text being replaced
    objects[{kind, name}] = std::move(o);
  }
  Resolver resolver() const {
    return [this](policy::ObjectKind k, std::string_view name) -> const policy::ObjectView* {
      const std::pair key{k, std::string(name)};
      auto it = objects.find(key);
      if (it == objects.end()) return nullptr;
      return &views.try_emplace(key, it->second).first->second;
    };
  }
};

inline FlowSet compiled(const json& policy, const Groups& groups = {}) {
  auto r = compile_policy(policy.dump(), groups.resolver());
  INFO("policy " << policy.dump());
  if (!r) {
    FAIL("compile failed: " << r.error().message);
  }
  return *r;
}

inline Comparison compared(const json& source, const json& replica, const Groups& groups = {}) {
  return compare(compiled(source, groups), compiled(replica, groups));
}

}  // namespace flowdrift::flows::test
