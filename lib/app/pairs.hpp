// PairTracker: runs drift::Tracker's decisions after every poll of a site. Inside the poll's
// transaction it compares the decided pairs (diff, expectations, drift::reconcile) and stores
// what changed; once the transaction has committed it takes the decisions in, logs them and
// publishes the metrics. What is decided, and when, is in drift/tracker.hpp and
// drift/reconcile.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "drift/tracker.hpp"
#include "metrics/metrics.hpp"
#include "store/coverage.hpp"
#include "store/drift.hpp"
#include "store/entity_sync.hpp"
#include "store/flips.hpp"
#include "store/store.hpp"

namespace flowdrift::app {

class PairTracker {
 public:
  // What `now` is for the decisions (unix ms): the wall clock unless a test gives another.
  using Clock = std::function<std::int64_t()>;
  // Loads every pair's stored status and open items (so a restart keeps them) into `metrics`.
  PairTracker(const config::Config& config, store::Store& store, metrics::Metrics& metrics,
              Clock clock = {});

  // Inside the poll's transaction (PollHooks::in_transaction). Throws on database errors,
  // which rolls the poll back.
  void in_transaction(store::Database& db, const store::PollRecord& poll,
                      const store::PollOutcome& outcome, const policy::Snapshot* snapshot);
  // After the transaction: publish what it did (committed) or forget it (rolled back).
  void after_poll(bool committed);

  // A configuration reload (between polls, on the event loop; `metrics` already knows the new
  // sites and pairs): drift::Tracker::reconfigure, then the metrics of the pairs it touched.
  void reconfigure(const config::Config& config, const std::vector<std::string>& reset_sites,
                   const std::vector<std::string>& changed_pairs);

  // Applies every flip waiting in the store (store/flips.hpp), oldest first, each in its own
  // transaction: the pair's open items re-described from the new source (drift::reorient),
  // never opened or resolved. On the event loop, between polls. Returns them as recorded.
  std::vector<store::FlipRecord> apply_flips();

  struct PairView {
    std::string name;
    std::string source;
    std::string replica;
    diff::PairStatus status = diff::PairStatus::Unknown;
    std::string reason;
  };
  std::vector<PairView> pairs() const;

 private:
  // One decision of the poll being stored, with what storing it did.
  struct Pending {
    drift::Decision decision;
    diff::PairStatus was = diff::PairStatus::Unknown;
    std::string was_reason;
    double seconds = 0;
    std::optional<drift::Reconciled> result;  // Compare
  };

  store::FlipRecord apply_flip(store::FlipRecord flip);
  // Why a flip cannot apply to the pair as configured, if it cannot.
  std::optional<std::string> flip_refusal(const store::FlipRecord& flip) const;
  void publish_direction(const std::string& pair);
  // The pair's source by its latest applied flip, if it ever flipped.
  std::optional<std::string> stored_source(const std::string& pair) const;
  // A pair as the store last left it; `open` are its open items, read once by the caller.
  std::optional<drift::StoredPair> stored_pair(const std::string& pair,
                                               const std::vector<drift::Item>& open) const;
  drift::Reconciled compare(store::Database& db, const drift::Decision& d,
                            const store::PollOutcome& outcome, const policy::Snapshot& polled);
  void log_changes(const std::string& pair, const drift::Reconciled& r);
  // Nutanix's entity sync of the pair's source against the pair as just compared (its two
  // snapshots, its open items): the disagreements stored, their changes kept for after_poll.
  // A failed last read checks nothing; a source without a complete read has none.
  void cross_check(store::Database& db, const std::string& pair, const policy::Snapshot& source,
                   const policy::Snapshot& replica, std::int64_t now_ms);
  // The VMs the pair's current source protects against the two snapshots (as configured: the
  // pair's `flipped` turns them round): the gaps stored, their changes kept for after_poll.
  // A failed last read checks nothing; a source without a complete read has no gaps.
  void check_coverage(store::Database& db, const std::string& pair,
                      const policy::Snapshot& source, const policy::Snapshot& replica,
                      bool flipped, std::int64_t now_ms);
  // The polled site's entity sync or VM coverage changed: its pairs that were not compared in
  // this poll are checked against the snapshots they last compared (when not UNKNOWN).
  void check_uncompared(store::Database& db, const std::string& site,
                        const store::PollOutcome& outcome, std::int64_t now_ms);
  void log_gaps(const std::string& pair, const store::GapChanges& changes);
  void publish_gaps(const std::string& pair);
  // Logs and publishes the checks' changes once their transaction committed.
  void flush_check_changes();
  void log_disagreements(const std::string& pair, const store::DisagreementChanges& changes);
  void publish_disagreements(const std::string& pair);
  void publish_expectations(const config::PairConfig& p);
  void publish(const std::string& pair, const std::vector<drift::Item>& open, double seconds,
               std::optional<std::int64_t> compared_ms,
               std::optional<std::int64_t> skew_ms = std::nullopt);
  // A pair's expectations and its state as the store and the tracker hold it (start-up, reload).
  void publish_restored(const config::PairConfig& p, const std::vector<drift::Item>& open);

  store::Store& store_;
  metrics::Metrics& metrics_;
  Clock clock_;
  drift::Tracker tracker_;
  std::optional<drift::SitePoll> pending_poll_;
  std::vector<Pending> pending_;
  // Disagreement changes of the poll being stored, by pair, for after_poll.
  std::vector<std::pair<std::string, store::DisagreementChanges>> sync_changes_;
  // Coverage gap changes of the poll (or flip) being stored, by pair.
  std::vector<std::pair<std::string, store::GapChanges>> gap_changes_;
};

}  // namespace flowdrift::app
