// The v4 site fetch over the HttpTransport seam: $page/$limit paging of policies, address
// groups, service groups, entity groups, categories and VPCs with the completeness rules of
// domain.md, each API namespace at the newest version the Prism Central serves.
#pragma once

#include "core/result.hpp"
#include "drift/entity_sync.hpp"
#include "http/asio.hpp"
#include "http/transport.hpp"
#include "policy/normalize_v4.hpp"
#include "prism/fetch_options.hpp"
#include "prism/v4_versions.hpp"

namespace flowdrift::prism {

// Fetches a complete v4 site and canonicalizes it page by page (policy::V4SiteBuilder): what
// the collector polls with. Same versions, completeness rules and errors as fetch_v4_site.
awaitable<Result<policy::Snapshot>> fetch_v4_snapshot(http::HttpTransport& transport,
                                                      FetchOptions options, FetchStats& stats);

// Versions, per namespace (microseg, prism, networking; kV4Versions newest first): the one in
// options.v4_versions is used without a probe, once each newer version has answered 404 to a
// probe (GET {list}?$page=0&$limit=1 on policies, categories or vpcs: an upgrade is seen at
// once). Without one, the newest whose probe does not answer 404. Should a remembered version
// answer 404 when listed (a downgrade or a restore), it is detected again within the fetch.
// 404 on every version: for microseg the Http 404 of that probe (what api: auto falls back to
// v3 on), for prism the same error, for networking no VPC list. stats.v4_versions reports
// the versions used.
//
// Then, before the policies (whose pages are canonicalized as they arrive): address groups,
// service groups, entity groups (v4.1 and later), /api/prism/v4.x/config/categories and, when
// networking is served, /api/networking/v4.x/config/vpcs; then the policies, with $page=P&
// $limit=L (limit = min(page_size, 100)). Complete only when every page arrived and the counts
// equal metadata.totalAvailableResults, and no list policies reference is empty or not served
// (EmptyList). Same error reasons, retries and deadline as fetch_v3_site.
awaitable<Result<policy::V4SiteData>> fetch_v4_site(http::HttpTransport& transport,
                                                    FetchOptions options, FetchStats& stats);

// Nutanix's own sync status: every datapolicies entity-sync-policy (served from v4.1), listed
// with $page/$limit and the completeness rules of every list. `version` (the one the site
// served last, "" if none) is listed first, then v4.3 down to v4.1; 404 on each: NotServed.
// Any other failure (after retries, within options.poll_timeout) is Failed with its reason;
// an item of the wrong shape is Failed (malformed) naming the endpoint and the item. Never
// throws.
awaitable<drift::EntitySyncRead> fetch_entity_sync(http::HttpTransport& transport,
                                                  FetchOptions options, std::string version,
                                                  FetchStats& stats);

}  // namespace flowdrift::prism
