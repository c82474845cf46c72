#include "prism/v4_client.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/json_scan.hpp"
#include "core/json_strict.hpp"
#include "drift/coverage_v4.hpp"
#include "http/work_pool.hpp"
#include "prism/coverage.hpp"
#include "prism/page_stream.hpp"
#include "prism/request.hpp"

namespace flowdrift::prism {
namespace {

using detail::error_with;
using detail::parse_body;
using detail::FetchContext;
using detail::PageSink;
using detail::RequestSite;
using nlohmann::json;

// v4 `$limit` is 1..100; anything outside is a validation error on the server.
constexpr int kMaxV4Limit = 100;
// Error text from a server is cut here so a huge body cannot flood the logs.
constexpr std::size_t kMaxDetail = 300;

std::shared_ptr<spdlog::logger> logger() { return log::get("prism"); }

std::string where(const std::string& endpoint, std::int64_t page) {
  return endpoint + " page " + std::to_string(page);
}

std::string string_member(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::string clipped(std::string text) {
  if (text.size() > kMaxDetail) text = text.substr(0, kMaxDetail) + "...";
  return text;
}

// "code: message" of the first AppMessage (+N more).
std::string app_messages_text(const json& list) {
  std::string out;
  std::size_t used = 0;
  for (const auto& m : list) {
    if (!m.is_object()) continue;
    std::string one = string_member(m, "code");
    const std::string message = string_member(m, "message");
    if (!message.empty()) one += (one.empty() ? "" : ": ") + message;
    if (one.empty()) continue;
    if (used++ == 0) out = clipped(std::move(one));
  }
  if (used > 1) out += " (+" + std::to_string(used - 1) + " more)";
  return out;
}

// SchemaValidationError: its `error` text and the first validation message with its path.
std::string schema_error_text(const json& e) {
  std::string out = string_member(e, "error");
  auto list = e.find("validationErrorMessages");
  if (list != e.end() && list->is_array() && !list->empty() && list->front().is_object()) {
    const json& first = list->front();
    std::string one = string_member(first, "attributePath");
    const std::string message = string_member(first, "message");
    if (!message.empty()) one += (one.empty() ? "" : ": ") + message;
    if (!one.empty()) out += (out.empty() ? "" : ": ") + one;
    if (list->size() > 1) out += " (+" + std::to_string(list->size() - 1) + " more)";
  }
  const std::string message = string_member(e, "message");
  if (out.empty()) out = message;
  return clipped(std::move(out));
}

bool is_error_response(const json& obj) {
  if (!obj.is_object()) return false;
  const std::string type = string_member(obj, "$objectType");
  constexpr std::string_view kSuffix = "error.ErrorResponse";
  return type.size() >= kSuffix.size() &&
         std::string_view(type).substr(type.size() - kSuffix.size()) == kSuffix;
}

// The text of a v4 ErrorResponse (the envelope's `data`, or the document itself): its
// AppMessages or its SchemaValidationError. Empty if `doc` carries none.
std::string v4_error_text(const json& doc) {
  if (!doc.is_object()) return {};
  const json* response = nullptr;
  auto data = doc.find("data");
  if (data != doc.end() && data->is_object() &&
      (is_error_response(*data) || data->contains("error"))) {
    response = &*data;
  } else if (is_error_response(doc)) {
    response = &doc;
  }
  if (response == nullptr) return {};
  auto error = response->find("error");
  if (error == response->end()) return {};
  if (error->is_array()) return app_messages_text(*error);
  if (error->is_object()) return schema_error_text(*error);
  if (error->is_string()) return clipped(error->get<std::string>());
  return {};
}

std::string v4_error_body_detail(const std::string& body) {
  std::string error;
  const auto doc = json_strict::parse(body, error);
  if (!doc) return {};
  return v4_error_text(*doc);
}

using V4Page = detail::ParsedPage;

// Checks a list page's envelope and takes its items; a 2xx carrying an ErrorResponse is Http.
Result<V4Page> check_envelope(json& page, const std::string& here) {
  if (!page.is_object())
    return error_with(ErrorReason::Malformed, here + ": body is not an object");
  V4Page out;
  auto data = page.find("data");
  if (data != page.end() && is_error_response(*data)) {
    Error e = error_with(ErrorReason::Http, here + ": ErrorResponse in a 2xx answer");
    const std::string text = v4_error_text(page);
    if (!text.empty()) e.message += ": " + text;
    return e;
  }
  auto metadata = page.find("metadata");
  if (metadata == page.end())
    return error_with(ErrorReason::Malformed, here + ": metadata missing");
  if (!metadata->is_object()) {
    return error_with(ErrorReason::Malformed, here + ": metadata is not an object");
  }
  auto total = metadata->find("totalAvailableResults");
  if (total == metadata->end()) {
    return error_with(ErrorReason::Malformed, here + ": metadata.totalAvailableResults missing");
  }
  if (!total->is_number_integer() || total->get<std::int64_t>() < 0) {
    return error_with(ErrorReason::Malformed,
                      here + ": metadata.totalAvailableResults is not a non-negative integer");
  }
  out.total = total->get<std::int64_t>();
  // An empty page has `data` absent (or null) rather than [].
  if (data == page.end() || data->is_null()) return out;
  if (!data->is_array()) return error_with(ErrorReason::Malformed, here + ": data is not an array");
  for (std::size_t i = 0; i < data->size(); ++i) {
    if (!(*data)[i].is_object()) {
      return error_with(ErrorReason::Malformed,
                        here + ": data[" + std::to_string(i) + "] is not an object");
    }
  }
  out.items.reserve(data->size());
  for (auto& item : *data) out.items.push_back(std::move(item));
  return out;
}

using detail::RawListPage;

// The envelope check_envelope accepts, read by a flat scan (no DOM): nullopt for any page that
// is not a plain list with object items (not JSON, an ErrorResponse, a bad envelope), which
// check_envelope then parses and names.
std::optional<RawListPage> scan_envelope(std::string_view body) {
  using json_scan::JsonDoc;
  std::string error;
  const auto doc = JsonDoc::parse(body, error);
  if (!doc || !doc->root().is_object()) return std::nullopt;
  const auto root = doc->root();
  const auto metadata = root.find("metadata");
  if (!metadata || !metadata->is_object()) return std::nullopt;
  const auto total = metadata->find("totalAvailableResults");
  if (!total) return std::nullopt;
  const auto count = total->uint_at_most(std::numeric_limits<std::uint32_t>::max());
  if (!count) return std::nullopt;
  RawListPage out;
  out.facts.total = static_cast<std::int64_t>(*count);
  const auto data = root.find("data");
  if (!data || data->type() == json_scan::JsonRef::Type::Null) return out;
  if (!data->is_array()) return std::nullopt;
  const auto items = data->elements();
  out.items.reserve(items.size());
  out.facts.ids.reserve(items.size());
  for (const auto& item : items) {
    if (!item.is_object()) return std::nullopt;
    out.items.push_back(item.text());
    const auto ext_id = item.find("extId");
    out.facts.ids.push_back(ext_id && ext_id->is_string() ? ext_id->str() : std::string());
  }
  return out;
}

http::HttpRequest page_request(FetchContext* ctx, const std::string& endpoint, std::int64_t page,
                               int limit) {
  http::HttpRequest request;
  request.method = "GET";
  request.target = ctx->options.base_path + endpoint + "?$page=" + std::to_string(page) +
                   "&$limit=" + std::to_string(limit);
  request.headers = {ctx->auth, {"Accept", "application/json"}};
  return request;
}

awaitable<Result<json>> get_page(FetchContext* ctx, std::string endpoint, std::int64_t page,
                                 int limit) {
  RequestSite site{where(endpoint, page), endpoint, "page", page};
  co_return co_await detail::send_json(ctx, page_request(ctx, endpoint, page, limit),
                                       std::move(site), &v4_error_body_detail);
}

awaitable<Result<http::HttpResponse>> get_page_text(FetchContext* ctx, std::string endpoint,
                                                    std::int64_t page, int limit) {
  RequestSite site{where(endpoint, page), endpoint, "page", page};
  co_return co_await detail::send_ok(ctx, page_request(ctx, endpoint, page, limit),
                                     std::move(site), &v4_error_body_detail);
}

using detail::ReadPage;

awaitable<Result<ReadPage>> read_page(FetchContext* ctx, std::string endpoint, std::int64_t page_no,
                                      int limit, const PageSink* sink) {
  const std::string here = where(endpoint, page_no);
  ReadPage out;
  json doc;
  if (sink->raw_page) {
    auto sent = co_await get_page_text(ctx, endpoint, page_no, limit);
    if (!sent) co_return sent.error();
    out.body = std::move(sent->body);
    if (detail::read_raw(out, *sink, &scan_envelope)) co_return std::move(out);
    auto parsed = parse_body(out.body, sent->status, here);
    if (!parsed) co_return parsed.error();
    doc = std::move(*parsed);
  } else {
    auto body = co_await get_page(ctx, endpoint, page_no, limit);
    if (!body) co_return body.error();
    doc = std::move(*body);
  }
  auto page = check_envelope(doc, here);
  if (!page) co_return page.error();
  out.parsed = std::move(*page);
  for (const auto& item : out.parsed.items) out.parsed.ids.push_back(string_member(item, "extId"));
  co_return std::move(out);
}

// Every item of one listing, handed to `sink` page by page; returns how many. $page paging has
// no offsets to resume from, so a short page before the total means the next page would skip
// items: Truncated. A total that moves between pages restarts the listing once; a second move
// is TotalMoved.
awaitable<Result<std::size_t>> list_pages(FetchContext* ctx, std::string endpoint,
                                          PageSink* sink) {
  const int limit = std::clamp(ctx->options.page_size, 1, kMaxV4Limit);
  for (int pass = 0; pass < 2; ++pass) {
    if (pass > 0) sink->restart();
    std::size_t count = 0;
    detail::ListedIds ext_ids;
    std::optional<std::int64_t> total;
    bool restart = false;

    for (std::int64_t page_no = 0;; ++page_no) {
      auto page = co_await read_page(ctx, endpoint, page_no, limit, sink);
      if (!page) co_return page.error();
      const std::string here = where(endpoint, page_no);

      if (total && page->total() != *total) {
        if (pass == 0) {
          log::warn(logger(), "list.total_moved",
                    {{"endpoint", endpoint},
                     {"page", page_no},
                     {"from", *total},
                     {"to", page->total()},
                     {"action", "restart"}});
          restart = true;
          break;
        }
        co_return error_with(ErrorReason::TotalMoved,
                             here + ": metadata.totalAvailableResults moved from " +
                                 std::to_string(*total) + " to " + std::to_string(page->total()) +
                                 " while paging, again after restarting the listing");
      }
      total = page->total();

      const auto before = static_cast<std::int64_t>(count);
      const auto received = static_cast<std::int64_t>(page->size());
      if (before + received > *total) {
        co_return error_with(ErrorReason::TotalMoved,
                             here + ": received " + std::to_string(before + received) +
                                 " items, more than metadata.totalAvailableResults " +
                                 std::to_string(*total));
      }
      if (before + received < *total && received < limit) {
        co_return error_with(ErrorReason::Truncated,
                             here + ": " + (received == 0 ? "empty" : "short") + " page of " +
                                 std::to_string(received) + " (limit " + std::to_string(limit) +
                                 ") after " + std::to_string(before) +
                                 " items, but metadata.totalAvailableResults is " +
                                 std::to_string(*total));
      }
      if (const std::string* ext_id = ext_ids.repeated(*page)) {
        // The same item twice means the listing shifted under us: another one was skipped,
        // so the set is not complete even though the count adds up.
        co_return error_with(ErrorReason::Truncated, here + ": duplicate extId " + *ext_id +
                                                         " (the listing shifted while paging)");
      }
      // The poll deadline bounds the wait on the site, as before canonicalization moved
      // into the listing: the time spent on the page here does not count against it.
      const auto work_start = SteadyClock::now();
      auto consumed = co_await detail::consume(sink, &*page);
      ctx->deadline += SteadyClock::now() - work_start;
      if (!consumed) co_return consumed.error();
      count += page->size();
      if (static_cast<std::int64_t>(count) >= *total) break;
    }
    if (restart) continue;

    log::debug(logger(), "list.complete", {{"endpoint", endpoint}, {"items", count}});
    co_return count;
  }
  co_return error_with(ErrorReason::Other, endpoint + ": listing did not complete");
}

// Every item of one listing, in one vector.
awaitable<Result<std::vector<json>>> list_all(FetchContext* ctx, std::string endpoint) {
  std::vector<json> items;
  PageSink sink = detail::collect_into(items);
  auto n = co_await list_pages(ctx, std::move(endpoint), &sink);
  if (!n) co_return n.error();
  co_return items;
}

using policy::policies_referencing;
using policy::V4PageReferences;
using policy::V4Reference;
using policy::V4SiteData;

// ---------------------------------------------------------------------------------------------
// Versions: each namespace is read at the newest version the PC serves (v4_versions.hpp).

// A v4 namespace the fetch reads, and the list its versions are probed with.
struct Namespace {
  const char* name;        // "microseg"
  const char* api;         // "/api/microseg/"
  const char* probe_list;  // "/config/policies"
  bool optional;           // 404 on every version: nothing listed rather than an error
  std::string V4Versions::*version;
};
constexpr Namespace kMicroseg{"microseg", "/api/microseg/", "/config/policies", false,
                              &V4Versions::microseg};
constexpr Namespace kPrism{"prism", "/api/prism/", "/config/categories", false,
                           &V4Versions::prism};
constexpr Namespace kNetworking{"networking", "/api/networking/", "/config/vpcs", true,
                                &V4Versions::networking};
constexpr const Namespace* kNamespaces[] = {&kMicroseg, &kPrism, &kNetworking};

// A list policies reference by extId: where and since which version it is served, where the
// fetch keeps it, and how the policies referencing it are counted.
struct ReferenceList {
  const Namespace* ns;
  const char* list;   // "/config/address-groups"
  const char* since;  // the first version serving it
  const char* what;   // for messages
  std::vector<json> V4SiteData::*items;
  std::size_t V4PageReferences::*referencing;
  V4Reference kind;
};
constexpr ReferenceList kReferenceLists[] = {
    {&kMicroseg, "/config/address-groups", "v4.0", "address groups", &V4SiteData::address_groups,
     &V4PageReferences::address_groups, V4Reference::AddressGroup},
    {&kMicroseg, "/config/service-groups", "v4.0", "service groups", &V4SiteData::service_groups,
     &V4PageReferences::service_groups, V4Reference::ServiceGroup},
    {&kMicroseg, "/config/entity-groups", "v4.1", "entity groups", &V4SiteData::entity_groups,
     &V4PageReferences::entity_groups, V4Reference::EntityGroup},
    {&kPrism, "/config/categories", "v4.0", "categories", &V4SiteData::categories,
     &V4PageReferences::categories, V4Reference::Category},
    {&kNetworking, "/config/vpcs", "v4.0", "VPCs", &V4SiteData::vpcs, &V4PageReferences::vpcs,
     V4Reference::Vpc},
};

// "" (not served, or not detected yet) is named "v4.x".
std::string endpoint(const Namespace& ns, std::string_view version, const char* list) {
  return ns.api + std::string(version.empty() ? "v4.x" : version) + list;
}

std::string& used_version(FetchContext* ctx, const Namespace& ns) {
  return ctx->stats->v4_versions.*ns.version;
}

std::string& remembered_version(FetchContext* ctx, const Namespace& ns) {
  return ctx->options.v4_versions.*ns.version;
}

std::string policies_endpoint(FetchContext* ctx) {
  return endpoint(kMicroseg, used_version(ctx, kMicroseg), "/config/policies");
}

bool served(const ReferenceList& r, const V4Versions& used) {
  return v4_version_at_least(used.*(r.ns->version), r.since);
}

bool is_not_found(const Error& e) { return e.reason == ErrorReason::Http && e.http_status == 404; }

// GET {list}?$page=0&$limit=1: is this version of the namespace served?
awaitable<Result<void>> probe(FetchContext* ctx, std::string list) {
  auto answer = co_await get_page_text(ctx, std::move(list), 0, 1);
  if (!answer) co_return answer.error();
  co_return Result<void>{};
}

// The version of `ns` to read: the remembered one, after probing the newer ones (an upgrade);
// without one, the newest that does not answer 404. 404 on every version is that 404, or ""
// for an optional namespace; so is a 403 there (an account without networking permission:
// nothing is listed, and a policy that references a VPC makes the poll EmptyList). Any other
// failure of a probe fails the fetch, as for any request.
awaitable<Result<std::string>> detect_version(FetchContext* ctx, const Namespace* ns) {
  const std::string remembered = remembered_version(ctx, *ns);
  Error not_found;
  for (std::string_view version : kV4Versions) {
    if (version == remembered) co_return remembered;
    auto probed = co_await probe(ctx, endpoint(*ns, version, ns->probe_list));
    if (probed) co_return std::string(version);
    if (ns->optional && probed.error().reason == ErrorReason::Forbidden) {
      log::debug(logger(), "api.namespace_denied", {{"namespace", ns->name}, {"version", version}});
      co_return std::string();
    }
    if (!is_not_found(probed.error())) co_return probed.error();
    not_found = std::move(probed.error());
  }
  if (ns->optional) co_return std::string();
  co_return not_found;
}

// The lists policies reference, as listed (kReferenceLists order): each list's endpoint ("" when
// the site does not serve it) and its items' texts, parsed only when their pages' bytes differ
// from the last complete poll's.
struct ReferenceTexts {
  std::array<std::string, std::size(kReferenceLists)> endpoints;
  std::array<detail::ListedTexts, std::size(kReferenceLists)> lists;

  std::string digest() const {
    detail::ListingsDigest d;
    for (std::size_t i = 0; i < lists.size(); ++i) d.add(endpoints[i], lists[i]);
    return d.value();
  }
};

Result<V4SiteData> parse_references(const ReferenceTexts& texts) {
  V4SiteData data;
  for (std::size_t i = 0; i < texts.lists.size(); ++i) {
    auto items = detail::parse_texts(texts.lists[i], texts.endpoints[i]);
    if (!items) return items.error();
    data.*(kReferenceLists[i].items) = std::move(*items);
  }
  return data;
}

awaitable<Result<detail::ListedTexts>> list_texts(FetchContext* ctx, std::string endpoint) {
  detail::ListedTexts texts;
  PageSink sink = detail::collect_texts(texts);
  auto n = co_await list_pages(ctx, std::move(endpoint), &sink);
  if (!n) co_return n.error();
  co_return texts;
}

// Every reference list `ns` serves at its version, into `texts`.
awaitable<Result<void>> list_namespace(FetchContext* ctx, const Namespace* ns,
                                       ReferenceTexts* texts) {
  for (std::size_t i = 0; i < std::size(kReferenceLists); ++i) {
    const ReferenceList& r = kReferenceLists[i];
    if (r.ns != ns || !served(r, ctx->stats->v4_versions)) continue;
    std::string listed = endpoint(*ns, used_version(ctx, *ns), r.list);
    auto items = co_await list_texts(ctx, listed);
    if (!items) co_return items.error();
    texts->endpoints[i] = std::move(listed);
    texts->lists[i] = std::move(*items);
  }
  co_return Result<void>{};
}

// Detects the version of `ns` and lists what it serves. A remembered version read without a
// probe that answers 404 (the PC was downgraded or restored) is forgotten and detected again
// within this fetch.
awaitable<Result<void>> fetch_namespace(FetchContext* ctx, const Namespace* ns,
                                        ReferenceTexts* texts) {
  for (;;) {
    auto version = co_await detect_version(ctx, ns);
    if (!version) co_return version.error();
    used_version(ctx, *ns) = *version;
    auto listed = co_await list_namespace(ctx, ns, texts);
    const bool trusted = !version->empty() && *version == remembered_version(ctx, *ns);
    if (listed || !trusted || !is_not_found(listed.error())) co_return listed;
    log::debug(logger(), "api.version_gone", {{"namespace", ns->name}, {"version", *version}});
    remembered_version(ctx, *ns).clear();
  }
}

// Every list policies reference, each namespace at the version it serves (policies excluded).
awaitable<Result<ReferenceTexts>> fetch_references(FetchContext* ctx) {
  ReferenceTexts texts;
  for (const Namespace* ns : kNamespaces) {
    auto fetched = co_await fetch_namespace(ctx, ns, &texts);
    if (!fetched) co_return fetched.error();
  }
  co_return texts;
}

// ---------------------------------------------------------------------------------------------
// Completeness

// Which reference lists came back empty or were not listed, in kReferenceLists order.
using EmptyLists = std::array<bool, std::size(kReferenceLists)>;

EmptyLists empty_lists(const ReferenceTexts& texts) {
  EmptyLists empty{};
  for (std::size_t i = 0; i < empty.size(); ++i) empty[i] = texts.lists[i].items.empty();
  return empty;
}

V4PageReferences count_referencing(const std::vector<json>& policies) {
  V4PageReferences counts;
  for (const auto& r : kReferenceLists) counts.*(r.referencing) = policies_referencing(policies, r.kind);
  return counts;
}

void add(V4PageReferences& sum, const V4PageReferences& more) {
  for (const auto& r : kReferenceLists) sum.*(r.referencing) += more.*(r.referencing);
}

// A referenced list that comes back empty, or is not served, is the same trap as an empty
// policy list (a 200 with nothing to an under-privileged account): not a complete site.
std::optional<Error> unresolved_references(const V4PageReferences& counts, const EmptyLists& empty,
                                           const V4Versions& used) {
  for (std::size_t i = 0; i < empty.size(); ++i) {
    const ReferenceList& r = kReferenceLists[i];
    const std::size_t n = counts.*(r.referencing);
    if (!empty[i] || n == 0) continue;
    return error_with(ErrorReason::EmptyList,
                      endpoint(*r.ns, used.*(r.ns->version), r.list) + ": no " + r.what +
                          (served(r, used) ? "" : " (not served)") + ", but " +
                          std::to_string(n) + " polic" +
                          (n == 1 ? "y references" : "ies reference") + " some");
  }
  return std::nullopt;
}

std::optional<Error> empty_policy_list(std::size_t policies, FetchContext* ctx) {
  const auto& previous = ctx->options.previous_policy_count;
  if (policies != 0 || !previous || *previous == 0 || ctx->options.allow_empty) return std::nullopt;
  // A failed or partial poll must never become an empty policy set (ENG-453487: some PC
  // versions answer 200 with an empty list to an account that lacks permissions).
  return error_with(ErrorReason::EmptyList,
                    policies_endpoint(ctx) + ": no policies, but the last complete snapshot had " +
                        std::to_string(*previous) +
                        " (set allow_empty if the site really has none now)");
}

// ---------------------------------------------------------------------------------------------
// Policies

using PolicyStream =
    detail::PageStream<policy::V4SiteBuilder, policy::V4PolicyPageWork, V4PageReferences>;

awaitable<Result<policy::Snapshot>> build_snapshot(FetchContext* ctx) {
  policy::V4SiteBuilder builder(ctx->options.v4_memo.get());
  EmptyLists empty{};
  {
    // What policies reference first: each policy page is canonicalized as it arrives. Lists
    // with the bytes of the last complete poll are not parsed: the memo has what they built.
    auto texts = co_await fetch_references(ctx);
    if (!texts) co_return texts.error();
    const std::string digest = texts->digest();
    if (!builder.reuse_references(digest)) {
      auto lists = parse_references(*texts);
      if (!lists) co_return lists.error();
      if (auto r = builder.set_references(*lists, digest); !r) co_return r.error();
    }
    empty = empty_lists(*texts);
  }

  PolicyStream stream(&builder, ctx->options.work_pool, co_await asio::this_coro::executor, &add);
  PageSink sink{[&stream, &builder] {
                  stream.restart();
                  builder.restart_policies();
                },
                [&stream, &builder](std::vector<json>& page) {
                  add(stream.referencing, count_referencing(page));
                  return builder.add_policies(page);
                },
                {}, {}, {}};
  if (ctx->options.v4_memo) detail::take_raw_pages(sink, &stream);
  auto policies = co_await list_pages(ctx, policies_endpoint(ctx), &sink);
  if (!policies) co_return policies.error();
  auto last = co_await detail::drain(&stream);
  if (!last) co_return last.error();
  if (auto e = empty_policy_list(*policies, ctx)) co_return *e;
  if (auto e = unresolved_references(stream.referencing, empty, ctx->stats->v4_versions)) {
    co_return *e;
  }
  co_return builder.finish();
}

awaitable<Result<V4SiteData>> fetch_all(FetchContext* ctx) {
  auto texts = co_await fetch_references(ctx);
  if (!texts) co_return texts.error();
  auto site = parse_references(*texts);
  if (!site) co_return site.error();
  auto policies = co_await list_all(ctx, policies_endpoint(ctx));
  if (!policies) co_return policies.error();
  site->policies = std::move(*policies);
  if (auto e = empty_policy_list(site->policies.size(), ctx)) co_return *e;
  if (auto e = unresolved_references(count_referencing(site->policies), empty_lists(*texts),
                                     ctx->stats->v4_versions)) {
    co_return *e;
  }
  co_return std::move(*site);
}

// A fetch starts with no version used yet.
void start_fetch(FetchContext& ctx, http::HttpTransport& transport, FetchOptions options,
                 FetchStats& stats) {
  detail::init_fetch_context(ctx, transport, std::move(options), stats);
  stats.v4_versions = {};
}

// One fetch with a fresh context; an error leaves with the credentials redacted.
template <class T>
awaitable<Result<T>> fetch_with(http::HttpTransport& transport, FetchOptions options,
                                FetchStats& stats, awaitable<Result<T>> (*fetch)(FetchContext*)) {
  FetchContext ctx;
  start_fetch(ctx, transport, std::move(options), stats);
  auto result = co_await fetch(&ctx);
  if (!result) co_return detail::redacted(std::move(result.error()), ctx);
  co_return result;
}

// ---------------------------------------------------------------------------------------------
// Entity sync (datapolicies v4.1 and later): Nutanix's own sync status, for the cross-check.

std::string entity_sync_endpoint(std::string_view version) {
  return "/api/datapolicies/" + std::string(version) + "/config/entity-sync-policies";
}

// The versions from `since` to list at: the remembered one first, then the others newest first.
std::vector<std::string_view> ordered_versions(std::string_view remembered,
                                               std::string_view since) {
  std::vector<std::string_view> order;
  for (std::string_view v : kV4Versions) {
    if (v == remembered && v4_version_at_least(v, since)) order.push_back(v);
  }
  for (std::string_view v : kV4Versions) {
    if (v != remembered && v4_version_at_least(v, since)) order.push_back(v);
  }
  return order;
}

std::vector<std::string_view> entity_sync_versions(std::string_view remembered) {
  return ordered_versions(remembered, kEntitySyncSince);
}

Result<std::vector<drift::EntitySync>> parse_entity_syncs(const std::vector<json>& items,
                                                         const std::string& endpoint) {
  std::vector<drift::EntitySync> out;
  out.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto e = drift::parse_entity_sync(items[i], endpoint + " item " + std::to_string(i));
    if (!e) return e.error();
    out.push_back(std::move(*e));
  }
  return out;
}

// The whole list at the first version that does not answer 404; 404 on every one: not served.
awaitable<Result<drift::EntitySyncRead>> list_entity_sync(FetchContext* ctx,
                                                          std::string remembered) {
  drift::EntitySyncRead read;
  read.state = drift::EntitySyncRead::State::NotServed;
  for (std::string_view version : entity_sync_versions(remembered)) {
    const std::string endpoint = entity_sync_endpoint(version);
    auto items = co_await list_all(ctx, endpoint);
    if (!items && is_not_found(items.error())) continue;
    if (!items) co_return items.error();
    auto entries = parse_entity_syncs(*items, endpoint);
    if (!entries) co_return entries.error();
    read.state = drift::EntitySyncRead::State::Complete;
    read.version = std::string(version);
    read.entries = std::move(*entries);
    break;
  }
  co_return read;
}

// ---------------------------------------------------------------------------------------------
// VM coverage (issue #18 point 3, docs/design/vm-coverage-api.md): vmm VMs, datapolicies
// protection policies and, from v4.2, recovery plans with their stages; category extIds
// resolved through the site's categories. Every list complete, every item parsed strictly.

constexpr std::string_view kRecoveryPlansSince = "v4.2";

std::string categories_endpoint(std::string_view version) {
  return "/api/prism/" + std::string(version) + "/config/categories";
}

std::string vms_endpoint(std::string_view version) {
  return "/api/vmm/" + std::string(version) + "/ahv/config/vms";
}

std::string protection_policies_endpoint(std::string_view version) {
  return "/api/datapolicies/" + std::string(version) + "/config/protection-policies";
}

std::string recovery_plans_endpoint(std::string_view version) {
  return "/api/datapolicies/" + std::string(version) + "/config/recovery-plans";
}

std::string item_where(const std::string& endpoint, std::size_t i) {
  return endpoint + " item " + std::to_string(i);
}

// One list at the first version that does not answer 404, and that version.
struct ServedList {
  std::string version;
  std::string endpoint;
  std::vector<json> items;
};

// `remembered` first, then the other versions newest first; 404 on every one is that 404.
awaitable<Result<ServedList>> list_first_served(FetchContext* ctx, std::string remembered,
                                                std::string (*endpoint_of)(std::string_view)) {
  Error not_found = error_with(ErrorReason::Http, endpoint_of("v4.x") + ": not served");
  for (std::string_view version : ordered_versions(remembered, kV4Versions.back())) {
    const std::string endpoint = endpoint_of(version);
    auto items = co_await list_all(ctx, endpoint);
    if (!items && is_not_found(items.error())) {
      not_found = std::move(items.error());
      continue;
    }
    if (!items) co_return items.error();
    co_return ServedList{std::string(version), endpoint, std::move(*items)};
  }
  co_return not_found;
}

// Categories items {extId, key, value} -> extId -> "key:value".
Result<drift::CategoryNames> category_names(const ServedList& list) {
  drift::CategoryNames out;
  for (std::size_t i = 0; i < list.items.size(); ++i) {
    const json& c = list.items[i];
    for (const char* member : {"extId", "key", "value"}) {
      auto it = c.find(member);
      if (it == c.end() || !it->is_string()) {
        return error_with(ErrorReason::Malformed,
                          item_where(list.endpoint, i) + ": " + member + " is not a string");
      }
    }
    out.emplace(c.at("extId").get<std::string>(),
                c.at("key").get<std::string>() + ":" + c.at("value").get<std::string>());
  }
  return out;
}

Result<void> add_vms(const ServedList& list, const drift::CategoryNames& names,
                     drift::CoverageData* out) {
  for (std::size_t i = 0; i < list.items.size(); ++i) {
    auto vm = drift::parse_v4_vm(list.items[i], item_where(list.endpoint, i), names);
    if (!vm) return vm.error();
    out->vms.push_back(std::move(*vm));
  }
  return {};
}

Result<void> add_protection_policies(const ServedList& list, const drift::CategoryNames& names,
                                     drift::CoverageData* out) {
  for (std::size_t i = 0; i < list.items.size(); ++i) {
    auto p = drift::parse_v4_protection_policy(list.items[i], item_where(list.endpoint, i), names);
    if (!p) return p.error();
    out->protections.push_back(std::move(*p));
  }
  return {};
}

// One recovery plan's stages, each stage's records into `out`.
awaitable<Result<void>> add_plan_stages(FetchContext* ctx, std::string plans_endpoint, json plan,
                                        std::size_t index, const drift::CategoryNames* names,
                                        drift::CoverageData* out) {
  const std::string here = item_where(plans_endpoint, index);
  const std::string id = string_member(plan, "extId");
  const std::string name = string_member(plan, "name");
  if (id.empty() || name.empty()) {
    co_return error_with(ErrorReason::Malformed, here + ": extId or name is not a string");
  }
  const std::string endpoint = plans_endpoint + "/" + id + "/stages";
  auto stages = co_await list_all(ctx, endpoint);
  if (!stages) co_return stages.error();
  for (std::size_t i = 0; i < stages->size(); ++i) {
    auto records =
        drift::parse_v4_recovery_stage((*stages)[i], item_where(endpoint, i), name, *names);
    if (!records) co_return records.error();
    for (auto& r : *records) out->protections.push_back(std::move(r));
  }
  co_return Result<void>{};
}

// Recovery plans (datapolicies `version`, v4.2 or newer) and every plan's stages.
awaitable<Result<void>> add_recovery_plans(FetchContext* ctx, std::string version,
                                           const drift::CategoryNames* names,
                                           drift::CoverageData* out) {
  const std::string endpoint = recovery_plans_endpoint(version);
  auto plans = co_await list_all(ctx, endpoint);
  if (!plans) co_return plans.error();
  for (std::size_t i = 0; i < plans->size(); ++i) {
    auto added = co_await add_plan_stages(ctx, endpoint, std::move((*plans)[i]), i, names, out);
    if (!added) co_return added.error();
  }
  co_return Result<void>{};
}

// The site's categories, at the prism version the site fetch remembered (else detected).
awaitable<Result<drift::CategoryNames>> read_category_names(FetchContext* ctx) {
  auto listed =
      co_await list_first_served(ctx, ctx->options.v4_versions.prism, &categories_endpoint);
  if (!listed) co_return listed.error();
  ctx->stats->v4_versions.prism = listed->version;
  co_return category_names(*listed);
}

// A namespace that answers 404 everywhere is forgotten; one that fails otherwise is kept.
void note_version(const Result<ServedList>& listed, std::string* version) {
  if (listed) {
    *version = listed->version;
  } else if (is_not_found(listed.error())) {
    version->clear();
  }
}

awaitable<Result<drift::CoverageData>> read_coverage(FetchContext* ctx,
                                                     CoverageVersions* versions) {
  auto names = co_await read_category_names(ctx);
  if (!names) co_return names.error();
  drift::CoverageData out;
  auto vms = co_await list_first_served(ctx, versions->vmm, &vms_endpoint);
  note_version(vms, &versions->vmm);
  if (!vms) co_return vms.error();
  if (auto added = add_vms(*vms, *names, &out); !added) co_return added.error();
  auto policies =
      co_await list_first_served(ctx, versions->datapolicies, &protection_policies_endpoint);
  note_version(policies, &versions->datapolicies);
  if (!policies) co_return policies.error();
  if (auto added = add_protection_policies(*policies, *names, &out); !added) {
    co_return added.error();
  }
  if (v4_version_at_least(policies->version, kRecoveryPlansSince)) {
    auto plans = co_await add_recovery_plans(ctx, policies->version, &*names, &out);
    if (!plans) co_return plans.error();
  }
  co_return std::move(out);
}

}  // namespace

awaitable<Result<policy::Snapshot>> fetch_v4_snapshot(http::HttpTransport& transport,
                                                      FetchOptions options, FetchStats& stats) {
  return fetch_with(transport, std::move(options), stats, &build_snapshot);
}

awaitable<Result<policy::V4SiteData>> fetch_v4_site(http::HttpTransport& transport,
                                                    FetchOptions options, FetchStats& stats) {
  return fetch_with(transport, std::move(options), stats, &fetch_all);
}

awaitable<drift::EntitySyncRead> fetch_entity_sync(http::HttpTransport& transport,
                                                  FetchOptions options, std::string version,
                                                  FetchStats& stats) {
  FetchContext ctx;
  start_fetch(ctx, transport, std::move(options), stats);
  auto listed = co_await list_entity_sync(&ctx, std::move(version));
  if (listed) co_return std::move(*listed);
  const Error e = detail::redacted(std::move(listed.error()), ctx);
  drift::EntitySyncRead failed;
  failed.state = drift::EntitySyncRead::State::Failed;
  failed.reason = std::string(to_string(e.reason));
  failed.message = e.message;
  co_return failed;
}

awaitable<Result<drift::CoverageData>> fetch_v4_coverage(http::HttpTransport& transport,
                                                         FetchOptions options, FetchStats& stats,
                                                         CoverageVersions* versions) {
  FetchContext ctx;
  start_fetch(ctx, transport, std::move(options), stats);
  CoverageVersions used = versions != nullptr ? *versions : CoverageVersions();
  auto result = co_await read_coverage(&ctx, &used);
  if (versions != nullptr) *versions = used;
  if (!result) co_return detail::redacted(std::move(result.error()), ctx);
  log::debug(logger(), "coverage.read",
             {{"vms", result->vms.size()},
              {"protections", result->protections.size()},
              {"vmm", used.vmm},
              {"datapolicies", used.datapolicies}});
  co_return result;
}

}  // namespace flowdrift::prism
