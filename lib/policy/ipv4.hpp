// Dotted-quad IPv4 text, read and written one way for the whole code base: canonical_build
// (v3 and v4 addresses, subnets and ranges), the pair mappings (lib/diff) and the flow
// compiler (lib/flows) all use these. Kept apart from canonical_build.hpp so that readers that
// never touch nlohmann::json (lib/flows/compile.cpp) need not include it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flowdrift::policy {

// Exactly four decimal octets 0..255 separated by '.', each of one to three digits (leading
// zeros allowed: "010" is 10); nothing else, no spaces or signs. As a host-order integer.
std::optional<std::uint32_t> parse_ipv4(std::string_view text);
// "a.b.c.d", no leading zeros.
std::string ipv4_text(std::uint32_t address);

}  // namespace flowdrift::policy
