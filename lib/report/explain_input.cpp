// explain's input from the daemon's database (report/explain.hpp): the pair's sites, the
// snapshots it last compared, its stored items and their events, and Nutanix's entity sync.
#include <utility>

#include "report/explain.hpp"
#include "store/db.hpp"
#include "store/flips.hpp"
#include "store/store.hpp"

namespace flowdrift::report {
namespace {

Error not_found(std::string message) {
  auto e = make_error(ErrorReason::Other, std::move(message));
  e.http_status = 404;
  return e;
}

// The snapshot of the site's latest complete poll and that poll's finish time.
std::optional<std::pair<std::int64_t, std::int64_t>> latest_complete(store::Database& db,
                                                                     const std::string& site) {
  auto st = db.prepare(
      "SELECT c.snapshot_id, c.finished_ms FROM polls c JOIN sites s ON s.id = c.site_id "
      "WHERE s.name = ?1 AND c.outcome = 'complete' ORDER BY c.id DESC LIMIT 1");
  st.bind(1, site);
  if (!st.step()) return std::nullopt;
  return std::make_pair(st.column_int64(0), st.column_int64(1));
}

std::optional<std::int64_t> last_polled(store::Database& db, std::int64_t snapshot_id) {
  auto st = db.prepare(
      "SELECT max(finished_ms) FROM polls WHERE snapshot_id = ?1 AND outcome = 'complete'");
  st.bind(1, snapshot_id);
  if (!st.step()) return std::nullopt;
  return st.column_optional_int64(0);
}

// The pair's sites: from the config, else as the daemon stored the pair.
Result<void> pair_sites(ExplainInput& in, const config::PairConfig* pair,
                        const store::Database& db) {
  if (pair) {
    in.source_site = pair->source;
    in.replica_site = pair->replica;
  } else if (in.record) {
    in.source_site = in.record->source_site;
    in.replica_site = in.record->replica_site;
  } else {
    return not_found("pair " + in.pair + ": not in " + db.path() +
                     " (has flowdriftd compared it yet?); give --config to name its sites");
  }
  return {};
}

// The snapshot the daemon compared last (`compared`, when the direction is the same), else the
// site's latest complete one.
Result<void> pick_snapshot(store::Database& db, const std::string& pair, const std::string& site,
                           std::optional<std::int64_t> compared, const char* role,
                           SnapshotRef& ref) {
  ref.site = site;
  if (compared) {
    ref.id = *compared;
    ref.origin = "last_comparison";
    ref.polled_ms = last_polled(db, ref.id);
    return {};
  }
  auto latest = latest_complete(db, site);
  if (!latest) {
    return not_found("pair " + pair + ": the " + role + " site " + site +
                     " has no complete poll in " + db.path());
  }
  ref.id = latest->first;
  ref.origin = "latest_complete";
  ref.polled_ms = latest->second;
  return {};
}

Result<void> pair_snapshots(ExplainInput& in, store::Database& db) {
  // Failed over, the daemon stores the pair turned round; explain compares as configured.
  const bool swapped = in.flipped && in.record && in.record->source_site == in.replica_site &&
                       in.record->replica_site == in.source_site;
  const bool same_direction = swapped || (in.record && in.record->source_site == in.source_site &&
                                          in.record->replica_site == in.replica_site);
  if (in.record && !same_direction) {
    in.notes.push_back("the database has the pair as " + in.record->source_site + " -> " +
                       in.record->replica_site + "; the configuration says " + in.source_site +
                       " -> " + in.replica_site + ": using each site's latest complete snapshot");
  }
  auto compared = [&](std::optional<std::int64_t> id) {
    return same_direction ? id : std::nullopt;
  };
  const auto src_id = !in.record ? std::nullopt
                     : swapped   ? in.record->replica_snapshot_id
                                 : in.record->source_snapshot_id;
  const auto rep_id = !in.record ? std::nullopt
                     : swapped   ? in.record->source_snapshot_id
                                 : in.record->replica_snapshot_id;
  if (auto r = pick_snapshot(db, in.pair, in.source_site, compared(src_id), "source", in.source_ref);
      !r) {
    return r;
  }
  if (auto r = pick_snapshot(db, in.pair, in.replica_site, compared(rep_id), "replica",
                             in.replica_ref);
      !r) {
    return r;
  }
  if (in.source_ref.origin == "latest_complete" && same_direction) {
    in.notes.push_back("the daemon has not compared this pair yet: using each site's latest "
                       "complete snapshot");
  } else if (in.source_ref.origin == "latest_complete" && !in.record) {
    in.notes.push_back("the pair is not in the database yet: using each site's latest complete "
                       "snapshot");
  }
  return {};
}

void canon_version_notes(ExplainInput& in, const policy::Snapshot& source,
                         const policy::Snapshot& replica) {
  for (const auto* s : {&source, &replica}) {
    if (s->canon_version != policy::kCanonVersion) {
      in.notes.push_back("snapshot " + std::string(s == &source ? "source" : "replica") +
                         " has canon version " + std::to_string(s->canon_version) +
                         " (this build: " + std::to_string(policy::kCanonVersion) +
                         "); the daemon re-reads it on its next poll");
    }
  }
}

// The notes said first: a failed-over pair, and rules that are not applied.
std::vector<std::string> request_notes(const ExplainInput& in, const ExplainRequest& request) {
  std::vector<std::string> notes;
  if (in.flipped) {
    notes.push_back("the pair is failed over: " + request.config_pair->replica +
                    " is its source, and its items are seen from there (docs/failover.md)");
  }
  if (!request.config_pair) {
    notes.push_back("no --config: the pair's mappings and expected differences are not "
                    "applied, so items may differ from the daemon's (its stored items are "
                    "below)");
  }
  return notes;
}

Result<nlohmann::json> explain_from(store::Database& db, const ExplainRequest& request) {
  auto read = read_pair(db, request);
  if (!read) return read.error();
  ExplainInput& in = (*read)->input;
  const auto first = request_notes(in, request);
  in.notes.insert(in.notes.begin(), first.begin(), first.end());
  canon_version_notes(in, (*read)->source, (*read)->replica);
  store::DriftQuery q;
  q.pair = request.pair;
  in.stored = store::drift_items(db, q);
  in.events = [&db](std::int64_t id) { return store::drift_events(db, id); };
  // Nutanix's entity sync, as the daemon last read it (schema 7 and later).
  if (db.has_table("entity_sync_reads")) {
    in.entity_sync = store::entity_sync(db, in.source_site);
    in.disagreements = store::open_disagreements(db, request.pair);
  }
  auto report = explain_policy(in, request.policy);
  if (!report) report.error().http_status = 404;
  return report;
}

}  // namespace

Result<std::unique_ptr<PairSnapshots>> read_pair(store::Database& db,
                                                 const ExplainRequest& request) {
  const auto* pair = request.config_pair;
  auto read = std::make_unique<PairSnapshots>();
  ExplainInput& in = read->input;
  in.pair = request.pair;
  if (pair) read->rules = drift::make_rules(*pair);
  in.rules = read->rules ? &*read->rules : nullptr;
  in.config_file = request.config_file;
  in.now_ms = request.now_ms;
  in.record = store::pair_record(db, request.pair);
  in.flipped = pair && store::failed_over(db, *pair);
  if (auto r = pair_sites(in, pair, db); !r) return r.error();
  if (auto r = pair_snapshots(in, db); !r) return r.error();
  read->source = store::read_snapshot(db, in.source_ref.id);
  read->replica = store::read_snapshot(db, in.replica_ref.id);
  in.source = &read->source;
  in.replica = &read->replica;
  return read;
}

Result<nlohmann::json> explain_document(store::Database& db, const ExplainRequest& request) {
  try {
    return explain_from(db, request);
  } catch (const store::StoreError& e) {
    auto err = make_error(ErrorReason::Store, e.what());
    err.http_status = 500;
    return err;
  }
}

}  // namespace flowdrift::report
