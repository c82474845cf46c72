// pcsim v4 object endpoints (docs/prism-api.md §3.1, §3.2, §3.7): GET one (with an ETag header),
// POST (create), PUT and DELETE (If-Match with the current ETag: missing -> 412 PLAT-10004,
// stale -> 412 PLAT-10005) of policies, address groups and service groups, POST/DELETE of
// categories, and GET of the tasks the writes return. Writes answer 202 with a
// prism.v4.config.TaskReference and take effect at once; they change the same stored site the
// v3 endpoints serve. Bad bodies answer 400 with a SchemaValidationError naming the attribute.
#include <algorithm>

#include "pcsim/internal.hpp"
#include "pcsim/simulator.hpp"
#include "pcsim/v4.hpp"
#include "pcsim/v4_input.hpp"

namespace flowdrift::pcsim {

using nlohmann::json;
using http::ServerReply;
using namespace detail;

namespace {

// Task extIds carry the "ZXJnb24=:" prefix (base64 "ergon", the task service), as in §3.2.
constexpr std::string_view kTaskPrefix = "ZXJnb24=:";

struct Entity {
  std::string_view ns;    // "microseg" or "prism"
  std::string_view name;  // "NetworkSecurityPolicy", ...
  std::string_view rel;   // EntityReference.rel of tasks
};

Entity entity_of(std::string_view endpoint) {
  if (endpoint == "v4_address_groups_crud") return {"microseg", "AddressGroup", "microseg:config:address-group"};
  if (endpoint == "v4_service_groups_crud") return {"microseg", "ServiceGroup", "microseg:config:service-group"};
  if (endpoint == "v4_categories_crud") return {"prism", "Category", "prism:config:category"};
  if (endpoint == "v4_entity_groups_crud") {
    return {"microseg", "EntityGroup", "microseg:config:entity-group"};
  }
  if (endpoint == "v4_vpcs_crud") return {"networking", "Vpc", "networking:config:vpc"};
  if (endpoint == "v4_entity_sync_policies_crud") {
    return {"datapolicies", "EntitySyncPolicy", "datapolicies:config:entity-sync-policy"};
  }
  if (endpoint == "v4_tasks") return {"prism", "Task", "prism:config:task"};
  return {"microseg", "NetworkSecurityPolicy", "microseg:config:policy"};
}

// "<ns>.v4.config.<Verb><Entity>ApiResponse", e.g. microseg.v4.config.UpdateAddressGroupApiResponse.
std::string api_type(std::string_view endpoint, std::string_view verb) {
  const Entity e = entity_of(endpoint);
  return std::string(e.ns) + ".v4.config." + std::string(verb) + std::string(e.name) + "ApiResponse";
}

std::string_view verb_of(const std::string& method) {
  if (method == "POST") return "Create";
  if (method == "PUT") return "Update";
  if (method == "DELETE") return "Delete";
  return "Get";
}

json response_metadata(const std::string& path) {
  return {{"flags", json::array({{{"name", "hasError"}, {"value", false}},
                                 {{"name", "isPaginated"}, {"value", false}}})},
          {"links", json::array({{{"rel", "self"}, {"href", path}}})},
          {"messages", json::array()},
          {"extraInfo", json::array()}};
}

ServerReply app_error(int status, std::string_view endpoint, const std::string& method,
                      std::string_view code, std::string_view message) {
  return json_reply(status, v4::error_body(entity_of(endpoint).ns, api_type(endpoint, verb_of(method)),
                                           code, message));
}

// The numbered MIC-/CTG-/NET- codes of ordinary failures (404, 405, 409).
ServerReply plain_error(int status, std::string_view endpoint, const std::string& method,
                        std::string_view message) {
  const std::string code = v4_error_code(entity_of(endpoint).ns, status);
  return app_error(status, endpoint, method, code, message);
}

ServerReply schema_error(std::string_view endpoint, const http::HttpRequest& request,
                         const v4::InputError& error, const std::string& timestamp) {
  return json_reply(400, v4::schema_error_body(entity_of(endpoint).ns,
                                               api_type(endpoint, verb_of(request.method)),
                                               request.path(), {error.attribute, error.message},
                                               timestamp, "body"));
}

// The reply of a successful GET one: the object in `data`, its ETag as a header.
ServerReply get_reply(std::string_view endpoint, const std::string& path, json data,
                      const std::string& etag) {
  json body = {{"$objectType", api_type(endpoint, "Get")},
               {"$reserved", {{"$fv", "v4.r0"}}},
               {"data", std::move(data)},
               {"metadata", response_metadata(path)}};
  ServerReply r = json_reply(200, body.dump());
  r.response.headers.push_back({"ETag", etag});
  return r;
}

// nullopt when If-Match carries `etag`; else the 412 (§3.2: PLAT-10004 missing, PLAT-10005 stale).
std::optional<ServerReply> check_if_match(const http::HttpRequest& request, std::string_view endpoint,
                                          const std::string& etag) {
  auto h = request.header("If-Match");
  if (!h) {
    return app_error(412, endpoint, request.method, "PLAT-10004",
                     "MISSING_ETAG_HEADER: an If-Match header with the ETag of a GET is required "
                     "for " + request.method + ".");
  }
  if (*h != etag) {
    return app_error(412, endpoint, request.method, "PLAT-10005",
                     "Invalid eTag header: If-Match " + std::string(*h) +
                         " is not the current ETag (the object changed since it was read).");
  }
  return std::nullopt;
}

json parse_body(const http::HttpRequest& request, v4::InputError* error) {
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) *error = {"$", "request body is not valid JSON"};
  return body;
}

std::string task_path(int minor, const std::string& id) {
  return v4::base_path("prism", minor) + "/tasks/" + id;
}

std::string group_etag(const std::string& object, std::uint64_t revision) {
  return v4::etag_of(object + "#" + std::to_string(revision));
}

// What the v4 address and service group endpoints do differently.
struct V4GroupNames {
  std::string_view endpoint;   // "v4_address_groups_crud"
  std::string_view entity;     // "AddressGroup": its tasks' operations
  std::string_view a_group;    // "An address group" (a name taken)
  std::string_view the_group;  // "Address group" (not found, in use)
};
V4GroupNames v4_names(const AddressGroup&) {
  return {"v4_address_groups_crud", "AddressGroup", "An address group", "Address group"};
}
V4GroupNames v4_names(const ServiceGroup&) {
  return {"v4_service_groups_crud", "ServiceGroup", "A service group", "Service group"};
}
v4::InputError group_from_v4(const json& body, AddressGroup* out) {
  return v4::address_group_from_v4(body, out);
}
v4::InputError group_from_v4(const json& body, ServiceGroup* out) {
  return v4::service_group_from_v4(body, out);
}
// A PUT keeps what v4 does not let a client change.
void keep_read_only_fields(const AddressGroup&, AddressGroup&) {}
void keep_read_only_fields(const ServiceGroup& current, ServiceGroup& group) {
  group.is_system_defined = current.is_system_defined;  // read-only in v4
}

}  // namespace

namespace detail {

json v4_group_object(const std::string& id, const AddressGroup& g) {
  return v4::address_group(id, g.name, g.description, g.ip_address_block_list);
}

json v4_group_object(const std::string& id, const ServiceGroup& g) {
  return v4::service_group(id, g.name, g.description, g.is_system_defined, g.service_list);
}

ServerReply v4_plain_error(int status, std::string_view endpoint, const std::string& method,
                           std::string_view message) {
  return plain_error(status, endpoint, method, message);
}

ServerReply v4_get_reply(std::string_view endpoint, const std::string& path, json data,
                         const std::string& etag) {
  return get_reply(endpoint, path, std::move(data), etag);
}

}  // namespace detail

std::string Simulator::v4_task_reference(const std::string& endpoint, const std::string& operation,
                                         const std::string& entity_id, std::string_view entity_rel) {
  const std::string id = std::string(kTaskPrefix) + new_uuid();
  const std::string now = now_time();
  v4_tasks_[id] = {{"$objectType", "prism.v4.config.Task"},
                   {"$reserved", {{"$fv", "v4.r0"}}},
                   {"extId", id},
                   {"operation", operation},
                   {"status", "SUCCEEDED"},
                   {"progressPercentage", 100},
                   {"createdTime", now},
                   {"startedTime", now},
                   {"completedTime", now},
                   {"entitiesAffected",
                    json::array({{{"$objectType", "prism.v4.config.EntityReference"},
                                  {"extId", entity_id},
                                  {"rel", entity_rel}}})}};
  const std::string_view verb = operation.rfind("Create", 0) == 0   ? "Create"
                                : operation.rfind("Update", 0) == 0 ? "Update"
                                                                    : "Delete";
  json body = {{"$objectType", api_type(endpoint, verb)},
               {"$reserved", {{"$fv", "v4.r0"}}},
               {"data", {{"$objectType", "prism.v4.config.TaskReference"},
                         {"$reserved", {{"$fv", "v4.r0"}}},
                         {"extId", id}}},
               {"metadata", response_metadata(task_path(request_minor_, id))}};
  return body.dump();
}

http::ServerReply Simulator::dispatch_v4_object(const http::HttpRequest& request,
                                                const std::string& endpoint, const std::string& id) {
  if (endpoint == "v4_tasks") {
    if (request.method != "GET") {
      return plain_error(405, endpoint, request.method, "Method " + request.method + " not allowed; use GET.");
    }
    return v4_task(id);
  }
  if (id.empty() && request.method != "POST") {
    return plain_error(405, endpoint, request.method,
                       "Method " + request.method + " not allowed on the collection; use GET or POST.");
  }
  if (!id.empty() && request.method == "POST") {
    return plain_error(405, endpoint, request.method, "Method POST not allowed; use GET, PUT or DELETE.");
  }
  if (endpoint == "v4_policies_crud") return v4_policy(request, id);
  if (endpoint == "v4_entity_sync_policies_crud") return v4_entity_sync_object(request, id);
  if (endpoint == "v4_entity_groups_crud" || endpoint == "v4_vpcs_crud") {
    return v4_read_only_object(request, endpoint, id);
  }
  if (endpoint == "v4_address_groups_crud") return v4_group(request, id, ags_, ag_uuid_);
  if (endpoint == "v4_service_groups_crud") return v4_group(request, id, sgs_, sg_uuid_);
  return v4_category(request, id);
}

http::ServerReply Simulator::v4_task(const std::string& id) {
  auto it = v4_tasks_.find(id);
  if (it == v4_tasks_.end()) return plain_error(404, "v4_tasks", "GET", "Task " + id + " not found.");
  json body = {{"$objectType", "prism.v4.config.GetTaskApiResponse"},
               {"$reserved", {{"$fv", "v4.r0"}}},
               {"data", it->second},
               {"metadata", response_metadata(task_path(request_minor_, id))}};
  return json_reply(200, body.dump());
}

// ---- policies --------------------------------------------------------------------------------

http::ServerReply Simulator::v4_policy(const http::HttpRequest& request, const std::string& id) {
  const std::string endpoint = "v4_policies_crud";
  const std::string path(request.path());
  const Rule* current = nullptr;
  if (!id.empty()) {
    auto it = rules_.find(id);
    if (it == rules_.end()) {
      if (auto native = v4_native_policy(request, id)) return *native;
      return plain_error(404, endpoint, request.method, "Network security policy " + id + " not found.");
    }
    current = &it->second;
  }
  const std::string etag = current ? v4::etag_of(current->entity) : std::string();
  if (request.method == "GET") return get_reply(endpoint, path, v4_policy_of(*current), etag);
  if (request.method != "POST" && request.method != "PUT" && request.method != "DELETE") {
    return plain_error(405, endpoint, request.method, "Method " + request.method + " not allowed.");
  }
  if (current) {
    if (auto refused = check_if_match(request, endpoint, etag)) return *refused;
  }
  if (request.method == "DELETE") {
    rules_.erase(id);
    sorted_dirty_ = true;
    return json_reply(202, v4_task_reference(endpoint, "DeleteNetworkSecurityPolicy", id,
                                             entity_of(endpoint).rel));
  }

  v4::InputError error;
  json body = parse_body(request, &error);
  if (!error.ok()) return schema_error(endpoint, request, error, now_time());
  if (current && body.is_object() && body.contains("extId") &&
      (!body.at("extId").is_string() || body.at("extId").get<std::string>() != id)) {
    return schema_error(endpoint, request, {"extId", "must equal the extId in the path (" + id + ")"},
                        now_time());
  }
  // Rule extIds of the current policy -> their v3 rule_id, so a PUT keeps unchanged rules' ids.
  std::map<std::string, long long> rule_ids;
  json current_entity = current ? json::parse(current->entity) : json();
  if (current) {
    const json& res = current_entity.at("spec").at("resources");
    for (const auto& [kind, rule] : res.items()) {
      if (!rule.is_object()) continue;
      for (auto [list, prefix] : {std::pair{"inbound_allow_list", "src"}, {"outbound_allow_list", "dest"}}) {
        auto l = rule.find(list);
        if (l == rule.end() || !l->is_array()) continue;
        for (const auto& e : *l) {
          auto rid = e.is_object() ? e.find("rule_id") : e.end();
          if (!e.is_object() || rid == e.end() || !rid->is_number_integer()) continue;
          for (int p = 0; p < 2; ++p) {
            rule_ids[v4::uuid_from_hash(v4_salt_, id + "/" + prefix + "/" +
                                                      std::to_string(rid->get<long long>()) + "/" +
                                                      std::to_string(p))] = rid->get<long long>();
          }
        }
      }
    }
  }
  v4::InputLookup lookup;
  lookup.category = [this](const std::string& ext_id) -> std::optional<std::pair<std::string, std::string>> {
    for (const auto& [kv, cat_id] : category_ext_id_) {
      if (cat_id != ext_id) continue;
      const auto nl = kv.find('\n');
      return std::pair{kv.substr(0, nl), kv.substr(nl + 1)};
    }
    return std::nullopt;
  };
  lookup.address_group = [this](const std::string& ext_id) { return ags_.count(ext_id) > 0; };
  lookup.service_group = [this](const std::string& ext_id) { return sgs_.count(ext_id) > 0; };
  lookup.rule_id = [&rule_ids](const std::string& ext_id) -> std::optional<long long> {
    auto it = rule_ids.find(ext_id);
    return it == rule_ids.end() ? std::nullopt : std::optional<long long>(it->second);
  };
  json spec;
  error = v4::policy_to_v3_spec(body, lookup, &spec);
  if (!error.ok()) return schema_error(endpoint, request, error, now_time());
  assign_rule_ids(spec, false);
  const std::string now = now_time();
  if (!current) {
    const std::string new_id = insert_rule(std::move(spec), json::object(), 0, now, now, std::nullopt);
    return json_reply(202, v4_task_reference(endpoint, "CreateNetworkSecurityPolicy", new_id,
                                             entity_of(endpoint).rel));
  }
  const json& md = current_entity.at("metadata");
  insert_rule(std::move(spec), md.at("categories"), md.at("spec_version").get<long long>() + 1,
              md.at("creation_time").get<std::string>(), now, id);
  return json_reply(202, v4_task_reference(endpoint, "UpdateNetworkSecurityPolicy", id,
                                           entity_of(endpoint).rel));
}

// ---- groups ----------------------------------------------------------------------------------

template <class Stored>
http::ServerReply Simulator::v4_group(const http::HttpRequest& request, const std::string& id,
                                      std::map<std::string, Stored>& stored, const UuidByName& uuid_by_name) {
  using Group = decltype(Stored::group);
  const V4GroupNames names = v4_names(Group{});
  const std::string endpoint(names.endpoint);
  const std::string entity(names.entity);
  Stored* current = nullptr;
  if (!id.empty()) {
    auto it = stored.find(id);
    if (it == stored.end()) {
      return plain_error(404, endpoint, request.method, std::string(names.the_group) + " " + id + " not found.");
    }
    current = &it->second;
  }
  json object;
  std::string etag;
  if (current) {
    object = v4_group_object(id, current->group);
    etag = group_etag(object.dump(), current->revision);
  }
  if (request.method == "GET") return get_reply(endpoint, std::string(request.path()), object, etag);
  if (request.method != "POST" && request.method != "PUT" && request.method != "DELETE") {
    return plain_error(405, endpoint, request.method, "Method " + request.method + " not allowed.");
  }
  if (current) {
    if (auto refused = check_if_match(request, endpoint, etag)) return *refused;
  }
  if (request.method == "DELETE") {
    if (auto users = policies_using_group_locked(id); !users.empty()) {
      return plain_error(409, endpoint, request.method,
                         std::string(names.the_group) + " '" + current->group.name + "' is used by " +
                             std::to_string(users.size()) + " polic(ies), e.g. '" + users.front() +
                             "'; remove the references first.");
    }
    stored.erase(id);
    rebuild_group_views();
    return json_reply(202, v4_task_reference(endpoint, "Delete" + entity, id, entity_of(endpoint).rel));
  }
  v4::InputError error;
  json body = parse_body(request, &error);
  Group group;
  if (error.ok()) error = group_from_v4(body, &group);
  if (!error.ok()) return schema_error(endpoint, request, error, now_time());
  if (auto other = uuid_by_name.find(group.name); other != uuid_by_name.end() && other->second != id) {
    return plain_error(409, endpoint, request.method,
                       std::string(names.a_group) + " named '" + group.name + "' already exists.");
  }
  std::string target = id;
  if (current) {
    keep_read_only_fields(current->group, group);
    current->group = std::move(group);
    ++current->revision;
  } else {
    target = new_uuid();
    stored[target] = Stored{std::move(group), 0};
  }
  rebuild_group_views();
  return json_reply(202, v4_task_reference(endpoint, (current ? "Update" : "Create") + entity,
                                           target, entity_of(endpoint).rel));
}

// ---- categories ------------------------------------------------------------------------------

http::ServerReply Simulator::v4_category(const http::HttpRequest& request, const std::string& id) {
  const std::string endpoint = "v4_categories_crud";
  std::string key, value;
  if (!id.empty()) {
    auto it = std::find_if(category_ext_id_.begin(), category_ext_id_.end(),
                           [&](const auto& kv) { return kv.second == id; });
    if (it == category_ext_id_.end() || !category_defined(it->first.substr(0, it->first.find('\n')),
                                                          it->first.substr(it->first.find('\n') + 1))) {
      return plain_error(404, endpoint, request.method, "Category " + id + " not found.");
    }
    key = it->first.substr(0, it->first.find('\n'));
    value = it->first.substr(it->first.find('\n') + 1);
  }
  json object;
  std::string etag;
  if (!id.empty()) {
    const CategoryKey& def = category_defs_.at(key);
    object = v4::category(id, key, value, def.description, def.system_defined);
    etag = v4::etag_of(object.dump());
  }
  if (request.method == "GET") return get_reply(endpoint, std::string(request.path()), object, etag);
  if (request.method == "DELETE") {
    if (auto refused = check_if_match(request, endpoint, etag)) return *refused;
    if (auto users = policies_using_category_locked(key, value); !users.empty()) {
      return plain_error(409, endpoint, request.method,
                         "Category " + key + ":" + value + " is used by " + std::to_string(users.size()) +
                             " polic(ies), e.g. '" + users.front() + "'; remove the references first.");
    }
    auto& values = category_defs_.at(key).values;
    values.erase(std::remove(values.begin(), values.end(), value), values.end());
    category_ext_id_.erase(key + '\n' + value);
    category_value_descriptions_.erase(key + '\n' + value);
    rebuild_category_views();
    // Synchronous, unlike the microseg writes: the SDK's DeleteCategoryApiResponse carries no
    // task reference (its data is empty), so nothing to wait for.
    ServerReply done;
    done.response.status = 204;
    return done;
  }
  if (request.method != "POST") {
    return plain_error(405, endpoint, request.method,
                       "Method " + request.method + " not allowed; pcsim supports GET, POST and DELETE of categories.");
  }
  v4::InputError error;
  json body = parse_body(request, &error);
  std::string description;
  if (error.ok()) error = v4::category_from_v4(body, &key, &value, &description);
  if (!error.ok()) return schema_error(endpoint, request, error, now_time());
  if (category_defined(key, value)) {
    return plain_error(409, endpoint, request.method, "Category " + key + ":" + value + " already exists.");
  }
  auto [def, fresh] = category_defs_.emplace(key, CategoryKey{key, description, false, {}});
  def->second.values.push_back(value);
  if (!fresh && !description.empty()) category_value_descriptions_[key + '\n' + value] = description;
  const std::string new_id = v4::uuid_from_hash(v4_rng_(), key + '\n' + value);
  category_ext_id_[key + '\n' + value] = new_id;
  rebuild_category_views();
  // Synchronous: the SDK's CreateCategoryApiResponse carries the created Category itself.
  const CategoryKey& defined = category_defs_.at(key);
  const json created = v4::category(new_id, key, value, defined.description, defined.system_defined);
  json reply = {{"$objectType", api_type(endpoint, "Create")},
                {"$reserved", {{"$fv", "v4.r0"}}},
                {"data", created},
                {"metadata", response_metadata(std::string(request.path()) + "/" + new_id)}};
  ServerReply r = json_reply(201, reply.dump());
  r.response.headers.push_back({"ETag", v4::etag_of(created.dump())});
  return r;
}

}  // namespace flowdrift::pcsim
