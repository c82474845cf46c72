// What the v3 API says about VMs and their DR protection (docs/design/vm-coverage-api.md): the
// entities of vms/list, protection_rules/list and recovery_plans/list read strictly into the
// coverage check's records (coverage.hpp). Every shape problem is an error naming the place;
// nothing is skipped silently. Pure: prism::fetch_v3_coverage fetches the lists.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "drift/coverage.hpp"

namespace flowdrift::drift {

// `where` names the entity in errors ("vms/list entities[3]"). Categories come from
// metadata.categories_mapping (key -> [values]) when present, else metadata.categories.
Result<VmRecord> parse_v3_vm(const nlohmann::json& entity, const std::string& where);
// A protection rule's category filter (CATEGORIES_MATCH_ANY or CATEGORIES_MATCH_ALL; a rule
// whose kind_list leaves out "vm" protects no VM: no categories).
Result<ProtectionRecord> parse_v3_protection_rule(const nlohmann::json& entity,
                                                  const std::string& where);
// A recovery plan's stages: VMs referenced by uuid in one record, and one record per entity
// set selected by categories (all of them).
Result<std::vector<ProtectionRecord>> parse_v3_recovery_plan(const nlohmann::json& entity,
                                                             const std::string& where);
// The three lists' entities, in that order, read into one CoverageData.
Result<CoverageData> parse_v3_coverage(const std::vector<nlohmann::json>& vms,
                                       const std::vector<nlohmann::json>& rules,
                                       const std::vector<nlohmann::json>& plans);

}  // namespace flowdrift::drift
