// The request loop shared by the v3 and v4 site fetches: one JSON request, retried on retryable
// failures (429/5xx/transport) with backoff and Retry-After, bounded by the poll deadline.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "http/asio.hpp"
#include "http/transport.hpp"
#include "prism/fetch_options.hpp"

namespace flowdrift::prism::detail {

// State shared by the requests of one fetch; lives in the fetch coroutine's frame.
struct FetchContext {
  http::HttpTransport* transport = nullptr;
  FetchOptions options;
  FetchStats* stats = nullptr;
  SteadyTime deadline;
  std::string authorization;  // "Basic ..."
  std::mt19937_64 rng;
};

// Fills `ctx`: deadline from options.poll_timeout (clamped), Basic Authorization, seeded rng.
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

// Scrubs the Authorization value, its credentials part and the password from the message.
Error redacted(Error error, const FetchContext& ctx);

// Receives a listing page by page, so that a caller can consume entities as they arrive
// instead of holding the whole listing. `restart` is called when the listing starts over.
struct PageSink {
  std::function<void()> restart;
  std::function<Result<void>(std::vector<nlohmann::json>&)> page;  // entities of one checked page
  // Optional: takes a checked page as the raw JSON texts of its entities (objects), so that a
  // sink that has seen an entity before need not parse it. Used instead of `page` when set and
  // the page's envelope reads as expected; any other page goes through `page`.
  // Awaited, so that the sink can hand the work to another thread; the views stay valid until
  // it completes.
  std::function<awaitable<Result<void>>(const std::vector<std::string_view>&)> raw_page;
};

// A sink that keeps every entity of the listing in `out`.
PageSink collect_into(std::vector<nlohmann::json>& out);

}  // namespace flowdrift::prism::detail
