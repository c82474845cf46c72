// v4 microseg API data (as fetched, objects exactly as Prism Central returned them) to the same
// canonical model as v3 (docs/canonical-model.md): a v3 site and a v4 site holding the same
// intent give identical canonical JSON and hashes. Pure: no I/O.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "policy/model.hpp"

namespace flowdrift::policy {

// Everything one complete v4 poll returned: the `data` items of every page, concatenated.
struct V4SiteData {
  std::vector<nlohmann::json> policies;        // /api/microseg/v4.0/config/policies
  std::vector<nlohmann::json> address_groups;  // /api/microseg/v4.0/config/address-groups
  std::vector<nlohmann::json> service_groups;  // /api/microseg/v4.0/config/service-groups
  std::vector<nlohmann::json> categories;      // /api/prism/v4.0/config/categories
};

// The kinds of object a v4 policy references by extId.
enum class V4Reference { AddressGroup, ServiceGroup, Category };

// How many of `policies` (v4 policy objects, any shape) reference at least one object of
// `kind` in their rules: a list of that kind that comes back empty while policies use it is
// not a complete site (the fetch and flowdriftctl refuse it).
std::size_t policies_referencing(const std::vector<nlohmann::json>& policies, V4Reference kind);

// Canonicalizes a v4 site piece by piece (as V3SiteBuilder): groups and categories first,
// then the policy pages as they arrive, so a poll holds one page of raw JSON at a time.
class V4SiteBuilder {
 public:
  V4SiteBuilder();
  ~V4SiteBuilder();
  V4SiteBuilder(V4SiteBuilder&&) noexcept;
  V4SiteBuilder& operator=(V4SiteBuilder&&) noexcept;

  // The address-groups, service-groups and categories lists; before any policies.
  Result<void> set_references(const std::vector<nlohmann::json>& address_groups,
                              const std::vector<nlohmann::json>& service_groups,
                              const std::vector<nlohmann::json>& categories);
  // The next policies of the listing, in listing order.
  Result<void> add_policies(const std::vector<nlohmann::json>& page);
  // The listing restarted: forget the policies added so far.
  void restart_policies();
  std::size_t policy_count() const;
  // The snapshot; call once.
  Result<Snapshot> finish();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Canonicalizes a whole v4 site: extIds of categories resolved to "key:value", of address and
// service groups to names (their contents kept as referenced objects); $objectType, $reserved,
// $unknownFields, links, extIds, tenantId and timestamps dropped; inbound/outbound derived from
// src*/dest* fields; INTRA_GROUP rules become intra_group. Same error and finding rules as v3.
Result<Snapshot> canonicalize_v4(const V4SiteData& site);

}  // namespace flowdrift::policy
