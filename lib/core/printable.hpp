// Untrusted text made safe to show: in a log line, an error message stored in the audit trail,
// a JSON API answer or a metric label. A Prism Central, a site file or an HTTP client can send
// any bytes; what they sent must never become a terminal escape, a forged log line, invalid
// UTF-8 in a JSON answer, or a 10 MB message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace flowdrift {

// Valid UTF-8 without control characters, at most `max_bytes` long before the suffix below:
//   - `\` becomes `\\`; \n, \r, \t become `\n`, `\r`, `\t`; other C0 controls, DEL and the C1
//     controls (U+0080..U+009F) become `\xNN` / `\u{NN}`;
//   - a byte that is not part of valid UTF-8 becomes `\xNN`;
//   - what does not fit is cut (never inside a character or an escape), and `...(+N bytes)`
//     says how many input bytes were left out (the suffix adds at most 26 bytes).
// Printable ASCII and valid non-control UTF-8 pass unchanged.
std::string printable(std::string_view s, std::size_t max_bytes = 1024);

// Whether `s` is valid UTF-8 without control characters (C0, DEL, C1): text a person can read
// as it is. printable() leaves such text unchanged but for doubling its backslashes.
bool is_printable(std::string_view s);

// The length of the valid UTF-8 sequence at s[i], or 0 if there is none.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

}  // namespace flowdrift
