// prism::fetch_v3_coverage: the v3 lists VM coverage reads (vms, protection_rules,
// recovery_plans), every page, complete or an Error, read by drift/coverage_v3.
#pragma once

#include "core/result.hpp"
#include "drift/coverage_v3.hpp"
#include "http/asio.hpp"
#include "http/transport.hpp"
#include "prism/fetch_options.hpp"

namespace flowdrift::prism {

awaitable<Result<drift::CoverageData>> fetch_v3_coverage(http::HttpTransport& transport,
                                                         FetchOptions options, FetchStats& stats);

}  // namespace flowdrift::prism
