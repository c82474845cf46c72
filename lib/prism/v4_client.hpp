// The v4 microseg site fetch over the HttpTransport seam: $page/$limit paging of policies,
// address groups, service groups and categories with the completeness rules of domain.md.
#pragma once

#include "core/result.hpp"
#include "http/asio.hpp"
#include "http/transport.hpp"
#include "policy/normalize_v4.hpp"
#include "prism/v3_client.hpp"  // FetchOptions, FetchStats

namespace flowdrift::prism {

// Fetches a complete v4 site and canonicalizes it page by page (policy::V4SiteBuilder): what
// the collector polls with. Same completeness rules and errors as fetch_v4_site.
awaitable<Result<policy::Snapshot>> fetch_v4_snapshot(http::HttpTransport& transport,
                                                      FetchOptions options, FetchStats& stats);

// GET {base}/api/microseg/v4.0/config/policies?$page=P&$limit=L (limit = min(page_size, 100)),
// then address-groups, service-groups and /api/prism/v4.0/config/categories. Complete only when
// every page arrived and the counts equal metadata.totalAvailableResults. Same error reasons,
// retries and deadline as fetch_v3_site (404 on the v4 path: Http with status 404).
awaitable<Result<policy::V4SiteData>> fetch_v4_site(http::HttpTransport& transport,
                                                    FetchOptions options, FetchStats& stats);

}  // namespace flowdrift::prism
