// VM coverage (issue #18 point 3, docs/design/vm-coverage-api.md): for each VM the source site
// protects for DR, which of the source's Flow policies select it today and which of the
// replica's would select it once it is recovered there. A recovered VM keeps its categories
// (`key:value`, compared by name across sites), but only those that exist on the replica
// select anything there; and a category the pair maps to another spelling on the replica is not
// carried in that spelling unless the VM carries both. Pure: no I/O; prism/coverage.hpp reads
// the inputs, store/coverage.hpp keeps them (content-addressed) and the pair's gaps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "diff/mapping.hpp"
#include "policy/model.hpp"

namespace flowdrift::drift {

struct VmRecord {
  std::string id;    // its uuid / extId on the source site
  std::string name;
  std::vector<std::string> categories;  // "key:value", as the source site reports them
  bool operator==(const VmRecord&) const = default;
};

// Something that sends VMs to the replica: a protection policy (rule) or a recovery plan.
struct ProtectionRecord {
  std::string kind;  // "protection_policy" | "recovery_plan"
  std::string name;
  std::vector<std::string> categories;  // VMs carrying these ("key:value")
  bool match_all = false;               // all of `categories` (v3 CATEGORIES_MATCH_ALL), else any
  std::vector<std::string> vm_ids;      // VMs named explicitly (recovery plan entities)
  bool operator==(const ProtectionRecord&) const = default;
};

// What a site says about its VMs and their protection.
struct CoverageData {
  std::vector<VmRecord> vms;
  std::vector<ProtectionRecord> protections;
  bool operator==(const CoverageData&) const = default;
};

// Only what the check needs: the VMs some protection sends to the replica (sorted by id), and
// the protections, sorted. What the store keeps, so a site's unprotected VMs are never stored.
CoverageData protected_only(const CoverageData& all);
// The canonical text of `data` (as protected_only leaves it), its digest, and back. The text
// is JSON: {"vms":[{"id","name","categories"}],"protections":[{"kind","name","categories",
// "match_all","vm_ids"}]}; parse_coverage_text checks every field (a database is input too).
std::string coverage_text(const CoverageData& data);
Result<CoverageData> parse_coverage_text(const std::string& text, const std::string& where);

// What one poll read of a site's VMs and their protection.
struct CoverageRead {
  enum class State {
    NotRead,    // not asked (a baseline, a failed poll, not due, vm_coverage off)
    NotServed,  // neither the v4 nor the v3 VM lists are served (404 or 410)
    Complete,   // every list read: `data` is what the check needs
    Failed,     // a list failed: `reason`, `message`; the last complete read stays
  };
  State state = State::NotRead;
  std::string api;      // Complete: "v3", or the v4 versions read ("vmm v4.3, datapolicies v4.3")
  std::string reason;   // Failed: an ErrorReason string
  std::string message;  // Failed: what went wrong, where
  std::int64_t vms = 0; // Complete: every VM the site listed
  CoverageData data;    // Complete: protected_only of what was read
};
std::string_view to_string(CoverageRead::State s);

struct CoverageGap {
  enum class Kind { Unprotected, ProtectedDifferently };
  Kind kind = Kind::Unprotected;
  std::string vm_id;                    // its id on the source site
  std::string vm;                       // its name
  std::string protected_by;             // the first protection that sends it to the replica
  std::vector<std::string> selected_now;    // source policies selecting it today
  std::vector<std::string> selected_after;  // the replica's, in the source's names
  std::vector<std::string> missing_categories;  // the source policies' categories the replica lacks
  std::string detail;                   // one line for people
  bool operator==(const CoverageGap&) const = default;
};
std::string_view to_string(CoverageGap::Kind kind);
inline constexpr std::string_view kCoverageGapKinds[] = {"unprotected", "protected_differently"};

struct CoverageInput {
  const std::vector<VmRecord>* vms = nullptr;          // the source site's
  const std::vector<ProtectionRecord>* protections = nullptr;  // the source site's
  const policy::Snapshot* source = nullptr;
  const policy::Snapshot* replica = nullptr;
  const diff::PairMapping* mapping = nullptr;  // may be null; as configured
  // The pair is failed over: `source` and `vms`/`protections` are the configured replica's (the
  // site serving now), `replica` the configured source's, and `mapping` applies backwards.
  bool flipped = false;
};

// One gap per protected VM that some source policy selects and that the replica's policies
// would select otherwise (not at all: unprotected; other policies: protected differently),
// sorted by VM name. VMs no source policy selects are not gaps: nothing protects them today.
std::vector<CoverageGap> check_coverage(const CoverageInput& in);

}  // namespace flowdrift::drift
