// The v3 site fetch: every page of rules, address groups, service groups, category keys and
// the values of every referenced category key, over the http::HttpTransport seam. Enforces the
// completeness rules of docs/domain.md: anything short of a complete site is an Error.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "http/asio.hpp"
#include "http/transport.hpp"
#include "policy/normalize_v3.hpp"
#include "prism/fetch_options.hpp"

namespace flowdrift::prism {

// Fetches a complete v3 site and canonicalizes it page by page (policy::V3SiteBuilder), so
// that no more than one page of raw JSON is held at a time: what the collector polls with.
// The same completeness rules and errors as fetch_v3_site, plus canonicalization's Malformed.
awaitable<Result<policy::Snapshot>> fetch_v3_snapshot(http::HttpTransport& transport,
                                                      FetchOptions options, FetchStats& stats);

// Fetches a complete v3 site, raw (flowdriftctl dump, tests). Errors name the endpoint and offset and never contain the
// password or the Authorization header. Must be co_awaited on the transport's executor;
// `transport` and `stats` must outlive the awaited call.
awaitable<Result<policy::V3SiteData>> fetch_v3_site(http::HttpTransport& transport,
                                                    FetchOptions options, FetchStats& stats);

// Every entity of each v3 list named (endpoint, kind), in order, each complete as the policy
// lists are (paging, total checks, a total that moves restarts once), or an Error.
using V3Lists = std::vector<std::vector<nlohmann::json>>;
awaitable<Result<V3Lists>> fetch_v3_lists(http::HttpTransport& transport, FetchOptions options,
                                          FetchStats& stats,
                                          std::vector<std::pair<std::string, std::string>> lists);

}  // namespace flowdrift::prism
