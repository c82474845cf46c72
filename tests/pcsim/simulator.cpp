#include "pcsim/simulator.hpp"

#include <algorithm>
#include <ctime>
#include <stdexcept>
#include <utility>

#include "pcsim/internal.hpp"
#include "pcsim/v4.hpp"

namespace flowdrift::pcsim {

using nlohmann::json;
using http::ServerReply;
using namespace detail;

namespace {

constexpr std::string_view kApiVersion = "3.1";
constexpr std::string_view kZeroHash = "00000000000000000000000000000000000000000000000000";
constexpr std::string_view kRuleResourceKinds[] = {"app_rule", "quarantine_rule", "ad_rule"};

// The body a PC with Flow Network Security Next-Gen enabled returns on the v3 rule APIs,
// byte for byte the fixture v3_error_410_gone_fns_ng.json (keys in its order).
constexpr std::string_view kGone410Body =
    R"({"api_version":"3.1","code":410,"kind":"network_security_rule","message_list":[{"message":)"
    R"("The network security rule APIs are no longer supported. Please use the network security )"
    R"(policy APIs instead. Refer to the Nutanix API documentation for additional details.",)"
    R"("reason":"GONE_ERROR"}],"state":"ERROR"})";

}  // namespace

namespace detail {

std::string format_time(std::chrono::system_clock::time_point tp) {
  std::time_t t = std::chrono::system_clock::to_time_t(tp);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

ServerReply json_reply(int status, std::string body) {
  ServerReply r;
  r.response.status = status;
  r.response.headers.push_back({"Content-Type", "application/json"});
  r.response.body = std::move(body);
  return r;
}

std::string_view default_reason(int status) {
  switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 403: return "ACCESS_DENIED";
    case 404: return "ENTITY_NOT_FOUND";
    case 405: return "INVALID_REQUEST";
    case 409: return "CONCURRENT_REQUESTS_NOT_ALLOWED";
    case 422: return "VALIDATION_ERROR";
    case 429: return "TOO_MANY_REQUESTS";
    case 503: return "SERVICE_UNAVAILABLE";
    default: return status >= 500 ? "INTERNAL_ERROR" : "INVALID_REQUEST";
  }
}

// The v3 error envelope (swagger network_security_rule_status).
ServerReply error_reply(int status, std::string_view kind, std::string_view message,
                        std::string_view reason) {
  json body = {{"api_version", kApiVersion},
               {"code", status},
               {"kind", kind},
               {"state", "ERROR"},
               {"message_list",
                json::array({{{"reason", reason.empty() ? default_reason(status) : reason},
                              {"message", message}}})}};
  return json_reply(status, body.dump());
}

// Real PCs answer 401 with a non-JSON body (PGC internal/client.go CheckResponse).
ServerReply unauthorized_reply() {
  ServerReply r;
  r.response.status = 401;
  r.response.headers.push_back({"Content-Type", "text/plain; charset=utf-8"});
  r.response.headers.push_back({"WWW-Authenticate", R"(Basic realm="Intent Gateway Login Required")"});
  r.response.body = "Authentication required: invalid or missing credentials.\n";
  return r;
}

}  // namespace detail

namespace {

std::string_view kind_of(const std::string& endpoint) {
  if (endpoint == "address_groups_list" || endpoint == "address_groups_crud") return "address_group";
  if (endpoint == "service_groups_list" || endpoint == "service_groups_crud") return "service_group";
  if (endpoint == "categories_list" || endpoint == "category_values_list" ||
      endpoint == "category_values_crud" || endpoint == "category_keys_crud") {
    return "category";
  }
  if (endpoint == "tasks") return "task";
  if (endpoint == "vms_list") return "vm";
  if (endpoint == "protection_rules_list") return "protection_rule";
  if (endpoint == "recovery_plans_list") return "recovery_plan";
  return "network_security_rule";
}

ServerReply status_fault_reply(int status, int retry_after_s, const std::string& endpoint) {
  if (status == 401) return unauthorized_reply();
  if (status == 410) return json_reply(410, std::string(kGone410Body));
  std::string message;
  switch (status) {
    case 403: message = "User is not authorized to perform this operation."; break;
    case 429: message = "Too many requests, please retry later."; break;
    case 500: message = "Internal Server Error."; break;
    case 503: message = "Service is unavailable, please retry later."; break;
    default: message = "Injected error " + std::to_string(status) + "."; break;
  }
  auto reply = error_reply(status, kind_of(endpoint), message);
  if (status == 429) {
    reply.response.headers.push_back({"Retry-After", std::to_string(retry_after_s)});
  }
  return reply;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

// Endpoint name (fault/stats key) of an API path below /api/nutanix/v3, "" if unknown.
std::string classify(const std::vector<std::string_view>& p) {
  if (p.size() == 2 && p[0] == "network_security_rules" && p[1] == "list") return "rules_list";
  if (!p.empty() && p.size() <= 2 && p[0] == "network_security_rules") return "rules_crud";
  if (p.size() == 2 && p[0] == "address_groups" && p[1] == "list") return "address_groups_list";
  if (!p.empty() && p.size() <= 2 && p[0] == "address_groups") return "address_groups_crud";
  if (p.size() == 2 && p[0] == "service_groups" && p[1] == "list") return "service_groups_list";
  if (!p.empty() && p.size() <= 2 && p[0] == "service_groups") return "service_groups_crud";
  if (p.size() == 2 && p[0] == "categories" && p[1] == "list") return "categories_list";
  if (p.size() == 3 && p[0] == "categories" && p[2] == "list") return "category_values_list";
  if (p.size() == 3 && p[0] == "categories") return "category_values_crud";
  if (p.size() == 2 && p[0] == "categories") return "category_keys_crud";
  if (p.size() == 2 && p[0] == "tasks") return "tasks";
  if (p.size() == 2 && p[1] == "list") {
    for (const char* coverage : {"vms", "protection_rules", "recovery_plans"}) {
      if (p[0] == coverage) return std::string(coverage) + "_list";
    }
  }
  return {};
}

constexpr std::string_view kV4Namespaces[] = {"microseg", "prism", "networking", "datapolicies",
                                              "vmm"};

// The namespace ("microseg", "prism", "networking", "datapolicies", "vmm") of a path below
// /api/<ns>/, "" if none.
std::string_view v4_path_namespace(std::string_view path) {
  for (auto ns : kV4Namespaces) {
    if (path.rfind("/api/" + std::string(ns) + "/", 0) == 0) return ns;
  }
  return {};
}

// The endpoint whose error envelope an unknown path of namespace `ns` answers with.
std::string v4_unknown_path_endpoint(std::string_view ns) {
  if (ns == "datapolicies") return "v4_entity_sync_policies";
  if (ns == "vmm") return "v4_vms";
  return ns == "prism" ? "v4_categories" : ns == "networking" ? "v4_vpcs" : "v4_policies";
}

// v4 endpoint name of a request to /api/<ns>/v4.<M>/config/<collection>[/<extId>] with
// M <= newest, "" if it is no v4 endpoint (unknown v4 paths answer a v4 404). A GET of a
// collection is the list endpoint; other methods on a collection and anything on
// COLLECTION/{extId} are its "_crud" endpoint (*id = the extId, "" for the collection);
// tasks/{extId} is v4_tasks. vmm paths have "ahv/config" where the others have "config";
// recovery-plans/{extId}/stages is the list v4_recovery_stages (*id = the plan's extId, any
// method: a list answers 405 to other methods). *minor = M.
std::string classify_v4(std::string_view path, std::string_view method, int newest, int* minor,
                        std::string* id) {
  struct V4Path {
    std::string_view ns, collection, endpoint;
    int since;  // the first v4.M that has it
  };
  static constexpr V4Path kPaths[] = {
      {"microseg", "policies", "v4_policies", 0},
      {"microseg", "address-groups", "v4_address_groups", 0},
      {"microseg", "service-groups", "v4_service_groups", 0},
      {"microseg", "entity-groups", "v4_entity_groups", 1},
      {"prism", "categories", "v4_categories", 0},
      {"prism", "tasks", "v4_tasks", 0},
      {"networking", "vpcs", "v4_vpcs", 0},
      {"datapolicies", "entity-sync-policies", "v4_entity_sync_policies", 1},
      {"datapolicies", "protection-policies", "v4_protection_policies", 0},
      {"datapolicies", "recovery-plans", "v4_recovery_plans", 2},
      {"vmm", "vms", "v4_vms", 0},
  };
  auto p = split_path(path);  // api, ns, v4.M, config, collection[, extId]
  if (p.size() >= 4 && p[1] == "vmm") {
    if (p[3] != "ahv") return {};
    p.erase(p.begin() + 3);  // api, vmm, v4.M, config, vms
  }
  if (p.size() < 5 || p.size() > 7 || p[3] != "config") return {};
  *minor = v4::parse_version(p[2]);
  for (const auto& route : kPaths) {
    if (route.ns != p[1] || route.collection != p[4]) continue;
    if (*minor < route.since || *minor > newest) continue;
    const bool tasks = route.endpoint == "v4_tasks";
    const bool coverage = route.ns == "vmm" || route.endpoint == "v4_protection_policies" ||
                          route.endpoint == "v4_recovery_plans";
    if (p.size() == 7) {
      if (route.endpoint != "v4_recovery_plans" || p[6] != "stages") return {};
      *id = std::string(p[5]);
      return "v4_recovery_stages";
    }
    // Lists only (no GET one); another method on the list answers its 405.
    if (coverage) return p.size() == 5 ? std::string(route.endpoint) : std::string();
    if (p.size() == 5) {
      if (tasks) return {};
      return std::string(route.endpoint) + (method == "GET" ? "" : "_crud");
    }
    *id = std::string(p[5]);
    return tasks ? std::string(route.endpoint) : std::string(route.endpoint) + "_crud";
  }
  return {};
}

bool is_v4_endpoint(const std::string& endpoint) { return endpoint.rfind("v4_", 0) == 0; }

}  // namespace

namespace detail {

// "microseg", "prism", "networking", "datapolicies" or "vmm": the namespace of an endpoint's v4
// types.
std::string_view v4_namespace(std::string_view endpoint) {
  if (endpoint.rfind("v4_vpcs", 0) == 0) return "networking";
  if (endpoint.rfind("v4_entity_sync_policies", 0) == 0 || endpoint == "v4_protection_policies" ||
      endpoint == "v4_recovery_plans" || endpoint == "v4_recovery_stages") {
    return "datapolicies";
  }
  if (endpoint == "v4_vms") return "vmm";
  return endpoint.rfind("v4_categories", 0) == 0 || endpoint == "v4_tasks" ? "prism" : "microseg";
}

std::string v4_error_code(std::string_view ns, int status) {
  const std::string_view prefix = ns == "prism"          ? "CTG-"
                                  : ns == "networking"   ? "NET-"
                                  : ns == "datapolicies" ? "DP-"
                                  : ns == "vmm"          ? "VMM-"
                                                         : "MIC-";
  return std::string(prefix) + "5" + std::to_string(status);
}

std::string_view v4_list_type(std::string_view endpoint) {
  if (endpoint.rfind("v4_address_groups", 0) == 0) return "microseg.v4.config.ListAddressGroupsApiResponse";
  if (endpoint.rfind("v4_entity_groups", 0) == 0) {
    return "microseg.v4.config.ListEntityGroupsApiResponse";
  }
  if (endpoint.rfind("v4_vpcs", 0) == 0) return "networking.v4.config.ListVpcsApiResponse";
  if (endpoint.rfind("v4_entity_sync_policies", 0) == 0) {
    return "datapolicies.v4.config.ListEntitySyncPoliciesApiResponse";
  }
  if (endpoint == "v4_vms") return "vmm.v4.ahv.config.ListVmsApiResponse";
  if (endpoint == "v4_protection_policies") {
    return "datapolicies.v4.config.ListProtectionPoliciesApiResponse";
  }
  if (endpoint == "v4_recovery_plans") return "datapolicies.v4.config.ListRecoveryPlansApiResponse";
  if (endpoint == "v4_recovery_stages") {
    return "datapolicies.v4.config.ListRecoveryStagesApiResponse";
  }
  if (endpoint.rfind("v4_service_groups", 0) == 0) return "microseg.v4.config.ListServiceGroupsApiResponse";
  if (endpoint.rfind("v4_categories", 0) == 0) return "prism.v4.config.ListCategoriesApiResponse";
  if (endpoint == "v4_tasks") return "prism.v4.config.GetTaskApiResponse";
  return "microseg.v4.config.ListNetworkSecurityPoliciesApiResponse";
}

ServerReply v4_error_reply(int status, std::string_view endpoint, std::string_view message) {
  const std::string_view ns = v4_namespace(endpoint);
  return json_reply(status,
                    v4::error_body(ns, v4_list_type(endpoint), v4_error_code(ns, status), message));
}

std::string percent_decode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      auto hex = [](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += in[i];
  }
  return out;
}

}  // namespace detail

namespace {

bool valid_api_mode(std::string_view mode) { return mode == "v3" || mode == "v4" || mode == "both"; }

bool valid_v4_version(std::string_view version) {
  const int minor = v4::parse_version(version);
  return minor >= 0 && minor <= v4::kNewestMinor;
}

[[noreturn]] void bad_v4_version(const std::string& version) {
  throw std::invalid_argument("pcsim: v4_version must be v4.0 .. v4." +
                              std::to_string(v4::kNewestMinor) + ", got '" + version + "'");
}

// Throws std::invalid_argument unless `ns` is a v4 namespace and `version` "none" or
// v4.0..v4.3 (or "" when `allow_clear`).
void check_namespace_version(const std::string& ns, const std::string& version, bool allow_clear) {
  if (std::find(std::begin(kV4Namespaces), std::end(kV4Namespaces), ns) == std::end(kV4Namespaces)) {
    throw std::invalid_argument("pcsim: no v4 namespace '" + ns +
                                "' (microseg, prism, networking, datapolicies, vmm)");
  }
  if (!(version == "none" || valid_v4_version(version) || (allow_clear && version.empty()))) {
    throw std::invalid_argument("pcsim: namespace " + ns + ": version must be none or v4.0 .. v4." +
                                std::to_string(v4::kNewestMinor) + ", got '" + version + "'");
  }
}

json make_status(const json& spec, const std::string& task_uuid) {
  auto desc = spec.find("description");
  return {{"description", desc == spec.end() ? json(nullptr) : *desc},
          {"execution_context", {{"task_uuid", json::array({task_uuid})}}},
          {"name", spec.at("name")},
          {"resources", spec.at("resources")},
          {"state", "COMPLETE"}};
}

// Validates an intent-input spec; returns an error message or "".
std::string validate_spec(const json& spec) {
  if (!spec.is_object()) return "'spec' is a required property";
  auto name = spec.find("name");
  if (name == spec.end() || !name->is_string() || name->get<std::string>().empty()) {
    return "'name' is a required property";
  }
  if (name->get<std::string>().size() > 64) return "spec.name is longer than 64 characters";
  auto res = spec.find("resources");
  if (res == spec.end() || !res->is_object()) return "'resources' is a required property";
  int kinds = 0;
  for (auto k : {"app_rule", "isolation_rule", "quarantine_rule", "ad_rule"}) {
    auto it = res->find(k);
    if (it != res->end()) {
      if (!it->is_object()) return std::string("spec.resources.") + k + " must be an object";
      ++kinds;
    }
  }
  if (kinds != 1) {
    return "spec.resources must hold exactly one of app_rule, isolation_rule, quarantine_rule, "
           "ad_rule";
  }
  return {};
}

// Reads an integer member; false (with *bad set) if present but not an integer.
bool read_int(const json& obj, const char* key, long long* out, bool* bad) {
  auto it = obj.find(key);
  if (it == obj.end()) return false;
  if (it->is_number_unsigned()) {
    auto v = it->get<std::uint64_t>();
    *out = v > 1'000'000'000ull ? 1'000'000'000ll : static_cast<long long>(v);
    return true;
  }
  if (!it->is_number_integer()) {
    *bad = true;
    return false;
  }
  *out = it->get<long long>();
  return true;
}

}  // namespace

namespace detail {
struct ListQuery {
  long long offset = 0;
  long long length = kDefaultPageLength;
  std::optional<std::string> sort_attribute;
  std::optional<std::string> sort_order;
  std::optional<std::string> filter;
  bool descending() const { return sort_order && *sort_order == "DESCENDING"; }
};

struct FaultOutcome {
  FaultKind kind = FaultKind::None;
  int status = 0;
  int retry_after_s = 0;
  int latency_ms = 0;
};
}  // namespace detail

namespace {

// Parses a v3 list request body; returns an error message ("" when fine).
std::string parse_list_query(const std::string& body, std::string_view kind,
                             detail::ListQuery* out);

// `reply` as the fault makes it: a hostile body (a 200 only), its latency, a cut body or a
// dropped connection.
ServerReply with_fault(ServerReply reply, const detail::FaultOutcome& fault) {
  if (is_hostile(fault.kind) && reply.response.status == 200) {
    apply_hostile(fault.kind, reply.response.body);
  }
  reply.delay = std::chrono::milliseconds(fault.latency_ms);
  if (fault.kind == FaultKind::Truncate) reply.fault = ServerReply::Fault::TruncateBody;
  if (fault.kind == FaultKind::Drop) reply.fault = ServerReply::Fault::DropConnection;
  return reply;
}

}  // namespace

// ---- construction ----------------------------------------------------------------------------

Simulator::Simulator(const SiteData& site, SimulatorOptions options)
    : options_(std::move(options)),
      rng_(options_.instance_seed ? *options_.instance_seed : std::random_device{}()) {
  if (!valid_api_mode(options_.api_mode)) {
    throw std::invalid_argument("pcsim: api_mode must be v3, v4 or both, got '" +
                                options_.api_mode + "'");
  }
  if (!valid_v4_version(options_.v4_version)) bad_v4_version(options_.v4_version);
  for (const auto& [ns, version] : options_.v4_namespace_versions) {
    check_namespace_version(ns, version, false);
  }
  if (options_.max_page_length < 1 || options_.max_page_length > kMaxPageLength) {
    throw std::invalid_argument("pcsim: max_page_length must be 1.." +
                                std::to_string(kMaxPageLength) + ", got " +
                                std::to_string(options_.max_page_length));
  }
  if (options_.max_v4_page_length < 1 || options_.max_v4_page_length > v4::kMaxLimit) {
    throw std::invalid_argument("pcsim: max_v4_page_length must be 1.." +
                                std::to_string(v4::kMaxLimit) + ", got " +
                                std::to_string(options_.max_v4_page_length));
  }
  newest_minor_ = v4::parse_version(options_.v4_version);
  owner_uuid_ = new_uuid();
  // A random day in 2023 at which this "PC" was set up; objects were created after it.
  epoch_ = std::chrono::system_clock::from_time_t(1672531200) +
           std::chrono::seconds(rng_() % (365ull * 86400));

  for (const auto& ag : site.address_groups) {
    std::string uuid = new_uuid();
    ags_[uuid] = StoredAddressGroup{ag, 0};
  }
  for (const auto& sg : site.service_groups) {
    std::string uuid = new_uuid();
    sgs_[uuid] = StoredServiceGroup{sg, 0};
  }
  for (const auto& c : site.categories) {
    auto [it, fresh] = category_defs_.emplace(c.name, c);
    if (!fresh) it->second.values.insert(it->second.values.end(), c.values.begin(), c.values.end());
  }
  rebuild_group_views();  // rules resolve group names through ag_uuid_/sg_uuid_

  rules_.reserve(site.rules.size());
  for (const auto& r : site.rules) {
    json spec = r.spec;
    resolve_references(spec);
    assign_rule_ids(spec, true);
    const auto [created, updated] = random_times(rng_);
    insert_rule(std::move(spec), r.categories, static_cast<long long>(rng_() % 10), created,
                updated, std::nullopt);
  }
  for (auto& f : options_.faults) faults_.push_back({f, 0, 0});

  // The v4 view has its own generator so that the v3 identifiers of a seeded instance are the
  // same as before v4 existed. Group extIds are the v3 uuids (one object, two APIs).
  v4_rng_.seed(options_.instance_seed ? *options_.instance_seed ^ 0x76345f7669657721ull
                                      : std::random_device{}());
  v4_salt_ = v4_rng_();
  for (const auto& c : site.categories) {
    for (const auto& v : c.values) {
      category_ext_id_.emplace(c.name + '\n' + v, v4::uuid_from_hash(v4_rng_(), c.name + '\n' + v));
    }
  }
  rebuild_category_views();
  load_v4_native(site.v4);
  // The v4 view served from the start, as the v3 one (entities are kept serialized).
  if (options_.api_mode != "v3") {
    for (const auto& [id, rule] : rules_) v4_policy_text(rule);
  }
}

void Simulator::rebuild_group_views() {
  ++v4_epoch_;
  address_groups_.clear();
  service_groups_.clear();
  v4_address_groups_.clear();
  v4_service_groups_.clear();
  ag_uuid_.clear();
  sg_uuid_.clear();
  std::vector<std::pair<std::string, std::string>> v4_ags, v4_sgs;  // (sort key, object)
  // Each group's v3 list entity ({<kind>: ..., uuid}) and v4 object, by (name, uuid).
  auto view = [](const auto& stored_groups, const char* kind, UuidByName& uuid_by_name,
                 std::vector<Listed>& v3_list, auto& v4_list) {
    for (const auto& [uuid, stored] : stored_groups) {
      const auto& g = stored.group;
      uuid_by_name.emplace(g.name, uuid);  // names are unique: writes refuse duplicates
      const std::string key = g.name + '\n' + uuid;
      v3_list.push_back({key, json{{kind, v3_group_json(g)}, {"uuid", uuid}}.dump()});
      v4_list.emplace_back(key, v4_group_object(uuid, g).dump());
    }
  };
  view(ags_, "address_group", ag_uuid_, address_groups_, v4_ags);
  view(sgs_, "service_group", sg_uuid_, service_groups_, v4_sgs);
  auto by_key = [](const Listed& a, const Listed& b) { return a.sort_key < b.sort_key; };
  std::sort(address_groups_.begin(), address_groups_.end(), by_key);
  std::sort(service_groups_.begin(), service_groups_.end(), by_key);
  std::sort(v4_ags.begin(), v4_ags.end());
  std::sort(v4_sgs.begin(), v4_sgs.end());
  for (auto& [key, obj] : v4_ags) v4_address_groups_.push_back(std::move(obj));
  for (auto& [key, obj] : v4_sgs) v4_service_groups_.push_back(std::move(obj));
}

void Simulator::rebuild_category_views() {
  ++v4_epoch_;
  category_keys_.clear();
  category_values_.clear();
  v4_categories_.clear();
  std::vector<std::pair<std::string, std::string>> v4_cats;  // (key\nvalue, object)
  for (const auto& [name, c] : category_defs_) {
    json key = {{"description", c.description}, {"name", c.name}, {"system_defined", c.system_defined}};
    category_keys_.push_back({c.name, key.dump()});
    auto& values = category_values_[c.name];
    for (const auto& v : c.values) {
      auto d = category_value_descriptions_.find(c.name + '\n' + v);
      json value = {{"description", d == category_value_descriptions_.end() ? json(nullptr) : json(d->second)},
                    {"name", c.name},
                    {"system_defined", false},
                    {"value", v}};
      values.push_back({v, value.dump()});
      auto id = category_ext_id_.find(c.name + '\n' + v);
      if (id != category_ext_id_.end()) {
        v4_cats.emplace_back(c.name + '\n' + v,
                             v4::category(id->second, c.name, v, c.description, c.system_defined).dump());
      }
    }
    std::sort(values.begin(), values.end(),
              [](const Listed& a, const Listed& b) { return a.sort_key < b.sort_key; });
  }
  std::sort(v4_cats.begin(), v4_cats.end());
  for (auto& [key, obj] : v4_cats) v4_categories_.push_back(std::move(obj));
}

bool Simulator::category_defined(const std::string& key, const std::string& value) const {
  auto it = category_defs_.find(key);
  return it != category_defs_.end() &&
         std::find(it->second.values.begin(), it->second.values.end(), value) !=
             it->second.values.end();
}

std::string Simulator::new_uuid() {
  const std::uint64_t hi = rng_();
  return v4::uuid_text(hi, rng_());
}

std::string Simulator::now_time() const { return format_time(std::chrono::system_clock::now()); }

std::pair<std::string, std::string> Simulator::random_times(std::mt19937_64& rng) const {
  const auto created = epoch_ + std::chrono::seconds(rng() % (90ull * 86400));
  const auto updated = created + std::chrono::seconds(1 + rng() % 3600);
  return {format_time(created), format_time(updated)};
}

void Simulator::resolve_references(json& spec) const {
  auto res = spec.find("resources");
  if (res == spec.end() || !res->is_object()) return;
  const std::string policy = spec.value("name", std::string("?"));
  auto resolve_list = [&](json& list, const char* kind,
                          const std::map<std::string, std::string, std::less<>>& names) {
    if (!list.is_array()) return;
    for (auto& ref : list) {
      if (!ref.is_object() || ref.contains("uuid")) continue;  // explicit uuid: kept (dangling tests)
      auto name = ref.find("name");
      if (name == ref.end() || !name->is_string()) {
        throw std::runtime_error("pcsim: policy '" + policy + "' has a " + kind +
                                 " reference with neither uuid nor name");
      }
      auto it = names.find(name->get<std::string>());
      if (it == names.end()) {
        throw std::runtime_error("pcsim: policy '" + policy + "' references unknown " + kind +
                                 " '" + name->get<std::string>() + "'");
      }
      // Real rules carry only {kind, uuid}: the client must resolve names itself.
      ref = {{"kind", kind}, {"uuid", it->second}};
    }
  };
  for (auto rk : kRuleResourceKinds) {
    auto rule = res->find(rk);
    if (rule == res->end() || !rule->is_object()) continue;
    for (auto dir : {"inbound_allow_list", "outbound_allow_list"}) {
      auto list = rule->find(dir);
      if (list == rule->end() || !list->is_array()) continue;
      for (auto& entry : *list) {
        if (!entry.is_object()) continue;
        auto ags = entry.find("address_group_inclusion_list");
        if (ags != entry.end()) resolve_list(*ags, "address_group", ag_uuid_);
        auto sgs = entry.find("service_group_list");
        if (sgs != entry.end()) resolve_list(*sgs, "service_group", sg_uuid_);
      }
    }
  }
}

// rule_id is "system generated": per PC, so loading renumbers from a random base; writes only
// fill entries that have none.
void Simulator::assign_rule_ids(json& spec, bool renumber) {
  auto res = spec.find("resources");
  if (res == spec.end() || !res->is_object()) return;
  for (auto rk : kRuleResourceKinds) {
    auto rule = res->find(rk);
    if (rule == res->end() || !rule->is_object()) continue;
    long long next = 0;
    if (!renumber) {
      for (auto dir : {"inbound_allow_list", "outbound_allow_list"}) {
        auto list = rule->find(dir);
        if (list == rule->end() || !list->is_array()) continue;
        for (const auto& e : *list) {
          auto id = e.find("rule_id");
          if (id != e.end() && id->is_number_integer()) next = std::max(next, id->get<long long>());
        }
      }
    }
    if (next == 0) next = static_cast<long long>(rng_() % 2000);
    for (auto dir : {"inbound_allow_list", "outbound_allow_list"}) {
      auto list = rule->find(dir);
      if (list == rule->end() || !list->is_array()) continue;
      for (auto& e : *list) {
        if (!e.is_object()) continue;
        if (renumber || !e.contains("rule_id")) e["rule_id"] = ++next;
      }
    }
  }
}

std::string Simulator::insert_rule(json spec, json categories, long long spec_version,
                                   const std::string& creation_time, const std::string& update_time,
                                   std::optional<std::string> uuid) {
  std::string id = uuid ? *uuid : new_uuid();
  json md = {{"categories", categories.is_object() ? categories : json::object()},
             {"categories_mapping", json::object()},
             {"creation_time", creation_time},
             {"kind", "network_security_rule"},
             {"last_update_time", update_time},
             {"owner_reference", {{"kind", "user"}, {"name", options_.user}, {"uuid", owner_uuid_}}},
             {"spec_hash", kZeroHash},
             {"spec_version", spec_version},
             {"uuid", id}};
  json status = make_status(spec, new_uuid());
  std::string name = spec.at("name").get<std::string>();
  json entity = {{"metadata", std::move(md)}, {"spec", std::move(spec)}, {"status", std::move(status)}};
  rules_[id] = Rule{id, std::move(name), entity.dump(), {}, 0};
  sorted_dirty_ = true;
  return id;
}

const std::vector<const Simulator::Rule*>& Simulator::sorted_rules() {
  if (sorted_dirty_) {
    sorted_.clear();
    sorted_.reserve(rules_.size());
    for (const auto& [id, r] : rules_) sorted_.push_back(&r);
    std::sort(sorted_.begin(), sorted_.end(), [](const Rule* a, const Rule* b) {
      return a->name != b->name ? a->name < b->name : a->uuid < b->uuid;
    });
    sorted_dirty_ = false;
  }
  return sorted_;
}

// ---- request handling ------------------------------------------------------------------------

http::ServerReply Simulator::handle(const http::HttpRequest& request) {
  std::lock_guard lock(mu_);
  const std::string_view path = request.path();
  std::string endpoint = "unknown";
  std::vector<std::string_view> parts;
  bool admin = path == "/_pcsim" || path.rfind("/_pcsim/", 0) == 0;
  if (admin) {
    endpoint = "admin";
  } else if (path.rfind(kApiBase, 0) == 0) {
    parts = split_path(path.substr(kApiBase.size()));
    std::string e = classify(parts);
    if (!e.empty()) endpoint = e;
  }
  const std::string_view v4_ns = admin ? std::string_view() : v4_path_namespace(path);
  std::string v4_id;
  if (!v4_ns.empty()) {
    // A namespace that lags (or lacks) the PC's v4 version: its newer paths stay unknown.
    int newest = newest_minor_;
    auto lag = options_.v4_namespace_versions.find(std::string(v4_ns));
    if (lag != options_.v4_namespace_versions.end()) {
      newest = lag->second == "none" ? -1 : std::min(newest, v4::parse_version(lag->second));
    }
    std::string e =
        newest < 0 ? std::string() : classify_v4(path, request.method, newest, &request_minor_, &v4_id);
    if (!e.empty()) endpoint = e;
  }

  // The `writes` fault endpoint counts what changes the site: POST, PUT and DELETE of objects.
  writing_ = request.method != "GET" && endpoint.size() > 5 &&
             endpoint.compare(endpoint.size() - 5, 5, "_crud") == 0;
  ServerReply reply;
  auto auth = request.header("Authorization");
  auto creds = auth ? http::parse_basic_auth(*auth) : std::nullopt;
  const auto key = request.header("X-ntnx-api-key");
  const bool key_ok = key && !options_.api_key.empty() && *key == options_.api_key;
  if (key && !key_ok) creds.reset();  // a wrong key is refused, whatever else comes with it
  const bool reader =
      key_ok || (creds && creds->user == options_.user && creds->password == options_.password);
  const bool writer = creds && !options_.write_user.empty() && creds->user == options_.write_user &&
                      creds->password == options_.write_password;
  if (!reader && !writer) {
    reply = unauthorized_reply();
  } else if (writing_ && !writer && !options_.write_user.empty()) {
    reply = error_reply(403, "unknown", "User " + (creds ? creds->user : std::string("of the API key")) +
                                           " may not change this Prism Central.");
  } else if (admin) {
    reply = handle_admin(request, path);
  } else if (endpoint == "unknown" && !v4_ns.empty()) {
    reply = v4_error_reply(404, v4_unknown_path_endpoint(v4_ns),
                           "Path " + std::string(path) + " not found.");
  } else if (endpoint == "unknown") {
    reply = error_reply(404, "unknown", "Path " + std::string(path) + " not found.");
  } else if (is_v4_endpoint(endpoint)) {
    reply = dispatch_v4(request, endpoint, v4_id);
  } else if (options_.api_mode == "v4" && (endpoint == "rules_list" || endpoint == "rules_crud")) {
    // An FNS Next-Gen PC: the v3 rule APIs are gone (before faults: it is the PC's state).
    reply = json_reply(410, std::string(kGone410Body));
  } else {
    reply = dispatch(request, endpoint, parts);
  }

  std::string status_key = reply.fault == ServerReply::Fault::DropConnection
                               ? "dropped"
                               : std::to_string(reply.response.status);
  record(endpoint, status_key);
  return reply;
}

void Simulator::record(const std::string& endpoint, const std::string& status_key) {
  ++total_requests_;
  auto& ep = by_endpoint_[endpoint];
  ++ep["total"];
  ++ep[status_key];
  ++by_status_[status_key];
}

detail::FaultOutcome Simulator::evaluate_faults(const std::string& endpoint, bool is_list,
                                                   long long offset) {
  FaultOutcome out;
  for (auto& f : faults_) {
    const auto kind = f.spec.kind;
    if (f.spec.endpoint == "writes") {
      if (!writing_) continue;
    } else if (f.spec.endpoint != "*" && f.spec.endpoint != endpoint) {
      continue;
    }
    if ((kind == FaultKind::Empty || kind == FaultKind::TotalMoved || is_hostile(kind)) &&
        !is_list) {
      continue;
    }
    if (kind == FaultKind::TotalMoved && offset <= 0) continue;
    // One outcome per request: a later fault with an effect does not see (or count) it.
    if (kind != FaultKind::None && out.kind != FaultKind::None) continue;
    ++f.seen;
    if (f.seen <= f.spec.after) continue;
    if (f.spec.count >= 0 && f.applied >= f.spec.count) continue;
    ++f.applied;
    out.latency_ms += f.spec.latency_ms;
    if (f.spec.latency_ms > 0) ++faults_applied_["latency"];
    if (kind != FaultKind::None) {
      out.kind = kind;
      out.status = f.spec.status;
      out.retry_after_s = f.spec.retry_after_s;
      ++faults_applied_[std::string(to_string(kind))];
    }
  }
  return out;
}

http::ServerReply Simulator::dispatch(const http::HttpRequest& request, const std::string& endpoint,
                                      std::vector<std::string_view>& parts) {
  const bool is_list = endpoint.size() > 5 && endpoint.compare(endpoint.size() - 5, 5, "_list") == 0;
  const bool objects_crud = endpoint == "address_groups_crud" ||
                            endpoint == "service_groups_crud" || endpoint == "category_values_crud" ||
                            endpoint == "category_keys_crud";
  const std::string_view kind = kind_of(endpoint);

  ListQuery query;
  std::string query_error;
  if (is_list) {
    query_error = parse_list_query(request.body, endpoint == "categories_list" ||
                                                         endpoint == "category_values_list"
                                                     ? std::string_view("category")
                                                     : kind,
                                   &query);
    query.length = std::min<long long>(query.length, options_.max_page_length);
  }
  FaultOutcome fault = evaluate_faults(endpoint, is_list, query_error.empty() ? query.offset : 0);

  ServerReply reply;
  if (fault.kind == FaultKind::Status) {
    reply = status_fault_reply(fault.status, fault.retry_after_s, endpoint);
  } else if (fault.kind == FaultKind::Malformed) {
    // Starts like a real answer, then stops being JSON (a proxy error page spliced in).
    reply = json_reply(200, R"({"api_version":"3.1","metadata":{"kind":")" + std::string(kind) +
                                R"(","total_matches":<html><body>502 Bad Gateway</body></html>)");
  } else if (is_list && request.method != "POST") {
    reply = error_reply(405, kind, "Method " + request.method + " not allowed; use POST.");
  } else if (is_list && !query_error.empty()) {
    reply = error_reply(422, kind, query_error);
  } else if (endpoint == "rules_list") {
    reply = list_rules(query, fault);
  } else if (endpoint == "address_groups_list") {
    reply = list_cached(query, fault, address_groups_, {{"kind", "address_group"}}, false);
  } else if (endpoint == "service_groups_list") {
    reply = list_cached(query, fault, service_groups_, {{"kind", "service_group"}}, true);
  } else if (endpoint == "vms_list") {
    reply = list_cached(query, fault, vms_, {{"kind", "vm"}}, true);
  } else if (endpoint == "protection_rules_list") {
    reply = list_cached(query, fault, protection_rules_, {{"kind", "protection_rule"}}, true);
  } else if (endpoint == "recovery_plans_list") {
    reply = list_cached(query, fault, recovery_plans_, {{"kind", "recovery_plan"}}, true);
  } else if (endpoint == "categories_list") {
    reply = list_cached(query, fault, category_keys_, {{"kind", "category_key"}, {"filter", ""}}, true);
  } else if (endpoint == "category_values_list") {
    auto key = percent_decode(parts[1]);
    auto it = category_values_.find(key);
    if (it == category_values_.end()) {
      reply = error_reply(404, "category", "Category " + key + " does not exist.");
    } else {
      reply = list_cached(query, fault, it->second, {{"kind", "category"}, {"filter", ""}}, true);
    }
  } else if (objects_crud) {
    reply = dispatch_v3_objects(request, endpoint, parts);
  } else if (endpoint == "tasks") {
    if (request.method != "GET") {
      reply = error_reply(405, kind, "Method " + request.method + " not allowed.");
    } else {
      reply = get_task(std::string(parts[1]));
    }
  } else {  // rules_crud
    if (parts.size() == 1) {
      reply = request.method == "POST"
                  ? create_rule(request)
                  : error_reply(405, kind, "Method " + request.method + " not allowed.");
    } else {
      std::string uuid(parts[1]);
      if (request.method == "GET") {
        reply = get_rule(uuid);
      } else if (request.method == "PUT") {
        reply = update_rule(uuid, request);
      } else if (request.method == "DELETE") {
        reply = delete_rule(uuid);
      } else {
        reply = error_reply(405, kind, "Method " + request.method + " not allowed.");
      }
    }
  }

  return with_fault(std::move(reply), fault);
}

namespace {

std::string parse_list_query(const std::string& body, std::string_view kind,
                             detail::ListQuery* out) {
  json doc = json::object();
  if (body.find_first_not_of(" \t\r\n") != std::string::npos) {
    doc = json::parse(body, nullptr, false);
    if (doc.is_discarded()) return "Request body is not valid JSON.";
  }
  if (!doc.is_object()) return "Request body must be a JSON object.";
  auto k = doc.find("kind");
  if (k != doc.end() && (!k->is_string() || k->get<std::string>() != kind)) {
    return "kind must be '" + std::string(kind) + "'.";
  }
  bool bad = false;
  if (read_int(doc, "offset", &out->offset, &bad) && out->offset < 0) {
    return "offset: " + std::to_string(out->offset) + " is less than the minimum of 0";
  }
  if (bad) return "offset must be an integer.";
  if (read_int(doc, "length", &out->length, &bad)) {
    if (out->length < 1) {
      return "length: " + std::to_string(out->length) + " is less than the minimum of 1";
    }
    out->length = std::min<long long>(out->length, kMaxPageLength);
  }
  if (bad) return "length must be an integer.";
  auto sa = doc.find("sort_attribute");
  if (sa != doc.end()) {
    if (!sa->is_string()) return "sort_attribute must be a string.";
    out->sort_attribute = sa->get<std::string>();
  }
  auto so = doc.find("sort_order");
  if (so != doc.end()) {
    if (!so->is_string() || (so->get<std::string>() != "ASCENDING" &&
                             so->get<std::string>() != "DESCENDING")) {
      return "sort_order must be ASCENDING or DESCENDING.";
    }
    out->sort_order = so->get<std::string>();
  }
  auto f = doc.find("filter");
  if (f != doc.end()) {
    if (!f->is_string()) return "filter must be a string.";
    out->filter = f->get<std::string>();
  }
  return {};
}

// {"api_version":"3.1","metadata":{...},"entities":[e1,e2,...]} from cached entity texts.
template <class Get>
std::string page_body(const json& metadata, std::size_t count, Get get) {
  std::string md = metadata.dump();
  std::size_t size = md.size() + 64;
  for (std::size_t i = 0; i < count; ++i) size += get(i).size() + 1;
  std::string out;
  out.reserve(size);
  out += R"({"api_version":"3.1","metadata":)";
  out += md;
  out += R"(,"entities":[)";
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out += ',';
    out += get(i);
  }
  out += "]}";
  return out;
}

void add_paging_metadata(json& md, const detail::ListQuery& q, std::size_t count) {
  md["length"] = count;
  md["offset"] = q.offset;
  if (q.sort_attribute) md["sort_attribute"] = *q.sort_attribute;
  if (q.sort_order) md["sort_order"] = *q.sort_order;
  if (q.filter) md["filter"] = *q.filter;
}

}  // namespace

http::ServerReply Simulator::list_rules(const ListQuery& q, const FaultOutcome& f) {
  if (options_.churn && q.offset == 0 && f.kind != FaultKind::Empty) churn_one();
  const auto& all = sorted_rules();
  const std::size_t n = f.kind == FaultKind::Empty ? 0 : all.size();
  const std::size_t start = std::min<std::size_t>(static_cast<std::size_t>(q.offset), n);
  const std::size_t count = std::min<std::size_t>(static_cast<std::size_t>(q.length), n - start);
  // The fixture v3_nsr_list_isolation_rule.json shows "security_rule" as the list kind.
  json md = {{"kind", "security_rule"},
             {"total_matches", n + (f.kind == FaultKind::TotalMoved ? 1 : 0)}};
  add_paging_metadata(md, q, count);
  const bool desc = q.descending();
  return json_reply(200, page_body(md, count, [&](std::size_t i) -> const std::string& {
                      std::size_t idx = start + i;
                      return all[desc ? n - 1 - idx : idx]->entity;
                    }));
}

http::ServerReply Simulator::list_cached(const ListQuery& q, const FaultOutcome& f,
                                         const std::vector<Listed>& items, json metadata,
                                         bool paging_metadata) {
  const std::size_t n = f.kind == FaultKind::Empty ? 0 : items.size();
  const std::size_t start = std::min<std::size_t>(static_cast<std::size_t>(q.offset), n);
  const std::size_t count = std::min<std::size_t>(static_cast<std::size_t>(q.length), n - start);
  metadata["total_matches"] = n + (f.kind == FaultKind::TotalMoved ? 1 : 0);
  if (paging_metadata) add_paging_metadata(metadata, q, count);
  const bool desc = q.descending();
  return json_reply(200, page_body(metadata, count, [&](std::size_t i) -> const std::string& {
                      std::size_t idx = start + i;
                      return items[desc ? n - 1 - idx : idx].entity;
                    }));
}

void Simulator::churn_one() {
  const auto& all = sorted_rules();
  if (all.empty()) return;
  Rule& rule = rules_.at(all[churn_cursor_++ % all.size()]->uuid);
  json e = json::parse(rule.entity);
  json& spec = e.at("spec");
  std::string desc = spec.value("description", std::string());
  if (auto pos = desc.find(" (rev "); pos != std::string::npos) desc.resize(pos);
  desc += " (rev " + std::to_string(++churn_edits_) + ")";
  spec["description"] = desc;
  e.at("status")["description"] = desc;
  json& md = e.at("metadata");
  md["spec_version"] = md.at("spec_version").get<long long>() + 1;
  md["last_update_time"] = now_time();
  rule.entity = e.dump();
  rule.v4_epoch = 0;
}

// ---- v4 -------------------------------------------------------------------------------------

http::ServerReply Simulator::dispatch_v4(const http::HttpRequest& request, const std::string& endpoint,
                                         std::string_view id) {
  const std::string path(request.path());
  if (options_.api_mode == "v3") {
    // A PC without FNS Next-Gen has no v4 microseg API (before faults: it is the PC's state).
    return v4_error_reply(404, endpoint, "Path " + path + " not found.");
  }
  const bool is_list = endpoint.find("_crud") == std::string::npos && endpoint != "v4_tasks";
  v4::Page page;
  const v4::PageError page_error = is_list ? v4::parse_page(request, &page) : v4::PageError{};
  const long long offset = page_error.attribute.empty() ? page.page * page.limit : 0;
  FaultOutcome fault = evaluate_faults(endpoint, is_list, offset);

  ServerReply reply;
  if (fault.kind == FaultKind::Status) {
    if (fault.status == 401) {
      reply = unauthorized_reply();
    } else {
      reply = v4_error_reply(fault.status, endpoint,
                             "Injected error " + std::to_string(fault.status) + ".");
      if (fault.status == 429) {
        reply.response.headers.push_back({"Retry-After", std::to_string(fault.retry_after_s)});
      }
    }
  } else if (fault.kind == FaultKind::Malformed) {
    reply = json_reply(200, R"({"$objectType":")" + std::string(v4_list_type(endpoint)) +
                                R"(","metadata":{"totalAvailableResults":<html><body>502 Bad Gateway</body></html>)");
  } else if (!is_list) {
    reply = dispatch_v4_object(request, endpoint, std::string(id));
  } else if (request.method != "GET") {
    reply = v4_error_reply(405, endpoint, "Method " + request.method + " not allowed; use GET.");
  } else if (!page_error.attribute.empty()) {
    reply = json_reply(400, v4::schema_error_body(v4_namespace(endpoint), v4_list_type(endpoint),
                                                  path, page_error, now_time()));
  } else if (endpoint == "v4_recovery_stages" && !coverage_plan_by_id(std::string(id))) {
    reply = v4_error_reply(404, endpoint, "Recovery plan " + std::string(id) + " not found.");
  } else {
    if (endpoint == "v4_policies" && options_.churn && page.page == 0 &&
        fault.kind != FaultKind::Empty) {
      churn_one();
    }
    std::size_t n = 0;
    std::vector<std::string> items;
    if (fault.kind != FaultKind::Empty) {
      const long long served = std::min<long long>(page.limit, options_.max_v4_page_length);
      items = v4_list_page(endpoint, std::string(id), static_cast<std::size_t>(offset),
                           static_cast<std::size_t>(served), &n);
    }
    const std::size_t total = n + (fault.kind == FaultKind::TotalMoved ? 1 : 0);
    reply = json_reply(200, v4::list_body(v4_list_type(endpoint), path, page, total, items,
                                          v4_item_type(endpoint)));
    reply.response.headers.push_back({"ETag", v4::etag_of(reply.response.body)});
  }

  return with_fault(std::move(reply), fault);
}

v4::IdSource Simulator::v4_ids() const {
  v4::IdSource ids;
  ids.category = [this](const std::string& key, const std::string& value) {
    auto it = category_ext_id_.find(key + '\n' + value);
    // A value the site lacks still gets a stable id, which resolves to nothing.
    return it != category_ext_id_.end() ? it->second
                                        : v4::uuid_from_hash(v4_salt_, "category\n" + key + '\n' + value);
  };
  ids.derived = [this](const std::string& text) { return v4::uuid_from_hash(v4_salt_, text); };
  return ids;
}

// The v4 form of a v3-stored policy, with the data file's policy_fields members merged in.
nlohmann::json Simulator::v4_policy_of(const Rule& rule) const {
  json policy = v4::policy_from_v3(json::parse(rule.entity), v4_ids());
  if (auto fields = policy_fields_.find(rule.uuid); fields != policy_fields_.end()) {
    for (const auto& [key, value] : fields->second.items()) policy[key] = value;
  }
  return policy;
}

const std::string& Simulator::v4_policy_text(const Rule& rule) const {
  if (rule.v4_epoch != v4_epoch_) {
    rule.v4_text = v4_policy_of(rule).dump();
    rule.v4_epoch = v4_epoch_;
  }
  return rule.v4_text;
}

// ---- CRUD ------------------------------------------------------------------------------------

http::ServerReply Simulator::get_rule(const std::string& uuid) {
  auto it = rules_.find(uuid);
  if (it == rules_.end()) {
    return error_reply(404, "network_security_rule",
                       "network_security_rule with uuid " + uuid + " not found.");
  }
  std::string body = R"({"api_version":"3.1",)";
  body.append(it->second.entity, 1);
  return json_reply(200, std::move(body));
}

namespace {

// 202 body of POST/PUT: the new metadata and spec, status PENDING with a task.
std::string accepted_body(const json& entity, const std::string& task_uuid) {
  json body = {{"api_version", kApiVersion},
               {"metadata", entity.at("metadata")},
               {"spec", entity.at("spec")},
               {"status", {{"state", "PENDING"}, {"execution_context", {{"task_uuid", task_uuid}}}}}};
  return body.dump();
}

json task_json(const std::string& task_uuid, const std::string& operation, std::string_view kind,
               const std::string& entity_uuid, const std::string& time) {
  return {{"api_version", kApiVersion},
          {"uuid", task_uuid},
          {"status", "SUCCEEDED"},
          {"percentage_complete", 100},
          {"operation_type", operation},
          {"progress_message", operation},
          {"creation_time", time},
          {"completion_time", time},
          {"entity_reference_list",
           json::array({{{"kind", kind}, {"uuid", entity_uuid}}})}};
}

}  // namespace

std::string Simulator::add_v3_task(const std::string& operation, std::string_view kind,
                                   const std::string& entity_uuid) {
  std::string task = new_uuid();
  tasks_[task] = task_json(task, operation, kind, entity_uuid, now_time());
  return task;
}

namespace {

// A rule write's body is a JSON object with an object `metadata`; else the 422.
std::optional<ServerReply> rule_body_error(const json& body) {
  const std::string_view kind = "network_security_rule";
  if (body.is_discarded() || !body.is_object()) {
    return error_reply(422, kind, "Request body must be a JSON object.");
  }
  auto md = body.find("metadata");
  if (md == body.end() || !md->is_object()) {
    return error_reply(422, kind, "'metadata' is a required property");
  }
  return std::nullopt;
}

// ... and holds a valid `spec`; else the 422.
std::optional<ServerReply> rule_spec_error(const json& body) {
  const std::string_view kind = "network_security_rule";
  auto spec = body.find("spec");
  if (spec == body.end()) return error_reply(422, kind, "'spec' is a required property");
  if (auto err = validate_spec(*spec); !err.empty()) return error_reply(422, kind, err);
  return std::nullopt;
}

}  // namespace

std::optional<ServerReply> Simulator::resolved_spec(const json& spec, json* out) {
  *out = spec;
  try {
    resolve_references(*out);
  } catch (const std::runtime_error& e) {
    return error_reply(422, "network_security_rule", e.what(), "INVALID_REFERENCE");
  }
  assign_rule_ids(*out, false);
  return std::nullopt;
}

http::ServerReply Simulator::create_rule(const http::HttpRequest& request) {
  const std::string_view kind = "network_security_rule";
  json body = json::parse(request.body, nullptr, false);
  if (auto refused = rule_body_error(body)) return *refused;
  auto md = body.find("metadata");
  auto mk = md->find("kind");
  if (mk == md->end() || !mk->is_string() || mk->get<std::string>() != kind) {
    return error_reply(422, kind, "metadata.kind must be 'network_security_rule'");
  }
  if (auto refused = rule_spec_error(body)) return *refused;

  std::optional<std::string> uuid;
  if (auto u = md->find("uuid"); u != md->end()) {
    if (!u->is_string()) return error_reply(422, kind, "metadata.uuid must be a string");
    if (rules_.count(u->get<std::string>())) {
      return error_reply(409, kind, "Entity with uuid " + u->get<std::string>() + " already exists.",
                         "ENTITY_ALREADY_EXISTS");
    }
    uuid = u->get<std::string>();
  }
  json new_spec;
  if (auto refused = resolved_spec(body.at("spec"), &new_spec)) return *refused;
  json cats = md->contains("categories") ? md->at("categories") : json::object();
  const std::string now = now_time();
  std::string id = insert_rule(std::move(new_spec), std::move(cats), 0, now, now, uuid);
  std::string task = new_uuid();
  tasks_[task] = task_json(task, "create_network_security_rule", kind, id, now);
  return json_reply(202, accepted_body(json::parse(rules_.at(id).entity), task));
}

http::ServerReply Simulator::update_rule(const std::string& uuid, const http::HttpRequest& request) {
  const std::string_view kind = "network_security_rule";
  auto it = rules_.find(uuid);
  if (it == rules_.end()) {
    return error_reply(404, kind, "network_security_rule with uuid " + uuid + " not found.");
  }
  json body = json::parse(request.body, nullptr, false);
  if (auto refused = rule_body_error(body)) return *refused;
  auto md = body.find("metadata");
  auto sv = md->find("spec_version");
  if (sv == md->end() || !sv->is_number_integer()) {
    return error_reply(422, kind, "metadata.spec_version is required for an update");
  }
  if (auto refused = rule_spec_error(body)) return *refused;

  json entity = json::parse(it->second.entity);
  const long long current = entity.at("metadata").at("spec_version").get<long long>();
  if (sv->get<long long>() != current) {
    return error_reply(409, kind,
                       "Edit conflict: please retry change. Entity CAS version mismatch "
                       "(spec_version " + std::to_string(sv->get<long long>()) + ", current " +
                           std::to_string(current) + ").");
  }
  json new_spec;
  if (auto refused = resolved_spec(body.at("spec"), &new_spec)) return *refused;
  json cats = md->contains("categories") && md->at("categories").is_object()
                  ? md->at("categories")
                  : entity.at("metadata").at("categories");
  const std::string now = now_time();
  const std::string created = entity.at("metadata").at("creation_time").get<std::string>();
  rules_.erase(it);
  insert_rule(std::move(new_spec), std::move(cats), current + 1, created, now, uuid);
  std::string task = new_uuid();
  tasks_[task] = task_json(task, "update_network_security_rule", kind, uuid, now);
  return json_reply(202, accepted_body(json::parse(rules_.at(uuid).entity), task));
}

http::ServerReply Simulator::delete_rule(const std::string& uuid) {
  auto it = rules_.find(uuid);
  if (it == rules_.end()) {
    return error_reply(404, "network_security_rule",
                       "network_security_rule with uuid " + uuid + " not found.");
  }
  json categories = json::parse(it->second.entity).at("metadata").at("categories");
  rules_.erase(it);
  sorted_dirty_ = true;
  std::string task = new_uuid();
  tasks_[task] = task_json(task, "delete_network_security_rule", "network_security_rule", uuid,
                           now_time());
  // Shape of the fixture v3_nsr_delete_response.json: task_uuid a string, spec "".
  json body = {{"status", {{"state", "DELETE_PENDING"}, {"execution_context", {{"task_uuid", task}}}}},
               {"spec", ""},
               {"api_version", kApiVersion},
               {"metadata", {{"kind", "network_security_rule"}, {"categories", categories}}}};
  return json_reply(202, body.dump());
}

http::ServerReply Simulator::get_task(const std::string& uuid) {
  auto it = tasks_.find(uuid);
  if (it == tasks_.end()) return error_reply(404, "task", "Task " + uuid + " not found.");
  return json_reply(200, it->second.dump());
}

// ---- admin -----------------------------------------------------------------------------------

http::ServerReply Simulator::handle_admin(const http::HttpRequest& request, std::string_view path) {
  auto admin_error = [](int status, const std::string& message) {
    return json_reply(status, json{{"error", message}}.dump());
  };
  if (path == "/_pcsim/faults") {
    if (request.method == "GET") return json_reply(200, fault_list().dump());
    if (request.method == "DELETE") {
      faults_.clear();
      return json_reply(200, fault_list().dump());
    }
    if (request.method == "POST") {
      try {
        json doc = json::parse(request.body, nullptr, false);
        std::vector<FaultSpec> specs = doc.is_discarded()
                                           ? std::vector<FaultSpec>{parse_fault(request.body)}
                                           : parse_faults_json(doc);
        for (auto& s : specs) faults_.push_back({std::move(s), 0, 0});
      } catch (const std::invalid_argument& e) {
        return admin_error(400, e.what());
      }
      return json_reply(200, fault_list().dump());
    }
    return admin_error(405, "use GET, POST or DELETE");
  }
  if (path == "/_pcsim/stats") {
    if (request.method == "GET") return json_reply(200, stats_document().dump());
    if (request.method == "DELETE") {
      reset_stats_locked();
      return json_reply(200, R"({"reset":true})");
    }
    return admin_error(405, "use GET or DELETE");
  }
  if (path == "/_pcsim/entity_sync") return admin_entity_sync(request);
  if (path == "/_pcsim/coverage") return admin_coverage(request);
  if (path == "/_pcsim/churn") {
    if (request.method == "POST") {
      json doc = json::parse(request.body, nullptr, false);
      auto en = doc.is_object() ? doc.find("enabled") : doc.end();
      if (doc.is_discarded() || !doc.is_object() || en == doc.end() || !en->is_boolean()) {
        return admin_error(400, R"(body must be {"enabled": true|false})");
      }
      options_.churn = en->get<bool>();
    } else if (request.method != "GET") {
      return admin_error(405, "use GET or POST");
    }
    return json_reply(200, json{{"enabled", options_.churn}, {"edits", churn_edits_}}.dump());
  }
  if (path == "/_pcsim/mode") {
    return admin_setting(request, "mode", options_.api_mode, valid_api_mode,
                         R"(body must be {"mode": "v3"|"v4"|"both"})");
  }
  if (path == "/_pcsim/version") {
    auto reply = admin_setting(request, "version", options_.v4_version, valid_v4_version,
                               R"(body must be {"version": "v4.0" .. "v4.)" +
                                   std::to_string(v4::kNewestMinor) + "\"}");
    newest_minor_ = v4::parse_version(options_.v4_version);
    return reply;
  }
  if (path == "/_pcsim/force_delete") {
    if (request.method != "POST") return admin_error(405, "use POST");
    return force_delete(request);
  }
  return admin_error(404, "unknown admin path " + std::string(path));
}

http::ServerReply Simulator::admin_setting(const http::HttpRequest& request, const char* key,
                                          std::string& setting, bool (*valid)(std::string_view),
                                          const std::string& usage) {
  if (request.method == "POST") {
    json doc = json::parse(request.body, nullptr, false);
    auto value = doc.is_object() ? doc.find(key) : doc.end();
    if (!doc.is_object() || value == doc.end() || !value->is_string() ||
        !valid(value->get<std::string>())) {
      return json_reply(400, json{{"error", usage}}.dump());
    }
    setting = value->get<std::string>();
  } else if (request.method != "GET") {
    return json_reply(405, json{{"error", "use GET or POST"}}.dump());
  }
  return json_reply(200, json{{key, setting}}.dump());
}

nlohmann::json Simulator::fault_list() const {
  json list = json::array();
  for (const auto& f : faults_) {
    json j = to_json(f.spec);
    j["seen"] = f.seen;
    j["applied"] = f.applied;
    list.push_back(std::move(j));
  }
  return json{{"faults", list}};
}

nlohmann::json Simulator::stats_document() const {
  json s = {{"total", total_requests_},
            {"endpoints", by_endpoint_},
            {"status", by_status_},
            {"faults_applied", faults_applied_},
            {"churn", options_.churn},
            {"churn_edits", churn_edits_},
            {"rules", rules_.size()},
            {"api_mode", options_.api_mode},
            {"v4_version", options_.v4_version}};
  s["faults"] = fault_list().at("faults");
  return s;
}

void Simulator::reset_stats_locked() {
  total_requests_ = 0;
  by_endpoint_.clear();
  by_status_.clear();
  faults_applied_.clear();
}

// ---- direct access ---------------------------------------------------------------------------

void Simulator::add_fault(FaultSpec spec) {
  std::lock_guard lock(mu_);
  faults_.push_back({std::move(spec), 0, 0});
}

void Simulator::clear_faults() {
  std::lock_guard lock(mu_);
  faults_.clear();
}

std::vector<FaultSpec> Simulator::faults() const {
  std::lock_guard lock(mu_);
  std::vector<FaultSpec> out;
  for (const auto& f : faults_) out.push_back(f.spec);
  return out;
}

void Simulator::set_churn(bool on) {
  std::lock_guard lock(mu_);
  options_.churn = on;
}

bool Simulator::churn() const {
  std::lock_guard lock(mu_);
  return options_.churn;
}

nlohmann::json Simulator::stats() const {
  std::lock_guard lock(mu_);
  return stats_document();
}

void Simulator::reset_stats() {
  std::lock_guard lock(mu_);
  reset_stats_locked();
}

void Simulator::set_api_mode(const std::string& mode) {
  if (!valid_api_mode(mode)) {
    throw std::invalid_argument("pcsim: api_mode must be v3, v4 or both, got '" + mode + "'");
  }
  std::lock_guard lock(mu_);
  options_.api_mode = mode;
}

std::string Simulator::api_mode() const {
  std::lock_guard lock(mu_);
  return options_.api_mode;
}

void Simulator::set_v4_version(const std::string& version) {
  if (!valid_v4_version(version)) bad_v4_version(version);
  std::lock_guard lock(mu_);
  options_.v4_version = version;
  newest_minor_ = v4::parse_version(version);
}

void Simulator::set_v4_namespace_version(const std::string& ns, const std::string& version) {
  check_namespace_version(ns, version, true);
  std::lock_guard lock(mu_);
  if (version.empty()) {
    options_.v4_namespace_versions.erase(ns);
  } else {
    options_.v4_namespace_versions[ns] = version;
  }
}

std::string Simulator::v4_version() const {
  std::lock_guard lock(mu_);
  return options_.v4_version;
}

std::size_t Simulator::rule_count() const {
  std::lock_guard lock(mu_);
  return rules_.size();
}

std::vector<std::string> Simulator::rule_names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> names;
  names.reserve(rules_.size());
  for (const auto& [id, r] : rules_) names.push_back(r.name);
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<nlohmann::json> Simulator::rule_by_name(std::string_view name) const {
  std::lock_guard lock(mu_);
  const Rule* best = nullptr;
  for (const auto& [id, r] : rules_) {
    if (r.name == name && (!best || r.uuid < best->uuid)) best = &r;
  }
  if (!best) return std::nullopt;
  return json::parse(best->entity);
}

std::optional<std::string> Simulator::address_group_uuid(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = ag_uuid_.find(name);
  if (it == ag_uuid_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Simulator::service_group_uuid(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = sg_uuid_.find(name);
  if (it == sg_uuid_.end()) return std::nullopt;
  return it->second;
}

std::string Simulator::add_rule(const SiteRule& rule) {
  std::lock_guard lock(mu_);
  if (auto err = validate_spec(rule.spec); !err.empty()) {
    throw std::invalid_argument("pcsim add_rule: " + err);
  }
  json spec = rule.spec;
  resolve_references(spec);
  assign_rule_ids(spec, false);
  const std::string now = now_time();
  return insert_rule(std::move(spec), rule.categories, 0, now, now, std::nullopt);
}

bool Simulator::edit_rule(std::string_view name, const std::function<void(nlohmann::json&)>& edit) {
  std::lock_guard lock(mu_);
  const Rule* target = nullptr;
  for (const auto& r : sorted_rules()) {
    if (r->name == name) {
      target = r;
      break;
    }
  }
  if (!target) return false;
  const std::string uuid = target->uuid;
  json entity = json::parse(target->entity);
  json spec = entity.at("spec");
  edit(spec);
  if (auto err = validate_spec(spec); !err.empty()) {
    throw std::invalid_argument("pcsim edit_rule: " + err);
  }
  resolve_references(spec);
  assign_rule_ids(spec, false);
  const auto& md = entity.at("metadata");
  insert_rule(std::move(spec), md.at("categories"), md.at("spec_version").get<long long>() + 1,
              md.at("creation_time").get<std::string>(), now_time(), uuid);
  return true;
}

bool Simulator::remove_rule(std::string_view name) {
  std::lock_guard lock(mu_);
  for (const auto& r : sorted_rules()) {
    if (r->name == name) {
      const std::string uuid = r->uuid;  // r points into the node being erased
      rules_.erase(uuid);
      sorted_dirty_ = true;
      return true;
    }
  }
  return false;
}

}  // namespace flowdrift::pcsim
