// PairTracker: decides, after every poll of a site, what happens to the pairs that site is in.
//  - failed poll: the pair becomes UNKNOWN(reason); its drift items stay exactly as they were;
//  - complete poll, other side's latest poll this run complete: if the two polls are further
//    apart than the pair's max_skew, the pair is UNKNOWN(skew); else compare the two latest
//    complete snapshots when either changed since the last comparison, the pair was UNKNOWN,
//    an item is still debouncing, or an expected difference started or stopped being live
//    (and always once after start: the config may have changed), and open, raise and resolve
//    drift items in the same transaction as the poll;
//  - other side not polled yet since start: keep the stored state (a restart changes nothing).
// Logs and metrics follow only once the transaction has committed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "store/drift.hpp"
#include "store/store.hpp"

namespace flowdrift::app {

class PairTracker {
 public:
  // Loads every pair's stored status and open items (so a restart keeps them) into `metrics`.
  PairTracker(const config::Config& config, store::Store& store, metrics::Metrics& metrics);

  // Inside the poll's transaction (PollHooks::in_transaction). Throws on database errors,
  // which rolls the poll back.
  void in_transaction(store::Database& db, const store::PollRecord& poll,
                      const store::PollOutcome& outcome, const policy::Snapshot* snapshot);
  // After the transaction: publish what it did (committed) or forget it (rolled back).
  void after_poll(bool committed);

  // A configuration reload (between polls, on the event loop; `metrics` already knows the new
  // sites and pairs). Sites in `reset_sites` (their connection changed) count as not polled
  // since start, so no pair compares across the change: a pair waits for a poll of the site as
  // newly configured, keeping its stored state meanwhile. Added pairs load their stored state
  // as at start; a pair whose direction changed starts over as at start; every other kept pair
  // takes its new mappings, expectations, debounce and max_skew and is compared afresh at its
  // next poll when it is listed in `changed_pairs`. Other pairs are left exactly as they are.
  void reconfigure(const config::Config& config, const std::vector<std::string>& reset_sites,
                   const std::vector<std::string>& changed_pairs);

  struct PairView {
    std::string name;
    std::string source;
    std::string replica;
    diff::PairStatus status = diff::PairStatus::Unknown;
    std::string reason;
  };
  std::vector<PairView> pairs() const;

 private:
  struct SiteRun {
    bool polled = false;    // polled at least once since start
    bool complete = false;  // its latest poll was complete
    std::string reason;
    std::optional<std::int64_t> snapshot_id;  // latest complete snapshot
    std::int64_t complete_ms = 0;             // when its latest complete poll finished
  };
  struct PairRun {
    store::PairIdentity id;
    diff::PairMapping mapping;  // the pair's declared intended differences
    std::vector<diff::Expectation> expected;
    store::Debounce debounce;
    std::int64_t max_skew_ms = 0;
    diff::PairStatus status = diff::PairStatus::Unknown;
    std::string reason;
    std::optional<std::int64_t> compared_source;  // snapshots of the last complete comparison
    std::optional<std::int64_t> compared_replica;
    bool compared_since_start = false;
    bool pending_items = false;       // an open item is still debouncing
    std::vector<bool> live_expected;  // which expectations were live at the last comparison
    std::optional<std::int64_t> skew_ms;
  };
  struct Pending {
    std::string pair;
    diff::PairStatus status;
    std::string reason;
    bool compared = false;
    double seconds = 0;
    std::int64_t now_ms = 0;
    std::optional<std::int64_t> source_snapshot, replica_snapshot;
    std::optional<std::int64_t> skew_ms;
    std::vector<bool> live_expected;
    store::DriftChanges changes;
  };

  // A pair's run as at start: settings from the config, status from the store.
  PairRun load_pair(const config::PairConfig& p) const;
  // Mappings, expectations, debounce and max_skew from the config.
  static void apply_settings(PairRun& run, const config::PairConfig& p);
  void publish(const std::string& pair, double seconds, std::optional<std::int64_t> compared_ms,
               std::optional<std::int64_t> skew_ms = std::nullopt);

  store::Store& store_;
  metrics::Metrics& metrics_;
  std::map<std::string, SiteRun> sites_;
  std::map<std::string, PairRun> pairs_;
  std::vector<Pending> pending_;
  std::map<std::string, SiteRun> pending_sites_;
};

}  // namespace flowdrift::app
