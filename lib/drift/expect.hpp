// Expected differences (docs/configuration.md "expected"): drift an operator has declared as
// intended for a while, with an owner, a reason and an expiry. A live expectation turns the
// items it selects into "expected" items: they are stored and exported (their own metric) but
// never alert. Once it expires they are drift again, with their history kept. Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"
#include "diff/diff.hpp"

namespace flowdrift::drift {

using diff::DriftItem;
using diff::DriftKind;
using diff::PairResult;

struct Expectation {
  // Selects items of the pair it is declared on.
  std::string policy;               // policy name; '*' matches any run of characters, '?' one
  std::optional<DriftKind> kind;    // any kind when absent
  std::string field;                // when set, every differing field of the item must be this
                                    // field or inside it ("rules" covers "rules[+ ...]")
  std::string owner;
  std::string reason;
  std::int64_t expires_ms = 0;      // unix ms; live while now < expires_ms
  std::string expires;              // as written, for messages and the audit trail
  int line = 0;                     // where it was declared

  // "policy=app-* kind=modified field=description", stable: used as a metric label and in
  // the audit trail.
  std::string selector() const;
  bool live(std::int64_t now_ms) const { return now_ms < expires_ms; }
  bool selects(const DriftItem& item) const;
};

// The matcher for an expectation as written; errors name the key ("kind", "expires") and say
// what is wrong with its value.
struct ExpectationError {
  std::string key;
  std::string reason;
};
std::variant<Expectation, ExpectationError> make_expectation(const config::ExpectedConfig& e);

// "2027-03-31" (live through that UTC day) or "2027-03-31T18:00:00Z"; unix ms of the end.
Result<std::int64_t> parse_expiry(std::string_view text);
// Whole-string glob match with '*' and '?'.
bool glob_match(std::string_view pattern, std::string_view text);

// Marks every item selected by a live expectation (the first one in declaration order wins).
// Returns, per expectation, whether it is live at `now_ms` (same order as `expectations`).
std::vector<bool> apply_expectations(PairResult& result,
                                     const std::vector<Expectation>& expectations,
                                     std::int64_t now_ms);

}  // namespace flowdrift::drift
