// BeastTransport: HTTPS (or plain HTTP) client over Boost.Beast and OpenSSL. One keep-alive
// connection, reopened on demand. Certificate verification is on unless `insecure` is set;
// with `ca_file` only that CA is trusted, otherwise the system store. Beast stays in the .cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/transport.hpp"

namespace flowdrift::http {

// An HTTP proxy reached with CONNECT: the connection to it is plain TCP, and the tunnel through
// it carries the TLS (or plain) connection to the server, so the proxy sees neither the
// requests nor the credentials.
struct ProxyOptions {
  std::string host;
  std::string port;
};

struct ClientOptions {
  std::string host;      // DNS name or IP literal (SNI is sent only for DNS names)
  std::string port;      // e.g. "9440"
  std::optional<ProxyOptions> proxy;  // connect through this proxy (CONNECT host:port)
  bool tls = true;
  std::string ca_file;   // PEM bundle; empty = system default verify paths
  bool insecure = false; // skip certificate verification (logged as a warning by the caller)
  std::chrono::milliseconds connect_timeout{5000};
  std::size_t max_response_bytes = 64u * 1024u * 1024u;
  std::string user_agent = "flowdrift";
};

class BeastTransport final : public HttpTransport {
 public:
  // Throws std::runtime_error if the TLS context cannot be set up (e.g. unreadable CA file).
  BeastTransport(asio::any_io_executor executor, ClientOptions options);
  ~BeastTransport() override;
  BeastTransport(const BeastTransport&) = delete;
  BeastTransport& operator=(const BeastTransport&) = delete;

  awaitable<Result<HttpResponse>> send(HttpRequest request,
                                       std::chrono::milliseconds timeout) override;
  // Drops the kept-alive connection (next send reconnects).
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits "https://host:port/base" into its parts; nullopt if not http(s) or malformed.
struct ParsedUrl {
  bool tls = true;
  std::string host;
  std::string port;
  std::string base_path;  // without trailing '/', may be empty
};
std::optional<ParsedUrl> parse_url(std::string_view url);

// The proxy of an http://HOST[:PORT] URL (port 80 by default); nullopt when it is not one (a
// path, credentials or https:// are refused: flowdrift speaks plain HTTP to the proxy).
std::optional<ProxyOptions> parse_proxy_url(std::string_view url);

// Whether `host` is exempt from the proxy by a NO_PROXY list: comma- or space-separated
// entries, each "*" (every host), a host name that matches itself and its subdomains (a
// leading '.' is ignored), or an IP literal that matches itself; ":PORT" suffixes are ignored.
// Case-insensitive.
bool no_proxy_matches(std::string_view no_proxy, std::string_view host);

}  // namespace flowdrift::http
