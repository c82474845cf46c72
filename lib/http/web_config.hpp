// The web configuration file (`flowdriftd --web.config.file`): Prometheus exporter-toolkit's
// format, the subset flowdrift implements (docs/security.md):
//
//   tls_server_config:
//     cert_file: server.crt            # relative paths: against this file's directory
//     key_file: server.key
//     client_auth_type: RequireAndVerifyClientCert   # or NoClientCert, VerifyClientCertIfGiven
//     client_ca_file: clients-ca.crt
//     min_version: TLS12               # TLS12 | TLS13
//     max_version: TLS13
//   http_server_config:
//     http2: false                     # HTTP/1.1 only; true is refused
//     headers: {X-Frame-Options: deny, ...}   # the five exporter-toolkit security headers
//   basic_auth_users:
//     prometheus: $2b$10$...           # bcrypt only
//
// Anything else (inline cert/key, cipher_suites, client_allowed_sans, rate_limit, an unknown key,
// a non-bcrypt hash) is refused with file:line:col, never ignored: a security setting the daemon
// silently skipped would be worse than a failed start.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "http/basic_auth.hpp"
#include "http/server.hpp"
#include "http/types.hpp"

namespace flowdrift::http {

struct WebConfig {
  std::string path;               // the file it came from (for logs)
  std::optional<TlsFiles> tls;    // absent: plain HTTP
  std::vector<BasicAuthUser> users;  // empty: no authentication
  std::vector<Header> headers;    // added to every response
};

class WebConfigError : public std::runtime_error {
 public:
  explicit WebConfigError(std::vector<std::string> problems);
  // One line each, "file:line:col: key: reason", in document order.
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// Reads, validates and checks a web config file: the certificate, key and client CA are loaded
// as the server would load them (readable, parseable, the key matching the certificate).
// Throws WebConfigError listing every problem.
WebConfig load_web_config(const std::string& path);

// The same from text; relative paths resolve against `base_dir`; `name` prefixes the messages.
WebConfig parse_web_config(const std::string& text, const std::string& name,
                           const std::string& base_dir);

}  // namespace flowdrift::http
