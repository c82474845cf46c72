// v3 API data (as fetched, entity JSON exactly as Prism Central returned it) to the canonical
// model. Pure: no I/O.
#pragma once

#include <map>
#include <memory>
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

// Canonicalizes a v3 site piece by piece, so that a poll holds one page of raw JSON at a time
// rather than the whole site: groups first (policies resolve their references against them),
// then the rule pages as they arrive, then the values of the category keys the rules used.
// Errors are Malformed and name the entity and the JSON path, as canonicalize_v3's.
class V3SiteBuilder {
 public:
  V3SiteBuilder();
  ~V3SiteBuilder();
  V3SiteBuilder(V3SiteBuilder&&) noexcept;
  V3SiteBuilder& operator=(V3SiteBuilder&&) noexcept;

  // address_groups/list and service_groups/list entities; before any rules.
  Result<void> set_groups(const std::vector<nlohmann::json>& address_groups,
                          const std::vector<nlohmann::json>& service_groups);
  // The next network_security_rules/list entities, in listing order.
  Result<void> add_rules(const std::vector<nlohmann::json>& page);
  // The listing restarted: forget the rules added so far.
  void restart_rules();
  std::size_t rule_count() const;
  // Category keys the rules added so far reference, sorted.
  std::vector<std::string> category_keys() const;
  // categories/{key}/list entities.
  Result<void> add_category_values(const std::string& key,
                                   const std::vector<nlohmann::json>& values);
  // The snapshot; call once.
  Result<Snapshot> finish();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Canonicalizes a whole site. Returns Malformed (naming the entity and the JSON path) if an
// entity does not have the documented shape. References that do not resolve on the site are
// not errors: the policy keeps a `dangling:<uuid>` marker and a Finding is recorded.
Result<Snapshot> canonicalize_v3(const V3SiteData& site);

// The category keys referenced by a set of v3 rule entities (target groups, peers, isolation
// groups), sorted; the collector fetches the values of exactly these keys.
std::vector<std::string> referenced_category_keys(const std::vector<nlohmann::json>& rules);

}  // namespace flowdrift::policy
