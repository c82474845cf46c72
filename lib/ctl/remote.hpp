// flowdriftctl's reads of a running flowdriftd (--server URL): one GET of a /api/v1 document
// (report/documents.hpp), over TLS when the URL says https, trusting only --ca-file when given,
// with basic auth from --auth-file. So an auditor needs neither sudo nor the database file.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace flowdrift::ctl {

struct ServerArgs {
  std::string url;        // "https://flowdrift.example:9742", optionally with a base path
  std::string ca_file;    // PEM bundle to trust instead of the system's
  std::string auth_file;  // one line "user:password" (a trailing newline is ignored)
  int timeout_seconds = 30;
};

// The user and password of an --auth-file, or nullopt with the reason in `err` (never the
// password).
std::optional<std::pair<std::string, std::string>> read_auth_file(const std::string& path,
                                                                  std::ostream& err);

// GETs `target` ("/api/v1/status") and returns the document when the answer is 200, JSON, and
// names `schema`. Otherwise nullopt, with the reason in `err`: the URL, the transport error,
// the HTTP status and the daemon's own error text.
std::optional<nlohmann::json> fetch_document(const ServerArgs& server, const std::string& target,
                                             const std::string& schema, std::ostream& err);

}  // namespace flowdrift::ctl
