// flowdriftctl output: the diff of two sites as text for people or as JSON with a stable,
// documented schema (docs/cli.md), and the exit status that goes with it.
#pragma once

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "ctl/site_file.hpp"
#include "diff/diff.hpp"

namespace flowdrift::ctl {

inline constexpr int kExitInSync = 0;
inline constexpr int kExitDrift = 1;
inline constexpr int kExitError = 2;

inline constexpr const char* kDiffSchema = "flowdrift.diff/v1";

// The pair whose mappings and expectations were applied (`diff --config C --pair P`).
struct DiffPair {
  std::string name;
  std::string config;     // the configuration file it came from
  bool mappings = false;  // the pair declares mappings
  std::size_t expectations = 0;  // expected differences it declares (live or not)
};

// Items marked expected (diff::apply_expectations) are listed but are not drift: the status
// is "drifted" only when an item is not expected.
nlohmann::json diff_json(const LoadedSite& source, const LoadedSite& replica,
                         const diff::PairResult& result, const DiffPair* pair = nullptr);
// Written as it is made: a report of 5,000 drifted policies is tens of megabytes.
void diff_text(std::ostream& out, const LoadedSite& source, const LoadedSite& replica,
               const diff::PairResult& result, const DiffPair* pair = nullptr);
// Items not covered by an expectation: what the exit status counts.
std::size_t unexpected_items(const diff::PairResult& result);

}  // namespace flowdrift::ctl
