// A v3 list page as a Prism Central sends it (POST .../network_security_rules/list, groups,
// categories, and vms, protection rules and recovery plans for VM coverage): read strictly,
// then every entity canonicalized as a poll does, and read as each coverage record. Any input must
// end in a value or an Error, never a crash, a hang or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/json_strict.hpp"
#include "policy/normalize_v3.hpp"
#include "drift/coverage_v3.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto doc = flowdrift::json_strict::parse(text, error);
  if (!doc || !doc->is_object()) return 0;
  const auto entities = doc->find("entities");
  if (entities == doc->end() || !entities->is_array()) return 0;
  const std::vector<nlohmann::json> page(entities->begin(), entities->end());
  for (const auto& e : page) {
    (void)flowdrift::drift::parse_v3_vm(e, "fuzz");
    (void)flowdrift::drift::parse_v3_protection_rule(e, "fuzz");
    (void)flowdrift::drift::parse_v3_recovery_plan(e, "fuzz");
  }
  // The same entities as rules, and as address and service groups.
  flowdrift::policy::V3SiteBuilder builder;
  if (!builder.set_groups(page, page)) return 0;
  if (!builder.add_rules(page)) return 0;
  for (const auto& key : builder.category_keys()) (void)builder.add_category_values(key, page);
  (void)builder.finish();
  return 0;
}
