#include "http/client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <stdexcept>

#include "core/log.hpp"
#include "http/beast.hpp"

namespace flowdrift::http {
namespace {

using namespace wire;  // the stream names of http/beast.hpp
using Clock = std::chrono::steady_clock;

// Response headers beyond this are not a Prism Central answer.
constexpr std::uint32_t kMaxResponseHeaderBytes = 64u * 1024u;
// Beast reads as much as the buffer has room for (at least 512 bytes, at most 64 KiB), and a
// string body empties the buffer after every read, so an unreserved buffer never grows: a
// 45 MB listing took about 90,000 SSL_read calls. 64 KiB is Beast's own cap on one read.
constexpr std::size_t kReadBufferBytes = 64u * 1024u;

// A response body read into a std::string as Beast's string_body reads it, except that each
// piece is appended: string_body's reader resizes the string (zero-filling the new bytes) and
// then copies into it, a second pass over every byte of a 54 MB page (4% of a quiet cycle's CPU).
struct AppendedBody {
  using value_type = std::string;

  static std::uint64_t size(const value_type& body) { return body.size(); }

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(bhttp::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    // A Content-Length is reserved at once; it was checked against max_response_bytes.
    void init(const boost::optional<std::uint64_t>& length, error_code& ec) {
      ec = {};
      if (!length) return;
      if (*length > body_.max_size()) {
        ec = bhttp::error::buffer_overflow;
        return;
      }
      body_.reserve(static_cast<std::size_t>(*length));
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, error_code& ec) {
      const std::size_t extra = beast::buffer_bytes(buffers);
      if (extra > body_.max_size() - body_.size()) {
        ec = bhttp::error::buffer_overflow;
        return 0;
      }
      ec = {};
      for (const auto piece : beast::buffers_range_ref(buffers)) {
        body_.append(static_cast<const char*>(piece.data()), piece.size());
      }
      return extra;
    }

    void finish(error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

std::shared_ptr<spdlog::logger> logger() { return log::get("http"); }

auto use_ec(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// "host:port", IPv6 literals bracketed; used in messages and the Host header.
std::string host_port(const std::string& host, const std::string& port) {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + port;
}

long ms(std::chrono::milliseconds d) { return static_cast<long>(d.count()); }

// The peer went away (or reset) rather than sending something we could not parse.
bool is_connection_end(const error_code& ec) {
  return ec == asio::error::eof || ec == bhttp::error::end_of_stream ||
         ec == bhttp::error::partial_message || ec == asio::error::connection_reset ||
         ec == asio::error::connection_aborted || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

// One request/response exchange on an open connection.
struct Attempt {
  std::optional<HttpResponse> response;
  Error error;
  bool before_response = false;  // failed before any response byte arrived
};

Attempt failed(ErrorReason reason, std::string message, bool retryable,
               bool before_response = false) {
  Attempt a;
  a.error = make_error(reason, std::move(message), retryable);
  a.before_response = before_response;
  return a;
}

}  // namespace

struct BeastTransport::Impl {
  Impl(asio::any_io_executor ex, ClientOptions opts)
      : executor(ex),
        options(std::move(opts)),
        ctx(ssl::context::tls_client),
        host_is_ip(is_ip_literal(options.host)),
        where(host_port(options.host, options.port)) {
    // The Host header omits the scheme's default port, as browsers and curl do.
    bool default_port = (options.tls && options.port == "443") || (!options.tls && options.port == "80");
    host_header = default_port ? (host_is_ip && options.host.find(':') != std::string::npos
                                      ? "[" + options.host + "]"
                                      : options.host)
                               : where;
  }

  asio::any_io_executor executor;
  ClientOptions options;
  ssl::context ctx;
  bool host_is_ip;
  std::string where;
  std::string host_header;
  std::optional<PlainStream> plain;
  std::optional<TlsStream> secure;
  beast::flat_buffer buffer;
  bool busy = false;  // a send() is in flight: streams must not be destroyed under it

  bool connected() const { return plain.has_value() || secure.has_value(); }

  PlainStream& lowest() {
    if (secure) return beast::get_lowest_layer(*secure);
    return *plain;
  }

  void close() {
    if (!connected()) return;
    error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
    buffer.clear();
    // A pending operation still references the stream; send() resets it when it resumes.
    if (!busy) {
      secure.reset();
      plain.reset();
    }
  }

  void reset_streams() {
    close();
    secure.reset();
    plain.reset();
    buffer.clear();
  }

  awaitable<std::optional<Error>> connect(Clock::time_point deadline);
  // CONNECT host:port on the connection to the proxy; nullopt once the tunnel is open.
  awaitable<std::optional<Error>> open_tunnel(PlainStream& to_proxy, Clock::time_point deadline,
                                              std::string proxy);
  template <class Stream>
  awaitable<Attempt> exchange(Stream* stream, HttpRequest request, Clock::time_point deadline,
                              std::chrono::milliseconds timeout);
};

awaitable<std::optional<Error>> BeastTransport::Impl::connect(Clock::time_point deadline) {
  reset_streams();
  error_code ec;

  // getaddrinfo cannot be interrupted (it runs on Asio's resolver thread), so the deadline is
  // checked once it returns rather than enforced during it.
  // Through a proxy, the TCP connection goes to the proxy and the server's name is resolved
  // by the proxy (CONNECT host:port).
  const std::string& dial_host = options.proxy ? options.proxy->host : options.host;
  const std::string& dial_port = options.proxy ? options.proxy->port : options.port;
  const std::string dialled = options.proxy ? "proxy " + host_port(dial_host, dial_port) : where;
  tcp::resolver resolver(executor);
  auto endpoints = co_await resolver.async_resolve(dial_host, dial_port, use_ec(ec));
  if (ec) {
    co_return make_error(ErrorReason::Connect,
                         "cannot resolve " + dialled + ": " + ec.message(), true);
  }
  auto connect_deadline = std::min(deadline, Clock::now() + options.connect_timeout);
  if (Clock::now() >= connect_deadline) {
    co_return make_error(ErrorReason::Timeout, "resolving " + where + " exceeded the deadline",
                         true);
  }

  if (options.tls) {
    secure.emplace(executor, ctx);
  } else {
    plain.emplace(executor);
  }
  PlainStream& tcp_layer = lowest();
  tcp_layer.expires_at(connect_deadline);
  co_await tcp_layer.async_connect(endpoints, use_ec(ec));
  if (ec == beast::error::timeout) {
    co_return make_error(ErrorReason::Timeout,
                         "connect to " + dialled + " timed out after " +
                             std::to_string(ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 options.connect_timeout))) +
                             "ms",
                         true);
  }
  if (ec) {
    co_return make_error(ErrorReason::Connect, "connect to " + dialled + " failed: " + ec.message(),
                         true);
  }
  error_code nd;
  tcp_layer.socket().set_option(tcp::no_delay(true), nd);
  if (options.proxy) {
    if (auto refused = co_await open_tunnel(tcp_layer, connect_deadline, dialled)) co_return refused;
  }
  if (!options.tls) co_return std::nullopt;

  // SNI carries DNS names only (RFC 6066 forbids IP literals in server_name).
  if (!host_is_ip && SSL_set_tlsext_host_name(secure->native_handle(), options.host.c_str()) != 1) {
    co_return make_error(ErrorReason::Tls, "cannot set TLS server name for " + where, false);
  }
  tcp_layer.expires_at(deadline);
  co_await secure->async_handshake(ssl::stream_base::client, use_ec(ec));
  if (!ec) co_return std::nullopt;
  if (ec == beast::error::timeout) {
    co_return make_error(ErrorReason::Timeout, "TLS handshake with " + where + " timed out", true);
  }
  if (is_connection_end(ec)) {
    // The server hung up (e.g. over its connection cap): a network condition, not a TLS one.
    co_return make_error(ErrorReason::Connect,
                         "connection to " + where + " closed during TLS handshake: " + ec.message(),
                         true);
  }
  std::string message = "TLS handshake with " + where + " failed: " + ec.message();
  long verify = SSL_get_verify_result(secure->native_handle());
  if (verify != X509_V_OK) {
    message += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
  }
  co_return make_error(ErrorReason::Tls, std::move(message), false);
}

awaitable<std::optional<Error>> BeastTransport::Impl::open_tunnel(PlainStream& to_proxy,
                                                                 Clock::time_point deadline,
                                                                 std::string proxy) {
  bhttp::request<bhttp::empty_body> req{bhttp::verb::connect, where, 11};
  req.set(bhttp::field::host, where);
  req.set(bhttp::field::user_agent, options.user_agent);
  error_code ec;
  to_proxy.expires_at(deadline);
  co_await bhttp::async_write(to_proxy, req, use_ec(ec));
  // A CONNECT answer has no body, whatever its headers say (RFC 9110, 9.3.6).
  bhttp::response_parser<bhttp::empty_body> parser;
  parser.skip(true);
  parser.header_limit(kMaxResponseHeaderBytes);
  beast::flat_buffer answer;
  if (!ec) co_await bhttp::async_read_header(to_proxy, answer, parser, use_ec(ec));
  if (ec == beast::error::timeout) {
    co_return make_error(ErrorReason::Timeout, proxy + " did not open a tunnel to " + where +
                                                   " in time", true);
  }
  if (ec) {
    co_return make_error(ErrorReason::Connect, proxy + " failed while opening a tunnel to " +
                                                   where + ": " + ec.message(), true);
  }
  const auto status = parser.get().result_int();
  if (status / 100 != 2) {
    co_return make_error(ErrorReason::Connect,
                         proxy + " refused a tunnel to " + where + ": " + std::to_string(status) +
                             " " + std::string(parser.get().reason().substr(0, 80)),
                         status == 502 || status == 503 || status == 504);
  }
  if (answer.size() > 0) {  // the server speaks first only after our TLS hello or request
    co_return make_error(ErrorReason::Malformed,
                         proxy + " sent bytes after its CONNECT answer for " + where, false);
  }
  co_return std::nullopt;
}

template <class Stream>
awaitable<Attempt> BeastTransport::Impl::exchange(Stream* stream, HttpRequest request,
                                                  Clock::time_point deadline,
                                                  std::chrono::milliseconds timeout) {
  bhttp::request<bhttp::string_body> req;
  req.version(11);
  bhttp::verb verb = bhttp::string_to_verb(request.method);
  if (verb == bhttp::verb::unknown) {
    req.method_string(request.method);
  } else {
    req.method(verb);
  }
  if (request.target.empty()) request.target = "/";
  req.target(request.target);
  req.set(bhttp::field::host, host_header);
  req.set(bhttp::field::user_agent, options.user_agent);
  for (const auto& h : request.headers) req.set(h.name, h.value);
  req.body() = std::move(request.body);
  req.keep_alive(true);
  req.prepare_payload();

  // Messages below name the host and the request line's method only: request headers (the
  // Authorization header above all) never reach an error message.
  const std::string timeout_text = "request to " + where + " timed out after " +
                                   std::to_string(ms(timeout)) + "ms";
  error_code ec;
  PlainStream& tcp_layer = beast::get_lowest_layer(*stream);
  tcp_layer.expires_at(deadline);
  co_await bhttp::async_write(*stream, req, use_ec(ec));
  if (ec == beast::error::timeout) co_return failed(ErrorReason::Timeout, timeout_text, true);
  if (ec) {
    co_return failed(ErrorReason::Connect,
                     "connection to " + where + " lost while sending: " + ec.message(), true,
                     is_connection_end(ec));
  }

  bhttp::response_parser<AppendedBody> parser;
  parser.body_limit(static_cast<std::uint64_t>(options.max_response_bytes));
  parser.header_limit(kMaxResponseHeaderBytes);
  if (verb == bhttp::verb::head) parser.skip(true);
  tcp_layer.expires_at(deadline);
  buffer.reserve(kReadBufferBytes);
  // Header first: Beast 1.74 applies body_limit to chunked and read-to-EOF response bodies
  // but not to a response's Content-Length, so that one is checked here.
  co_await bhttp::async_read_header(*stream, buffer, parser, use_ec(ec));
  if (!ec && parser.content_length() &&
      *parser.content_length() > static_cast<std::uint64_t>(options.max_response_bytes)) {
    ec = bhttp::error::body_limit;
  }
  if (!ec && !parser.is_done()) {
    co_await bhttp::async_read(*stream, buffer, parser, use_ec(ec));
  }
  if (ec) {
    bool got_some = parser.got_some() || buffer.size() > 0;
    if (ec == beast::error::timeout) co_return failed(ErrorReason::Timeout, timeout_text, true);
    if (ec == bhttp::error::body_limit) {
      co_return failed(ErrorReason::TooLarge,
                       "response from " + where + " exceeds max_response_bytes (" +
                           std::to_string(options.max_response_bytes) + ")",
                       false);
    }
    if (ec == bhttp::error::header_limit) {
      co_return failed(ErrorReason::TooLarge, "response headers from " + where + " too large",
                       false);
    }
    if (is_connection_end(ec)) {
      if (!got_some) {
        co_return failed(ErrorReason::Connect,
                         "connection to " + where + " closed before a response: " + ec.message(),
                         true, true);
      }
      co_return failed(ErrorReason::Truncated,
                       "response from " + where + " cut short: " + ec.message(), true);
    }
    if (got_some && ec.category() == error_code(bhttp::error::bad_version).category()) {
      co_return failed(ErrorReason::Malformed,
                       "malformed HTTP response from " + where + ": " + ec.message(), false);
    }
    co_return failed(ErrorReason::Connect,
                     "reading response from " + where + " failed: " + ec.message(), true);
  }

  auto& res = parser.get();
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    out.headers.push_back({std::string(field.name_string()), std::string(field.value())});
  }
  out.body = std::move(res.body());
  bool keep = res.keep_alive() && !res.need_eof();
  Attempt a;
  a.response = std::move(out);
  if (!keep) close();
  co_return a;
}

BeastTransport::BeastTransport(asio::any_io_executor executor, ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(options))) {
  const ClientOptions& o = impl_->options;
  if (o.host.empty()) throw std::runtime_error("http client: empty host");
  if (!o.tls) return;
  ssl::context& ctx = impl_->ctx;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (o.insecure) {
    ctx.set_verify_mode(ssl::verify_none);
    return;
  }
  try {
    if (!o.ca_file.empty()) {
      ctx.load_verify_file(o.ca_file);
    } else {
      ctx.set_default_verify_paths();
    }
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("http client for " + impl_->where + ": cannot load CA " +
                             (o.ca_file.empty() ? std::string("(system default paths)")
                                                : o.ca_file) +
                             ": " + e.code().message());
  }
  ctx.set_verify_mode(ssl::verify_peer);
  // For IP literals Asio checks the certificate's SAN IP entries, for names the DNS entries.
  ctx.set_verify_callback(ssl::host_name_verification(o.host));
}

BeastTransport::~BeastTransport() = default;

void BeastTransport::close() { impl_->close(); }

awaitable<Result<HttpResponse>> BeastTransport::send(HttpRequest request,
                                                     std::chrono::milliseconds timeout) {
  Impl* impl = impl_.get();
  const Clock::time_point deadline = Clock::now() + timeout;
  impl->busy = true;
  for (int attempt = 0;; ++attempt) {
    bool reused = impl->connected();
    if (!reused) {
      std::optional<Error> err = co_await impl->connect(deadline);
      if (err) {
        impl->busy = false;
        impl->reset_streams();
        co_return std::move(*err);
      }
    }
    Attempt result;
    if (impl->secure) {
      result = co_await impl->exchange(&*impl->secure, request, deadline, timeout);
    } else {
      result = co_await impl->exchange(&*impl->plain, request, deadline, timeout);
    }
    impl->busy = false;
    if (result.response) {
      if (!impl->connected() || !impl->lowest().socket().is_open()) impl->reset_streams();
      co_return std::move(*result.response);
    }
    impl->reset_streams();
    // A kept-alive connection the server closed meanwhile fails before any response byte:
    // that is not the server's answer, so reconnect once (same deadline).
    if (reused && result.before_response && attempt == 0 &&
        result.error.reason != ErrorReason::Timeout) {
      log::debug(logger(), "http.client_reconnect", {{"server", impl->where}});
      impl->busy = true;
      continue;
    }
    co_return std::move(result.error);
  }
}

std::optional<ParsedUrl> parse_url(std::string_view url) {
  auto lower_prefix = [&](std::string_view prefix) {
    if (url.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(url[i])) != prefix[i]) return false;
    }
    return true;
  };
  ParsedUrl out;
  std::string_view rest;
  if (lower_prefix("https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else if (lower_prefix("http://")) {
    out.tls = false;
    rest = url.substr(7);
  } else {
    return std::nullopt;
  }
  // Queries and fragments have no meaning in a base URL; userinfo would put credentials in
  // configuration and logs. Reject rather than guess.
  if (rest.find_first_of("?#") != std::string_view::npos) return std::nullopt;
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;

  std::string_view port;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    out.host = std::string(authority.substr(1, close - 1));
    error_code ec;
    auto addr = asio::ip::make_address(out.host, ec);
    if (ec || !addr.is_v6()) return std::nullopt;
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
    if (out.host.empty()) return std::nullopt;
    for (char c : out.host) {
      auto u = static_cast<unsigned char>(c);
      if (!(std::isalnum(u) || c == '-' || c == '.' || c == '_')) return std::nullopt;
    }
  }
  if (!port.empty()) {
    if (port.size() > 5) return std::nullopt;
    unsigned value = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return std::nullopt;
    out.port = std::to_string(value);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.base_path = std::string(path);
  return out;
}

}  // namespace flowdrift::http

namespace flowdrift::http {

std::optional<ProxyOptions> parse_proxy_url(std::string_view url) {
  auto parsed = parse_url(url);
  if (!parsed || parsed->tls || !parsed->base_path.empty()) return std::nullopt;
  return ProxyOptions{parsed->host, parsed->port};
}

bool no_proxy_matches(std::string_view no_proxy, std::string_view host) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const std::string h = lower(host);
  std::size_t at = 0;
  while (at < no_proxy.size()) {
    const auto end = no_proxy.find_first_of(", ", at);
    std::string entry = lower(no_proxy.substr(at, end == std::string_view::npos ? end : end - at));
    at = end == std::string_view::npos ? no_proxy.size() : end + 1;
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (entry.front() == '[') {  // [v6]:port
      const auto close = entry.find(']');
      entry = close == std::string::npos ? entry : entry.substr(1, close - 1);
    } else if (std::count(entry.begin(), entry.end(), ':') == 1) {  // name:port or v4:port
      entry.erase(entry.find(':'));
    }
    if (!entry.empty() && entry.front() == '.') entry.erase(0, 1);
    if (entry.empty()) continue;
    if (h == entry) return true;
    if (h.size() > entry.size() && h.compare(h.size() - entry.size(), entry.size(), entry) == 0 &&
        h[h.size() - entry.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

}  // namespace flowdrift::http
