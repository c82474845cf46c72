// Schema migrations: ordered steps compiled into the binary, tracked with PRAGMA user_version
// and applied each in its own transaction. docs/schema.md documents the resulting schema.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace flowdrift::store {

class Database;

// PRAGMA application_id of every flowdrift database: "FlDr" in ASCII.
inline constexpr std::int32_t kApplicationId = 0x466C4472;

struct Migration {
  int version;               // user_version after this step; steps are 1, 2, 3, ...
  std::string_view name;     // short description, logged when applied
  std::string_view sql;      // one or more statements
};

const std::vector<Migration>& migrations();

// The schema version this binary writes (the last step's version).
int latest_schema_version();

// Applies every step newer than the database's user_version, each in one transaction, and
// returns the number applied. The caller has already checked the database is not newer.
int migrate(Database& db);

}  // namespace flowdrift::store
