#include "prism/v3_client.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <random>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/json_scan.hpp"
#include "core/log.hpp"
#include "core/percent.hpp"
#include "prism/page_stream.hpp"
#include "prism/request.hpp"
#include "prism/retry.hpp"

namespace flowdrift::prism {
namespace {

using nlohmann::json;
using detail::error_with;
using detail::FetchContext;
using detail::init_fetch_context;
using detail::PageSink;
using detail::RawListPage;
using detail::ReadPage;
using detail::redacted;
using detail::RequestSite;
using detail::send_json;

std::shared_ptr<spdlog::logger> logger() { return log::get("prism"); }

std::string where(const std::string& endpoint, std::int64_t offset) {
  return endpoint + " offset " + std::to_string(offset);
}

http::HttpRequest list_request(FetchContext* ctx, const std::string& endpoint,
                               const std::string& kind, std::int64_t offset) {
  http::HttpRequest request;
  request.method = "POST";
  request.target = ctx->options.base_path + "/api/nutanix/v3/" + endpoint;
  request.headers = {ctx->auth,
                     {"Content-Type", "application/json"},
                     {"Accept", "application/json"}};
  // Sorting by name keeps page boundaries stable while nothing changes on the site.
  request.body = json{{"kind", kind},
                      {"offset", offset},
                      {"length", ctx->options.page_size},
                      {"sort_attribute", "name"},
                      {"sort_order", "ASCENDING"}}
                     .dump();
  return request;
}

// Sends one list request, retrying retryable failures, and returns the parsed 2xx body.
awaitable<Result<json>> post_list(FetchContext* ctx, std::string endpoint, std::string kind,
                                  std::int64_t offset) {
  RequestSite site{where(endpoint, offset), endpoint, "offset", offset};
  co_return co_await send_json(ctx, list_request(ctx, endpoint, kind, offset), std::move(site),
                               nullptr);
}

// The same, returning the 2xx answer as received.
awaitable<Result<http::HttpResponse>> post_list_text(FetchContext* ctx, std::string endpoint,
                                                     std::string kind, std::int64_t offset) {
  RequestSite site{where(endpoint, offset), endpoint, "offset", offset};
  co_return co_await detail::send_ok(ctx, list_request(ctx, endpoint, kind, offset),
                                     std::move(site), nullptr);
}

// Checks a list page's envelope; returns its metadata.total_matches.
Result<std::int64_t> check_envelope(const json& page, const std::string& here) {
  if (!page.is_object()) return error_with(ErrorReason::Malformed, here + ": body is not an object");
  auto entities = page.find("entities");
  if (entities == page.end()) return error_with(ErrorReason::Malformed, here + ": entities missing");
  if (!entities->is_array()) {
    return error_with(ErrorReason::Malformed, here + ": entities is not an array");
  }
  auto metadata = page.find("metadata");
  if (metadata == page.end()) return error_with(ErrorReason::Malformed, here + ": metadata missing");
  if (!metadata->is_object()) {
    return error_with(ErrorReason::Malformed, here + ": metadata is not an object");
  }
  auto total = metadata->find("total_matches");
  if (total == metadata->end()) {
    return error_with(ErrorReason::Malformed, here + ": metadata.total_matches missing");
  }
  if (!total->is_number_integer() || total->get<std::int64_t>() < 0) {
    return error_with(ErrorReason::Malformed,
                      here + ": metadata.total_matches is not a non-negative integer");
  }
  for (std::size_t i = 0; i < entities->size(); ++i) {
    if (!(*entities)[i].is_object()) {
      return error_with(ErrorReason::Malformed,
                        here + ": entities[" + std::to_string(i) + "] is not an object");
    }
  }
  return total->get<std::int64_t>();
}

// metadata.uuid (rules) or uuid (address/service groups); "" if the entity carries neither.
std::string entity_uuid(const json& entity) {
  auto metadata = entity.find("metadata");
  if (metadata != entity.end() && metadata->is_object()) {
    auto uuid = metadata->find("uuid");
    if (uuid != metadata->end() && uuid->is_string()) return uuid->get<std::string>();
  }
  auto uuid = entity.find("uuid");
  if (uuid != entity.end() && uuid->is_string()) return uuid->get<std::string>();
  return {};
}

std::string entity_uuid(const json_scan::JsonRef& entity) {
  const auto metadata = entity.find("metadata");
  if (metadata && metadata->is_object()) {
    const auto uuid = metadata->find("uuid");
    if (uuid && uuid->is_string()) return uuid->str();
  }
  const auto uuid = entity.find("uuid");
  return uuid && uuid->is_string() ? uuid->str() : std::string();
}

// The envelope check_envelope accepts, read by a flat scan (no DOM): nullopt for any other
// page, which check_envelope then parses and names.
std::optional<RawListPage> scan_envelope(std::string_view body) {
  std::string error;
  const auto doc = json_scan::JsonDoc::parse(body, error);
  if (!doc || !doc->root().is_object()) return std::nullopt;
  const auto root = doc->root();
  const auto metadata = root.find("metadata");
  if (!metadata || !metadata->is_object()) return std::nullopt;
  const auto total = metadata->find("total_matches");
  const auto count = total ? total->uint_at_most(std::numeric_limits<std::uint32_t>::max())
                           : std::nullopt;
  const auto entities = root.find("entities");
  if (!count || !entities || !entities->is_array()) return std::nullopt;
  RawListPage out;
  out.facts.total = static_cast<std::int64_t>(*count);
  const auto items = entities->elements();
  out.items.reserve(items.size());
  out.facts.ids.reserve(items.size());
  for (const auto& item : items) {
    if (!item.is_object()) return std::nullopt;
    out.items.push_back(item.text());
    out.facts.ids.push_back(entity_uuid(item));
  }
  return out;
}

// One page, checked: known or raw for a sink that takes raw pages (and an envelope that
// scans), else parsed.
awaitable<Result<ReadPage>> read_page(FetchContext* ctx, std::string endpoint, std::string kind,
                                      std::int64_t offset, const PageSink* sink) {
  const std::string here = where(endpoint, offset);
  ReadPage out;
  json doc;
  if (sink->raw_page) {
    auto sent = co_await post_list_text(ctx, endpoint, kind, offset);
    if (!sent) co_return sent.error();
    out.body = std::move(sent->body);
    if (detail::read_raw(out, *sink, &scan_envelope)) co_return std::move(out);
    auto parsed = detail::parse_body(out.body, sent->status, here);
    if (!parsed) co_return parsed.error();
    doc = std::move(*parsed);
  } else {
    auto page = co_await post_list(ctx, endpoint, kind, offset);
    if (!page) co_return page.error();
    doc = std::move(*page);
  }
  auto total = check_envelope(doc, here);
  if (!total) co_return total.error();
  out.parsed.total = *total;
  for (auto& entity : doc.at("entities")) {
    out.parsed.ids.push_back(entity_uuid(entity));
    out.parsed.items.push_back(std::move(entity));
  }
  co_return std::move(out);
}

// Every entity of one listing, handed to `sink` page by page; returns how many. A total that
// moves between pages restarts the listing once (a policy edited during the poll); a second
// move is an error rather than a guess.
awaitable<Result<std::size_t>> list_pages(FetchContext* ctx, std::string endpoint,
                                          std::string kind, PageSink* sink) {
  for (int pass = 0; pass < 2; ++pass) {
    if (pass > 0) sink->restart();
    std::size_t count = 0;
    detail::ListedIds uuids;
    std::optional<std::int64_t> total;
    std::int64_t offset = 0;
    bool restart = false;

    for (;;) {
      auto page = co_await read_page(ctx, endpoint, kind, offset, sink);
      if (!page) co_return page.error();
      const std::string here = where(endpoint, offset);
      const std::int64_t page_total = page->total();

      if (total && page_total != *total) {
        if (pass == 0) {
          log::warn(logger(), "list.total_moved",
                    {{"endpoint", endpoint},
                     {"offset", offset},
                     {"from", *total},
                     {"to", page_total},
                     {"action", "restart"}});
          restart = true;
          break;
        }
        co_return error_with(ErrorReason::TotalMoved,
                             here + ": metadata.total_matches moved from " +
                                 std::to_string(*total) + " to " + std::to_string(page_total) +
                                 " while paging, again after restarting the listing");
      }
      total = page_total;

      const auto received = static_cast<std::int64_t>(page->size());
      if (received == 0) {
        if (offset < *total) {
          co_return error_with(ErrorReason::Truncated,
                               here + ": empty page after " + std::to_string(offset) +
                                   " entities, but metadata.total_matches is " +
                                   std::to_string(*total));
        }
        break;
      }
      if (offset + received > *total) {
        co_return error_with(ErrorReason::TotalMoved,
                             here + ": received " + std::to_string(offset + received) +
                                 " entities, more than metadata.total_matches " +
                                 std::to_string(*total));
      }
      if (const std::string* uuid = uuids.repeated(*page)) {
        // The same entity twice means the listing shifted under us: another one was
        // skipped, so the set is not complete even though the count adds up.
        co_return error_with(ErrorReason::Truncated, here + ": duplicate uuid " + *uuid +
                                                         " (the listing shifted while paging)");
      }
      // The poll deadline bounds the wait on the site, as before canonicalization moved
      // into the listing: the time spent on the page here does not count against it.
      const auto work_start = SteadyClock::now();
      auto consumed = co_await detail::consume(sink, &*page);
      ctx->deadline += SteadyClock::now() - work_start;
      if (!consumed) co_return consumed.error();
      page.value() = ReadPage();  // the page's remains: nothing of it is needed any more
      count += static_cast<std::size_t>(received);
      offset += received;
      if (offset >= *total) break;
    }
    if (restart) continue;

    if (static_cast<std::int64_t>(count) != total.value_or(0)) {
      co_return error_with(ErrorReason::Truncated,
                           endpoint + ": received " + std::to_string(count) +
                               " entities, metadata.total_matches is " +
                               std::to_string(total.value_or(0)));
    }
    log::debug(logger(), "list.complete", {{"endpoint", endpoint}, {"entities", count}});
    co_return count;
  }
  co_return error_with(ErrorReason::Other, endpoint + ": listing did not complete");
}

// Every entity of one listing, in one vector.
awaitable<Result<std::vector<json>>> list_all(FetchContext* ctx, std::string endpoint,
                                              std::string kind) {
  std::vector<json> entities;
  PageSink sink = detail::collect_into(entities);
  auto n = co_await list_pages(ctx, std::move(endpoint), std::move(kind), &sink);
  if (!n) co_return n.error();
  co_return entities;
}

// The same, kept as its entities' texts with the digest of every page (request.hpp).
awaitable<Result<detail::ListedTexts>> list_texts(FetchContext* ctx, std::string endpoint,
                                                  std::string kind) {
  detail::ListedTexts texts;
  PageSink sink = detail::collect_texts(texts);
  auto n = co_await list_pages(ctx, std::move(endpoint), std::move(kind), &sink);
  if (!n) co_return n.error();
  co_return texts;
}

using policy::rules_referencing;

// A group list that comes back empty while policies reference groups is the same trap as an
// empty policy list (a 200 with nothing to an under-privileged account): not a complete site.
std::optional<Error> empty_but_referenced(std::size_t n, bool groups_empty,
                                          const std::string& endpoint) {
  if (!groups_empty || n == 0) return std::nullopt;
  return make_error(ErrorReason::EmptyList, endpoint + ": no groups, but " + std::to_string(n) +
                                                " polic" + (n == 1 ? "y references" : "ies reference") +
                                                " some");
}

// One kind of group, refused when it comes back empty while `referencing` rules use some.
awaitable<Result<std::vector<json>>> list_groups(FetchContext* ctx, std::string endpoint,
                                                 std::string kind, std::size_t referencing) {
  auto groups = co_await list_all(ctx, endpoint, std::move(kind));
  if (!groups) co_return groups.error();
  if (auto e = empty_but_referenced(referencing, groups->empty(), endpoint)) co_return *e;
  co_return std::move(*groups);
}

std::optional<Error> empty_policy_list(std::size_t rules, const FetchOptions& options) {
  const auto& previous = options.previous_policy_count;
  if (rules != 0 || !previous || *previous == 0 || options.allow_empty) return std::nullopt;
  // A failed or partial poll must never become an empty policy set: some PC versions answer
  // 200 with an empty list to an account that lacks permissions (ENG-453487).
  return make_error(ErrorReason::EmptyList,
                    "network_security_rules/list: no policies, but the last complete snapshot had " +
                        std::to_string(*previous) +
                        " (set allow_empty if the site really has none now)");
}

awaitable<Result<policy::V3SiteData>> fetch_all(FetchContext* ctx) {
  policy::V3SiteData site;

  auto rules = co_await list_all(ctx, "network_security_rules/list", "network_security_rule");
  if (!rules) co_return rules.error();
  site.rules = std::move(*rules);
  if (auto e = empty_policy_list(site.rules.size(), ctx->options)) co_return *e;

  auto address_groups = co_await list_groups(
      ctx, "address_groups/list", "address_group",
      rules_referencing(site.rules, "address_group_inclusion_list"));
  if (!address_groups) co_return address_groups.error();
  site.address_groups = std::move(*address_groups);

  auto service_groups = co_await list_groups(ctx, "service_groups/list", "service_group",
                                             rules_referencing(site.rules, "service_group_list"));
  if (!service_groups) co_return service_groups.error();
  site.service_groups = std::move(*service_groups);

  auto category_keys = co_await list_all(ctx, "categories/list", "category");
  if (!category_keys) co_return category_keys.error();
  site.category_keys = std::move(*category_keys);

  for (const auto& key : policy::referenced_category_keys(site.rules)) {
    std::string endpoint = "categories/" + percent_encode_segment(key) + "/list";
    auto values = co_await list_all(ctx, std::move(endpoint), "category");
    if (!values) co_return values.error();
    site.category_values.emplace(key, std::move(*values));
  }
  co_return site;
}

void add(policy::V3PageReferences& sum, const policy::V3PageReferences& more) {
  sum.address_groups += more.address_groups;
  sum.service_groups += more.service_groups;
}

using RuleStream =
    detail::PageStream<policy::V3SiteBuilder, policy::V3RulePageWork, policy::V3PageReferences>;

const std::array<std::pair<const char*, const char*>, 2> kGroupLists{
    {{"address_groups/list", "address_group"}, {"service_groups/list", "service_group"}}};

awaitable<Result<std::array<detail::ListedTexts, 2>>> list_group_texts(FetchContext* ctx) {
  std::array<detail::ListedTexts, 2> lists;
  for (std::size_t i = 0; i < lists.size(); ++i) {
    auto texts = co_await list_texts(ctx, kGroupLists[i].first, kGroupLists[i].second);
    if (!texts) co_return texts.error();
    lists[i] = std::move(*texts);
  }
  co_return lists;
}

// The groups into `builder`: from its memo when their pages have the last complete poll's bytes.
Result<void> set_groups(policy::V3SiteBuilder& builder,
                        const std::array<detail::ListedTexts, 2>& lists) {
  detail::ListingsDigest digest;
  for (std::size_t i = 0; i < lists.size(); ++i) digest.add(kGroupLists[i].first, lists[i]);
  if (builder.reuse_groups(digest.value())) return {};
  auto address_groups = detail::parse_texts(lists[0], kGroupLists[0].first);
  if (!address_groups) return address_groups.error();
  auto service_groups = detail::parse_texts(lists[1], kGroupLists[1].first);
  if (!service_groups) return service_groups.error();
  return builder.set_groups(*address_groups, *service_groups, digest.value());
}

// The values of every category key the rules use, listed after them; parsed only when their
// pages differ from the last complete poll's.
awaitable<Result<void>> add_category_values(FetchContext* ctx, policy::V3SiteBuilder* builder) {
  std::vector<std::pair<std::string, detail::ListedTexts>> listed;
  detail::ListingsDigest digest;
  for (const auto& key : builder->category_keys()) {
    std::string endpoint = "categories/" + percent_encode_segment(key) + "/list";
    auto values = co_await list_texts(ctx, endpoint, "category");
    if (!values) co_return values.error();
    digest.add(endpoint, *values);
    listed.emplace_back(key, std::move(*values));
  }
  if (builder->reuse_category_values(digest.value())) co_return Result<void>{};
  for (const auto& [key, values] : listed) {
    auto parsed = detail::parse_texts(values, "categories/" + percent_encode_segment(key) + "/list");
    if (!parsed) co_return parsed.error();
    if (auto r = builder->add_category_values(key, *parsed); !r) co_return r.error();
  }
  builder->category_values_added(digest.value());
  co_return Result<void>{};
}

awaitable<Result<policy::Snapshot>> build_snapshot(FetchContext* ctx) {
  policy::V3SiteBuilder builder(ctx->options.v3_memo.get());
  bool no_address_groups = false;
  bool no_service_groups = false;
  {
    // Groups first: each rule page resolves its references as it arrives, and is dropped.
    // Lists with the bytes of the last complete poll are not parsed: the memo has the groups.
    auto groups = co_await list_group_texts(ctx);
    if (!groups) co_return groups.error();
    if (auto r = set_groups(builder, *groups); !r) co_return r.error();
    no_address_groups = groups->at(0).items.empty();
    no_service_groups = groups->at(1).items.empty();
  }

  RuleStream stream(&builder, ctx->options.work_pool, co_await asio::this_coro::executor, &add);
  PageSink sink{[&stream, &builder] {
                  stream.restart();
                  builder.restart_rules();
                },
                [&stream, &builder](std::vector<json>& rules) {
                  add(stream.referencing,
                      {rules_referencing(rules, "address_group_inclusion_list"),
                       rules_referencing(rules, "service_group_list")});
                  return builder.add_rules(rules);
                },
                {}, {}, {}};
  if (ctx->options.v3_memo) detail::take_raw_pages(sink, &stream);
  auto rules = co_await list_pages(ctx, "network_security_rules/list", "network_security_rule",
                                   &sink);
  if (!rules) co_return rules.error();
  auto last = co_await detail::drain(&stream);
  if (!last) co_return last.error();
  if (auto e = empty_policy_list(*rules, ctx->options)) co_return *e;
  if (auto e = empty_but_referenced(stream.referencing.address_groups, no_address_groups,
                                    "address_groups/list")) {
    co_return *e;
  }
  if (auto e = empty_but_referenced(stream.referencing.service_groups, no_service_groups,
                                    "service_groups/list")) {
    co_return *e;
  }

  auto values = co_await add_category_values(ctx, &builder);
  if (!values) co_return values.error();
  co_return builder.finish();
}

}  // namespace

awaitable<Result<policy::Snapshot>> fetch_v3_snapshot(http::HttpTransport& transport,
                                                      FetchOptions options, FetchStats& stats) {
  FetchContext ctx;
  init_fetch_context(ctx, transport, std::move(options), stats);

  auto result = co_await build_snapshot(&ctx);
  if (!result) co_return redacted(std::move(result.error()), ctx);
  co_return result;
}

awaitable<Result<policy::V3SiteData>> fetch_v3_site(http::HttpTransport& transport,
                                                    FetchOptions options, FetchStats& stats) {
  FetchContext ctx;
  init_fetch_context(ctx, transport, std::move(options), stats);

  auto result = co_await fetch_all(&ctx);
  if (!result) co_return redacted(std::move(result.error()), ctx);
  co_return result;
}

namespace {

awaitable<Result<V3Lists>> lists_of(FetchContext* ctx,
                                    std::vector<std::pair<std::string, std::string>> lists) {
  V3Lists out;
  for (auto& list : lists) {
    auto all = co_await list_all(ctx, list.first, list.second);
    if (!all) co_return all.error();
    out.push_back(std::move(*all));
  }
  co_return out;
}

}  // namespace

awaitable<Result<V3Lists>> fetch_v3_lists(http::HttpTransport& transport, FetchOptions options,
                                          FetchStats& stats,
                                          std::vector<std::pair<std::string, std::string>> lists) {
  FetchContext ctx;
  init_fetch_context(ctx, transport, std::move(options), stats);
  auto result = co_await lists_of(&ctx, std::move(lists));
  if (!result) co_return redacted(std::move(result.error()), ctx);
  co_return result;
}

}  // namespace flowdrift::prism
