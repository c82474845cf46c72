// What several flowdriftctl commands share: one live site fetched as a dump document, and
// files written whole.
#pragma once

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace flowdrift::ctl {

// One live site fetched as a dump document (ctl/site_file.hpp make_dump).
struct LiveDump {
  nlohmann::json doc;
  std::size_t policies = 0;
  std::string summary;  // "N policies over v4, M requests"
};

// Fetches site `site_name` of the configuration at `config_path` completely, as the daemon
// polls it (an incomplete site is an error). Problems are printed to `err`.
std::optional<LiveDump> fetch_live_dump(const std::string& config_path,
                                        const std::string& site_name, std::ostream& err);

// Writes `text` to `path` through a temporary file in the same directory, renamed over it:
// readers see the old file or the new one, never a part. Problems are printed to `err`.
bool write_text_file(const std::string& path, const std::string& text, std::ostream& err);

}  // namespace flowdrift::ctl
