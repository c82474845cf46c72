// pcsim's v4 (Flow Network Security Next-Gen) view of the site: converts stored v3 entities to
// v4 NetworkSecurityPolicy / AddressGroup / ServiceGroup / Category objects and builds the v4
// list envelope, paging and error bodies (docs/prism-api.md §3). Pure functions; no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/types.hpp"

namespace flowdrift::pcsim::v4 {

inline constexpr std::string_view kMicrosegBase = "/api/microseg/v4.0/config";
inline constexpr std::string_view kPrismBase = "/api/prism/v4.0/config";
inline constexpr std::string_view kNetworkingBase = "/api/networking/v4.0/config";
// The newest v4 version pcsim can serve, v4.<kNewestMinor> (SimulatorOptions::v4_version picks
// the newest one an instance serves; it serves every v4.M up to it, all with the same data).
inline constexpr int kNewestMinor = 3;
inline constexpr long long kDefaultLimit = 50;
inline constexpr long long kMaxLimit = 100;

// "v4.M" -> M (M written without leading zeros); -1 for anything else.
int parse_version(std::string_view text);
// "/api/<ns>/v4.<minor>/config", e.g. base_path("prism", 3) = "/api/prism/v4.3/config".
std::string base_path(std::string_view ns, int minor);

// Where the conversion gets its per-instance identifiers.
struct IdSource {
  // extId of category key:value (a value the site does not define still gets a stable id).
  std::function<std::string(const std::string& key, const std::string& value)> category;
  // A stable per-instance uuid for `text` (rule extIds, derived from policy uuid + rule_id).
  std::function<std::string(const std::string& text)> derived;
};

// v3 listed entity {metadata, spec, status} -> microseg.v4.config.NetworkSecurityPolicy.
nlohmann::json policy_from_v3(const nlohmann::json& entity, const IdSource& ids);
// v3 groups (the site-data shapes) -> v4 objects.
nlohmann::json address_group(const std::string& ext_id, const std::string& name,
                             const std::string& description, const nlohmann::json& ip_blocks);
nlohmann::json service_group(const std::string& ext_id, const std::string& name,
                             const std::string& description, bool is_system_defined,
                             const nlohmann::json& service_list);
nlohmann::json category(const std::string& ext_id, const std::string& key,
                        const std::string& value, const std::string& description,
                        bool system_defined);

struct Page {
  long long page = 0;
  long long limit = kDefaultLimit;
};
struct PageError {
  std::string attribute;  // "$page" or "$limit"; empty when the query is fine
  std::string message;
};
// Reads $page / $limit of the request's query string.
PageError parse_page(const http::HttpRequest& request, Page* out);

// The list envelope; `items` are serialized objects of this page (data omitted when empty),
// `total` is metadata.totalAvailableResults, `path` the request path used in the links. With an
// `item_type`, a page with items also has "$dataItemDiscriminator": "List<item_type>".
std::string list_body(std::string_view object_type, std::string_view path, const Page& page,
                      std::size_t total, const std::vector<std::string>& items,
                      std::string_view item_type = {});

// Error envelopes. `ns` is "microseg", "prism" or "networking" (the error types' namespace).
std::string error_body(std::string_view ns, std::string_view object_type, std::string_view code,
                       std::string_view message);
// SchemaValidationError naming error.attribute; `location` is "query" (paging) or "body" (writes).
std::string schema_error_body(std::string_view ns, std::string_view object_type,
                              std::string_view path, const PageError& error,
                              const std::string& timestamp, std::string_view location = "query");

// A uuid-shaped id from (salt, text): stable for one instance, different across salts.
std::string uuid_from_hash(std::uint64_t salt, std::string_view text);
// The text of a version-4 UUID made of 128 random or hashed bits (version and variant set here).
std::string uuid_text(std::uint64_t hi, std::uint64_t lo);
// Strong ETag of a response body.
std::string etag_of(std::string_view body);

}  // namespace flowdrift::pcsim::v4
