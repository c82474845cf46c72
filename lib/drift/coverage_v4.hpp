// What the v4 APIs say about VMs and their DR protection (docs/design/vm-coverage-api.md): vmm
// `ahv/config/vms` items, datapolicies `protection-policies` and recovery plan `stages`, read
// strictly into the coverage check's records (coverage.hpp). v4 names categories by extId: each
// is resolved through the site's categories ("key:value"); one the site does not list is an
// error, never dropped. Pure: the fetch comes next.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "drift/coverage.hpp"

namespace flowdrift::drift {

using CategoryNames = std::map<std::string, std::string>;  // extId -> "key:value"

// A vmm Vm: extId, name, categories[{extId}].
Result<VmRecord> parse_v4_vm(const nlohmann::json& item, const std::string& where,
                             const CategoryNames& categories);
// A datapolicies ProtectionPolicy: it protects every VM carrying any of its categoryIds.
Result<ProtectionRecord> parse_v4_protection_policy(const nlohmann::json& item,
                                                    const std::string& where,
                                                    const CategoryNames& categories);
// One RecoveryStage of plan `plan`: VMs by extId (entities) and by category (categoryExtIds,
// any of them); a VOLUME_GROUP stage recovers no VM.
Result<std::vector<ProtectionRecord>> parse_v4_recovery_stage(const nlohmann::json& item,
                                                              const std::string& where,
                                                              const std::string& plan,
                                                              const CategoryNames& categories);

}  // namespace flowdrift::drift
