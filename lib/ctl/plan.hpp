// flowdriftctl plan (docs/plan.md): the writes that would make a target site hold what a source
// holds, computed against a fresh, complete poll of the target (or a dump of it, offline).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "plan/plan.hpp"

namespace flowdrift::ctl {

struct PlanArgs {
  std::string config;       // flowdriftd configuration: the sites, and the pair's rules
  std::string pair;         // the pair: its source and replica, mappings, expected differences
  std::string source_file;  // or a site file, dump or baseline as the source
  std::string to_site;      // the target: a live site of the configuration
  std::string to_file;      // or a dump of it (flowdriftctl dump), offline
  std::string format = "text";  // text | json
  std::string output;           // the plan file (JSON) flowdriftctl apply reads; "" for none
  std::int64_t now_ms = 0;      // 0: now (what expected differences are live at)
};

// Exit 0: nothing to do; 1: writes planned; 2: error, or a plan with blocked writes.
int run_plan(const PlanArgs& args, std::ostream& out, std::ostream& err);
// The plan run_plan prints; nullopt after printing why to `err`.
std::optional<plan::Plan> compute_plan(const PlanArgs& args, std::ostream& err);

struct LoadedDump;
// A dump as a plan's target: its identifiers and the API versions it was polled with.
plan::Target target_of(LoadedDump dump, const std::string& name);
// A live site of the configuration as a plan's target, polled now, completely; nullopt after
// saying why on `err`.
std::optional<plan::Target> poll_target(const std::string& config, const std::string& site,
                                        std::ostream& err);

// flowdriftctl apply (docs/plan.md "Apply"): performs a saved plan on its target with the
// target's write credential, only while the target is unchanged since the plan, stopping at the
// first refusal; every request and answer is audited in the daemon's database.
struct ApplyArgs {
  std::string plan_file;
  std::string config;
  bool yes = false;           // the explicit confirmation
  bool allow_delete = false;  // a plan with deletes is refused without it
};
// Exit 0: every write made; 1: stopped at a refusal (what was done is reported); 2: refused
// before writing anything, or an error.
int run_apply(const ApplyArgs& args, std::ostream& out, std::ostream& err);

}  // namespace flowdrift::ctl
