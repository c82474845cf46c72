// flowdriftctl output: the diff of two sites as text for people or as JSON with a stable,
// documented schema (docs/cli.md), and the exit status that goes with it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "ctl/site_file.hpp"
#include "diff/diff.hpp"

namespace flowdrift::ctl {

inline constexpr int kExitInSync = 0;
inline constexpr int kExitDrift = 1;
inline constexpr int kExitError = 2;

inline constexpr const char* kDiffSchema = "flowdrift.diff/v1";

nlohmann::json diff_json(const LoadedSite& source, const LoadedSite& replica,
                         const diff::PairResult& result);
std::string diff_text(const LoadedSite& source, const LoadedSite& replica,
                      const diff::PairResult& result);

}  // namespace flowdrift::ctl
