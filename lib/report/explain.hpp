// `flowdriftctl explain PAIR POLICY` and `GET /api/v1/explain?pair=&policy=`: everything
// flowdrift knows about one policy of one pair, in one place: the drift items the pair's
// comparison gives for it (with mappings and expected differences applied, as the daemon does),
// every differing field, the example flows, the objects the policy references on each side, the
// mapping rules and expectations that touch it, and the stored items with their history.
// explain_policy is pure (no I/O); explain_document reads its input from the daemon's database
// (explain_input.cpp). The text form is flowdriftctl's (ctl/output.hpp). Schema: docs/cli.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "drift/rules.hpp"
#include "core/result.hpp"
#include "policy/model.hpp"
#include "store/drift.hpp"
#include "store/entity_sync.hpp"

namespace flowdrift::report {

inline constexpr const char* kExplainSchema = "flowdrift.explain/v1";

// Where one side's snapshot came from.
struct SnapshotRef {
  std::int64_t id = 0;
  std::string site;
  std::string origin;  // "last_comparison" | "latest_complete"
  std::optional<std::int64_t> polled_ms;  // finished_ms of the latest complete poll that saw it
};

struct ExplainInput {
  std::string pair;
  std::string source_site;
  std::string replica_site;
  const policy::Snapshot* source = nullptr;   // as stored
  const policy::Snapshot* replica = nullptr;  // as stored (the mapping is applied here)
  SnapshotRef source_ref;
  SnapshotRef replica_ref;
  // The pair's rules: its mappings and expectations. Null: neither is applied.
  const drift::PairRules* rules = nullptr;
  std::string config_file;  // for messages ("flowdrift.yaml:18")
  std::optional<store::PairRecord> record;  // the daemon's status for the pair, if any
  std::vector<drift::Item> stored;  // the pair's stored items (any policy)
  std::function<std::vector<store::DriftEvent>(std::int64_t)> events;  // of one stored item
  std::vector<std::string> notes;  // said first: fallbacks, what was not applied
  // Nutanix's entity sync of the source site as last read (nullopt: never read), and the
  // pair's open disagreements with it.
  std::optional<store::EntitySyncStored> entity_sync;
  std::vector<store::DisagreementRecord> disagreements;
  std::int64_t now_ms = 0;
  // Failed over (docs/failover.md): the diff runs as configured and its items are flipped, as
  // the daemon does.
  bool flipped = false;
};

// The report for `policy` (the source's name, or the replica's name before name mapping).
// An error when neither snapshot holds such a policy. The report's "status" is "in_sync",
// "expected" (every item covered by a live expectation) or "drifted".
Result<nlohmann::json> explain_policy(const ExplainInput& in, const std::string& policy);

// What explain_document reads the report for.
struct ExplainRequest {
  std::string pair;
  std::string policy;
  // The pair as configured, for its sites, mappings and expectations. Null: the sites as
  // stored, and neither mappings nor expectations applied (the report says so).
  const config::PairConfig* config_pair = nullptr;
  std::string config_file;  // named in the report and its messages
  std::int64_t now_ms = 0;
};

// What explain and readiness read of a pair: its rules (when configured), its stored record
// and direction, its sites (as configured, else as stored) and the two snapshots it last
// compared (else each site's latest complete one, with a note). `input` points at the rules
// and snapshots held here, so a PairSnapshots is neither copied nor moved. `request.policy` is
// not read. An error (http_status 404) when the pair is neither configured nor stored, or a
// site has no complete poll; throws store::StoreError.
struct PairSnapshots {
  std::optional<drift::PairRules> rules;
  policy::Snapshot source;
  policy::Snapshot replica;
  ExplainInput input;

  PairSnapshots() = default;
  PairSnapshots(const PairSnapshots&) = delete;
  PairSnapshots& operator=(const PairSnapshots&) = delete;
};
Result<std::unique_ptr<PairSnapshots>> read_pair(store::Database& db,
                                                 const ExplainRequest& request);

// The whole report from the daemon's database: the pair's stored status, its snapshots, its
// stored items and their events, and Nutanix's entity sync. An error names the pair or policy
// that is not there (http_status 404) or the database's failure (http_status 500).
Result<nlohmann::json> explain_document(store::Database& db, const ExplainRequest& request);

}  // namespace flowdrift::report
