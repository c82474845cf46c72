// PairTracker's VM coverage check (docs/vm-coverage.md): after each comparison, and when the
// source's coverage or the pair's direction changed.
#include "app/pairs.hpp"
#include "core/log.hpp"
#include "drift/coverage.hpp"

namespace flowdrift::app {
namespace {

std::shared_ptr<spdlog::logger> logger() { return log::get("drift"); }

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

void PairTracker::check_coverage(store::Database& db, const std::string& pair,
                                 const policy::Snapshot& source, const policy::Snapshot& replica,
                                 bool flipped, std::int64_t now_ms) {
  using State = drift::CoverageRead::State;
  const auto& run = tracker_.pair(pair);
  const auto& serving = flipped ? run.id.replica_site : run.id.source_site;
  const auto stored = store::coverage(db, serving);
  if (stored && stored->state == State::Failed) return;  // the gaps stay as they were
  std::vector<drift::CoverageGap> now;
  if (stored && stored->state == State::Complete) {
    drift::CoverageInput in;
    in.vms = &stored->data.vms;
    in.protections = &stored->data.protections;
    in.source = flipped ? &replica : &source;
    in.replica = flipped ? &source : &replica;
    in.mapping = &run.rules.mapping;
    in.flipped = flipped;
    now = drift::check_coverage(in);
  }
  auto changes = store::write_gaps(db, pair, now, now_ms);
  if (!changes.opened.empty() || !changes.resolved.empty() || !changes.updated.empty()) {
    gap_changes_.emplace_back(pair, std::move(changes));
  }
}

void PairTracker::log_gaps(const std::string& pair, const store::GapChanges& changes) {
  for (const auto& r : changes.opened) {
    const auto& g = r.gap;
    log::warn(logger(), "coverage.gap",
              {{"pair", pair}, {"vm", g.vm}, {"vm_id", g.vm_id},
               {"kind", std::string(drift::to_string(g.kind))}, {"protected_by", g.protected_by},
               {"missing", joined(g.missing_categories)}, {"detail", g.detail}});
  }
  for (const auto& r : changes.updated) {
    const auto& g = r.gap;
    log::info(logger(), "coverage.gap_updated",
              {{"pair", pair}, {"vm", g.vm}, {"kind", std::string(drift::to_string(g.kind))},
               {"detail", g.detail}});
  }
  for (const auto& r : changes.resolved) {
    const auto& g = r.gap;
    log::info(logger(), "coverage.gap_resolved",
              {{"pair", pair}, {"vm", g.vm}, {"kind", std::string(drift::to_string(g.kind))}});
  }
}

void PairTracker::publish_gaps(const std::string& pair) {
  std::vector<std::string> kinds;
  for (const auto& g : store::open_gaps(store_.db(), pair)) {
    kinds.emplace_back(drift::to_string(g.gap.kind));
  }
  metrics_.coverage_gaps(pair, kinds);
}

}  // namespace flowdrift::app
