// pcsim's datapolicies v4.1+ entity-sync-policies (docs/prism-api.md: Nutanix's own record of
// which synced entities are IN_SYNC with the paired Prism Central). A real PC keeps them itself;
// pcsim serves what a test sets with PUT /_pcsim/entity_sync, so a test can make Nutanix claim
// IN_SYNC for a policy that has drifted:
//
//   [{"entityType": "SECURITY_POLICY", "entityName": "app-web", "status": "IN_SYNC"}, ...]
//
// entityType: SECURITY_POLICY, ADDRESS_GROUP, SERVICE_GROUP, CATEGORY ("key:value" as the name),
// ENTITY_GROUP or any other SyncedEntityType; status: IN_SYNC, OUT_OF_SYNC or SYNCING.
// entityExtId is looked up by name on this PC unless given. GET lists them as set.
#include <algorithm>

#include "pcsim/internal.hpp"
#include "pcsim/simulator.hpp"
#include "pcsim/v4.hpp"

namespace flowdrift::pcsim {

using nlohmann::json;
using http::ServerReply;
using namespace detail;

namespace {

constexpr std::string_view kEntityTypes[] = {
    "SECURITY_POLICY", "STORAGE_POLICY", "CATEGORY", "PROTECTION_POLICY", "RECOVERY_PLAN",
    "ADDRESS_GROUP",   "SERVICE_GROUP",  "SUBNET",   "ENTITY_GROUP"};
constexpr std::string_view kStatuses[] = {"IN_SYNC", "OUT_OF_SYNC", "SYNCING"};
// The paired Prism Central, and this one (the owner of every policy here).
constexpr const char* kRemoteDomainManager = "5a3c1d52-7e0f-4c1b-9a8e-2f6d4b9c0e11";
constexpr const char* kOwner = "00000000-0000-4000-8000-00000000a001";

template <std::size_t N>
bool one_of(const std::string_view (&list)[N], const std::string& v) {
  return std::find(std::begin(list), std::end(list), v) != std::end(list);
}

std::string string_at(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string Simulator::synced_entity_ext_id(const std::string& type, const std::string& name) const {
  auto by_name = [&](const UuidByName& m) {
    auto it = m.find(name);
    return it == m.end() ? std::string() : it->second;
  };
  if (type == "SECURITY_POLICY") {
    for (const auto& [uuid, rule] : rules_) {
      if (rule.name == name) return uuid;
    }
    return {};
  }
  if (type == "ADDRESS_GROUP") return by_name(ag_uuid_);
  if (type == "SERVICE_GROUP") return by_name(sg_uuid_);
  if (type == "CATEGORY") {
    const auto colon = name.find(':');
    if (colon == std::string::npos) return {};
    auto it = category_ext_id_.find(name.substr(0, colon) + '\n' + name.substr(colon + 1));
    return it == category_ext_id_.end() ? std::string() : it->second;
  }
  if (type == "ENTITY_GROUP") {
    for (const auto& g : entity_groups_) {
      if (g.name == name) return g.ext_id;
    }
  }
  return {};
}

ServerReply Simulator::admin_entity_sync(const http::HttpRequest& request) {
  auto admin_error = [](int status, const std::string& message) {
    return json_reply(status, json{{"error", message}}.dump());
  };
  if (request.method == "GET") return json_reply(200, json(entity_sync_).dump());
  if (request.method != "PUT") return admin_error(405, "use GET or PUT");
  const json doc = json::parse(request.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) {
    return admin_error(400, "body must be a JSON array of {entityType, entityName, status}");
  }
  std::vector<json> entries;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const json& in = doc[i];
    const std::string where = "[" + std::to_string(i) + "]";
    const std::string type = in.is_object() ? string_at(in, "entityType") : "";
    const std::string name = in.is_object() ? string_at(in, "entityName") : "";
    const std::string status = in.is_object() ? string_at(in, "status") : "";
    if (!one_of(kEntityTypes, type)) return admin_error(400, where + ".entityType: unknown");
    if (name.empty()) return admin_error(400, where + ".entityName: required");
    if (!one_of(kStatuses, status)) return admin_error(400, where + ".status: IN_SYNC, OUT_OF_SYNC or SYNCING");
    std::string entity = string_at(in, "entityExtId");
    if (entity.empty()) entity = synced_entity_ext_id(type, name);
    entries.push_back({{"$objectType", "datapolicies.v4.config.EntitySyncPolicy"},
                       {"$reserved", {{"$fv", "v4.r1"}}},
                       {"extId", v4::uuid_from_hash(v4_salt_, "entity-sync\n" + type + '\n' + name)},
                       {"entityExtId", entity},
                       {"entityName", name},
                       {"entityType", type},
                       {"ownerExtId", kOwner},
                       {"remoteDomainManagerExtId", kRemoteDomainManager},
                       {"status", status}});
  }
  entity_sync_ = std::move(entries);
  return json_reply(200, json(entity_sync_).dump());
}

ServerReply Simulator::v4_entity_sync_object(const http::HttpRequest& request,
                                             const std::string& id) const {
  const std::string endpoint = "v4_entity_sync_policies_crud";
  if (request.method != "GET") {
    // The real API has no writes; $actions/sync-entity (POST) is not simulated.
    return v4_plain_error(405, endpoint, request.method,
                          "pcsim: entity sync policies are read-only (GET only).");
  }
  auto it = std::find_if(entity_sync_.begin(), entity_sync_.end(),
                         [&](const json& e) { return e.value("extId", "") == id; });
  if (it == entity_sync_.end()) {
    return v4_plain_error(404, endpoint, request.method, "Entity sync policy " + id + " not found.");
  }
  return v4_get_reply(endpoint, std::string(request.path()), *it, v4::etag_of(it->dump()));
}

}  // namespace flowdrift::pcsim
