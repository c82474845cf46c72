// Canonical objects and snapshots built by hand for unit tests, the way canonicalization
// emits them: each object's hash is the SHA-256 of its text, a policy's type and mode come from
// its "type" and "mode" (an enforced application policy when the text has neither), and a
// snapshot's objects are in canonical order with the snapshot hash over them.
#pragma once

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/sha256.hpp"
#include "policy/model.hpp"

namespace flowdrift::test {

inline policy::CanonicalObject canonical_object(policy::ObjectKind kind, std::string name,
                                                std::string text) {
  policy::CanonicalObject o;
  o.kind = kind;
  o.name = std::move(name);
  o.json = std::move(text);
  o.hash = sha256_hex(o.json);
  if (kind == policy::ObjectKind::Policy) {
    const auto j = nlohmann::json::parse(o.json, nullptr, false);
    const bool has = j.is_object() && j.contains("type") && j.contains("mode");
    o.policy_type = has ? j.at("type").get<std::string>() : "application";
    o.mode = has ? j.at("mode").get<std::string>() : "enforce";
  }
  return o;
}

inline policy::CanonicalObject canonical_object(policy::ObjectKind kind, std::string name,
                                                const nlohmann::json& j) {
  return canonical_object(kind, std::move(name), j.dump());
}

// Named by its "name".
inline policy::CanonicalObject canonical_object(policy::ObjectKind kind, const nlohmann::json& j) {
  return canonical_object(kind, j.at("name").get<std::string>(), j.dump());
}

// The canonical JSON of an application policy securing the VMs of category `secured` (match
// all, intra-group deny, no IPv6, no hit log) with one inbound rule: TCP/443 from `peer`, e.g.
// {{"subnet", "10.0.0.0/24"}}.
inline nlohmann::json app_policy_json(const std::string& name, const nlohmann::json& peer,
                                      const std::string& secured = "AppType:Web",
                                      const std::string& description = "",
                                      const std::string& mode = "enforce") {
  return {{"name", name},
          {"description", description},
          {"type", "application"},
          {"mode", mode},
          {"allow_ipv6", false},
          {"hitlog", false},
          {"intra_group", "deny"},
          {"secured_group", {{"match", "all"}, {"categories", {secured}}, {"kinds", {"vm"}}}},
          {"rules",
           {{{"direction", "inbound"},
             {"peer", peer},
             {"service", {{"protocol", "tcp"}, {"ports", {{443, 443}}}}},
             {"description", ""}}}}};
}

inline policy::Snapshot canonical_snapshot(std::vector<policy::CanonicalObject> objects,
                                           std::vector<policy::Finding> findings = {}) {
  std::stable_sort(objects.begin(), objects.end(), [](const auto& a, const auto& b) {
    return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
  });
  policy::Snapshot s;
  s.objects = std::move(objects);
  s.findings = std::move(findings);
  s.canon_version = policy::kCanonVersion;
  s.hash = policy::snapshot_hash(s.objects, s.canon_version);
  return s;
}

}  // namespace flowdrift::test
