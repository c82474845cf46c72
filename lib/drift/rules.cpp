#include "drift/rules.hpp"

#include <map>
#include <variant>

#include "diff/diff.hpp"

namespace flowdrift::drift {
namespace {

std::string pair_path(std::size_t i) { return "pairs[" + std::to_string(i) + "]"; }

Result<diff::PairMapping> mapping_of(const config::MappingConfig& m) {
  return diff::make_mapping(m.categories, m.names, m.subnets);
}

void check_mapping(const config::Config& config, std::size_t i,
                   std::vector<config::Problem>& out) {
  const auto& m = config.pairs[i].mapping;
  if (auto mapping = mapping_of(m); !mapping) {
    out.push_back(config::make_problem(config.file, m.at, pair_path(i) + ".mappings",
                                       mapping.error().message));
  }
}

// Each entry's kind and expiry; then no two valid entries may select the same items.
void check_expected(const config::Config& config, std::size_t i,
                    std::vector<config::Problem>& out) {
  std::map<std::string, int> selectors;
  for (const auto& c : config.pairs[i].expected) {
    const auto path = pair_path(i) + ".expected[" + std::to_string(c.index) + "]";
    auto made = make_expectation(c);
    if (const auto* err = std::get_if<ExpectationError>(&made)) {
      const auto at = err->key == "kind" ? c.kind_at : c.expires_at;
      out.push_back(config::make_problem(config.file, at, path + "." + err->key, err->reason));
      continue;
    }
    const auto selector = std::get<Expectation>(made).selector();
    auto [prev, inserted] = selectors.emplace(selector, c.at.line);
    if (!inserted) {
      out.push_back(config::make_problem(
          config.file, c.at, path,
          "selects the same items as the entry at line " + std::to_string(prev->second) + " (" +
              selector + "); merge them"));
    }
  }
}

config::Config checked(config::Parsed parsed) {
  auto problems = std::move(parsed.problems);
  for (auto& p : check_rules(parsed.config)) problems.push_back(std::move(p));
  if (!problems.empty()) throw config::ConfigError(std::move(problems));
  return std::move(parsed.config);
}

}  // namespace

PairRules make_rules(const config::PairConfig& pair) {
  PairRules rules;
  auto mapping = mapping_of(pair.mapping);
  if (!mapping) {
    throw config::ConfigError(std::vector<std::string>{
        "pair " + pair.name + ": mappings: " + mapping.error().message});
  }
  rules.mapping = std::move(*mapping);
  for (const auto& c : pair.expected) {
    auto made = make_expectation(c);
    if (const auto* err = std::get_if<ExpectationError>(&made)) {
      throw config::ConfigError(std::vector<std::string>{
          "pair " + pair.name + ": expected[" + std::to_string(c.index) + "]." + err->key + ": " +
          err->reason});
    }
    rules.expected.push_back(std::move(std::get<Expectation>(made)));
  }
  rules.debounce = {pair.debounce_comparisons, pair.debounce_for.count()};
  rules.max_skew_ms = pair.max_skew.count();
  return rules;
}

std::vector<config::Problem> check_rules(const config::Config& config) {
  std::vector<config::Problem> out;
  for (std::size_t i = 0; i < config.pairs.size(); ++i) {
    check_mapping(config, i, out);
    check_expected(config, i, out);
  }
  return out;
}

config::Config load_config(const std::string& path) { return checked(config::read_config(path)); }

config::Config parse_config(const std::string& text, const std::string& name) {
  return checked(config::parse_text(text, name));
}

diff::PairResult compare_pair(const policy::Snapshot& source, const policy::Snapshot& replica,
                              const PairRules* rules, bool flipped, std::int64_t now_ms) {
  // In the configured direction, so that mappings and expectations apply as declared.
  auto result = rules ? diff::diff_snapshots(source, replica, rules->mapping)
                      : diff::diff_snapshots(source, replica);
  if (rules) apply_expectations(result, rules->expected, now_ms);
  if (flipped) diff::flip(result);
  return result;
}

}  // namespace flowdrift::drift
