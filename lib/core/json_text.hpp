// JSON text written without a DOM, byte for byte as nlohmann's dump() writes the same value:
// compact, UTF-8 kept as it is, `"` `\` and the control characters escaped (\b \f \n \r \t, the
// others as \u00xx in lowercase hex). The canonical model's bytes (docs/canonical-model.md) come
// from both and are compared by hash, so the two must never differ.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flowdrift::json_text {

// `s` as a JSON string, quotes included, appended to `out`. `s` must be valid UTF-8, as every
// string the project's JSON readers return is (dump() would throw on anything else).
void append_string(std::string& out, std::string_view s);

// The same, as a new string.
std::string quoted(std::string_view s);

// A JSON integer, as dump() writes it.
void append_int(std::string& out, std::int64_t value);

}  // namespace flowdrift::json_text
