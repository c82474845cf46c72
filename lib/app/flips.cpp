// PairTracker's flips (failover and failback): docs/failover.md.
#include <exception>

#include "app/pairs.hpp"
#include "core/log.hpp"
#include "store/db.hpp"

namespace flowdrift::app {
namespace {

std::shared_ptr<spdlog::logger> logger() { return log::get("drift"); }

}  // namespace

std::vector<store::FlipRecord> PairTracker::apply_flips() {
  std::vector<store::FlipRecord> done;
  for (auto& f : store::pending_flips(store_.db())) {
    try {
      done.push_back(apply_flip(std::move(f)));
    } catch (const std::exception& e) {
      // Rolled back: it stays pending and is tried again.
      log::warn(logger(), "pair.flip_failed", {{"pair", f.pair}, {"flip", f.id}, {"error", std::string(e.what())}});
    }
  }
  return done;
}

std::optional<std::string> PairTracker::flip_refusal(const store::FlipRecord& f) const {
  if (tracker_.pairs().count(f.pair) == 0) return "no pair " + f.pair + " in the configuration";
  const auto& id = tracker_.pair(f.pair).id;
  const bool same_sites = (f.source_site == id.source_site && f.replica_site == id.replica_site) ||
                          (f.source_site == id.replica_site && f.replica_site == id.source_site);
  if (!same_sites) {
    return "pair " + f.pair + " is between " + id.source_site + " and " + id.replica_site +
           " in the configuration, not " + f.source_site + " and " + f.replica_site;
  }
  return std::nullopt;
}

store::FlipRecord PairTracker::apply_flip(store::FlipRecord f) {
  const auto now_ms = clock_();
  auto& db = store_.db();
  gap_changes_.clear();  // of a flip that rolled back
  store::Transaction tx(db);
  if (auto why = flip_refusal(f)) {
    f.outcome = "refused";
    f.message = *why;
  } else if (tracker_.pair(f.pair).current().source_site == f.source_site) {
    f.outcome = "unchanged";
    f.message = f.source_site + " is already the source of pair " + f.pair;
  } else {
    const auto& run = tracker_.pair(f.pair);
    const bool flipped = f.source_site == run.id.replica_site;
    const drift::PairIdentity now = flipped ? drift::PairIdentity{f.pair, run.id.replica_site,
                                                                  run.id.source_site}
                                            : run.id;
    // The last comparison seen from the new source describes the items exactly; the VMs the
    // new source protects are checked against it.
    std::optional<diff::PairResult> fresh;
    if (run.compared_source && run.compared_replica) {
      const auto source = store_.load_snapshot(*run.compared_source);
      const auto replica = store_.load_snapshot(*run.compared_replica);
      fresh = drift::compare_pair(source, replica, &run.rules, flipped, now_ms);
      check_coverage(db, f.pair, source, replica, flipped, now_ms);
    }
    const std::string detail = f.action + " (flip " + std::to_string(f.id) + "): source " +
                               now.source_site + ", replica " + now.replica_site;
    const auto writes = drift::reorient(now, store::open_items(db, f.pair),
                                        fresh ? &*fresh : nullptr, now_ms, detail);
    store::write_flip(db, now, writes, now_ms);
    f.outcome = "applied";
    f.items = static_cast<int>(writes.size());
    f.message = "source " + now.source_site + ", replica " + now.replica_site;
  }
  f.applied_ms = now_ms;
  store::finish_flip(db, f.id, f.outcome, f.message, f.items, now_ms);
  tx.commit();
  flush_check_changes();
  if (f.outcome == "applied") {
    tracker_.set_flipped(f.pair, f.source_site == tracker_.pair(f.pair).id.replica_site);
    publish_direction(f.pair);
    publish(f.pair, store::open_items(db, f.pair), 0, std::nullopt);
  }
  const std::string line = log::format_event(
      "pair.flipped",
      {{"pair", f.pair}, {"flip", f.id}, {"action", f.action}, {"outcome", f.outcome},
             {"source", f.source_site}, {"replica", f.replica_site}, {"by", f.requested_by},
       {"via", f.via}, {"reason", f.reason}, {"items", f.items}, {"message", f.message}});
  if (f.outcome == "refused") {
    logger()->warn(line);
  } else {
    logger()->info(line);
  }
  return f;
}

}  // namespace flowdrift::app
