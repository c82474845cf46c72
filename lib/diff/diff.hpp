// Pair diff: compares the latest complete snapshots of a pair's source and replica and
// classifies every difference by kind and severity (docs/domain.md "Kinds and
// severity of drift"). Pure: no I/O. Differences are named by keys (policy name, field path,
// rule content), never by array index, because canonical lists are sets.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "diff/mapping.hpp"
#include "policy/model.hpp"
#include "policy/view.hpp"

namespace flowdrift::diff {

enum class DriftKind { Missing, Extra, EnforcementMode, Modified, Reference, DanglingReference };
enum class Severity { Info, Warning, Critical };
// Which way a modified policy moved, judged from structure (rules and switches added or
// removed on the replica). Behavioural comparison refines this later. Unknown: a construct
// whose allowed-flow semantics the model cannot establish (FLEX rules, members no version of
// the model knows) differs; compared structurally, severity warning.
enum class Direction { None, MorePermissive, MoreRestrictive, Both, Cosmetic, Unknown };

std::string_view to_string(DriftKind k);
std::string_view to_string(Severity s);
std::string_view to_string(Direction d);
std::optional<DriftKind> parse_kind(std::string_view s);
std::optional<Severity> parse_severity(std::string_view s);

inline constexpr DriftKind kAllKinds[] = {DriftKind::Missing, DriftKind::Extra,
                                          DriftKind::EnforcementMode, DriftKind::Modified,
                                          DriftKind::Reference, DriftKind::DanglingReference};
inline constexpr Severity kAllSeverities[] = {Severity::Info, Severity::Warning,
                                              Severity::Critical};

// One differing field. `path` names keys ("mode", "secured_group.categories"); for set
// members it ends in "[+ ...]" (only on the replica) or "[- ...]" (only on the source).
struct FieldDiff {
  std::string path;
  std::string source;   // the source's value as compact JSON, empty if absent
  std::string replica;  // the replica's value as compact JSON, empty if absent
};

// The live expectation (drift/expect.hpp) an item is covered by: stored and exported, never alerted.
struct ExpectedBy {
  std::string selector;  // "policy=app-* kind=modified"
  std::string owner;
  std::string reason;
  std::string expires;   // as written in the config
  bool operator==(const ExpectedBy&) const = default;
};

struct DriftItem {
  std::string object;  // policy name
  DriftKind kind = DriftKind::Modified;
  Severity severity = Severity::Info;
  Direction direction = Direction::None;
  std::vector<FieldDiff> fields;
  std::string summary;  // one line for logs and CLI output
  std::optional<ExpectedBy> expected;  // set by apply_expectations, never by the diff
  // The policy's type and mode on the side that holds it (the replica's for an extra item),
  // which severity is judged by when the item is seen from the other side (flipped()). Not
  // stored: empty for an item read back from the database.
  std::string policy_type;
  std::string policy_mode;

  // Identity of the item across cycles: opens and resolves by (object, kind).
  bool same_identity(const DriftItem& o) const { return object == o.object && kind == o.kind; }
};

enum class PairStatus { InSync, Drifted, Unknown };
std::string_view to_string(PairStatus s);

struct PairResult {
  PairStatus status = PairStatus::Unknown;
  std::string unknown_reason;    // set when status is Unknown
  std::vector<DriftItem> items;  // sorted by (object, kind)
};

// Compares two complete snapshots, each read through its view (policy/view.hpp): every
// canonical object is parsed at most once per comparison, and only when needed.
PairResult diff_snapshots(const policy::SnapshotView& source, const policy::SnapshotView& replica);
// The same, with the pair's declared mappings applied to the replica first (mapping.hpp).
PairResult diff_snapshots(const policy::SnapshotView& source, const policy::SnapshotView& replica,
                          const PairMapping& mapping);
// The same, building the views: an object that let its text go (has_text false) reads the
// text of the other side's object with the same hash.
PairResult diff_snapshots(const policy::Snapshot& source, const policy::Snapshot& replica);
PairResult diff_snapshots(const policy::Snapshot& source, const policy::Snapshot& replica,
                          const PairMapping& mapping);

// After a failover the configured replica is the source of truth (docs/failover.md). The
// diff still runs in the configured direction, so mappings and expected differences apply as
// declared, and each item is then seen from the other side: missing and extra trade places,
// the fields' source and replica values (and `[+`/`[-` rule markers, example flows, dangling
// sides) swap, more permissive and more restrictive trade places, and severity is judged again
// by docs/domain.md's table in the new direction. The item keeps its object name (the
// configured source's spelling). An involution: flipped(flipped(x)) == x, so a flip and a
// flip back change nothing. Without policy_type/policy_mode (an item read back from the
// database) a missing or extra item keeps its severity.
DriftItem flipped(DriftItem item);
// Every item flipped, re-sorted by (object, kind).
void flip(PairResult& result);

// The pair result when a side has no complete snapshot for this cycle: UNKNOWN, no items
// (callers keep the items they had; nothing opens or resolves on partial data).
PairResult unknown_result(std::string reason);

}  // namespace flowdrift::diff
