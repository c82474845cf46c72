// Nutanix's own sync status, cross-checked. A Prism Central serving datapolicies v4.1 or later
// lists its entity-sync-policies: for each entity it synchronizes to a remote Prism Central
// (security policies, groups, categories, and kinds flowdrift does not model), whether the
// remote copy is IN_SYNC, OUT_OF_SYNC or SYNCING. flowdrift reads that list on each v4 poll
// (prism/v4_client.hpp) and compares the source site's claims with its own comparison of the
// pair: where they disagree, the disagreement is a finding of its own (docs/entity-sync.md).
// Pure: values only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/result.hpp"
#include "diff/mapping.hpp"
#include "drift/reconcile.hpp"
#include "policy/view.hpp"

namespace flowdrift::drift {

// One entity-sync-policy as the Prism Central served it.
struct EntitySync {
  std::string ext_id;         // the sync policy's extId
  std::string entity_type;    // entityType: one of kEntitySyncTypes, or a newer one
  std::string entity_name;    // entityName ("" when not served)
  std::string entity_ext_id;  // entityExtId
  std::string remote_ext_id;  // remoteDomainManagerExtId: the Prism Central synced to
  std::string status;         // IN_SYNC, OUT_OF_SYNC, SYNCING, or a newer one

  bool operator==(const EntitySync&) const = default;
};

// The values the datapolicies SDK (v4.1 to v4.3) knows, the bounded label sets of the metrics;
// anything else is exported as "OTHER" and kept as served in the store.
inline constexpr std::string_view kEntitySyncTypes[] = {
    "SECURITY_POLICY", "STORAGE_POLICY", "CATEGORY",      "PROTECTION_POLICY", "RECOVERY_PLAN",
    "ADDRESS_GROUP",   "SERVICE_GROUP",  "SUBNET",        "ENTITY_GROUP"};
inline constexpr std::string_view kEntitySyncStatuses[] = {"IN_SYNC", "OUT_OF_SYNC", "SYNCING"};
inline constexpr std::string_view kEntitySyncOther = "OTHER";

// One entity-sync-policy object of a listing page. extId, entityType and status are required
// strings; entityName, entityExtId and remoteDomainManagerExtId are strings when present. A
// value of another shape is Malformed, naming `here` and the member.
Result<EntitySync> parse_entity_sync(const nlohmann::json& item, const std::string& here);

// `value` when it is one of kEntitySyncTypes or kEntitySyncStatuses, else kEntitySyncOther.
std::string_view entity_sync_label(std::string_view value);

// What one poll read of a site's entity sync.
struct EntitySyncRead {
  enum class State {
    NotRead,    // not asked (a v3 poll, a baseline, a failed poll)
    NotServed,  // the Prism Central serves no entity-sync-policies (404 on v4.3 to v4.1)
    Complete,   // every page read: `entries` is the whole list
    Failed,     // the listing failed: `reason`, `message`; the last complete list stays
  };
  State state = State::NotRead;
  std::string version;  // the datapolicies version read ("v4.3"); "" unless Complete
  std::string reason;   // Failed: an ErrorReason string
  std::string message;  // Failed: what went wrong, where
  std::vector<EntitySync> entries;
};
std::string_view to_string(EntitySyncRead::State s);

// Where Nutanix and flowdrift disagree about one entity of a pair.
struct SyncDisagreement {
  std::string entity_type;  // SECURITY_POLICY, ADDRESS_GROUP, SERVICE_GROUP, ENTITY_GROUP, CATEGORY
  std::string entity_name;
  std::string nutanix;      // IN_SYNC or OUT_OF_SYNC
  std::string flowdrift;    // "drifted", "pending", "expected" (an open item) or "equal"
  std::string detail;       // one line: what flowdrift saw

  // nutanix_in_sync_flowdrift_differs or nutanix_out_of_sync_flowdrift_equal.
  std::string_view kind() const;
  bool operator==(const SyncDisagreement&) const = default;
};
inline constexpr std::string_view kDisagreementKinds[] = {"nutanix_in_sync_flowdrift_differs",
                                                          "nutanix_out_of_sync_flowdrift_equal"};

// What the cross-check compares: the source site's entity-sync list, and the pair as the
// comparison just left it (its snapshots and its open items).
struct CrossCheckInput {
  const std::vector<EntitySync>* entries = nullptr;  // the source site's complete list
  const std::vector<Item>* open = nullptr;           // the pair's open items
  const policy::Snapshot* source = nullptr;
  const policy::Snapshot* replica = nullptr;
  const diff::PairMapping* mapping = nullptr;  // may be null (none)
};

// Every disagreement, sorted by (entity_type, entity_name). For each entity of a type flowdrift
// models, Nutanix's status is the one all its entries agree on (entries naming several remote
// Prism Centrals with different statuses cannot be told apart: skipped), SYNCING is skipped,
// and so is an entity the source snapshot lacks (flowdrift has no view of it).
// - A security policy differs when the pair has an open item on it (its state is `flowdrift`).
// - A group or category value differs when the replica's object (in the source's terms, through
//   the mapping) is absent or has other content.
// IN_SYNC while flowdrift sees a difference, or OUT_OF_SYNC while it sees none, is a
// disagreement.
std::vector<SyncDisagreement> cross_check(const CrossCheckInput& in);

}  // namespace flowdrift::drift
