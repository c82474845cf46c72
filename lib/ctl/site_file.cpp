#include "ctl/site_file.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file_bytes.hpp"
#include "core/json_scan.hpp"
#include "core/json_strict.hpp"
#include "core/json_stream.hpp"
#include "policy/baseline.hpp"

namespace flowdrift::ctl {
using policy::LoadedBaseline;
using policy::kBaselineFormat;
using policy::read_baseline;
using policy::is_yaml_path;
using policy::load_baseline;

namespace {

using nlohmann::json;

Error fail(ErrorReason reason, const std::string& name, const std::string& what) {
  return make_error(reason, name + ": " + what);
}

Result<std::vector<json>> array_at(const json& doc, const char* key, const std::string& name,
                                   bool required) {
  auto it = doc.find(key);
  if (it == doc.end()) {
    if (required) return fail(ErrorReason::Malformed, name, std::string("/") + key + ": missing");
    return std::vector<json>{};
  }
  if (!it->is_array()) {
    return fail(ErrorReason::Malformed, name, std::string("/") + key + ": expected an array");
  }
  return it->get<std::vector<json>>();
}

Result<policy::V3SiteData> from_v3_dump(const json& doc, const std::string& name) {
  policy::V3SiteData d;
  auto rules = array_at(doc, "network_security_rules", name, true);
  if (!rules) return rules.error();
  d.rules = std::move(*rules);
  for (auto [key, target] : {std::pair{"address_groups", &d.address_groups},
                             std::pair{"service_groups", &d.service_groups},
                             std::pair{"category_keys", &d.category_keys}}) {
    auto a = array_at(doc, key, name, true);
    if (!a) return a.error();
    *target = std::move(*a);
  }
  auto values = doc.find("category_values");
  if (values == doc.end() || !values->is_object()) {
    return fail(ErrorReason::Malformed, name, "/category_values: expected an object");
  }
  for (const auto& [key, list] : values->items()) {
    if (!list.is_array()) {
      return fail(ErrorReason::Malformed, name, "/category_values/" + key + ": expected an array");
    }
    d.category_values.emplace(key, list.get<std::vector<json>>());
  }
  return d;
}

// The lists of a v4 dump. Entity groups and VPCs came with v4.1 and later: dumps written
// before do not have them.
struct V4DumpList {
  const char* key;
  std::vector<json> policy::V4SiteData::*items;
  bool required;
};
constexpr V4DumpList kV4DumpLists[] = {
    {"policies", &policy::V4SiteData::policies, true},
    {"address_groups", &policy::V4SiteData::address_groups, true},
    {"service_groups", &policy::V4SiteData::service_groups, true},
    {"categories", &policy::V4SiteData::categories, true},
    {"entity_groups", &policy::V4SiteData::entity_groups, false},
    {"vpcs", &policy::V4SiteData::vpcs, false},
};

// A v4 dump's /api_versions: the version of each namespace the site was fetched with.
json versions_json(const prism::V4Versions& versions) {
  json out = json::object();
  for (const auto& ns : prism::kV4Namespaces) out[std::string(ns.name)] = versions.*ns.version;
  return out;
}

// Absent in dumps written before flowdrift negotiated versions: all "".
Result<prism::V4Versions> dump_versions(const json& doc, const std::string& name) {
  prism::V4Versions out;
  auto it = doc.find("api_versions");
  if (it == doc.end()) return out;
  if (!it->is_object()) return fail(ErrorReason::Malformed, name, "/api_versions: expected an object");
  for (const auto& ns : prism::kV4Namespaces) {
    const std::string key(ns.name);
    auto v = it->find(key);
    if (v == it->end()) continue;
    if (!v->is_string()) {
      return fail(ErrorReason::Malformed, name, "/api_versions/" + key + ": expected a string");
    }
    out.*ns.version = v->get<std::string>();
  }
  return out;
}

// A v4 dump: its site data, and the versions it was fetched with into `out`.
Result<policy::V4SiteData> read_v4_dump(const json& doc, const std::string& name,
                                        LoadedSite& out) {
  auto versions = dump_versions(doc, name);
  if (!versions) return versions.error();
  out.api_versions = std::move(*versions);
  return v4_dump_data(doc, name);
}

// The API a dump holds: version 2 says so in /api; version 1 dumps were all v3.
Result<config::Api> dump_api(const json& doc, const std::string& name) {
  auto version = doc.find("version");
  const int v = version != doc.end() && version->is_number_integer() ? version->get<int>() : 0;
  if (v != 1 && v != kDumpVersion) {
    return fail(ErrorReason::Malformed, name,
                "/version: expected 1 or " + std::to_string(kDumpVersion) +
                    " (dump from another flowdrift version?)");
  }
  auto api = doc.find("api");
  if (api == doc.end() && v == 1) return config::Api::V3;
  if (api == doc.end() || !api->is_string()) {
    return fail(ErrorReason::Malformed, name, "/api: missing (expected \"v3\" or \"v4\")");
  }
  const auto a = api->get<std::string>();
  const auto parsed = config::parse_api(a);
  if (parsed != config::Api::V3 && (parsed != config::Api::V4 || v == 1)) {
    return fail(ErrorReason::Malformed, name,
                "/api: \"" + a + "\" is not an API a version " + std::to_string(v) +
                    " dump holds (expected " + (v == 1 ? "\"v3\")" : "\"v3\" or \"v4\")"));
  }
  return *parsed;
}

// ---------------------------------------------------------------------------------------------
// v3 list responses, read from the flat scan: each rule is parsed alone by the site builder,
// as a poll reads a page, never the whole file as one DOM.

// One v3 listing a site file may hold: its metadata kinds, what the listing is called in
// messages, and what it lists.
struct V3ListKind {
  std::vector<std::string_view> kinds;  // /metadata/kind values accepted
  const char* listing;                  // "a network_security_rules list"
  const char* what;                     // "policies"
};
const V3ListKind kV3Rules{{"network_security_rule", "security_rule"},
                          "a network_security_rules list", "policies"};
const V3ListKind kV3AddressGroups{{"address_group"}, "an address_groups list", "address groups"};
const V3ListKind kV3ServiceGroups{{"service_group"}, "a service_groups list", "service groups"};

// The metadata of a v3 list response whose /entities is an array (`array`) of `n` entities:
// its kind is `list`'s, and it is complete (metadata.total_matches equals n).
Result<void> check_v3_list(json_scan::JsonRef doc, const std::string& name, const V3ListKind& list,
                           bool array, std::uint64_t n) {
  auto meta = doc.find("metadata");
  if (!meta || !meta->is_object()) {
    return fail(ErrorReason::Malformed, name, "/metadata: missing or not an object");
  }
  if (auto kind = meta->find("kind"); kind && kind->is_string()) {
    const auto k = kind->str();
    if (std::find(list.kinds.begin(), list.kinds.end(), k) == list.kinds.end()) {
      return fail(ErrorReason::Malformed, name,
                  "/metadata/kind: \"" + k + "\" is not " + list.listing);
    }
  }
  if (!array) return fail(ErrorReason::Malformed, name, "/entities: expected an array");
  const auto total_at = meta->find("total_matches");
  const auto total = total_at ? total_at->uint64() : std::nullopt;
  if (!total) return fail(ErrorReason::Malformed, name, "/metadata/total_matches: missing or not a count");
  if (*total > n) {
    return fail(ErrorReason::Truncated, name,
                "incomplete: " + std::to_string(n) + " of " + std::to_string(*total) + " " +
                    list.what + " (metadata.total_matches); fetch every page, or use "
                    "`flowdriftctl dump`");
  }
  if (*total < n) {
    return fail(ErrorReason::Malformed, name,
                "/metadata/total_matches: " + std::to_string(*total) + " is less than the " +
                    std::to_string(n) + " entities listed");
  }
  return {};
}

// The entities of a v3 list response, complete.
Result<std::vector<json_scan::JsonRef>> v3_list_entities(json_scan::JsonRef doc,
                                                         const std::string& name,
                                                         const V3ListKind& list) {
  const auto entities = doc.find("entities");
  const bool array = entities && entities->is_array();
  const std::uint64_t n = array ? entities->size() : 0;
  if (auto r = check_v3_list(doc, name, list, array, n); !r) return r.error();
  return entities->elements();
}

// ---------------------------------------------------------------------------------------------
// v4 list responses

// One v4 listing a site file may hold: what it lists, the suffix of its response $objectType,
// and where it comes from (for messages).
struct V4ListKind {
  const char* what;
  const char* object_type;
  const char* endpoint;
  const char* option;  // the diff option suffix that gives it ("" for the policies themselves)
};
constexpr V4ListKind kV4Policies{"policies", "ListNetworkSecurityPoliciesApiResponse",
                                 "GET /api/microseg/v4.0/config/policies", ""};
constexpr V4ListKind kV4Categories{"categories", "ListCategoriesApiResponse",
                                   "GET /api/prism/v4.0/config/categories", "categories"};
constexpr V4ListKind kV4AddressGroups{"address groups", "ListAddressGroupsApiResponse",
                                      "GET /api/microseg/v4.0/config/address-groups",
                                      "address-groups"};
constexpr V4ListKind kV4ServiceGroups{"service groups", "ListServiceGroupsApiResponse",
                                      "GET /api/microseg/v4.0/config/service-groups",
                                      "service-groups"};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string string_at(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A JSON pointer for messages: the document root is "/".
std::string place(const std::string& pointer) { return pointer.empty() ? "/" : pointer; }

// The v4 ErrorResponse a document's `data` carries ("code: message" of its first AppMessage,
// possibly empty), or nullopt when it carries none. Someone saved an error instead of a list.
std::optional<std::string> error_response(const json& doc) {
  if (!doc.is_object()) return std::nullopt;
  auto data = doc.find("data");
  if (data == doc.end() || !data->is_object()) return std::nullopt;
  if (!ends_with(string_at(*data, "$objectType"), "error.ErrorResponse")) return std::nullopt;
  std::string text;
  auto error = data->find("error");
  if (error != data->end() && error->is_array() && !error->empty()) {
    text = string_at(error->front(), "code");
    const std::string message = string_at(error->front(), "message");
    if (!message.empty()) text += (text.empty() ? "" : ": ") + message;
  } else if (error != data->end() && error->is_object()) {
    text = string_at(*error, "error");
  }
  return text;
}

// Is this document (not a dump, not v3) meant as a v4 response? A list page, an array of
// pages, or a single-object GET response.
bool looks_v4(const json& doc) {
  if (doc.is_array()) return !doc.empty() && doc.front().is_object() && looks_v4(doc.front());
  if (!doc.is_object()) return false;
  if (ends_with(string_at(doc, "$objectType"), "ApiResponse")) return true;
  auto meta = doc.find("metadata");
  if (meta != doc.end() && meta->is_object() && meta->contains("totalAvailableResults")) return true;
  return doc.contains("data");
}

// Every item of one v4 listing: a list response, or a JSON array of the pages of one listing.
// Complete only when the items add up to metadata.totalAvailableResults (same on every page)
// with no extId listed twice, as the daemon's fetch requires.
Result<std::vector<json>> read_v4_list(const json& doc, const std::string& name,
                                       const V4ListKind& kind) {
  std::vector<const json*> pages;
  const bool paged = doc.is_array();
  if (paged) {
    if (doc.empty()) {
      return fail(ErrorReason::Malformed, name,
                  std::string("an empty array (expected the pages of one ") + kind.endpoint +
                      " listing)");
    }
    for (const auto& p : doc) pages.push_back(&p);
  } else {
    pages.push_back(&doc);
  }
  std::vector<json> items;
  std::set<std::string> ext_ids;
  std::optional<long long> total;
  for (std::size_t i = 0; i < pages.size(); ++i) {
    const json& page = *pages[i];
    const std::string at = paged ? "/" + std::to_string(i) : "";
    if (!page.is_object()) {
      return fail(ErrorReason::Malformed, name, place(at) + ": expected a v4 list response object");
    }
    if (auto e = error_response(page)) {
      return fail(ErrorReason::Malformed, name,
                  place(at) + ": a v4 ErrorResponse, not a list" + (e->empty() ? "" : " (" + *e + ")"));
    }
    const std::string type = string_at(page, "$objectType");
    if (!type.empty() && !ends_with(type, kind.object_type)) {
      return fail(ErrorReason::Malformed, name,
                  at + "/$objectType: \"" + type + "\" is not a " + kind.what + " list (" +
                      kind.endpoint + " answers ..." + kind.object_type + ")");
    }
    auto meta = page.find("metadata");
    if (meta == page.end() || !meta->is_object()) {
      return fail(ErrorReason::Malformed, name,
                  at + "/metadata: missing or not an object (a v4 list response carries "
                       "metadata.totalAvailableResults)");
    }
    auto t = meta->find("totalAvailableResults");
    if (t == meta->end() || !t->is_number_integer() || t->get<long long>() < 0) {
      return fail(ErrorReason::Malformed, name,
                  at + "/metadata/totalAvailableResults: missing or not a count");
    }
    if (total && *total != t->get<long long>()) {
      return fail(ErrorReason::Malformed, name,
                  at + "/metadata/totalAvailableResults: " + std::to_string(t->get<long long>()) +
                      " differs from the first page's " + std::to_string(*total) +
                      " (pages of different listings?)");
    }
    total = t->get<long long>();
    auto data = page.find("data");
    if (data == page.end() || data->is_null()) continue;  // an empty page has no data
    if (!data->is_array()) {
      return fail(ErrorReason::Malformed, name, at + "/data: expected an array");
    }
    for (std::size_t j = 0; j < data->size(); ++j) {
      const json& item = (*data)[j];
      const std::string ipath = at + "/data/" + std::to_string(j);
      if (!item.is_object()) {
        return fail(ErrorReason::Malformed, name, ipath + ": expected an object");
      }
      if (!item.contains("extId") && item.contains("ext_id")) {
        return fail(ErrorReason::Malformed, name,
                    ipath + ": snake_case keys (ext_id) are Python SDK to_dict() output; give the "
                            "REST response as Prism Central sends it (camelCase)");
      }
      const std::string id = string_at(item, "extId");
      if (!id.empty() && !ext_ids.insert(id).second) {
        return fail(ErrorReason::Malformed, name,
                    ipath + "/extId: " + id + " listed twice" +
                        (paged ? " (overlapping pages?)" : ""));
      }
      items.push_back(item);
    }
  }
  const auto n = static_cast<long long>(items.size());
  if (*total > n) {
    return fail(ErrorReason::Truncated, name,
                "incomplete: " + std::to_string(n) + " of " + std::to_string(*total) + " " +
                    kind.what +
                    " (metadata.totalAvailableResults); fetch every page ($page=0,1,...) and "
                    "give them as one JSON array (jq -s . page-*.json), or use "
                    "`flowdriftctl dump`");
  }
  if (*total < n) {
    return fail(ErrorReason::Malformed, name,
                "/metadata/totalAvailableResults: " + std::to_string(*total) +
                    " is less than the " + std::to_string(n) + " " + kind.what + " listed");
  }
  return items;
}

// A single policy's GET response ({"data": {policy}}), as one policy.
Result<std::vector<json>> read_v4_entity(const json& doc, const std::string& name) {
  if (auto e = error_response(doc)) {
    return fail(ErrorReason::Malformed, name,
                "/: a v4 ErrorResponse, not a policy" + (e->empty() ? "" : " (" + *e + ")"));
  }
  const std::string type = string_at(doc, "$objectType");
  if (!type.empty() && !ends_with(type, "GetNetworkSecurityPolicyApiResponse")) {
    return fail(ErrorReason::Malformed, name,
                "/$objectType: \"" + type +
                    "\" is neither a v4 policies list nor a single policy response");
  }
  return std::vector<json>{doc.at("data")};
}

std::string policies_text(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " policy references" : " policies reference");
}

Result<json> read_json_file(const std::string& path);

// The policies of a v4 file with the lists they reference. A reference kind in use must be given
// (and not be empty), as the daemon's v4 fetch requires: without it every reference would be
// dangling and every policy using one reported as drift. extIds the given lists do not hold
// become dangling_reference findings when canonicalized.
Result<policy::V4SiteData> with_references(std::vector<json> policies, const std::string& name,
                                           const V4References& refs) {
  policy::V4SiteData d;
  d.policies = std::move(policies);
  struct Ref {
    const std::string& file;
    const V4ListKind& kind;
    policy::V4Reference referenced;
    std::vector<json>& target;
  };
  for (const Ref& r : {Ref{refs.categories, kV4Categories, policy::V4Reference::Category, d.categories},
                       Ref{refs.address_groups, kV4AddressGroups, policy::V4Reference::AddressGroup,
                           d.address_groups},
                       Ref{refs.service_groups, kV4ServiceGroups, policy::V4Reference::ServiceGroup,
                           d.service_groups}}) {
    const std::size_t n = policy::policies_referencing(d.policies, r.referenced);
    if (r.file.empty()) {
      if (n == 0) continue;
      const std::string how = refs.option_prefix.empty()
                                  ? std::string("the ") + r.kind.what + " list"
                                  : refs.option_prefix + r.kind.option + " FILE";
      return fail(ErrorReason::Malformed, name,
                  policies_text(n) + " " + r.kind.what + " by extId, but no " + r.kind.what +
                      " list was given: pass " + how + ", a " + r.kind.endpoint +
                      " list response (docs/cli.md)");
    }
    auto doc = read_json_file(r.file);
    if (!doc) return doc.error();
    auto items = read_v4_list(*doc, r.file, r.kind);
    if (!items) return items.error();
    if (items->empty() && n > 0) {
      return fail(ErrorReason::EmptyList, r.file,
                  std::string("no ") + r.kind.what + ", but " + policies_text(n) + " some in " +
                      name + " (listed by an account that cannot see them?)");
    }
    r.target = std::move(*items);
  }
  // v4.1+ entity groups and VPCs have no list options: a dump carries them.
  for (const auto& [kind, what] : {std::pair{policy::V4Reference::EntityGroup, "entity groups"},
                                   std::pair{policy::V4Reference::Vpc, "VPCs"}}) {
    if (const std::size_t n = policy::policies_referencing(d.policies, kind)) {
      return fail(ErrorReason::Malformed, name,
                  policies_text(n) + " " + what + " by extId, which a policies file cannot "
                  "resolve: compare site dumps (flowdriftctl dump) instead (docs/cli.md)");
    }
  }
  return d;
}

Result<json> parse_json(std::string_view text, const std::string& name) {
  std::string error;
  auto doc = json_strict::parse(text, error);
  if (!doc) return fail(ErrorReason::Malformed, name, "not valid JSON: " + error);
  return std::move(*doc);
}

Result<json> read_json_file(const std::string& path) {
  const auto bytes = FileBytes::read(path);
  if (!bytes) return fail(ErrorReason::Other, path, "cannot read file");
  return parse_json(bytes->view(), path);
}

// canonicalize_v3 and _v4 label an entity "categories[3] (...)": the file that holds that list.
std::string list_culprit(const std::string& message, const std::string& name,
                         const V4References& refs) {
  for (auto [prefix, file] : {std::pair{"categories[", &refs.categories},
                              std::pair{"address_groups[", &refs.address_groups},
                              std::pair{"service_groups[", &refs.service_groups}}) {
    if (message.rfind(prefix, 0) == 0 && !file->empty()) return *file;
  }
  return name;
}

// The rules as pages run on every core at once, each thread taking the next page none has
// taken, and ended in listing order (what a rule's canonicalization reads of the builder is
// shared read-only). This thread first does `meanwhile` (flowdriftctl reads the next piece of
// the file): the pages are small enough that the others take its share in the meantime.
template <class Meanwhile>
Result<void> add_rules_on_every_core(policy::V3SiteBuilder& builder,
                                     const std::vector<std::string_view>& texts,
                                     Meanwhile meanwhile) {
  constexpr std::size_t kMinPerPage = 32;
  const std::size_t cores = std::max(1U, std::min(8U, std::thread::hardware_concurrency()));
  const std::size_t count = std::clamp<std::size_t>(texts.size() / kMinPerPage, 1, 4 * cores);
  std::vector<policy::V3RulePageWork> pages;
  for (std::size_t k = 0; k < count; ++k) {
    const auto from = texts.begin() + static_cast<std::ptrdiff_t>(texts.size() * k / count);
    const auto to = texts.begin() + static_cast<std::ptrdiff_t>(texts.size() * (k + 1) / count);
    pages.push_back(builder.begin_borrowed_page({from, to}));  // the file outlives them
  }
  std::atomic<std::size_t> taken{0};
  auto work = [&pages, &taken] {
    for (std::size_t k; (k = taken.fetch_add(1)) < pages.size();) pages[k].run();
  };
  const std::size_t helpers = std::min(cores - 1, count);  // beside this thread
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < helpers; ++k) threads.emplace_back(work);
  meanwhile();
  work();
  for (auto& t : threads) t.join();
  for (auto& page : pages) {
    if (auto r = builder.end_page(std::move(page)); !r) return r.error();
  }
  return {};
}

// A v3 rules file (list or entity) holds no category definitions, only the key:value pairs
// its rules use. Those count as defined on the file's site: the file cannot say otherwise,
// and without them every category reference would be a dangling_reference.
Result<void> define_rule_categories(policy::V3SiteBuilder& builder) {
  std::map<std::string, std::vector<json>> values;  // by key
  for (const auto& category : builder.rule_categories()) {
    const std::size_t colon = category.find(':');
    values[category.substr(0, colon)].push_back(json{{"value", category.substr(colon + 1)}});
  }
  for (const auto& [key, list] : values) {
    if (auto r = builder.add_category_values(key, list); !r) return r.error();
  }
  return {};
}

// The groups a v3 rules file references by uuid come in their own list files, if given.
struct V3Groups {
  std::vector<json> address_groups;
  std::vector<json> service_groups;
};

// The rules of a v3 file canonicalized as a site that defines the categories they use and the
// groups given.
Result<policy::Snapshot> canonicalize_v3_rules(const std::vector<json_scan::JsonRef>& rules,
                                               const V3Groups& groups, policy::V3RuleMemo* memo) {
  std::vector<std::string_view> texts;
  texts.reserve(rules.size());
  for (const auto rule : rules) texts.push_back(rule.text());
  policy::V3SiteBuilder builder(memo);
  if (auto r = builder.set_groups(groups.address_groups, groups.service_groups); !r) return r.error();
  if (auto r = add_rules_on_every_core(builder, texts, [] {}); !r) return r.error();
  if (auto r = define_rule_categories(builder); !r) return r.error();
  return builder.finish();
}

}  // namespace

namespace {

LoadedSite from_baseline(LoadedBaseline baseline, const std::string& name) {
  LoadedSite out;
  out.file = name;
  out.kind = SiteFileKind::Baseline;
  out.api = baseline.info.api == "v4" ? config::Api::V4 : config::Api::V3;
  out.snapshot = std::move(baseline.snapshot);
  return out;
}

}  // namespace

std::string_view to_string(SiteFileKind kind) {
  switch (kind) {
    case SiteFileKind::Dump: return "dump";
    case SiteFileKind::V3List: return "v3 list";
    case SiteFileKind::V3Entity: return "v3 entity";
    case SiteFileKind::V4List: return "v4 list";
    case SiteFileKind::V4Entity: return "v4 entity";
    case SiteFileKind::Baseline: return "baseline";
  }
  return "dump";
}

namespace {

// Reference lists given with a file that carries its own groups and categories (`what`: a
// site dump, a baseline).
Error references_misplaced(const char* what, const std::string& name, const V4References& refs) {
  const std::string& given = !refs.categories.empty()       ? refs.categories
                             : !refs.address_groups.empty() ? refs.address_groups
                                                            : refs.service_groups;
  return fail(ErrorReason::Malformed, name,
              std::string("is a ") + what + ", which carries its own categories and groups; " +
                  "reference lists such as " + given + " go only with a policies file");
}

// The entities of a v3 address_groups or service_groups list response, each as a DOM (what
// the group canonicalizer reads; group lists are small).
Result<std::vector<json>> v3_group_entities(std::string_view text, const std::string& name,
                                            const V3ListKind& list) {
  std::string error;
  constexpr std::size_t kEntityDepth = 2;  // the root, /entities, then each group
  const auto scanned = json_scan::JsonDoc::parse(text, error, kEntityDepth);
  if (!scanned) return fail(ErrorReason::Malformed, name, "not valid JSON: " + error);
  if (!scanned->root().is_object()) {
    return fail(ErrorReason::Malformed, name,
                std::string("expected a v3 response (a JSON object): ") + list.listing);
  }
  auto entities = v3_list_entities(scanned->root(), name, list);
  if (!entities) return entities.error();
  std::vector<json> out;
  out.reserve(entities->size());
  for (std::size_t i = 0; i < entities->size(); ++i) {
    auto entity = json_strict::parse((*entities)[i].text(), error);
    if (!entity) {
      return fail(ErrorReason::Malformed, name,
                  "/entities/" + std::to_string(i) + ": not valid JSON: " + error);
    }
    out.push_back(std::move(*entity));
  }
  return out;
}

Result<std::vector<json>> read_v3_group_list(const std::string& path, const V3ListKind& list) {
  const auto bytes = FileBytes::read(path);
  if (!bytes) return fail(ErrorReason::Other, path, "cannot read file");
  return v3_group_entities(bytes->view(), path, list);
}

// A v3 file's group lists. Its rules name categories inline, so a categories list has no
// place beside it. Without a group list its groups stay unresolved: each reference to one is
// a dangling_reference finding, as before group lists could be given.
Result<V3Groups> v3_groups(SiteFileKind kind, const std::string& name, const V4References& refs) {
  if (!refs.categories.empty()) {
    return fail(ErrorReason::Malformed, name,
                "is a " + std::string(to_string(kind)) + ", whose rules name categories inline; " +
                    refs.categories + " (a categories list) goes only with a v4 policies file");
  }
  V3Groups groups;
  for (auto [file, list, target] :
       {std::tuple{&refs.address_groups, &kV3AddressGroups, &groups.address_groups},
        std::tuple{&refs.service_groups, &kV3ServiceGroups, &groups.service_groups}}) {
    if (file->empty()) continue;
    auto items = read_v3_group_list(*file, *list);
    if (!items) return items.error();
    *target = std::move(*items);
  }
  return groups;
}

// A v3 rules list, or one rule entity (`list` false).
Result<LoadedSite> read_v3_file(json_scan::JsonRef doc, bool list, const std::string& name,
                                const V4References& refs, policy::V3RuleMemo* memo) {
  LoadedSite out;
  out.file = name;
  out.kind = list ? SiteFileKind::V3List : SiteFileKind::V3Entity;
  out.api = config::Api::V3;
  auto rules = list ? v3_list_entities(doc, name, kV3Rules) : std::vector<json_scan::JsonRef>{doc};
  if (!rules) return rules.error();
  auto groups = v3_groups(out.kind, name, refs);
  if (!groups) return groups.error();
  out.references = refs;
  auto snap = canonicalize_v3_rules(*rules, *groups, memo);
  if (!snap) {
    return fail(snap.error().reason, list_culprit(snap.error().message, name, refs),
                snap.error().message);
  }
  out.snapshot = std::move(*snap);
  return out;
}

// A v3 rules file, read from the flat scan; nullopt for any other file (or text that is not
// JSON, which the DOM reader names the fault of).
std::optional<Result<LoadedSite>> read_if_v3(std::string_view text, const std::string& name,
                                             const V4References& refs, policy::V3RuleMemo* memo) {
  std::string error;
  // Each rule is kept as its text only, and scanned whole by the core that canonicalizes it.
  constexpr std::size_t kRuleDepth = 2;  // the root, /entities, then each rule
  const auto scanned = json_scan::JsonDoc::parse(text, error, kRuleDepth);
  if (!scanned) return std::nullopt;
  const auto root = scanned->root();
  if (!root.is_object() || root.find("format")) return std::nullopt;
  if (root.find("entities")) return read_v3_file(root, true, name, refs, memo);
  if (root.find("spec") && root.find("metadata")) return read_v3_file(root, false, name, refs, memo);
  return std::nullopt;
}

// A v3 rules list read in pieces (json_stream): canonicalized a buffer of rules at a time, on
// every core, so that the file is never held whole beside the snapshot of the file read before
// it. nullopt for any other file and for any fault: the whole read (read_if_v3 and after) then
// says what it is, and a file read here gives what the whole read would have.
std::optional<LoadedSite> stream_v3_list(json_stream::Source source, const std::string& name,
                                         const V4References& refs, policy::V3RuleMemo* memo,
                                         std::size_t capacity) {
  using Step = json_stream::ArrayMemberStream::Step;
  json_stream::ArrayMemberStream stream(std::move(source), "entities", capacity);
  std::vector<std::string_view> texts;
  Step step = stream.next(texts);
  if (step == Step::Stopped) return std::nullopt;  // before the group files are read
  auto groups = v3_groups(SiteFileKind::V3List, name, refs);
  policy::V3SiteBuilder builder(memo);
  if (!groups || !builder.set_groups(groups->address_groups, groups->service_groups)) {
    return std::nullopt;
  }
  // Each piece is canonicalized while the next is read (the stream keeps both in place).
  std::vector<std::string_view> ahead;
  while (step == Step::Elements) {
    auto read_ahead = [&] { step = stream.next(ahead); };
    if (!add_rules_on_every_core(builder, texts, read_ahead)) return std::nullopt;
    texts.swap(ahead);
  }
  if (step != Step::End) return std::nullopt;
  std::string error;
  const auto rest = json_scan::JsonDoc::parse(stream.rest(), error);
  if (!rest || rest->root().find("format") ||
      !check_v3_list(rest->root(), name, kV3Rules, true, stream.elements()) ||
      !define_rule_categories(builder)) {
    return std::nullopt;
  }
  auto snap = builder.finish();
  if (!snap) return std::nullopt;
  LoadedSite out;
  out.file = name;
  out.kind = SiteFileKind::V3List;
  out.api = config::Api::V3;
  out.references = refs;
  out.snapshot = std::move(*snap);
  return out;
}

// A regular file read in pieces when it is a v3 rules list; nullopt otherwise. A pipe cannot
// be read a second time, and a named one is not even opened here: stat() first, since opening
// a FIFO waits for its writer, whose bytes would then be lost.
std::optional<LoadedSite> stream_v3_file(const std::string& path, const V4References& refs,
                                         policy::V3RuleMemo* memo) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::optional<LoadedSite> out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    out = stream_v3_list(json_stream::fd_source(fd), path, refs, memo,
                         json_stream::ArrayMemberStream::kDefaultCapacity);
  }
  ::close(fd);
  return out;
}

}  // namespace

std::optional<LoadedSite> SiteFileReader::read_v3_list_in_pieces(json_stream::Source source,
                                                                 const std::string& name,
                                                                 const V4References& refs,
                                                                 std::size_t capacity) {
  return stream_v3_list(std::move(source), name, refs, &v3_rules_, capacity);
}

Result<std::vector<json>> parse_v3_group_list(std::string_view text, const std::string& name,
                                              bool address_groups) {
  return v3_group_entities(text, name, address_groups ? kV3AddressGroups : kV3ServiceGroups);
}

Result<LoadedSite> parse_site_text(const std::string& text, const std::string& name,
                                   const V4References& refs) {
  return SiteFileReader().parse(text, name, refs);
}

Result<LoadedSite> SiteFileReader::parse(std::string_view text, const std::string& name,
                                         const V4References& refs) {
  if (auto v3 = read_if_v3(text, name, refs, &v3_rules_)) return std::move(*v3);
  auto parsed = parse_json(text, name);
  if (!parsed) return parsed.error();
  const json& doc = *parsed;
  if (!doc.is_object() && !looks_v4(doc)) {
    return fail(ErrorReason::Malformed, name, "expected a JSON object");
  }

  if (doc.is_object() && doc.value("format", json()) == kBaselineFormat) {
    if (refs.any()) return references_misplaced("baseline", name, refs);
    auto baseline = read_baseline(doc, name);
    if (!baseline) return baseline.error();
    return from_baseline(std::move(*baseline), name);
  }
  if (doc.is_object() && doc.contains("format")) {
    auto f = doc.find("format");
    if (!f->is_string() || f->get<std::string>() != kDumpFormat) {
      return fail(ErrorReason::Malformed, name, "/format: not a flowdrift site dump");
    }
    if (refs.any()) return references_misplaced("site dump", name, refs);
    auto dump = parse_dump(doc, name);
    if (!dump) return dump.error();
    return std::move(dump->site);
  }
  if (!looks_v4(doc)) {
    return fail(ErrorReason::Malformed, name,
                "neither a v3 network_security_rules/list response (no /entities), a v4 "
                "policies list response (no /data), nor a flowdrift site dump (no /format)");
  }
  LoadedSite out;
  out.file = name;
  out.api = config::Api::V4;
  const bool entity = doc.is_object() && doc.contains("data") && doc.at("data").is_object() &&
                      !error_response(doc);
  out.kind = entity ? SiteFileKind::V4Entity : SiteFileKind::V4List;
  auto policies = entity ? read_v4_entity(doc, name) : read_v4_list(doc, name, kV4Policies);
  if (!policies) return policies.error();
  auto data = with_references(std::move(*policies), name, refs);
  if (!data) return data.error();
  out.references = refs;
  auto snap = policy::canonicalize_v4(*data);
  if (!snap) return fail(snap.error().reason, list_culprit(snap.error().message, name, refs), snap.error().message);
  out.snapshot = std::move(*snap);
  return out;
}

Result<LoadedDump> parse_dump(const json& doc, const std::string& name) {
  if (!doc.is_object() || doc.value("format", json()) != kDumpFormat) {
    return fail(ErrorReason::Malformed, name,
                "is not a site dump (flowdriftctl dump): a plan's target must be one, since only "
                "a dump holds the identifiers the writes address");
  }
  LoadedDump out;
  out.site.file = name;
  out.site.kind = SiteFileKind::Dump;
  auto api = dump_api(doc, name);
  if (!api) return api.error();
  out.site.api = *api;
  if (*api == config::Api::V4) {
    auto d = read_v4_dump(doc, name, out.site);
    if (!d) return d.error();
    out.v4 = std::move(*d);
  } else {
    auto d = from_v3_dump(doc, name);
    if (!d) return d.error();
    out.v3 = std::move(*d);
  }
  auto snap = out.v4 ? policy::canonicalize_v4(*out.v4) : policy::canonicalize_v3(*out.v3);
  if (!snap) return fail(snap.error().reason, name, snap.error().message);
  out.site.snapshot = std::move(*snap);
  return out;
}

Result<LoadedSite> load_site_file(const std::string& path, const V4References& refs) {
  return SiteFileReader().load(path, refs);
}

Result<LoadedSite> SiteFileReader::load(const std::string& path, const V4References& refs,
                                        const LoadedSite* earlier) {
  auto loaded = load_file(path, refs);
  v3_rules_.release_texts();
  // The texts the memo let go are those of rules the earlier file held too: not copied (a
  // comparison reads them from there, diff_snapshots), only checked.
  const bool found = loaded && (loaded->snapshot.has_all_texts() ||
                                (earlier != nullptr &&
                                 policy::texts_missing(loaded->snapshot, earlier->snapshot) == 0));
  if (loaded && !found) {
    return fail(ErrorReason::Other, path,
                "a rule read before has no text here (flowdriftctl bug: report it)");
  }
  return loaded;
}

Result<LoadedSite> SiteFileReader::load_file(const std::string& path, const V4References& refs) {
  std::error_code ec;
  // Directories and YAML files can only be baselines.
  if (std::filesystem::is_directory(path, ec) || is_yaml_path(path)) {
    auto baseline = load_baseline(path);
    if (!baseline) return baseline.error();
    return from_baseline(std::move(*baseline), path);
  }
  if (auto site = stream_v3_file(path, refs, &v3_rules_)) return std::move(*site);
  const auto bytes = FileBytes::read(path);
  if (!bytes) return fail(ErrorReason::Other, path, "cannot read file");
  return parse(bytes->view(), path, refs);
}

json make_dump(const policy::V3SiteData& data, const std::string& site, const std::string& url,
               std::int64_t fetched_ms) {
  json values = json::object();
  for (const auto& [key, list] : data.category_values) values[key] = list;
  return json{{"format", kDumpFormat},
              {"version", kDumpVersion},
              {"site", site},
              {"url", url},
              {"api", std::string(to_string(config::Api::V3))},
              {"fetched_at_ms", fetched_ms},
              {"network_security_rules", data.rules},
              {"address_groups", data.address_groups},
              {"service_groups", data.service_groups},
              {"category_keys", data.category_keys},
              {"category_values", values}};
}

Result<policy::V4SiteData> v4_dump_data(const json& dump, const std::string& name) {
  policy::V4SiteData d;
  for (const auto& list : kV4DumpLists) {
    auto a = array_at(dump, list.key, name, list.required);
    if (!a) return a.error();
    d.*list.items = std::move(*a);
  }
  return d;
}

json make_dump(const policy::V4SiteData& data, const std::string& site, const std::string& url,
               std::int64_t fetched_ms, const prism::V4Versions& versions) {
  json dump{{"format", kDumpFormat},
            {"version", kDumpVersion},
            {"site", site},
            {"url", url},
            {"api", std::string(to_string(config::Api::V4))},
            {"api_versions", versions_json(versions)},
            {"fetched_at_ms", fetched_ms}};
  for (const auto& list : kV4DumpLists) dump[list.key] = data.*list.items;
  return dump;
}

}  // namespace flowdrift::ctl
