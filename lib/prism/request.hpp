// The request loop shared by the v3 and v4 site fetches: one JSON request, retried on retryable
// failures (429/5xx/transport) with backoff and Retry-After, bounded by the poll deadline.
#pragma once

#include <cstdint>
#include <functional>
#include <memory_resource>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "http/asio.hpp"
#include "http/transport.hpp"
#include "policy/page_memo.hpp"
#include "prism/fetch_options.hpp"

namespace flowdrift::prism::detail {

// State shared by the requests of one fetch; lives in the fetch coroutine's frame.
struct FetchContext {
  http::HttpTransport* transport = nullptr;
  FetchOptions options;
  FetchStats* stats = nullptr;
  SteadyTime deadline;
  // The credential header: {"Authorization", "Basic ..."} or {"X-ntnx-api-key", key}.
  http::Header auth;
  std::mt19937_64 rng;
};

// Fills `ctx`: deadline from options.poll_timeout (clamped), the credential header (the API key,
// else Basic Authorization), seeded rng.
void init_fetch_context(FetchContext& ctx, http::HttpTransport& transport, FetchOptions options,
                        FetchStats& stats);

// Extra text for a non-2xx body that error_for_status does not understand (empty if none).
using ErrorDetailFn = std::string (*)(const std::string& body);

// Where a request is, for logs and messages: `here` starts error messages; `endpoint`,
// `position_key` ("offset", "page") and `position` are the retry log's fields.
struct RequestSite {
  std::string here;
  std::string endpoint;
  const char* position_key = "offset";  // must point to a string literal
  std::int64_t position = 0;
};

// Sends `request` (retrying retryable failures while the deadline allows) and returns the
// parsed body of the 2xx answer; a body that is not JSON is Malformed. `detail` may be null.
awaitable<Result<nlohmann::json>> send_json(FetchContext* ctx, http::HttpRequest request,
                                            RequestSite site, ErrorDetailFn detail);

// The same, returning the 2xx answer as received (the caller parses its body).
awaitable<Result<http::HttpResponse>> send_ok(FetchContext* ctx, http::HttpRequest request,
                                              RequestSite site, ErrorDetailFn detail);

// A 2xx body read strictly (core/json_strict.hpp): a duplicate key, a number out of range or
// anything not JSON is Malformed, with the place named after `here`.
Result<nlohmann::json> parse_body(const std::string& body, int status, const std::string& here);

// Error without retryability, the common case of the completeness checks.
Error error_with(ErrorReason reason, std::string message);

// Scrubs the credential header's value, its credentials part, the password and the API key from
// the message.
Error redacted(Error error, const FetchContext& ctx);

// A checked list page kept as the raw JSON texts of its items (views into the body).
struct RawListPage {
  std::vector<std::string_view> items;  // objects
  policy::PageFacts facts;              // the page's total, and each item's id
  std::string digest;  // memo digest of the page body; "" when the sink remembers no pages
};

// Receives a listing page by page, so that a caller can consume entities as they arrive
// instead of holding the whole listing. `restart` is called when the listing starts over.
struct PageSink {
  std::function<void()> restart;
  std::function<Result<void>(std::vector<nlohmann::json>&)> page;  // entities of one checked page
  // Optional: takes a checked page as the raw JSON texts of its entities, so that a sink that
  // has seen an entity before need not parse it. Used instead of `page` when set and the
  // page's envelope reads as expected; any other page goes through `page`. Awaited, so that
  // the sink can hand the work to another thread; the views stay valid until it completes.
  std::function<awaitable<Result<void>>(const RawListPage&)> raw_page;
  // Optional, with raw_page: a sink that remembers whole pages by the memo digest of their body
  // (policy/page_memo.hpp). `known` gives the facts of such a page, or null; `known_page`
  // then takes it in place of raw_page, and the body is never read.
  std::function<policy::SharedFacts(const std::string& digest)> known;
  std::function<awaitable<Result<void>>(const std::string& digest)> known_page;
};

// A checked list page as parsed (a DOM): for sinks without raw pages, and for the pages the
// flat scan does not read (the DOM path then names what is wrong).
struct ParsedPage {
  std::int64_t total = 0;
  std::vector<nlohmann::json> items;
  std::vector<std::string> ids;  // per item, "" where it has none
};

// One list page as a listing loop (v3, v4) has it: known (a page the sink remembers by the
// digest of its body, not read), raw (scanned without a DOM) or parsed.
struct ReadPage {
  std::string body;  // the raw items point into it
  policy::SharedFacts known;
  std::optional<RawListPage> raw;  // for a known page, only its digest
  ParsedPage parsed;

  std::int64_t total() const;
  std::size_t size() const;
  const std::string& id(std::size_t i) const;
};

// Reads a list page's envelope without a DOM (each API has one): nullopt for anything but a
// plain list of object items. May throw nlohmann::json::exception (read_raw takes it as
// nullopt).
using ScanFn = std::optional<RawListPage> (*)(std::string_view body);

// A 2xx body fetched for a raw sink (in out.body), read as little as the sink allows: known,
// else raw. False: neither; the caller parses the body.
bool read_raw(ReadPage& out, const PageSink& sink, ScanFn scan);

// Hands one checked page to the sink, in the form it was read.
awaitable<Result<void>> consume(PageSink* sink, ReadPage* page);

// The ids one pass of a listing has handed out, to tell an item listed twice (the listing shifted
// while paging, so another item was skipped). The ids are copied into one arena and the set holds
// views of them: no allocation per id, whichever form (known, raw, parsed) the page was read in.
class ListedIds {
 public:
  // The first id of `page` that an earlier page or the page itself listed already, or null.
  // Items without an id ("") are not compared.
  const std::string* repeated(const ReadPage& page);

 private:
  std::pmr::monotonic_buffer_resource arena_;
  std::pmr::unordered_set<std::string_view> seen_{&arena_};
};

// A sink that keeps every entity of the listing in `out`.
PageSink collect_into(std::vector<nlohmann::json>& out);

// A listing kept as its items' raw JSON texts, with the digest of every page: the lists that
// policies reference are parsed only when their bytes differ from the last complete poll's.
struct ListedTexts {
  std::vector<std::string> items;    // each item's JSON text, in listing order
  std::vector<std::string> digests;  // each page's memo digest; "" for a page read as a DOM
};

// A sink that keeps the listing in `out` (a page read as a DOM is kept as its items' dump()).
PageSink collect_texts(ListedTexts& out);

// The items parsed strictly (core/json_strict.hpp); a bad one is Malformed, named
// "{endpoint} item {i}: {path}: {reason}".
Result<std::vector<nlohmann::json>> parse_texts(const ListedTexts& listed,
                                                const std::string& endpoint);

// The digest of several listings, each under its endpoint, in the order added: "" when a page
// of any of them has none.
class ListingsDigest {
 public:
  void add(const std::string& endpoint, const ListedTexts& listed);
  std::string value() const;

 private:
  std::string text_;
  bool known_ = true;
};

}  // namespace flowdrift::prism::detail
