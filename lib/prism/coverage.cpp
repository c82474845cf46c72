#include "prism/coverage.hpp"

#include <string>
#include <utility>
#include <vector>

#include "prism/v3_client.hpp"

namespace flowdrift::prism {

awaitable<Result<drift::CoverageData>> fetch_v3_coverage(http::HttpTransport& transport,
                                                         FetchOptions options, FetchStats& stats) {
  std::vector<std::pair<std::string, std::string>> names;
  names.emplace_back("vms/list", "vm");
  names.emplace_back("protection_rules/list", "protection_rule");
  names.emplace_back("recovery_plans/list", "recovery_plan");
  auto lists = co_await fetch_v3_lists(transport, std::move(options), stats, std::move(names));
  if (!lists) co_return lists.error();
  co_return drift::parse_v3_coverage((*lists)[0], (*lists)[1], (*lists)[2]);
}

}  // namespace flowdrift::prism
