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

// What a long fetch says on `err` while it runs (-q and -v): by default its progress when err
// is a terminal (one line, rewritten in place) and nothing otherwise; `verbose` prints each
// step on its own line wherever err goes; `quiet` prints neither progress nor the summary.
struct Progress {
  bool quiet = false;
  bool verbose = false;
  bool terminal = false;  // err is a terminal (the CLI asks isatty(2))
  bool shown() const { return !quiet && (verbose || terminal); }
};

// Fetches site `site_name` of the configuration at `config_path` completely, as the daemon
// polls it (an incomplete site is an error). Problems are printed to `err`, and progress as
// `progress` says.
std::optional<LiveDump> fetch_live_dump(const std::string& config_path,
                                        const std::string& site_name, std::ostream& err,
                                        Progress progress = {});

// Writes `text` to `path` through a temporary file in the same directory, renamed over it:
// readers see the old file or the new one, never a part. Problems are printed to `err`.
bool write_text_file(const std::string& path, const std::string& text, std::ostream& err);

}  // namespace flowdrift::ctl
