// Retention (docs/schema.md "Retention"): prunes audit rows older than the configured window
// without touching what the present or the window still needs. Kept, whatever their age:
//  - each site's latest complete poll and its snapshot (the live snapshot);
//  - each site's last complete poll before the cutoff and its snapshot, so "which policies did
//    the site have at time T" still answers for every T inside the window;
//  - drift items open, or resolved inside the window, with their events, and the polls and
//    snapshots they name; the snapshots each pair last compared;
//  - objects (policy versions) that any kept snapshot holds;
//  - the latest config_reloads row (how the running configuration came to be).
// Removed: older polls, drift items resolved before the cutoff (with their events), snapshots no
// kept row refers to (with their members and findings), objects no snapshot holds, and older
// config_reloads rows.
//
// The work is split into small transactions (Pruner::step) so the single-threaded daemon can
// run polls between them; the database file stops growing (SQLite reuses the freed pages)
// rather than shrinking.
#pragma once

#include <cstdint>
#include <map>
#include <vector>
#include <string>

namespace flowdrift::store {

class Database;

struct PruneStats {
  std::map<std::string, std::int64_t> deleted;  // table -> rows deleted
  int transactions = 0;
  std::int64_t total() const;
};

class Pruner {
 public:
  // Prunes rows older than `cutoff_ms` (unix ms). `batch` bounds the rows one step deletes
  // from a table (snapshot members count per snapshot, a few thousand each).
  Pruner(Database& db, std::int64_t cutoff_ms, int batch = 2000);
  ~Pruner();
  Pruner(const Pruner&) = delete;
  Pruner& operator=(const Pruner&) = delete;

  // Runs one bounded transaction. Returns false once nothing is left to prune (then every
  // further call returns false at once). Throws StoreError on database errors; the failed
  // step is rolled back and a later Pruner starts over safely.
  bool step();
  const PruneStats& stats() const { return stats_; }

 private:
  enum class Phase { Items, Polls, Snapshots, Objects, Reloads, Done };
  // The ids a query gives with ?1 = the cutoff and ?2 = the batch size.
  std::vector<std::int64_t> batch_ids(const char* sql);
  bool items();
  std::size_t coverage_gaps();
  bool polls();
  bool snapshots();
  bool objects();
  bool reloads();

  Database& db_;
  std::int64_t cutoff_ms_;
  int batch_;
  std::int64_t cursor_ = 0;  // last id handled in the current phase
  Phase phase_ = Phase::Items;
  PruneStats stats_;
};

// Runs a whole pass at once (flowdriftctl, tests).
PruneStats prune(Database& db, std::int64_t cutoff_ms, int batch = 2000);

}  // namespace flowdrift::store
