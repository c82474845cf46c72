// Intended differences between the two sites of a pair, declared in the config
// (docs/configuration.md "mappings"): a category value, a policy name or a subnet that is
// spelled differently on the replica by design. The replica's snapshot is translated into the
// source's terms before the diff, so mapped differences are not drift. Pure: no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "policy/model.hpp"
#include "policy/view.hpp"

namespace flowdrift::diff {

struct NameRule {
  std::string match;    // ECMAScript regex over the whole source policy name
  std::string replica;  // replacement ($1 ...) giving the replica's name
  std::regex re;
};

struct SubnetRule {
  std::uint32_t source_network = 0;
  std::uint32_t replica_network = 0;
  int prefix = 0;  // both sides have the same prefix length
  std::string text;  // "10.1.0.0/16 -> 10.201.0.0/16", for messages
};

struct PairMapping {
  std::map<std::string, std::string> categories;  // source key:value -> replica key:value
  std::vector<NameRule> names;
  std::vector<SubnetRule> subnets;
  bool empty() const { return categories.empty() && names.empty() && subnets.empty(); }
};

// Builds a mapping from config text; errors name the rule ("categories[Environment:Prod]",
// "names[0].match", "subnets[1]") and the reason.
Result<PairMapping> make_mapping(const std::map<std::string, std::string>& categories,
                                 const std::vector<std::pair<std::string, std::string>>& names,
                                 const std::vector<std::pair<std::string, std::string>>& subnets);

// The replica's snapshot in the source's terms: mapped category values, policy names (the
// first rule matching a source name wins) and subnets (address groups and inline peers)
// rewritten to their source spelling, lists re-sorted, hashes recomputed.
// Reads each object through the replica's view (policy/view.hpp): parsed at most once.
policy::Snapshot translate_replica(const policy::SnapshotView& replica,
                                   const policy::SnapshotView& source, const PairMapping& mapping);
policy::Snapshot translate_replica(const policy::Snapshot& replica,
                                   const policy::Snapshot& source, const PairMapping& mapping);

// The other way: the source's snapshot in the replica's terms, as the replica should hold it
// (a remediation plan's desired state). Category values, policy names (the first rule
// matching each source name) and subnets are written in their replica spelling.
policy::Snapshot translate_source(const policy::SnapshotView& source, const PairMapping& mapping);
// Replica policy name -> source policy name, for the names a rule maps.
std::map<std::string, std::string> replica_policy_names(const policy::SnapshotView& source,
                                                        const PairMapping& mapping);

}  // namespace flowdrift::diff
