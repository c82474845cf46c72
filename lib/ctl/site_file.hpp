// Site files for flowdriftctl: a v3 `network_security_rules/list` response body (or a single
// rule's intent response), or a site dump written by `flowdriftctl dump` (every policy and
// every referenced group and category of one live site). Loading checks completeness: a list
// whose total_matches exceeds its entities is refused. Errors name the file and the place.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "policy/model.hpp"
#include "policy/normalize_v3.hpp"

namespace flowdrift::ctl {

inline constexpr const char* kDumpFormat = "flowdrift-site-dump";
inline constexpr int kDumpVersion = 1;

struct LoadedSite {
  std::string file;
  std::string kind;  // "dump", "v3 list", "v3 entity"
  policy::Snapshot snapshot;
};

// Reads and canonicalizes one site file. Malformed or Truncated (incomplete list) errors carry
// a message starting with "<file>: ".
Result<LoadedSite> load_site_file(const std::string& path);
// Same, from text already read (`name` used in messages).
Result<LoadedSite> parse_site_text(const std::string& text, const std::string& name);

// The dump document for data fetched from a site.
nlohmann::json make_dump(const policy::V3SiteData& data, const std::string& site,
                         const std::string& url, std::int64_t fetched_ms);

}  // namespace flowdrift::ctl
