#include "drift/entity_sync.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

namespace flowdrift::drift {
namespace {

using policy::ObjectKind;

// The entity types flowdrift compares, and the kind of canonical object each one is.
std::optional<ObjectKind> modelled_kind(std::string_view type) {
  if (type == "SECURITY_POLICY") return ObjectKind::Policy;
  if (type == "ADDRESS_GROUP") return ObjectKind::AddressGroup;
  if (type == "SERVICE_GROUP") return ObjectKind::ServiceGroup;
  if (type == "ENTITY_GROUP") return ObjectKind::EntityGroup;
  if (type == "CATEGORY") return ObjectKind::Category;
  return std::nullopt;
}

// A category value's canonical name is "key:value"; Nutanix may spell it "key/value".
std::string canonical_name(ObjectKind kind, const std::string& name) {
  if (kind != ObjectKind::Category || name.find(':') != std::string::npos) return name;
  std::string out = name;
  if (auto slash = out.find('/'); slash != std::string::npos) out[slash] = ':';
  return out;
}

// Nutanix's status of one entity: the one all its entries agree on, "" when they differ
// (several remotes, told apart by nothing flowdrift knows of the pair).
struct Claim {
  std::string status;
  bool mixed = false;
};
using ClaimKey = std::pair<std::string, std::string>;  // (entity type, entity name)

std::map<ClaimKey, Claim> claims_of(const std::vector<EntitySync>& entries) {
  std::map<ClaimKey, Claim> claims;
  for (const auto& e : entries) {
    if (!modelled_kind(e.entity_type) || e.entity_name.empty()) continue;
    auto [it, added] = claims.try_emplace({e.entity_type, e.entity_name}, Claim{e.status, false});
    if (!added && it->second.status != e.status) it->second.mixed = true;
  }
  return claims;
}

// flowdrift's view of a security policy: the state of its open items ("drifted" before
// "pending" before "expected"), "equal" without any, nullopt when the source lacks it.
std::optional<std::string> policy_view(const std::string& name, const CrossCheckInput& in,
                                       const policy::SnapshotView& source, std::string& detail) {
  if (!source.policy(name)) return std::nullopt;
  std::string state;
  std::vector<std::string> kinds;
  for (const auto& it : *in.open) {
    if (it.object != name) continue;
    kinds.push_back(it.kind);
    const std::string s = it.expected() ? "expected" : it.pending() ? "pending" : "drifted";
    if (state.empty() || s == "drifted" || (s == "pending" && state == "expected")) state = s;
  }
  if (state.empty()) {
    detail = "no open drift item: the policy is equal on both sites";
    return std::string("equal");
  }
  detail = "open drift item(s):";
  for (const auto& k : kinds) detail += " " + k;
  return state;
}

// flowdrift's view of a group or category value: the replica's object (in the source's terms)
// compared with the source's; nullopt when either snapshot cannot say.
std::optional<std::string> object_view(ObjectKind kind, const std::string& name,
                                       const policy::SnapshotView& source,
                                       const policy::SnapshotView& replica, std::string& detail) {
  const auto* so = source.find(kind, name);
  if (!so) return std::nullopt;
  const policy::ObjectKey key{kind, name};
  const auto* ro = replica.find(key);
  if (!ro) {
    if (!replica.knows_absent(key)) return std::nullopt;
    detail = std::string(policy::to_string(kind)) + " absent from the replica";
    return std::string("drifted");
  }
  if (ro->hash() == so->hash()) {
    detail = std::string(policy::to_string(kind)) + " equal on both sites";
    return std::string("equal");
  }
  detail = std::string(policy::to_string(kind)) + " content differs on the replica";
  return std::string("drifted");
}

// A member that must be a string when present (or, `required`, always).
Result<void> read_string(const nlohmann::json& item, const char* key, bool required,
                         const std::string& here, std::string& out) {
  const auto it = item.find(key);
  if (it == item.end() || it->is_null()) {
    if (!required) return {};
    return make_error(ErrorReason::Malformed, here + ": entity sync policy without " + key);
  }
  if (!it->is_string()) {
    return make_error(ErrorReason::Malformed,
                      here + ": entity sync policy " + key + " is not a string");
  }
  out = it->get<std::string>();
  if (required && out.empty()) {
    return make_error(ErrorReason::Malformed, here + ": entity sync policy with an empty " + key);
  }
  return {};
}

}  // namespace

Result<EntitySync> parse_entity_sync(const nlohmann::json& item, const std::string& here) {
  if (!item.is_object()) {
    return make_error(ErrorReason::Malformed, here + ": entity sync policy is not an object");
  }
  EntitySync e;
  const struct {
    const char* key;
    bool required;
    std::string EntitySync::*field;
  } members[] = {{"extId", true, &EntitySync::ext_id},
                 {"entityType", true, &EntitySync::entity_type},
                 {"status", true, &EntitySync::status},
                 {"entityName", false, &EntitySync::entity_name},
                 {"entityExtId", false, &EntitySync::entity_ext_id},
                 {"remoteDomainManagerExtId", false, &EntitySync::remote_ext_id}};
  for (const auto& m : members) {
    if (auto r = read_string(item, m.key, m.required, here, e.*m.field); !r) return r.error();
  }
  return e;
}

std::string_view entity_sync_label(std::string_view value) {
  for (auto t : kEntitySyncTypes) {
    if (t == value) return t;
  }
  for (auto s : kEntitySyncStatuses) {
    if (s == value) return s;
  }
  return kEntitySyncOther;
}

std::string_view to_string(EntitySyncRead::State s) {
  switch (s) {
    case EntitySyncRead::State::NotRead: return "not_read";
    case EntitySyncRead::State::NotServed: return "not_served";
    case EntitySyncRead::State::Complete: return "complete";
    case EntitySyncRead::State::Failed: return "failed";
  }
  return "not_read";
}

std::string_view SyncDisagreement::kind() const {
  return nutanix == "IN_SYNC" ? kDisagreementKinds[0] : kDisagreementKinds[1];
}

std::vector<SyncDisagreement> cross_check(const CrossCheckInput& in) {
  std::vector<SyncDisagreement> out;
  const auto claims = claims_of(*in.entries);
  if (claims.empty()) return out;
  const policy::SnapshotView source(*in.source);
  // The replica in the source's terms, as the comparison saw it: built only for a group or
  // category claim (a policy is judged by its items), and translated only under a mapping.
  std::optional<policy::Snapshot> translated;
  std::optional<policy::SnapshotView> replica;
  auto replica_view = [&]() -> const policy::SnapshotView& {
    if (!replica) {
      if (in.mapping && !in.mapping->empty()) {
        translated = diff::translate_replica(*in.replica, *in.source, *in.mapping);
      }
      replica.emplace(translated ? *translated : *in.replica);
    }
    return *replica;
  };
  for (const auto& [key, claim] : claims) {
    if (claim.mixed || (claim.status != "IN_SYNC" && claim.status != "OUT_OF_SYNC")) continue;
    const ObjectKind kind = *modelled_kind(key.first);
    const std::string name = canonical_name(kind, key.second);
    std::string detail;
    const auto view = kind == ObjectKind::Policy
                          ? policy_view(name, in, source, detail)
                          : object_view(kind, name, source, replica_view(), detail);
    if (!view) continue;
    const bool equal = *view == "equal";
    if ((claim.status == "IN_SYNC") == equal) continue;
    out.push_back({key.first, key.second, claim.status, *view, detail});
  }
  return out;
}

}  // namespace flowdrift::drift
