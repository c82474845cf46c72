// Failover and failback (docs/failover.md, docs/schema.md `pair_flips`): which site is a pair's
// source. flowdriftctl or the API requests a flip (outcome 'pending'); the daemon applies it
// (app/pairs.hpp) and records the outcome. Every write is audited (store/audit.hpp), and the
// latest applied flip of a pair says which way it points after a restart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "store/db.hpp"

namespace flowdrift::store {

struct FlipRecord {
  std::int64_t id = 0;  // set when stored
  std::string pair;
  std::string action;        // "failover" (the configured replica becomes the source) | "failback"
  std::string source_site;   // the pair's source after the flip
  std::string replica_site;
  std::int64_t requested_ms = 0;
  std::string requested_by;  // the OS user (cli) or the web user (api)
  std::string via;           // "cli" | "api"
  std::string reason;
  std::string outcome = "pending";  // pending | applied | unchanged | refused
  std::optional<std::int64_t> applied_ms;
  std::string message;
  int items = 0;  // open items re-described from the new source
};

// Each throws StoreError. request_flip is its own transaction; finish_flip joins the caller's
// (the daemon re-describes the pair's items in the same one) or opens its own.
std::int64_t request_flip(Database& db, const FlipRecord& flip);
void finish_flip(Database& db, std::int64_t id, const std::string& outcome,
                 const std::string& message, int items, std::int64_t applied_ms);
// Waiting for the daemon, oldest first.
std::vector<FlipRecord> pending_flips(Database& db);
// The pair's latest applied flip: its source_site is the pair's source.
std::optional<FlipRecord> last_applied_flip(Database& db, const std::string& pair);
// Newest first, at most `limit`; every pair when `pair` is empty.
std::vector<FlipRecord> flips(Database& db, const std::string& pair = "", int limit = 100);

// A flip as the API and flowdriftctl's JSON show it (times RFC 3339 with milliseconds).
nlohmann::json flip_json(const FlipRecord& flip);

// Whether the pair is failed over by its latest applied flip (its configured replica is the
// source).
bool failed_over(Database& db, const config::PairConfig& pair);

// A flip asked for by flowdriftctl or the API, checked against the pair as configured and as
// stored: the record to request (request_flip), or why not, in a sentence: an action other
// than failover/failback, no reason, the pair already failed over (or back), or a flip of the
// pair still waiting for the daemon.
struct FlipAsk {
  std::string action;  // "failover" | "failback"
  std::string reason;
  std::string requested_by;
  std::string via;     // "cli" | "api"
  std::int64_t now_ms = 0;
};
inline constexpr std::size_t kMaxFlipReason = 1024;
struct FlipRefused {
  std::string message;
  bool conflict = false;  // the pair's state refused it (already so, or one pending)
};
std::variant<FlipRecord, FlipRefused> check_flip(Database& db, const config::PairConfig& pair,
                                                 const FlipAsk& ask);

}  // namespace flowdrift::store
