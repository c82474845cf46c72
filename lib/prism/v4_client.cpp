#include "prism/v4_client.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/json_scan.hpp"
#include "core/json_strict.hpp"
#include "http/work_pool.hpp"
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

constexpr const char* kPolicies = "/api/microseg/v4.0/config/policies";
constexpr const char* kAddressGroups = "/api/microseg/v4.0/config/address-groups";
constexpr const char* kServiceGroups = "/api/microseg/v4.0/config/service-groups";
constexpr const char* kCategories = "/api/prism/v4.0/config/categories";

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

struct V4Page {
  std::int64_t total = 0;
  std::vector<json> items;
};

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

// A list page whose entities are kept as their raw JSON texts (views into the body).
struct RawPage {
  std::int64_t total = 0;
  std::vector<std::string_view> items;
  std::vector<std::string> ext_ids;  // per item; "" where absent or not a string
};

// The envelope check_envelope accepts, read by a flat scan (no DOM): nullopt for any page that
// is not a plain list with object items (not JSON, an ErrorResponse, a bad envelope), which
// check_envelope then parses and names.
std::optional<RawPage> scan_envelope_or_throw(std::string_view body) {
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
  RawPage out;
  out.total = static_cast<std::int64_t>(*count);
  const auto data = root.find("data");
  if (!data || data->type() == json_scan::JsonRef::Type::Null) return out;
  if (!data->is_array()) return std::nullopt;
  const auto items = data->elements();
  out.items.reserve(items.size());
  out.ext_ids.reserve(items.size());
  for (const auto& item : items) {
    if (!item.is_object()) return std::nullopt;
    out.items.push_back(item.text());
    const auto ext_id = item.find("extId");
    out.ext_ids.push_back(ext_id && ext_id->is_string() ? ext_id->str() : std::string());
  }
  return out;
}

std::optional<RawPage> scan_envelope(std::string_view body) {
  try {
    return scan_envelope_or_throw(body);
  } catch (const json::exception&) {
    return std::nullopt;  // an escaped extId nlohmann refuses: the DOM path names the problem
  }
}

http::HttpRequest page_request(FetchContext* ctx, const std::string& endpoint, std::int64_t page,
                               int limit) {
  http::HttpRequest request;
  request.method = "GET";
  request.target = ctx->options.base_path + endpoint + "?$page=" + std::to_string(page) +
                   "&$limit=" + std::to_string(limit);
  request.headers = {{"Authorization", ctx->authorization}, {"Accept", "application/json"}};
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

// One page, checked: raw when the sink takes raw pages and the envelope scans cleanly,
// else parsed (and check_envelope's verdict on it).
struct ReadPage {
  std::string body;  // the raw items point into it
  std::optional<RawPage> raw;
  V4Page parsed;
  std::int64_t total() const { return raw ? raw->total : parsed.total; }
  std::size_t size() const { return raw ? raw->items.size() : parsed.items.size(); }
};

awaitable<Result<ReadPage>> read_page(FetchContext* ctx, std::string endpoint, std::int64_t page_no,
                                      int limit, bool raw) {
  const std::string here = where(endpoint, page_no);
  ReadPage out;
  json doc;
  if (raw) {
    auto sent = co_await get_page_text(ctx, endpoint, page_no, limit);
    if (!sent) co_return sent.error();
    out.body = std::move(sent->body);
    out.raw = scan_envelope(out.body);
    if (out.raw) co_return std::move(out);
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
    std::unordered_set<std::string> ext_ids;
    std::optional<std::int64_t> total;
    bool restart = false;

    for (std::int64_t page_no = 0;; ++page_no) {
      auto page = co_await read_page(ctx, endpoint, page_no, limit, bool(sink->raw_page));
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
      for (std::size_t i = 0; i < page->size(); ++i) {
        const std::string ext_id =
            page->raw ? page->raw->ext_ids[i] : string_member(page->parsed.items[i], "extId");
        if (!ext_id.empty() && !ext_ids.insert(ext_id).second) {
          // The same item twice means the listing shifted under us: another one was skipped,
          // so the set is not complete even though the count adds up.
          co_return error_with(ErrorReason::Truncated, here + ": duplicate extId " + ext_id +
                                                           " (the listing shifted while paging)");
        }
      }
      // The poll deadline bounds the wait on the site, as before canonicalization moved
      // into the listing: the time spent on the page here does not count against it.
      const auto work_start = SteadyClock::now();
      Result<void> consumed;
      if (page->raw) {
        consumed = co_await sink->raw_page(page->raw->items);
      } else {
        consumed = sink->page(page->parsed.items);
      }
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
using policy::V4Reference;

// A referenced list that comes back empty is the same trap as an empty policy list (a 200 with
// nothing to an under-privileged account): not a complete site.
std::optional<Error> empty_but_referenced(std::size_t n, bool list_empty,
                                          const std::string& endpoint, const char* what) {
  if (!list_empty || n == 0) return std::nullopt;
  return error_with(ErrorReason::EmptyList,
                    endpoint + ": no " + what + ", but " + std::to_string(n) + " polic" +
                        (n == 1 ? "y references" : "ies reference") + " some");
}

std::optional<Error> empty_policy_list(std::size_t policies, const FetchOptions& options) {
  const auto& previous = options.previous_policy_count;
  if (policies != 0 || !previous || *previous == 0 || options.allow_empty) return std::nullopt;
  // A failed or partial poll must never become an empty policy set (ENG-453487: some PC
  // versions answer 200 with an empty list to an account that lacks permissions).
  return error_with(ErrorReason::EmptyList,
                    std::string(kPolicies) + ": no policies, but the last complete snapshot had " +
                        std::to_string(*previous) +
                        " (set allow_empty if the site really has none now)");
}

// Counts, page by page, the policies that reference each kind of object. Raw pages are
// pipelined: what the memo lacks of a page is canonicalized on the work pool while the next
// pages are fetched (up to kPagesInFlight at a time, so the pool has work even while the loop
// is busy storing another site's snapshot); pages are added in listing order, and drain() adds
// the last ones.
constexpr std::size_t kPagesInFlight = 4;

struct PolicyStream {
  policy::V4SiteBuilder* builder = nullptr;
  http::WorkPool* pool = nullptr;
  asio::any_io_executor executor;
  std::deque<std::shared_ptr<http::PoolJob<policy::V4PolicyPageWork>>> in_flight;
  std::size_t referencing_address_groups = 0;
  std::size_t referencing_service_groups = 0;
  std::size_t referencing_categories = 0;

  void restart() {
    in_flight.clear();  // their results, when they come, are dropped
    builder->restart_policies();
    referencing_address_groups = referencing_service_groups = referencing_categories = 0;
  }
  Result<void> page(std::vector<json>& policies) {
    referencing_address_groups += policies_referencing(policies, V4Reference::AddressGroup);
    referencing_service_groups += policies_referencing(policies, V4Reference::ServiceGroup);
    referencing_categories += policies_referencing(policies, V4Reference::Category);
    return builder->add_policies(policies);
  }
  Result<void> end_page(policy::V4PolicyPageWork work) {
    auto refs = builder->end_page(std::move(work));
    if (!refs) return refs.error();
    referencing_address_groups += refs->address_groups;
    referencing_service_groups += refs->service_groups;
    referencing_categories += refs->categories;
    return {};
  }
};

// Adds the oldest pages in flight, once done, until at most `keep` remain.
awaitable<Result<void>> drain(PolicyStream* stream, std::size_t keep = 0) {
  while (stream->in_flight.size() > keep) {
    auto job = std::move(stream->in_flight.front());
    stream->in_flight.pop_front();
    auto work = co_await http::wait(std::move(job));
    auto added = stream->end_page(std::move(work));
    if (!added) co_return added.error();
  }
  co_return Result<void>{};
}

awaitable<Result<void>> add_raw_page(PolicyStream* stream, std::vector<std::string_view> policies) {
  auto previous = co_await drain(stream, kPagesInFlight - 1);
  if (!previous) co_return previous.error();
  auto work = stream->builder->begin_page(policies);  // copies what it needs of the page
  if (work.pending() == 0 && stream->in_flight.empty()) co_return stream->end_page(std::move(work));
  auto job = [w = std::move(work)]() mutable {
    w.run();
    return std::move(w);
  };
  stream->in_flight.push_back(http::submit(stream->pool, stream->executor, std::move(job)));
  co_return Result<void>{};
}

awaitable<Result<policy::Snapshot>> build_snapshot(FetchContext* ctx) {
  policy::V4SiteBuilder builder(ctx->options.v4_memo.get());
  bool no_address_groups = false;
  bool no_service_groups = false;
  bool no_categories = false;
  {
    // What policies reference first: each policy page is canonicalized as it arrives.
    auto address_groups = co_await list_all(ctx, kAddressGroups);
    if (!address_groups) co_return address_groups.error();
    auto service_groups = co_await list_all(ctx, kServiceGroups);
    if (!service_groups) co_return service_groups.error();
    auto categories = co_await list_all(ctx, kCategories);
    if (!categories) co_return categories.error();
    if (auto r = builder.set_references(*address_groups, *service_groups, *categories); !r) {
      co_return r.error();
    }
    no_address_groups = address_groups->empty();
    no_service_groups = service_groups->empty();
    no_categories = categories->empty();
  }

  PolicyStream stream;
  stream.builder = &builder;
  stream.pool = ctx->options.work_pool;
  stream.executor = co_await asio::this_coro::executor;
  PageSink sink{[&stream] { stream.restart(); },
                [&stream](std::vector<json>& page) { return stream.page(page); }, {}};
  if (ctx->options.v4_memo) {
    // Policies the memo has seen are neither parsed nor canonicalized again.
    sink.raw_page = [&stream](const std::vector<std::string_view>& page) {
      return add_raw_page(&stream, page);
    };
  }
  auto policies = co_await list_pages(ctx, kPolicies, &sink);
  if (!policies) co_return policies.error();
  auto last = co_await drain(&stream);
  if (!last) co_return last.error();
  if (auto e = empty_policy_list(*policies, ctx->options)) co_return *e;
  if (auto e = empty_but_referenced(stream.referencing_address_groups, no_address_groups,
                                    kAddressGroups, "address groups")) {
    co_return *e;
  }
  if (auto e = empty_but_referenced(stream.referencing_service_groups, no_service_groups,
                                    kServiceGroups, "service groups")) {
    co_return *e;
  }
  if (auto e = empty_but_referenced(stream.referencing_categories, no_categories, kCategories,
                                    "categories")) {
    co_return *e;
  }
  co_return builder.finish();
}

awaitable<Result<policy::V4SiteData>> fetch_all(FetchContext* ctx) {
  policy::V4SiteData site;

  auto policies = co_await list_all(ctx, kPolicies);
  if (!policies) co_return policies.error();
  site.policies = std::move(*policies);
  if (auto e = empty_policy_list(site.policies.size(), ctx->options)) co_return *e;

  auto address_groups = co_await list_all(ctx, kAddressGroups);
  if (!address_groups) co_return address_groups.error();
  site.address_groups = std::move(*address_groups);
  if (auto e = empty_but_referenced(policies_referencing(site.policies, V4Reference::AddressGroup),
                                    site.address_groups.empty(), kAddressGroups, "address groups")) {
    co_return *e;
  }

  auto service_groups = co_await list_all(ctx, kServiceGroups);
  if (!service_groups) co_return service_groups.error();
  site.service_groups = std::move(*service_groups);
  if (auto e = empty_but_referenced(policies_referencing(site.policies, V4Reference::ServiceGroup),
                                    site.service_groups.empty(), kServiceGroups, "service groups")) {
    co_return *e;
  }

  auto categories = co_await list_all(ctx, kCategories);
  if (!categories) co_return categories.error();
  site.categories = std::move(*categories);
  if (auto e = empty_but_referenced(policies_referencing(site.policies, V4Reference::Category),
                                    site.categories.empty(), kCategories, "categories")) {
    co_return *e;
  }
  co_return site;
}

}  // namespace

awaitable<Result<policy::Snapshot>> fetch_v4_snapshot(http::HttpTransport& transport,
                                                      FetchOptions options, FetchStats& stats) {
  FetchContext ctx;
  detail::init_fetch_context(ctx, transport, std::move(options), stats);
  auto result = co_await build_snapshot(&ctx);
  if (!result) co_return detail::redacted(std::move(result.error()), ctx);
  co_return result;
}

awaitable<Result<policy::V4SiteData>> fetch_v4_site(http::HttpTransport& transport,
                                                    FetchOptions options, FetchStats& stats) {
  FetchContext ctx;
  detail::init_fetch_context(ctx, transport, std::move(options), stats);
  auto result = co_await fetch_all(&ctx);
  if (!result) co_return detail::redacted(std::move(result.error()), ctx);
  co_return result;
}

}  // namespace flowdrift::prism
