// pcsim v3 writes of the objects policies reference: address groups, service groups (GET, POST,
// PUT, DELETE; swagger `address_group` / `service_group` bodies, generic `status` errors) and
// category values (GET, PUT, DELETE of /categories/{key}/{value}; `category_status` errors).
// They change the same stored site the v4 view serves. Deleting an object a policy still uses
// is refused with 409 (docs/prism-api.md is silent on it); POST /_pcsim/force_delete does it anyway
// so tests can create a dangling reference.
#include <algorithm>
#include <cstdio>
#include <set>

#include "pcsim/internal.hpp"
#include "pcsim/simulator.hpp"
#include "pcsim/v4.hpp"
#include "pcsim/v4_input.hpp"

namespace flowdrift::pcsim {

using nlohmann::json;
using http::ServerReply;
using namespace detail;

namespace {

constexpr std::string_view kRuleKinds[] = {"app_rule", "quarantine_rule", "ad_rule", "isolation_rule"};

// The generic v3 `status` error schema the swagger declares for address and service groups.
ServerReply status_error(int status, std::string_view kind, std::string_view reason,
                         std::string_view message) {
  json body = {{"api_version", "3.1"}, {"code", status},       {"kind", kind},
               {"status", "failure"},  {"reason", reason},     {"message", message},
               {"details", json::object()}};
  return json_reply(status, body.dump());
}

// Each helper returns "" when fine, else "<path>: <reason>".
std::string check_string(const json& obj, const char* key, const std::string& path, bool required,
                         std::size_t max_len, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return required ? "'" + std::string(key) + "' is a required property" : "";
  if (!it->is_string()) return path + key + " must be a string";
  const auto& s = it->get_ref<const std::string&>();
  if (required && s.empty()) return path + key + " must not be empty";
  if (s.size() > max_len) {
    return path + key + " is longer than " + std::to_string(max_len) + " characters";
  }
  *out = s;
  return {};
}

std::string check_int(const json& obj, const char* key, const std::string& path, long long lo,
                      long long hi, bool required, json* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return required ? path + key + " is required" : "";
  if (!it->is_number_integer()) return path + key + " must be an integer";
  const long long v = it->get<long long>();
  if (v < lo || v > hi) {
    return path + key + ": " + std::to_string(v) + " is out of range [" + std::to_string(lo) +
           ", " + std::to_string(hi) + "]";
  }
  *out = v;
  return {};
}

std::string parse_ip_blocks(const json& list, const std::string& path, json* out) {
  if (!list.is_array()) return path + " must be an array";
  *out = json::array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "].";
    const json& b = list[i];
    if (!b.is_object()) return p.substr(0, p.size() - 1) + " must be an object";
    std::string ip;
    if (auto e = check_string(b, "ip", p, true, 15, &ip); !e.empty()) return e;
    if (!v4::valid_ipv4(ip)) return p + "ip: '" + ip + "' is not an IPv4 address";
    json prefix;
    if (auto e = check_int(b, "prefix_length", p, 0, 32, true, &prefix); !e.empty()) return e;
    out->push_back({{"ip", ip}, {"prefix_length", prefix}});
  }
  return {};
}

std::string parse_port_ranges(const json& list, const std::string& path, json* out) {
  if (!list.is_array()) return path + " must be an array";
  *out = json::array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "].";
    if (!list[i].is_object()) return p.substr(0, p.size() - 1) + " must be an object";
    json start, end;
    if (auto e = check_int(list[i], "start_port", p, 0, 65535, true, &start); !e.empty()) return e;
    end = start;
    if (auto e = check_int(list[i], "end_port", p, 0, 65535, false, &end); !e.empty()) return e;
    if (start.get<long long>() > end.get<long long>()) return p + "start_port is greater than end_port";
    out->push_back({{"start_port", start}, {"end_port", end}});
  }
  return {};
}

std::string parse_service_list(const json& list, const std::string& path, json* out) {
  if (!list.is_array()) return path + " must be an array";
  *out = json::array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "].";
    const json& s = list[i];
    if (!s.is_object()) return p.substr(0, p.size() - 1) + " must be an object";
    std::string protocol;
    if (auto e = check_string(s, "protocol", p, true, 8, &protocol); !e.empty()) return e;
    json item = {{"protocol", protocol}};
    if (protocol == "TCP" || protocol == "UDP") {
      const char* key = protocol == "TCP" ? "tcp_port_range_list" : "udp_port_range_list";
      if (auto it = s.find(key); it != s.end()) {
        json ranges;
        if (auto e = parse_port_ranges(*it, p + key, &ranges); !e.empty()) return e;
        item[key] = std::move(ranges);
      }
    } else if (protocol == "ICMP") {
      if (auto it = s.find("icmp_type_code_list"); it != s.end()) {
        if (!it->is_array()) return p + "icmp_type_code_list must be an array";
        json codes = json::array();
        for (std::size_t k = 0; k < it->size(); ++k) {
          const std::string cp = p + "icmp_type_code_list[" + std::to_string(k) + "].";
          if (!(*it)[k].is_object()) return cp.substr(0, cp.size() - 1) + " must be an object";
          json tc = json::object(), v;
          if (auto e = check_int((*it)[k], "type", cp, 0, 255, false, &v); !e.empty()) return e;
          if (!v.is_null()) tc["type"] = v;
          v = nullptr;
          if (auto e = check_int((*it)[k], "code", cp, 0, 255, false, &v); !e.empty()) return e;
          if (!v.is_null()) tc["code"] = v;
          codes.push_back(std::move(tc));
        }
        item["icmp_type_code_list"] = std::move(codes);
      }
    } else if (protocol != "ALL") {
      return p + "protocol: expected ALL, ICMP, TCP or UDP, got '" + protocol + "'";
    }
    out->push_back(std::move(item));
  }
  return {};
}

std::string parse_group(const json& body, AddressGroup* out) {
  if (!body.is_object()) return "Request body must be a JSON object (an address_group).";
  if (auto e = check_string(body, "name", "", true, 64, &out->name); !e.empty()) return e;
  if (auto e = check_string(body, "description", "", false, 1000, &out->description); !e.empty()) {
    return e;
  }
  if (auto it = body.find("ip_address_block_list"); it != body.end()) {
    return parse_ip_blocks(*it, "ip_address_block_list", &out->ip_address_block_list);
  }
  out->ip_address_block_list = json::array();
  return {};
}

std::string parse_group(const json& body, ServiceGroup* out) {
  if (!body.is_object()) return "Request body must be a JSON object (a service_group).";
  if (auto e = check_string(body, "name", "", true, 64, &out->name); !e.empty()) return e;
  if (auto e = check_string(body, "description", "", false, 1000, &out->description); !e.empty()) {
    return e;
  }
  if (auto it = body.find("is_system_defined"); it != body.end()) {
    if (!it->is_boolean()) return "is_system_defined must be a boolean";
    out->is_system_defined = it->get<bool>();
  }
  auto it = body.find("service_list");
  if (it == body.end()) return "'service_list' is a required property";
  return parse_service_list(*it, "service_list", &out->service_list);
}

// What the v3 address and service group endpoints name differently.
struct V3GroupNames {
  std::string_view kind;       // "address_group": the error kind, the GET key
  std::string_view a_group;    // "An address group" (a name taken)
  std::string_view the_group;  // "Address group" (a group in use)
};
V3GroupNames v3_names(const AddressGroup&) { return {"address_group", "An address group", "Address group"}; }
V3GroupNames v3_names(const ServiceGroup&) { return {"service_group", "A service group", "Service group"}; }

std::string list_names(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 5; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 5) out += ", ...";
  return out;
}

ServerReply empty_ok() {
  ServerReply r;
  r.response.status = 200;
  return r;
}

// Every group reference ({kind, uuid}) and category filter of a v3 spec, for the usage checks.
template <class Fn>
void for_each_entry(const json& spec, Fn fn) {
  auto res = spec.find("resources");
  if (res == spec.end() || !res->is_object()) return;
  for (auto rk : kRuleKinds) {
    auto rule = res->find(std::string(rk));
    if (rule == res->end() || !rule->is_object()) continue;
    fn(*rule);
    for (auto dir : {"inbound_allow_list", "outbound_allow_list"}) {
      auto list = rule->find(dir);
      if (list == rule->end() || !list->is_array()) continue;
      for (const auto& e : *list) {
        if (e.is_object()) fn(e);
      }
    }
  }
}

bool filter_uses(const json& obj, const char* key, std::string_view cat_key, std::string_view value) {
  auto f = obj.find(key);
  if (f == obj.end() || !f->is_object()) return false;
  auto params = f->find("params");
  if (params == f->end() || !params->is_object()) return false;
  auto values = params->find(std::string(cat_key));
  if (values == params->end() || !values->is_array()) return false;
  return std::any_of(values->begin(), values->end(),
                     [&](const json& v) { return v.is_string() && v.get<std::string>() == value; });
}

}  // namespace

namespace detail {

json v3_group_json(const AddressGroup& ag) {
  return {{"address_group_string", ""},
          {"description", ag.description},
          {"ip_address_block_list", ag.ip_address_block_list},
          {"name", ag.name}};
}

json v3_group_json(const ServiceGroup& sg) {
  return {{"description", sg.description},
          {"is_system_defined", sg.is_system_defined},
          {"name", sg.name},
          {"service_list", sg.service_list}};
}

}  // namespace detail

// ---- usage -----------------------------------------------------------------------------------

std::vector<std::string> Simulator::policies_using_group_locked(std::string_view uuid) const {
  std::set<std::string> names;
  for (const auto& [id, rule] : rules_) {
    if (rule.entity.find(uuid) == std::string::npos) continue;  // cheap pre-filter
    const json spec = json::parse(rule.entity).at("spec");
    bool uses = false;
    for_each_entry(spec, [&](const json& e) {
      for (auto key : {"address_group_inclusion_list", "service_group_list"}) {
        auto list = e.find(key);
        if (list == e.end() || !list->is_array()) continue;
        for (const auto& ref : *list) {
          if (ref.is_object() && ref.value("uuid", std::string()) == uuid) uses = true;
        }
      }
    });
    if (uses) names.insert(rule.name);
  }
  return {names.begin(), names.end()};
}

std::vector<std::string> Simulator::policies_using_category_locked(std::string_view key,
                                                                   std::string_view value) const {
  std::set<std::string> names;
  const std::string quoted = "\"" + std::string(value) + "\"";
  for (const auto& [id, rule] : rules_) {
    if (rule.entity.find(quoted) == std::string::npos) continue;
    const json spec = json::parse(rule.entity).at("spec");
    bool uses = false;
    for_each_entry(spec, [&](const json& e) {
      for (auto f : {"filter", "first_entity_filter", "second_entity_filter"}) {
        if (filter_uses(e, f, key, value)) uses = true;
      }
      auto target = e.find("target_group");
      if (target != e.end() && target->is_object() && filter_uses(*target, "filter", key, value)) {
        uses = true;
      }
    });
    if (uses) names.insert(rule.name);
  }
  return {names.begin(), names.end()};
}

std::vector<std::string> Simulator::policies_using_group(std::string_view uuid) const {
  std::lock_guard lock(mu_);
  return policies_using_group_locked(uuid);
}

std::vector<std::string> Simulator::policies_using_category(std::string_view key,
                                                            std::string_view value) const {
  std::lock_guard lock(mu_);
  return policies_using_category_locked(key, value);
}

// ---- dispatch --------------------------------------------------------------------------------

http::ServerReply Simulator::dispatch_v3_objects(const http::HttpRequest& request,
                                                 const std::string& endpoint,
                                                 const std::vector<std::string_view>& parts) {
  if (endpoint == "category_keys_crud") return v3_category_key(request, percent_decode(parts[1]));
  if (endpoint == "category_values_crud") {
    return v3_category_value(request, percent_decode(parts[1]), percent_decode(parts[2]));
  }
  const std::string uuid = parts.size() == 2 ? std::string(parts[1]) : std::string();
  return endpoint == "address_groups_crud" ? v3_group(request, uuid, ags_, ag_uuid_)
                                           : v3_group(request, uuid, sgs_, sg_uuid_);
}

template <class Stored>
http::ServerReply Simulator::v3_group(const http::HttpRequest& request, const std::string& uuid,
                                      std::map<std::string, Stored>& stored, const UuidByName& uuid_by_name) {
  using Group = decltype(Stored::group);
  const V3GroupNames names = v3_names(Group{});
  const std::string_view kind = names.kind;
  if (uuid.empty()) {
    if (request.method != "POST") {
      return status_error(405, kind, "INVALID_REQUEST", "Method " + request.method + " not allowed; use POST.");
    }
    Group group;
    json body = json::parse(request.body, nullptr, false);
    if (auto err = parse_group(body, &group); !err.empty()) {
      return status_error(422, kind, "VALIDATION_ERROR", err);
    }
    if (uuid_by_name.count(group.name)) {
      return status_error(409, kind, "ENTITY_ALREADY_EXISTS",
                          std::string(names.a_group) + " named '" + group.name + "' already exists.");
    }
    const std::string id = new_uuid();
    stored[id] = Stored{std::move(group), 0};
    rebuild_group_views();
    return json_reply(200, json{{"kind", kind}, {"uuid", id}}.dump());
  }
  auto it = stored.find(uuid);
  if (it == stored.end()) {
    return status_error(404, kind, "ENTITY_NOT_FOUND", std::string(kind) + " with uuid " + uuid + " not found.");
  }
  if (request.method == "GET") {
    return json_reply(200, json{{kind, v3_group_json(it->second.group)}, {"uuid", uuid}}.dump());
  }
  if (request.method == "PUT") {
    Group group;
    json body = json::parse(request.body, nullptr, false);
    if (auto err = parse_group(body, &group); !err.empty()) {
      return status_error(422, kind, "VALIDATION_ERROR", err);
    }
    if (auto other = uuid_by_name.find(group.name); other != uuid_by_name.end() && other->second != uuid) {
      return status_error(409, kind, "ENTITY_ALREADY_EXISTS",
                          std::string(names.a_group) + " named '" + group.name + "' already exists.");
    }
    it->second.group = std::move(group);
    ++it->second.revision;
    rebuild_group_views();
    return json_reply(200, v3_group_json(it->second.group).dump());
  }
  if (request.method == "DELETE") {
    if (auto users = policies_using_group_locked(uuid); !users.empty()) {
      return status_error(409, kind, "ENTITY_IN_USE",
                          std::string(names.the_group) + " '" + it->second.group.name + "' is used by " +
                              std::to_string(users.size()) + " network security rule(s): " +
                              list_names(users) + ". Remove the references first.");
    }
    stored.erase(it);
    rebuild_group_views();
    return empty_ok();
  }
  return status_error(405, kind, "INVALID_REQUEST", "Method " + request.method + " not allowed.");
}

// GET and PUT of a category key (/categories/{name}): PUT creates it (201) or sets its
// description (200), as a PC does; its values are written one by one.
http::ServerReply Simulator::v3_category_key(const http::HttpRequest& request, const std::string& key) {
  const std::string_view kind = "category";
  auto def = category_defs_.find(key);
  auto key_status = [&](int status) {
    const CategoryKey& k = category_defs_.at(key);
    return json_reply(status, json{{"api_version", "3.1"}, {"name", k.name},
                                   {"description", k.description},
                                   {"system_defined", k.system_defined}}.dump());
  };
  if (request.method == "GET") {
    if (def == category_defs_.end()) return error_reply(404, kind, "Category " + key + " does not exist.");
    return key_status(200);
  }
  if (request.method != "PUT") return error_reply(405, kind, "Method " + request.method + " not allowed.");
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return error_reply(422, kind, "Request body must be a JSON object (a category_key).");
  }
  if (key.empty() || key.size() > 64) return error_reply(422, kind, "name must be 1 to 64 characters long");
  if (auto n = body.find("name"); n != body.end() && (!n->is_string() || n->get<std::string>() != key)) {
    return error_reply(422, kind, "name in the body must equal the name in the path ('" + key + "')");
  }
  std::string description;
  if (auto e = check_string(body, "description", "", false, 1000, &description); !e.empty()) {
    return error_reply(422, kind, e);
  }
  const bool exists = def != category_defs_.end();
  if (!exists) {
    category_defs_.emplace(key, CategoryKey{key, description, false, {}});
  } else if (def->second.system_defined) {
    return error_reply(403, kind, "Category " + key + " is system defined.");
  } else {
    def->second.description = description;
  }
  rebuild_category_views();
  return key_status(exists ? 200 : 201);
}

http::ServerReply Simulator::v3_category_value(const http::HttpRequest& request,
                                               const std::string& key, const std::string& value) {
  const std::string_view kind = "category";
  auto def = category_defs_.find(key);
  if (def == category_defs_.end()) {
    return error_reply(404, kind, "Category " + key + " does not exist.");
  }
  const bool exists = category_defined(key, value);
  auto value_status = [&](int status) {
    auto d = category_value_descriptions_.find(key + '\n' + value);
    json body = {{"api_version", "3.1"},
                 {"description", d == category_value_descriptions_.end() ? json(nullptr) : json(d->second)},
                 {"name", key},
                 {"system_defined", false},
                 {"value", value}};
    return json_reply(status, body.dump());
  };
  if (request.method == "GET") {
    if (!exists) return error_reply(404, kind, "Category value " + key + ":" + value + " does not exist.");
    return value_status(200);
  }
  if (request.method == "PUT") {
    json body = json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return error_reply(422, kind, "Request body must be a JSON object (a category_value).");
    }
    if (value.empty() || value.size() > 64) {
      return error_reply(422, kind, "value must be 1 to 64 characters long");
    }
    if (auto v = body.find("value"); v != body.end()) {
      if (!v->is_string() || v->get<std::string>() != value) {
        return error_reply(422, kind, "value in the body must equal the value in the path ('" + value + "')",
                           "CATEGORY_NAME_VALUE_MISMATCH");
      }
    }
    std::string description;
    if (auto e = check_string(body, "description", "", false, 1000, &description); !e.empty()) {
      return error_reply(422, kind, e);
    }
    if (body.contains("description")) {
      category_value_descriptions_[key + '\n' + value] = description;
    }
    if (!exists) {
      def->second.values.push_back(value);
      category_ext_id_[key + '\n' + value] = v4::uuid_from_hash(v4_rng_(), key + '\n' + value);
    }
    rebuild_category_views();
    return value_status(exists ? 200 : 201);
  }
  if (request.method == "DELETE") {
    if (!exists) return error_reply(404, kind, "Category value " + key + ":" + value + " does not exist.");
    if (auto users = policies_using_category_locked(key, value); !users.empty()) {
      return error_reply(409, kind,
                         "Category value " + key + ":" + value + " is used by " +
                             std::to_string(users.size()) + " network security rule(s): " +
                             list_names(users) + ". Remove the references first.",
                         "ENTITY_IN_USE");
    }
    auto& values = def->second.values;
    values.erase(std::remove(values.begin(), values.end(), value), values.end());
    category_ext_id_.erase(key + '\n' + value);
    category_value_descriptions_.erase(key + '\n' + value);
    rebuild_category_views();
    return empty_ok();
  }
  return error_reply(405, kind, "Method " + request.method + " not allowed.");
}

// ---- admin: force delete -----------------------------------------------------------------------

http::ServerReply Simulator::force_delete(const http::HttpRequest& request) {
  auto admin_error = [](int status, const std::string& message) {
    return json_reply(status, json{{"error", message}}.dump());
  };
  const json doc = json::parse(request.body, nullptr, false);
  const std::string usage =
      R"(body must be {"kind":"address_group"|"service_group", "uuid" or "name"} or )"
      R"({"kind":"category", "key", "value"})";
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("kind") || !doc.at("kind").is_string()) {
    return admin_error(400, usage);
  }
  auto str = [&](const char* k) {
    auto it = doc.find(k);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string kind = str("kind");
  if (kind == "category") {
    const std::string key = str("key"), value = str("value");
    if (key.empty() || value.empty()) return admin_error(400, usage);
    if (!category_defined(key, value)) {
      return admin_error(404, "category value " + key + ":" + value + " does not exist");
    }
    const auto users = policies_using_category_locked(key, value);
    auto& values = category_defs_.at(key).values;
    values.erase(std::remove(values.begin(), values.end(), value), values.end());
    category_ext_id_.erase(key + '\n' + value);
    category_value_descriptions_.erase(key + '\n' + value);
    rebuild_category_views();
    return json_reply(200, json{{"deleted", {{"kind", kind}, {"key", key}, {"value", value}}},
                                {"referenced_by", users}}.dump());
  }
  if (kind != "address_group" && kind != "service_group") return admin_error(400, usage);
  const bool ag = kind == "address_group";
  std::string uuid = str("uuid");
  if (uuid.empty()) {
    const std::string name = str("name");
    if (name.empty()) return admin_error(400, usage);
    const auto& names = ag ? ag_uuid_ : sg_uuid_;
    auto it = names.find(name);
    if (it == names.end()) return admin_error(404, kind + " named '" + name + "' does not exist");
    uuid = it->second;
  }
  if (ag ? !ags_.count(uuid) : !sgs_.count(uuid)) {
    return admin_error(404, kind + " with uuid " + uuid + " does not exist");
  }
  const std::string name = ag ? ags_.at(uuid).group.name : sgs_.at(uuid).group.name;
  const auto users = policies_using_group_locked(uuid);
  if (ag) {
    ags_.erase(uuid);
  } else {
    sgs_.erase(uuid);
  }
  rebuild_group_views();
  return json_reply(200, json{{"deleted", {{"kind", kind}, {"uuid", uuid}, {"name", name}}},
                              {"referenced_by", users}}.dump());
}

}  // namespace flowdrift::pcsim
