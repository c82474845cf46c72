// SHA-256 as lowercase hex, for content addressing of canonical JSON.
#pragma once

#include <string>
#include <string_view>

namespace flowdrift {

std::string sha256_hex(std::string_view data);

}  // namespace flowdrift
