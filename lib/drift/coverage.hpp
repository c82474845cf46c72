// VM coverage (issue #18 point 3, docs/design/vm-coverage-api.md): for each VM the source site
// protects for DR, which of the source's Flow policies select it today and which of the
// replica's would select it once it is recovered there. A recovered VM keeps its categories
// (`key:value`, compared by name across sites), but only those that exist on the replica
// select anything there; and a category the pair maps to another spelling on the replica is not
// carried in that spelling unless the VM carries both. Pure: no I/O. Building on this, the
// fetchers (VMs, protection policies, recovery plans) and the metric come next.
#pragma once

#include <string>
#include <vector>

#include "diff/mapping.hpp"
#include "policy/model.hpp"

namespace flowdrift::drift {

struct VmRecord {
  std::string id;    // its uuid / extId on the source site
  std::string name;
  std::vector<std::string> categories;  // "key:value", as the source site reports them
};

// Something that sends VMs to the replica: a protection policy (rule) or a recovery plan.
struct ProtectionRecord {
  std::string kind;  // "protection_policy" | "recovery_plan"
  std::string name;
  std::vector<std::string> categories;  // VMs carrying these ("key:value")
  bool match_all = false;               // all of `categories` (v3 CATEGORIES_MATCH_ALL), else any
  std::vector<std::string> vm_ids;      // VMs named explicitly (recovery plan entities)
};

struct CoverageGap {
  enum class Kind { Unprotected, ProtectedDifferently };
  Kind kind = Kind::Unprotected;
  std::string vm;                       // its name
  std::string protected_by;             // the first protection that sends it to the replica
  std::vector<std::string> selected_now;    // source policies selecting it today
  std::vector<std::string> selected_after;  // the replica's, in the source's names
  std::vector<std::string> missing_categories;  // the source policies' categories the replica lacks
  std::string detail;                   // one line for people
};
std::string_view to_string(CoverageGap::Kind kind);

struct CoverageInput {
  const std::vector<VmRecord>* vms = nullptr;          // the source site's
  const std::vector<ProtectionRecord>* protections = nullptr;  // the source site's
  const policy::Snapshot* source = nullptr;
  const policy::Snapshot* replica = nullptr;
  const diff::PairMapping* mapping = nullptr;  // may be null
};

// One gap per protected VM that some source policy selects and that the replica's policies
// would select otherwise (not at all: unprotected; other policies: protected differently),
// sorted by VM name. VMs no source policy selects are not gaps: nothing protects them today.
std::vector<CoverageGap> check_coverage(const CoverageInput& in);

}  // namespace flowdrift::drift
