// The Prism Central API a site is polled over: config `sites[].api` (docs/configuration.md).
#pragma once

#include <optional>
#include <string_view>

namespace flowdrift::config {

// Auto: v4 first, v3 where v4 is absent (scheduler/collector.hpp, fetch_detecting_api).
enum class Api { V3, V4, Auto };

// "v3", "v4", "auto": the YAML spelling, and the value in logs, metric labels, the database
// (polls.api), the HTTP API and site dumps.
constexpr std::string_view to_string(Api api) {
  switch (api) {
    case Api::V3: return "v3";
    case Api::V4: return "v4";
    case Api::Auto: return "auto";
  }
  return "auto";
}

// The inverse of to_string; nullopt for any other text.
constexpr std::optional<Api> parse_api(std::string_view text) {
  for (Api api : {Api::V3, Api::V4, Api::Auto}) {
    if (text == to_string(api)) return api;
  }
  return std::nullopt;
}

}  // namespace flowdrift::config
