// v3 API data (as fetched, entity JSON exactly as Prism Central returned it) to the canonical
// model. Pure: no I/O.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "policy/model.hpp"

namespace flowdrift::policy {

// Everything one complete v3 poll returned: the `entities` of every page, concatenated.
struct V3SiteData {
  std::vector<nlohmann::json> rules;           // network_security_rules/list entities
  std::vector<nlohmann::json> address_groups;  // address_groups/list entities
  std::vector<nlohmann::json> service_groups;  // service_groups/list entities
  std::vector<nlohmann::json> category_keys;   // categories/list entities
  // categories/{key}/list entities, by key; fetched for every key that any rule references
  std::map<std::string, std::vector<nlohmann::json>> category_values;
};

// Canonicalizes a whole site. Returns Malformed (naming the entity and the JSON path) if an
// entity does not have the documented shape. References that do not resolve on the site are
// not errors: the policy keeps a `dangling:<uuid>` marker and a Finding is recorded.
Result<Snapshot> canonicalize_v3(const V3SiteData& site);

// The category keys referenced by a set of v3 rule entities (target groups, peers, isolation
// groups), sorted; the collector fetches the values of exactly these keys.
std::vector<std::string> referenced_category_keys(const std::vector<nlohmann::json>& rules);

}  // namespace flowdrift::policy
