// The configuration audit trail (docs/schema.md `config_reloads`): one row per configuration
// load at start and per reload attempt, applied or rejected, with the file's SHA-256 and what
// changed (or why it was rejected).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/db.hpp"

namespace flowdrift::store {

struct ConfigReload {
  std::int64_t id = 0;  // set when read back
  std::int64_t at_ms = 0;
  std::string trigger;  // "start" | "SIGHUP" | "http"
  bool ok = false;
  std::string file;
  std::optional<std::string> sha256;  // of the file's bytes; none when it could not be read
  std::string summary;                // what changed, or every problem that rejected it
};

// Appends one row in its own transaction and returns its id. Throws StoreError.
std::int64_t record_config_reload(Database& db, const ConfigReload& reload);
// Every row, oldest first. Throws StoreError.
std::vector<ConfigReload> config_reloads(Database& db);

}  // namespace flowdrift::store
