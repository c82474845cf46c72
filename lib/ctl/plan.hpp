// flowdriftctl plan (docs/plan.md): the writes that would make a target site hold what a source
// holds, computed against a fresh, complete poll of the target (or a dump of it, offline).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

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

}  // namespace flowdrift::ctl
