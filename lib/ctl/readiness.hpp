// flowdriftctl readiness (docs/readiness.md): what failing a pair over now would do, from the
// snapshots the daemon last compared, judged as the daemon judges them (mappings, expected
// differences, a failover already made). A JSON report (schema "flowdrift-readiness"), and the
// Markdown and HTML forms that are the compliance report of the playbook's "Document & Report"
// step: they also carry the pair's status and history, open items, expected differences, flips,
// applies and the audit chain's check, with the time they were generated.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/explain.hpp"
#include "store/applies.hpp"
#include "store/audit.hpp"
#include "store/coverage.hpp"
#include "store/drift.hpp"
#include "store/flips.hpp"

namespace flowdrift::ctl {

using report::ExplainInput;

struct ReadinessArgs {
  std::string config;  // the pair, its mappings and expectations, storage.path unless `db`
  std::string db;
  std::string pair;
  std::string format = "md";  // md | html | json
  std::string output;         // empty: standard output
};
// Exit 0 ready, 1 not ready, 2 on error.
int run_readiness(const ReadinessArgs& args, std::ostream& out, std::ostream& err);

// What the report is made of (read by run_readiness; tests build it directly).
struct ReadinessInput {
  const ExplainInput* pair = nullptr;  // sites, snapshots, rules, record, flipped
  std::vector<drift::Item> open;       // the pair's open items as stored
  struct Transition {
    std::int64_t at_ms = 0;
    std::string event, detail, policy, kind;
  };
  std::vector<Transition> history;            // the pair's latest drift events, newest first
  std::vector<store::StatusChange> status_history;  // the pair's status changes, newest first
  std::vector<store::FlipRecord> flips;       // newest first
  std::vector<store::ApplyRecord> applies;    // of this pair, newest first
  std::optional<store::AuditReport> audit;    // nullopt: the chain could not be read
  // The VM coverage of the site serving now (the pair's current source); nullopt: never read.
  std::optional<store::CoverageStored> coverage;
  std::int64_t generated_ms = 0;
};

nlohmann::json readiness_report(const ReadinessInput& in);
std::string readiness_markdown(const nlohmann::json& report);
std::string readiness_html(const nlohmann::json& report);

}  // namespace flowdrift::ctl
