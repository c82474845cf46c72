// A v3 list page as a Prism Central sends it (POST .../network_security_rules/list, groups,
// categories, and vms, protection rules and recovery plans for VM coverage): read strictly,
// then every entity canonicalized as a poll does, and read as each coverage record; what the
// store keeps of the coverage read back from its text exactly, and the input itself read as
// stored coverage text (a database file is input too). Any input must end in a value or an
// Error, never a crash, a hang or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_strict.hpp"
#include "policy/normalize_v3.hpp"
#include "drift/coverage_v3.hpp"

namespace {

// The page's entities as coverage inputs, reduced as the store keeps them, and back.
void coverage_round_trip(const std::vector<nlohmann::json>& page) {
  flowdrift::drift::CoverageData data;
  for (const auto& e : page) {
    if (auto vm = flowdrift::drift::parse_v3_vm(e, "fuzz")) data.vms.push_back(*vm);
    if (auto rule = flowdrift::drift::parse_v3_protection_rule(e, "fuzz")) data.protections.push_back(*rule);
    if (auto plan = flowdrift::drift::parse_v3_recovery_plan(e, "fuzz")) {
      data.protections.insert(data.protections.end(), plan->begin(), plan->end());
    }
  }
  const auto kept = flowdrift::drift::protected_only(data);
  const auto text = flowdrift::drift::coverage_text(kept);
  const auto back = flowdrift::drift::parse_coverage_text(text, "fuzz");
  if (!back || !(*back == kept)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)flowdrift::drift::parse_coverage_text(std::string(text), "fuzz");
  std::string error;
  const auto doc = flowdrift::json_strict::parse(text, error);
  if (!doc || !doc->is_object()) return 0;
  const auto entities = doc->find("entities");
  if (entities == doc->end() || !entities->is_array()) return 0;
  const std::vector<nlohmann::json> page(entities->begin(), entities->end());
  coverage_round_trip(page);
  // The same entities as rules, and as address and service groups.
  flowdrift::policy::V3SiteBuilder builder;
  if (!builder.set_groups(page, page)) return 0;
  if (!builder.add_rules(page)) return 0;
  for (const auto& key : builder.category_keys()) (void)builder.add_category_values(key, page);
  (void)builder.finish();
  return 0;
}
