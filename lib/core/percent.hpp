// Percent-encoding of one URL path segment (RFC 3986): what the Prism Central clients and the
// plan's requests put a category key or value into.
#pragma once

#include <string>
#include <string_view>

namespace flowdrift {

// Every byte but the unreserved characters (ALPHA, DIGIT, '-', '.', '_', '~') as %XX.
std::string percent_encode_segment(std::string_view segment);

}  // namespace flowdrift
