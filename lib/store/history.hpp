// Version history of policies from the audit trail (docs/schema.md query 2, over every site and
// policy at once): what flowdriftctl history prints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/db.hpp"

namespace flowdrift::store {

// One version (content) of one policy on one site.
struct PolicyVersion {
  std::string site;
  std::string policy;
  std::string hash;
  std::string policy_type;
  std::string mode;
  std::int64_t first_seen_ms = 0;  // first complete poll whose snapshot held this version
  std::int64_t last_seen_ms = 0;   // last such poll
  bool current = false;            // in the site's latest complete snapshot
};

struct HistoryQuery {
  std::optional<std::string> site;
  std::optional<std::string> policy;
};

// Every version matching the query, ordered by site, policy, first seen. A version that went
// away and came back shows its overall span. Throws StoreError.
std::vector<PolicyVersion> policy_history(Database& db, const HistoryQuery& query);

}  // namespace flowdrift::store
