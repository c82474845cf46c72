// A pair's drift rules, built from its configuration: the mapping of intended differences, the
// expected differences, the debounce and the skew bound. lib/config keeps these as written and
// checks their shape; this module knows what they mean, checks their values, and builds the
// matchers. Pure: no I/O beyond reading the config file in load_config.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "diff/mapping.hpp"
#include "drift/expect.hpp"

namespace flowdrift::drift {

// How a pair turns comparison results into raised drift (config: pairs[].debounce).
struct Debounce {
  int comparisons = 1;      // counted comparisons that must find an item (see reconcile.hpp)
  std::int64_t for_ms = 0;  // and for at least this long since first seen
};

struct PairRules {
  diff::PairMapping mapping;
  std::vector<Expectation> expected;
  Debounce debounce;
  std::int64_t max_skew_ms = 0;
};

// The rules of a pair that check_rules found no problem in. Throws config::ConfigError when
// the pair was never checked and has one.
PairRules make_rules(const config::PairConfig& pair);

// The comparison the daemon makes of a pair's two snapshots (as configured): the diff with the
// mapping, expectations marked at `now_ms`, and, failed over, every item seen from the new
// source (diff::flip, docs/failover.md). Without `rules` neither mapping nor expectations apply.
diff::PairResult compare_pair(const policy::Snapshot& source, const policy::Snapshot& replica,
                              const PairRules* rules, bool flipped, std::int64_t now_ms);

// Every problem in the pairs' mappings and expected differences, with its place in the file:
// unknown kinds, invalid expiries and mapping values, and two entries selecting the same items.
std::vector<config::Problem> check_rules(const config::Config& config);

// config::read_config / parse_text, then check_rules: throws config::ConfigError with every
// problem of both, in document order. The daemon and flowdriftctl load configuration this way.
config::Config load_config(const std::string& path);
config::Config parse_config(const std::string& text, const std::string& name);

}  // namespace flowdrift::drift
