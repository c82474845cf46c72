// Plain HTTP request/response values shared by the client transport, the server and the
// pure request handlers (pcsim's API, flowdriftd's routes). No Beast types here.
#pragma once

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
  // Value of a query parameter (not percent-decoded beyond %XX), if present.
  std::optional<std::string> query_param(std::string_view name) const;
};

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
