// The daemon's state as JSON documents, read from its database (docs/api.md). flowdriftd serves
// them under /api/v1 and flowdriftctl prints them, from a database file or from the daemon
// (--server), so both give the same fields under the same names. Every document names its
// `schema`; a field is only ever added to a version, never renamed or removed. Times are
// RFC 3339 UTC with milliseconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "drift/reconcile.hpp"
#include "store/drift.hpp"
#include "store/flips.hpp"
#include "store/history.hpp"

namespace flowdrift::store {
class Database;
}

namespace flowdrift::report {

inline constexpr const char* kStatusSchema = "flowdrift.status/v1";
inline constexpr const char* kDriftSchema = "flowdrift.drift/v1";
inline constexpr const char* kHistorySchema = "flowdrift.history/v1";
inline constexpr const char* kAppliesSchema = "flowdrift.applies/v1";
inline constexpr const char* kFlipSchema = "flowdrift.flip/v1";

// Open items of each pair by state (`alerting`, `pending`, `expected`): what alerts, what is
// still debouncing, what a live expectation covers. A pair without open items is absent;
// no_open_items() is its counts.
std::map<std::string, nlohmann::json> open_counts(store::Database& db);
nlohmann::json no_open_items();

// Pairs as last compared (status, reason, open items by state, skew, latest flip), sites (latest
// poll, latest complete poll and its snapshot, entity sync, VM coverage), open entity-sync
// disagreements and VM coverage gaps, and the five latest flips.
nlohmann::json status_document(store::Database& db);

// Drift items, oldest first. `state` keeps only items in that state (pending, raised, expected,
// resolved); at most `limit` are listed, and `total` says how many matched.
struct DriftFilter {
  store::DriftQuery query;
  std::optional<std::string> state;
  std::size_t limit = 1000;
};
nlohmann::json drift_document(store::Database& db, const DriftFilter& filter);
nlohmann::json drift_item_json(const drift::Item& item);

// Every stored version of each policy, per site, with when it was first and last seen.
nlohmann::json history_document(store::Database& db, const store::HistoryQuery& query);

// flowdriftctl apply's audit trail, newest first, each apply with its requests.
nlohmann::json applies_document(store::Database& db);

// One failover or failback as `flowdriftctl failover|failback -o json` prints it and
// POST /api/v1/pairs/<pair>/failover|failback answers: store::flip_json with its schema.
nlohmann::json flip_document(const store::FlipRecord& flip);

// The text a document's time field holds, without its milliseconds ("2026-11-25T10:00:00Z"),
// for tables; "" for null.
std::string short_time(const nlohmann::json& time);

}  // namespace flowdrift::report
