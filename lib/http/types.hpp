// Plain HTTP request/response values shared by the client transport, the server and the
// pure request handlers (pcsim's API, flowdriftd's routes). No Beast types here.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flowdrift::http {

struct Header {
  std::string name;
  std::string value;
};

// Case-insensitive lookup of the first header named `name`.
std::optional<std::string_view> find_header(const std::vector<Header>& headers,
                                            std::string_view name);

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path plus query, e.g. "/api/nutanix/v3/network_security_rules/list"
  std::vector<Header> headers;
  std::string body;

  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
  // Path without the query string.
  std::string_view path() const;
  // Value of a query parameter (not percent-decoded beyond %XX), if present. Lenient: for
  // targets this program built itself (pcsim); a server reads clients' queries with
  // parse_query.
  std::optional<std::string> query_param(std::string_view name) const;
};

// The query of a request target, read strictly: every %-escape well formed, every name and
// value valid UTF-8 without control characters once decoded, no parameter given twice, and the
// whole target printable ASCII (as RFC 3986 has it). On failure nullopt, with `error` saying
// which parameter and why.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view target,
                                                              std::string& error);

struct HttpResponse {
  int status = 200;
  std::vector<Header> headers;
  std::string body;

  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

// "Basic base64(user:password)"
std::string basic_auth_header(std::string_view user, std::string_view password);
// Decodes a "Basic ..." Authorization value into user and password; nullopt if malformed.
struct BasicCredentials {
  std::string user;
  std::string password;
};
std::optional<BasicCredentials> parse_basic_auth(std::string_view header_value);

std::string base64_encode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace flowdrift::http
