#include "http/server.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/write.hpp>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <vector>

#include <openssl/ssl.h>

#include "core/log.hpp"
#include "http/beast.hpp"
#include "http/tls_context.hpp"

namespace flowdrift::http {
namespace {

using namespace wire;  // the stream names of http/beast.hpp

constexpr std::size_t kFirstReadChunk = 4096;
// How much of an unread request we swallow before closing, so that the peer sees our error
// response instead of a TCP reset (unread data at close() makes the kernel send RST).
constexpr std::size_t kMaxDrainBytes = 4u * 1024u * 1024u;
constexpr std::chrono::milliseconds kDrainTime{1000};

std::shared_ptr<spdlog::logger> logger() { return log::get("http"); }

auto use_ec(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

// Everything the accept loop and the connection coroutines share. Owned through shared_ptr by
// the server and by every running coroutine, so it outlives whichever ends last.
struct ServerState {
  ServerState(asio::any_io_executor ex, ServerOptions opts, Handler h)
      : executor(ex), options(std::move(opts)), handler(std::move(h)), acceptor(ex), backoff(ex) {}

  asio::any_io_executor executor;
  ServerOptions options;
  Handler handler;
  tcp::acceptor acceptor;
  asio::steady_timer backoff;
  std::unique_ptr<ssl::context> tls;
  std::uint16_t port = 0;
  bool started = false;
  bool stopped = false;
  std::size_t accepted = 0;
  std::uint64_t next_id = 0;
  // Open connections: id -> function that force-closes it (used by stop()).
  std::map<std::uint64_t, std::function<void()>> live;
  // Refused connections are a client's doing: warned about at most once per kRefusalLogGap,
  // with the number refused since the last warning.
  std::chrono::steady_clock::time_point last_refusal_log{};
  std::uint64_t refusals_unlogged = 0;
};

constexpr std::chrono::seconds kRefusalLogGap{10};

void log_refusal(ServerState& st, const std::string& peer) {
  ++st.refusals_unlogged;
  const auto now = std::chrono::steady_clock::now();
  if (st.last_refusal_log != std::chrono::steady_clock::time_point{} &&
      now - st.last_refusal_log < kRefusalLogGap) {
    return;
  }
  log::warn(logger(), "http.connection_refused",
            {{"peer", peer}, {"reason", "max_connections"},
             {"limit", st.options.max_connections}, {"refused", st.refusals_unlogged}});
  st.last_refusal_log = now;
  st.refusals_unlogged = 0;
}

template <class Stream>
struct Session {
  template <class... Args>
  explicit Session(asio::any_io_executor ex, std::string peer_name, Args&&... args)
      : stream(std::forward<Args>(args)...), timer(ex), peer(std::move(peer_name)) {}
  Stream stream;
  beast::flat_buffer buffer;
  asio::steady_timer timer;  // ServerReply::delay
  std::string peer;
};

// Removes a connection from the live set however its coroutine ends.
struct Registration {
  std::shared_ptr<ServerState> state;
  std::uint64_t id;
  Registration(std::shared_ptr<ServerState> s, std::uint64_t i) : state(std::move(s)), id(i) {}
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  ~Registration() { state->live.erase(id); }
};

template <class Stream>
void hard_close(Session<Stream>& s) {
  error_code ec;
  s.timer.cancel();
  auto& lowest = beast::get_lowest_layer(s.stream);
  lowest.socket().shutdown(tcp::socket::shutdown_both, ec);
  lowest.close();
}

void log_coroutine_failure(std::string_view event, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error(logger(), event, {{"error", ex.what()}});
  } catch (...) {
    log::error(logger(), event, {{"error", "unknown exception"}});
  }
}

HttpRequest to_request(const bhttp::request<bhttp::string_body>& req) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  out.headers.reserve(static_cast<std::size_t>(std::distance(req.begin(), req.end())));
  for (const auto& field : req) {
    out.headers.push_back({std::string(field.name_string()), std::string(field.value())});
  }
  out.body = req.body();
  return out;
}

ServerReply call_handler(const ServerState& st, const HttpRequest& req) {
  // A throwing handler is a bug in that handler, not a reason to drop the server: answer 500.
  try {
    return st.handler(req);
  } catch (const std::exception& e) {
    log::error(logger(), "http.handler_failed",
               {{"method", req.method}, {"path", req.path()}, {"error", e.what()}});
  } catch (...) {
    log::error(logger(), "http.handler_failed",
               {{"method", req.method}, {"path", req.path()}, {"error", "unknown exception"}});
  }
  ServerReply reply;
  reply.response.status = 500;
  reply.response.headers = {{"Content-Type", "text/plain"}};
  reply.response.body = "internal server error\n";
  return reply;
}

bool is_framing_header(std::string_view std_name) {
  beast::string_view name(std_name.data(), std_name.size());
  return beast::iequals(name, "Content-Length") || beast::iequals(name, "Transfer-Encoding") ||
         beast::iequals(name, "Connection");
}

// The server owns framing (Content-Length, Connection); the handler owns everything else.
bhttp::response<bhttp::string_body> to_beast(const HttpResponse& r, unsigned version, bool keep) {
  bhttp::response<bhttp::string_body> res;
  res.version(version);
  int status = r.status;
  if (status < 100 || status > 999) status = 500;
  res.result(static_cast<unsigned>(status));
  for (const auto& h : r.headers) {
    if (!is_framing_header(h.name)) res.insert(h.name, h.value);
  }
  res.keep_alive(keep);
  bool bodiless = status < 200 || status == 204 || status == 304;
  if (!bodiless) {
    res.body() = r.body;
    res.prepare_payload();
  }
  return res;
}

HttpResponse plain_error(int status, std::string text) {
  HttpResponse r;
  r.status = status;
  r.headers = {{"Content-Type", "text/plain"}};
  r.body = std::move(text) + "\n";
  return r;
}

// Half-closes, then reads and discards whatever the peer still sends (bounded in time and
// size) before closing: the peer reads our final response instead of a connection reset.
template <class Stream>
awaitable<void> graceful_close(std::shared_ptr<Session<Stream>> s) {
  auto& lowest = beast::get_lowest_layer(s->stream);
  error_code ec;
  lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
  lowest.expires_after(kDrainTime);
  std::array<char, 4096> sink{};
  std::size_t total = 0;
  while (!ec && total < kMaxDrainBytes) {
    std::size_t n = co_await lowest.async_read_some(asio::buffer(sink), use_ec(ec));
    total += n;
  }
  lowest.close();
}

template <class Stream>
awaitable<error_code> write_response(std::shared_ptr<ServerState> st,
                                     std::shared_ptr<Session<Stream>> s, HttpResponse response,
                                     unsigned version, bool keep) {
  auto res = to_beast(response, version, keep);
  beast::get_lowest_layer(s->stream).expires_after(st->options.read_timeout);
  error_code ec;
  co_await bhttp::async_write(s->stream, res, use_ec(ec));
  co_return ec;
}

// Fault::TruncateBody: a header promising the whole body, then only half of it.
template <class Stream>
awaitable<void> write_truncated(std::shared_ptr<ServerState> st,
                                std::shared_ptr<Session<Stream>> s, HttpResponse response,
                                unsigned version) {
  auto res = to_beast(response, version, true);
  bhttp::response_serializer<bhttp::string_body> sr{res};
  beast::get_lowest_layer(s->stream).expires_after(st->options.read_timeout);
  error_code ec;
  co_await bhttp::async_write_header(s->stream, sr, use_ec(ec));
  if (ec) co_return;
  std::size_t half = res.body().size() / 2;
  co_await asio::async_write(s->stream, asio::buffer(res.body().data(), half), use_ec(ec));
}

bool is_quiet_end(const error_code& ec) {
  return ec == beast::error::timeout || ec == asio::error::eof ||
         ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
         ec == asio::error::connection_reset || ec == asio::error::bad_descriptor ||
         ec == ssl::error::stream_truncated;
}

// The TLS handshake, which counts against read_timeout so a silent client cannot hold a slot.
// True when the session may go on (always, for plain TCP).
template <class Stream>
awaitable<bool> handshake(std::shared_ptr<ServerState> st, std::shared_ptr<Session<Stream>> s) {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    error_code ec;
    beast::get_lowest_layer(s->stream).expires_after(st->options.read_timeout);
    co_await s->stream.async_handshake(ssl::stream_base::server, use_ec(ec));
    if (ec) {
      log::debug(logger(), "http.tls_handshake_failed", {{"peer", s->peer}, {"error", ec.message()}});
      co_return false;
    }
  }
  co_return true;
}

// Waits for the first byte of a request: a fresh connection gets read_timeout, a kept-alive
// one idle_timeout. An error: idle timeout, peer closed, or stop(); nothing to answer.
template <class Stream>
awaitable<error_code> await_request(std::shared_ptr<ServerState> st,
                                    std::shared_ptr<Session<Stream>> s, bool first) {
  error_code ec;
  if (s->buffer.size() != 0) co_return ec;
  beast::get_lowest_layer(s->stream)
      .expires_after(first ? st->options.read_timeout : st->options.idle_timeout);
  std::size_t n = co_await s->stream.async_read_some(s->buffer.prepare(kFirstReadChunk), use_ec(ec));
  s->buffer.commit(n);
  co_return ec;
}

struct ReadRequest {
  error_code ec;
  std::size_t fields = 0;
  HttpRequest request;
  bool keep = false;
  unsigned version = 11;
};

// One request within read_timeout, headers first, so the field count is checked before any
// body is read (Beast bounds the header section in bytes only). One deadline for the whole
// request: a client that trickles bytes (slow loris) is cut off however steadily it sends.
template <class Stream>
awaitable<ReadRequest> read_request(std::shared_ptr<ServerState> st,
                                    std::shared_ptr<Session<Stream>> s) {
  const ServerOptions& opts = st->options;
  ReadRequest out;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.body_limit(opts.max_body_bytes);
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(opts.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  beast::get_lowest_layer(s->stream).expires_after(opts.read_timeout);
  co_await bhttp::async_read_header(s->stream, s->buffer, parser, use_ec(out.ec));
  if (out.ec) co_return out;
  const auto& head = parser.get();
  out.fields = static_cast<std::size_t>(std::distance(head.begin(), head.end()));
  if (out.fields > opts.max_header_fields) co_return out;
  if (!parser.is_done()) co_await bhttp::async_read(s->stream, s->buffer, parser, use_ec(out.ec));
  if (out.ec) co_return out;
  const auto& req = parser.get();
  out.request = to_request(req);
  out.keep = req.keep_alive();
  out.version = req.version();
  co_return out;
}

// The answer to a request that could not be read: a status and text, or status 0 when the
// connection just ended and nothing is owed.
std::pair<int, std::string> rejection(const ReadRequest& r, const ServerOptions& opts) {
  if (!r.ec) {
    return {431, "request has " + std::to_string(r.fields) + " header fields, more than " +
                     std::to_string(opts.max_header_fields)};
  }
  if (r.ec == bhttp::error::body_limit) {
    return {413, "request body exceeds " + std::to_string(opts.max_body_bytes) + " bytes"};
  }
  if (r.ec == bhttp::error::header_limit) {
    return {431, "request header section exceeds " + std::to_string(opts.max_header_bytes) +
                     " bytes"};
  }
  if (!is_quiet_end(r.ec) && r.ec != bhttp::error::partial_message) return {400, "malformed request"};
  return {0, ""};
}

template <class Stream>
awaitable<void> reject(std::shared_ptr<ServerState> st, std::shared_ptr<Session<Stream>> s,
                       ReadRequest r) {
  const auto [status, text] = rejection(r, st->options);
  log::debug(logger(), "http.request_rejected",
             {{"peer", s->peer}, {"status", status},
              {"error", r.ec ? r.ec.message() : std::string("too many header fields")}});
  if (status == 0) co_return;
  error_code wec = co_await write_response(st, s, plain_error(status, text), 11u, false);
  if (!wec) co_await graceful_close(s);
}

// Runs the handler and writes its reply (after its delay, or its fault). True when the
// connection stays open for another request.
template <class Stream>
awaitable<bool> answer(std::shared_ptr<ServerState> st, std::shared_ptr<Session<Stream>> s,
                       ReadRequest r) {
  ServerReply reply = call_handler(*st, r.request);
  if (reply.delay.count() > 0) {
    error_code ec;
    s->timer.expires_after(reply.delay);
    co_await s->timer.async_wait(use_ec(ec));
    if (ec || st->stopped) co_return false;  // cancelled by stop()
  }
  if (reply.fault == ServerReply::Fault::DropConnection) {
    log::debug(logger(), "http.fault_drop", {{"peer", s->peer}, {"path", r.request.path()}});
    co_return false;
  }
  if (reply.fault == ServerReply::Fault::TruncateBody) {
    log::debug(logger(), "http.fault_truncate", {{"peer", s->peer}, {"path", r.request.path()}});
    co_await write_truncated(st, s, std::move(reply.response), r.version);
    co_return false;
  }
  const bool keep = r.keep && !st->stopped;
  error_code wec = co_await write_response(st, s, std::move(reply.response), r.version, keep);
  if (wec) co_return false;
  if (!keep) co_await graceful_close(s);
  co_return keep;
}

template <class Stream>
awaitable<void> serve(std::shared_ptr<ServerState> st, std::shared_ptr<Session<Stream>> s,
                      std::uint64_t id) {
  Registration registration(st, id);
  if (!co_await handshake(st, s)) {
    hard_close(*s);
    co_return;
  }
  for (bool first = true; !st->stopped; first = false) {
    if (co_await await_request(st, s, first)) break;
    ReadRequest r = co_await read_request(st, s);
    if (r.ec || r.fields > st->options.max_header_fields) {
      co_await reject(st, s, std::move(r));
      break;
    }
    if (!co_await answer(st, s, std::move(r))) {
      // answer() closed gracefully when the client asked to close; hard_close is then a no-op
      // on a closed socket.
      break;
    }
  }
  hard_close(*s);
}

awaitable<void> accept_loop(std::shared_ptr<ServerState> st) {
  for (;;) {
    error_code ec;
    tcp::socket socket = co_await st->acceptor.async_accept(use_ec(ec));
    if (st->stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // e.g. EMFILE: pause instead of spinning on an error that persists.
      log::warn(logger(), "http.accept_failed", {{"error", ec.message()}});
      st->backoff.expires_after(std::chrono::milliseconds(100));
      co_await st->backoff.async_wait(use_ec(ec));
      continue;
    }
    ++st->accepted;
    // Responses go out as header and body writes: without this, Nagle holds the tail of each
    // answer until the client's delayed ACK (up to 40 ms per response on Linux).
    error_code nec;
    socket.set_option(tcp::no_delay(true), nec);
    error_code pec;
    auto remote = socket.remote_endpoint(pec);
    std::string peer = pec ? std::string("?") : remote.address().to_string() + ":" +
                                                    std::to_string(remote.port());
    if (st->live.size() >= st->options.max_connections) {
      log_refusal(*st, peer);
      socket.close(pec);
      continue;
    }
    std::uint64_t id = st->next_id++;
    if (st->tls) {
      auto s = std::make_shared<Session<TlsStream>>(st->executor, std::move(peer),
                                                    std::move(socket), *st->tls);
      st->live.emplace(id, [w = std::weak_ptr<Session<TlsStream>>(s)] {
        if (auto p = w.lock()) hard_close(*p);
      });
      asio::co_spawn(st->executor, serve(st, std::move(s), id), [](std::exception_ptr e) {
        log_coroutine_failure("http.connection_failed", e);
      });
    } else {
      auto s = std::make_shared<Session<PlainStream>>(st->executor, std::move(peer),
                                                      std::move(socket));
      st->live.emplace(id, [w = std::weak_ptr<Session<PlainStream>>(s)] {
        if (auto p = w.lock()) hard_close(*p);
      });
      asio::co_spawn(st->executor, serve(st, std::move(s), id), [](std::exception_ptr e) {
        log_coroutine_failure("http.connection_failed", e);
      });
    }
  }
}

std::string endpoint_name(const std::string& address, std::uint16_t port) {
  return (address.find(':') != std::string::npos ? "[" + address + "]" : address) + ":" +
         std::to_string(port);
}

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<ServerState> state;
};

HttpServer::HttpServer(asio::any_io_executor executor, ServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>()) {
  auto st = std::make_shared<ServerState>(executor, std::move(options), std::move(handler));
  impl_->state = st;
  const ServerOptions& opts = st->options;
  const std::string where = endpoint_name(opts.address, opts.port);

  if (opts.tls) st->tls = make_tls_context(*opts.tls, "http server " + where);

  error_code ec;
  auto address = asio::ip::make_address(opts.address, ec);
  if (ec) throw std::system_error(ec, "http server: invalid listen address " + opts.address);
  tcp::endpoint endpoint(address, opts.port);
  st->acceptor.open(endpoint.protocol(), ec);
  if (ec) throw std::system_error(ec, "http server: cannot open socket for " + where);
  st->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) throw std::system_error(ec, "http server: cannot set SO_REUSEADDR on " + where);
  st->acceptor.bind(endpoint, ec);
  if (ec) throw std::system_error(ec, "http server: cannot bind " + where);
  st->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::system_error(ec, "http server: cannot listen on " + where);
  st->port = st->acceptor.local_endpoint().port();
  log::debug(logger(), "http.listening",
             {{"address", endpoint_name(opts.address, st->port)}, {"tls", opts.tls ? "yes" : "no"}});
}

HttpServer::~HttpServer() { stop(); }

std::uint16_t HttpServer::port() const { return impl_->state->port; }

std::size_t HttpServer::connections_accepted() const { return impl_->state->accepted; }

void HttpServer::start() {
  auto& st = impl_->state;
  if (st->started || st->stopped) return;
  st->started = true;
  asio::co_spawn(st->executor, accept_loop(st), [](std::exception_ptr e) {
    log_coroutine_failure("http.accept_loop_failed", e);
  });
}

void HttpServer::stop() {
  auto& st = impl_->state;
  if (st->stopped) return;
  st->stopped = true;
  error_code ec;
  st->acceptor.close(ec);
  st->backoff.cancel();
  // Copy first: closing completes nothing synchronously, but keep the iteration obviously safe.
  std::vector<std::function<void()>> closers;
  closers.reserve(st->live.size());
  for (auto& [id, closer] : st->live) closers.push_back(closer);
  for (auto& closer : closers) closer();
}

}  // namespace flowdrift::http
