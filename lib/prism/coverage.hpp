// The VM coverage reads (docs/design/vm-coverage-api.md): the VMs of a site with their
// categories, and what protects them for DR, every page, complete or an Error, read by
// drift/coverage_v3 and drift/coverage_v4 into the coverage check's records. Never an empty
// inventory for a read that failed.
#pragma once

#include <string>

#include "core/result.hpp"
#include "drift/coverage_v3.hpp"
#include "http/asio.hpp"
#include "http/transport.hpp"
#include "prism/fetch_options.hpp"

namespace flowdrift::prism {

// v3: vms/list, protection_rules/list and recovery_plans/list.
awaitable<Result<drift::CoverageData>> fetch_v3_coverage(http::HttpTransport& transport,
                                                         FetchOptions options, FetchStats& stats);

// The v4 versions a coverage read used, per namespace ("v4.3" .. "v4.0"; "" not known).
struct CoverageVersions {
  std::string vmm;           // ahv/config/vms
  std::string datapolicies;  // protection-policies, and recovery-plans from v4.2
  bool operator==(const CoverageVersions&) const = default;
};

// v4: /api/vmm/v4.x/ahv/config/vms, /api/datapolicies/v4.x/config/protection-policies and,
// from datapolicies v4.2, recovery-plans with each plan's stages; category extIds resolved
// through /api/prism/v4.x/config/categories (options.v4_versions.prism when known). `versions`
// is in/out: the remembered versions are listed first, then the others newest first; it
// returns the ones used. 404 on every version of vmm or datapolicies is that Http 404 error
// (the caller may read the v3 lists instead).
awaitable<Result<drift::CoverageData>> fetch_v4_coverage(http::HttpTransport& transport,
                                                         FetchOptions options, FetchStats& stats,
                                                         CoverageVersions* versions);

}  // namespace flowdrift::prism
