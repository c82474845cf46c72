// The one way flowdrift reads JSON it did not write (Prism Central pages, site files, dumps):
// into an nlohmann DOM, refusing what nlohmann alone would accept silently or throw on.
//   - a key given twice in one object (nlohmann keeps the last, our flat scanner the first:
//     either way one copy would be silently dropped, so neither is taken);
//   - a number outside double's range (`1e999`: nlohmann throws out_of_range);
//   - nesting deeper than Limits::max_depth, a string longer than Limits::max_string;
//   - anything that is not JSON, including invalid UTF-8 in a string.
// The error names the place as a JSON path (`policies[3].spec.name`) and, for syntax errors,
// the line and column. Never throws for any input. docs/security.md lists the bounds.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/json_scan.hpp"

namespace flowdrift::json_strict {

struct Limits {
  std::size_t max_depth = json_scan::kMaxDepth;    // nested arrays and objects
  std::size_t max_string = json_scan::kMaxString;  // bytes of one string or key, decoded
};

// On failure returns nullopt and sets `error` to "<path>: <reason>" ("top level" for the root).
std::optional<nlohmann::json> parse(std::string_view text, std::string& error,
                                    const Limits& limits = {});

}  // namespace flowdrift::json_strict
