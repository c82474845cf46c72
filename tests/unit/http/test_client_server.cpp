// BeastTransport against HttpServer over real loopback sockets (TLS with a generated PKI, and
// plain HTTP). Every io_context run is bounded, so a hang fails the test instead of blocking.
#include <sys/stat.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iterator>
#include <optional>
#include <string>

#include "http/asio.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "support/selfsigned.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using namespace flowdrift::http;
using flowdrift::test::GeneratedPki;
using flowdrift::test::generate_test_pki;
using namespace std::chrono_literals;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::chrono::milliseconds kHardDeadline = 15s;

template <class T>
awaitable<void> capture(awaitable<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}

// Runs `task` on the test thread and returns its result; FAILs if it does not complete within
// the hard deadline (the server keeps the io_context busy, so completion stops it).
template <class T>
T run(asio::io_context& ioc, awaitable<T> task, std::chrono::milliseconds limit = kHardDeadline) {
  std::optional<T> out;
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(ioc, capture(std::move(task), &out), [&](std::exception_ptr e) {
    error = e;
    done = true;
    ioc.stop();
  });
  ioc.restart();
  ioc.run_for(limit);
  if (!done) FAIL("operation did not complete within the hard deadline");
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

awaitable<int> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(asio::use_awaitable);
  co_return 0;
}

// Stops the server and checks that the io_context then runs out of work by itself: no
// connection coroutine, timer or accept loop survives stop().
void finish(asio::io_context& ioc, HttpServer& server) {
  server.stop();
  ioc.restart();
  ioc.run_for(5s);
  CHECK(ioc.stopped());
}

struct Pki {
  test::TempDir dir;
  GeneratedPki files = generate_test_pki(dir.path().string());
};

ServerReply ok_reply(std::string body) {
  ServerReply r;
  r.response.status = 200;
  r.response.headers = {{"Content-Type", "text/plain"}};
  r.response.body = std::move(body);
  return r;
}

ServerReply echo(const HttpRequest& req) {
  std::string auth(req.header("Authorization").value_or(""));
  return ok_reply("hello " + std::string(req.path()) + " " + req.method + " auth=" + auth +
                  " body=" + req.body);
}

ServerOptions tls_options(const GeneratedPki& pki) {
  ServerOptions o;
  o.tls = TlsFiles{pki.cert_file, pki.key_file};
  o.read_timeout = 3s;
  o.idle_timeout = 5s;
  return o;
}

ClientOptions client_options(const HttpServer& server, const GeneratedPki* ca) {
  ClientOptions o;
  o.host = "127.0.0.1";
  o.port = std::to_string(server.port());
  o.tls = ca != nullptr;
  if (ca != nullptr) o.ca_file = ca->ca_file;
  o.connect_timeout = 2s;
  return o;
}

HttpRequest get(std::string target) { return HttpRequest{"GET", std::move(target), {}, ""}; }

// A started HttpServer with `handler` on the test's own io_context: over TLS with a fresh PKI
// (tls_options(), changed by `adjust`), or over plain HTTP with the options given.
struct Served {
  explicit Served(Handler handler = echo, const std::function<void(ServerOptions&)>& adjust = {})
      : pki(std::in_place), server(ioc.get_executor(), tls(adjust), std::move(handler)) {
    server.start();
  }
  Served(ServerOptions plain, Handler handler)
      : server(ioc.get_executor(), std::move(plain), std::move(handler)) {
    server.start();
  }

  // A client's options for this server (trusting its CA over TLS).
  ClientOptions client() const { return client_options(server, pki ? &pki->files : nullptr); }
  // One request through a new client with `opts`.
  Result<HttpResponse> send(const ClientOptions& opts, const HttpRequest& request,
                            std::chrono::milliseconds timeout = 5s) {
    BeastTransport transport(ioc.get_executor(), opts);
    return run(ioc, transport.send(request, timeout));
  }
  Result<HttpResponse> fetch(const std::string& target) { return send(client(), get(target)); }
  void finish() { ::finish(ioc, server); }

  std::optional<Pki> pki;
  asio::io_context ioc;
  HttpServer server;

 private:
  ServerOptions tls(const std::function<void(ServerOptions&)>& adjust) const {
    ServerOptions o = tls_options(pki->files);
    if (adjust) adjust(o);
    return o;
  }
};

// `r` is the answer `status`.
void check_status(const Result<HttpResponse>& r, int status) {
  REQUIRE(r.has_value());
  CHECK(r->status == status);
}

// `r` failed for `reason`, retryable or not as `retryable` says.
void check_failed(const Result<HttpResponse>& r, ErrorReason reason, bool retryable) {
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().reason == reason);
  CHECK(r.error().retryable == retryable);
}

}  // namespace

TEST_CASE("generate_test_pki writes a CA, a leaf and a private key", "[unit][http]") {
  test::TempDir dir;
  auto pki = generate_test_pki(dir.path().string(), "unit");
  for (const auto& f : {pki.ca_file, pki.cert_file, pki.key_file}) {
    REQUIRE(std::filesystem::exists(f));
  }
  CHECK(test::read_file(pki.ca_file).find("-----BEGIN CERTIFICATE-----") == 0);
  CHECK(test::read_file(pki.cert_file).find("-----BEGIN CERTIFICATE-----") == 0);
  CHECK(test::read_file(pki.key_file).find("PRIVATE KEY-----") != std::string::npos);
  struct stat st {};
  REQUIRE(::stat(pki.key_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  test::TempDir other;
  auto pki2 = generate_test_pki(other.path().string(), "unit");
  CHECK(test::read_file(pki2.ca_file) != test::read_file(pki.ca_file));

  CHECK_THROWS_AS(generate_test_pki(dir.file("missing")), std::runtime_error);
}

TEST_CASE("TLS request with the generated CA succeeds and keeps the connection alive",
          "[unit][http]") {
  Served s;
  BeastTransport client(s.ioc.get_executor(), s.client());

  HttpRequest req = get("/api/nutanix/v3/clusters/list");
  req.method = "POST";
  req.headers = {{"Authorization", basic_auth_header("admin", "pw")}};
  req.body = "{}";
  for (int i = 0; i < 3; ++i) {
    auto r = run(s.ioc, client.send(req, 5s));
    check_status(r, 200);
    CHECK(r->body == "hello /api/nutanix/v3/clusters/list POST auth=" +
                         basic_auth_header("admin", "pw") + " body={}");
    CHECK(r->header("content-type").value_or("") == "text/plain");
  }
  CHECK(s.server.connections_accepted() == 1);
  s.finish();
}

TEST_CASE("TLS to a DNS name (localhost) verifies against SAN DNS and sends SNI",
          "[unit][http]") {
  Served s;
  auto opts = s.client();
  opts.host = "localhost";
  check_status(s.send(opts, get("/x")), 200);
  s.finish();
}

TEST_CASE("TLS with the wrong CA fails verification, insecure skips it", "[unit][http]") {
  Served s;
  Pki other;

  SECTION("wrong CA -> Tls, not retryable, no credentials in the message") {
    HttpRequest req = get("/x");
    req.headers = {{"Authorization", basic_auth_header("admin", "s3cretpw")}};
    auto r = s.send(client_options(s.server, &other.files), req);
    check_failed(r, ErrorReason::Tls, false);
    CHECK_THAT(r.error().message, Catch::Contains("certificate verify failed"));
    CHECK_THAT(r.error().message, Catch::Contains("127.0.0.1:" + std::to_string(s.server.port())));
    CHECK_THAT(r.error().message, !Catch::Contains(basic_auth_header("admin", "s3cretpw")));
    CHECK_THAT(r.error().message, !Catch::Contains("s3cretpw"));
  }
  SECTION("insecure -> verification skipped") {
    auto opts = client_options(s.server, &other.files);
    opts.insecure = true;
    check_status(s.send(opts, get("/x")), 200);
  }
  s.finish();
}

TEST_CASE("TLS host name is verified, not only the chain", "[unit][http]") {
  Pki pki;
  asio::io_context ioc;
  auto opts = tls_options(pki.files);
  opts.address = "127.0.0.2";  // all of 127/8 is loopback on Linux; the cert names 127.0.0.1
  std::optional<HttpServer> server;
  try {
    server.emplace(ioc.get_executor(), opts, echo);
  } catch (const std::system_error&) {
    WARN("cannot bind 127.0.0.2 here; host name check not exercised");
    return;
  }
  server->start();
  auto copts = client_options(*server, &pki.files);
  copts.host = "127.0.0.2";
  BeastTransport client(ioc.get_executor(), copts);
  auto r = run(ioc, client.send(get("/x"), 5s));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().reason == ErrorReason::Tls);
  finish(ioc, *server);
}

TEST_CASE("server delay longer than the client timeout -> Timeout", "[unit][http]") {
  Served s([](const HttpRequest&) {
    ServerReply r = ok_reply("late");
    r.delay = 2s;
    return r;
  });
  auto start = std::chrono::steady_clock::now();
  auto r = s.send(s.client(), get("/slow"), 300ms);
  auto elapsed = std::chrono::steady_clock::now() - start;
  check_failed(r, ErrorReason::Timeout, true);
  CHECK(elapsed >= 250ms);
  CHECK(elapsed < 1500ms);
  s.finish();  // the pending delay timer must not keep the server alive
}

TEST_CASE("DropConnection -> error, and the next request succeeds", "[unit][http]") {
  int calls = 0;
  Served s([&](const HttpRequest& req) {
    ++calls;
    ServerReply r = echo(req);
    if (calls == 1) r.fault = ServerReply::Fault::DropConnection;
    return r;
  });
  BeastTransport client(s.ioc.get_executor(), s.client());
  auto r1 = run(s.ioc, client.send(get("/a"), 5s));
  REQUIRE_FALSE(r1.has_value());
  bool expected_reason =
      r1.error().reason == ErrorReason::Connect || r1.error().reason == ErrorReason::Truncated;
  CHECK(expected_reason);
  CHECK(r1.error().retryable);
  CHECK(calls == 1);  // a fresh connection is not retried: the request did reach the server
  check_status(run(s.ioc, client.send(get("/b"), 5s)), 200);
  CHECK(s.server.connections_accepted() == 2);
  s.finish();
}

TEST_CASE("a kept-alive connection closed by the server is reopened once, transparently",
          "[unit][http]") {
  int calls = 0;

  SECTION("server drops the request on the reused connection") {
    Served s([&](const HttpRequest& req) {
      ++calls;
      ServerReply r = echo(req);
      if (calls == 2) r.fault = ServerReply::Fault::DropConnection;
      return r;
    });
    BeastTransport client(s.ioc.get_executor(), s.client());
    REQUIRE(run(s.ioc, client.send(get("/1"), 5s)).has_value());
    auto r = run(s.ioc, client.send(get("/2"), 5s));
    REQUIRE(r.has_value());
    CHECK(r->body.rfind("hello /2", 0) == 0);
    CHECK(calls == 3);
    CHECK(s.server.connections_accepted() == 2);
    s.finish();
  }
  SECTION("server closed the idle connection") {
    Served s(echo, [](ServerOptions& o) { o.idle_timeout = 100ms; });
    BeastTransport client(s.ioc.get_executor(), s.client());
    REQUIRE(run(s.ioc, client.send(get("/1"), 5s)).has_value());
    run(s.ioc, sleep_for(400ms));
    check_status(run(s.ioc, client.send(get("/2"), 5s)), 200);
    CHECK(s.server.connections_accepted() == 2);
    s.finish();
  }
}

TEST_CASE("TruncateBody -> Truncated", "[unit][http]") {
  // A body smaller than one read of Beast's, and one of many reads.
  const std::size_t size = GENERATE(std::size_t{10000}, std::size_t{3u * 1024u * 1024u});
  CAPTURE(size);
  Served s([size](const HttpRequest&) {
    ServerReply r = ok_reply(std::string(size, 'x'));
    r.fault = ServerReply::Fault::TruncateBody;
    return r;
  });
  check_failed(s.fetch("/t"), ErrorReason::Truncated, true);
  s.finish();
}

TEST_CASE("response over max_response_bytes -> TooLarge", "[unit][http]") {
  Served s([](const HttpRequest&) { return ok_reply(std::string(5000, 'y')); });
  auto opts = s.client();
  opts.max_response_bytes = 1000;
  check_failed(s.send(opts, get("/big")), ErrorReason::TooLarge, false);

  opts.max_response_bytes = 5000;  // exactly at the cap is fine
  auto ok = s.send(opts, get("/big"));
  REQUIRE(ok.has_value());
  CHECK(ok->body.size() == 5000);
  s.finish();
}

// `size` bytes of every value (NUL, CR, LF among them), different at every offset of a page.
std::string binary_body(std::size_t size) {
  std::string body(size, '\0');
  std::uint32_t x = 2463534242u;
  for (auto& c : body) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xffu);
  }
  return body;
}

// `body` as a chunked response: chunks of sizes from 1 byte to well over a read buffer.
std::string chunked_response(const std::string& body) {
  static constexpr std::size_t kSizes[] = {1, 7, 4096, 16385, 65537, 250000, 3};
  std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  char size_line[32];
  for (std::size_t at = 0, k = 0; at < body.size(); ++k) {
    const std::size_t n = std::min(kSizes[k % std::size(kSizes)], body.size() - at);
    wire.append(size_line,
                static_cast<std::size_t>(std::snprintf(size_line, sizeof size_line, "%zx\r\n", n)));
    wire.append(body, at, n).append("\r\n");
    at += n;
  }
  return wire + "0\r\n\r\n";
}

// One connection on `acceptor`, answered with `wire` as it is once the request's header is in.
awaitable<void> answer_raw(tcp::acceptor* acceptor, std::string wire) {
  auto socket = co_await acceptor->async_accept(asio::use_awaitable);
  std::string request;
  co_await asio::async_read_until(socket, asio::dynamic_buffer(request), "\r\n\r\n",
                                  asio::use_awaitable);
  co_await asio::async_write(socket, asio::buffer(wire), asio::use_awaitable);
  socket.shutdown(tcp::socket::shutdown_send);
}

TEST_CASE("a multi-megabyte Content-Length body arrives byte for byte over TLS", "[unit][http]") {
  const std::string body = binary_body(6u * 1024u * 1024u + 12345u);
  Served s([&body](const HttpRequest&) { return ok_reply(body); });
  const auto r = s.fetch("/page");
  REQUIRE(r.has_value());
  CHECK(r->body.size() == body.size());
  CHECK(r->body == body);
  s.finish();
}

// What the client makes of `wire`, sent as it is by a raw loopback socket (plain HTTP) once the
// request's header is in. `served` says whether the raw server finished without an error.
Result<HttpResponse> fetch_raw(std::string wire, bool* served) {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::exception_ptr server_error;
  bool done = false;
  asio::co_spawn(ioc, answer_raw(&acceptor, std::move(wire)), [&](std::exception_ptr e) {
    server_error = e;
    done = true;
  });
  ClientOptions opts;
  opts.host = "127.0.0.1";
  opts.port = std::to_string(acceptor.local_endpoint().port());
  opts.tls = false;
  opts.connect_timeout = 2s;
  BeastTransport transport(ioc.get_executor(), opts);
  auto r = run(ioc, transport.send(get("/page"), 10s));
  ioc.restart();
  ioc.run_for(5s);
  *served = done && !server_error;
  return r;
}

TEST_CASE("a multi-megabyte chunked body arrives byte for byte", "[unit][http]") {
  const std::string body = binary_body(3u * 1024u * 1024u + 777u);
  bool served = false;
  const auto r = fetch_raw(chunked_response(body), &served);
  CHECK(served);
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(r->body.size() == body.size());
  CHECK(r->body == body);
}

// Header and body in one write: the first body bytes arrive in the read that completes the
// header, and must come from the read buffer before the rest is read.
TEST_CASE("a multi-megabyte body sent in one write with its header arrives byte for byte",
          "[unit][http]") {
  const std::string body = binary_body(2u * 1024u * 1024u + 99u);
  bool served = false;
  const auto r = fetch_raw("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\nConnection: close\r\n\r\n" + body,
                           &served);
  CHECK(served);
  REQUIRE(r.has_value());
  CHECK(r->body.size() == body.size());
  CHECK(r->body == body);
}

TEST_CASE("connection refused -> Connect, retryable", "[unit][http]") {
  asio::io_context ioc;
  std::uint16_t port = 0;
  {
    HttpServer closed(ioc.get_executor(), ServerOptions{}, echo);
    port = closed.port();
  }
  ClientOptions opts;
  opts.host = "127.0.0.1";
  opts.port = std::to_string(port);
  opts.tls = false;
  BeastTransport client(ioc.get_executor(), opts);
  auto r = run(ioc, client.send(get("/"), 5s));
  check_failed(r, ErrorReason::Connect, true);
  CHECK_THAT(r.error().message, Catch::Contains("127.0.0.1:" + std::to_string(port)));
}

TEST_CASE("server limits: body -> 413, headers -> 431", "[unit][http]") {
  int calls = 0;
  Served s(
      [&](const HttpRequest& req) {
        ++calls;
        return echo(req);
      },
      [](ServerOptions& o) {
        o.max_body_bytes = 1024;
        o.max_header_bytes = 4096;
      });
  BeastTransport client(s.ioc.get_executor(), s.client());

  HttpRequest small{"POST", "/p", {}, std::string(1024, 'a')};
  check_status(run(s.ioc, client.send(small, 5s)), 200);
  HttpRequest big{"POST", "/p", {}, std::string(64 * 1024, 'a')};
  check_status(run(s.ioc, client.send(big, 5s)), 413);
  HttpRequest fat = get("/h");
  fat.headers = {{"X-Padding", std::string(8000, 'h')}};
  check_status(run(s.ioc, client.send(fat, 5s)), 431);
  CHECK(calls == 1);  // neither rejected request reached the handler
  s.finish();
}

namespace {

struct SlowResult {
  error_code ec;
  std::size_t bytes = 0;
  std::chrono::milliseconds elapsed{0};
};

// Sends half a request line and headers, then waits for the server to give up.
awaitable<SlowResult> slow_client(std::uint16_t port) {
  tcp::socket sock(co_await asio::this_coro::executor);
  co_await sock.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                              asio::use_awaitable);
  std::string half = "GET /slow HTTP/1.1\r\nHost: x\r\n";
  co_await asio::async_write(sock, asio::buffer(half), asio::use_awaitable);
  auto start = std::chrono::steady_clock::now();
  SlowResult out;
  std::array<char, 256> buf{};
  out.bytes = co_await sock.async_read_some(asio::buffer(buf),
                                            asio::redirect_error(asio::use_awaitable, out.ec));
  out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  co_return out;
}

awaitable<tcp::socket> open_raw(std::uint16_t port) {
  tcp::socket sock(co_await asio::this_coro::executor);
  co_await sock.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                              asio::use_awaitable);
  co_return sock;
}

}  // namespace

TEST_CASE("a client that sends half a request is disconnected after read_timeout",
          "[unit][http]") {
  asio::io_context ioc;
  ServerOptions opts;
  opts.read_timeout = 300ms;
  bool called = false;
  HttpServer server(ioc.get_executor(), opts, [&](const HttpRequest& req) {
    called = true;
    return echo(req);
  });
  server.start();
  auto r = run(ioc, slow_client(server.port()));
  CHECK(r.ec == asio::error::eof);
  CHECK(r.bytes == 0);  // closed without an answer
  CHECK(r.elapsed >= 250ms);
  CHECK(r.elapsed < 3000ms);
  CHECK_FALSE(called);
  finish(ioc, server);
}

TEST_CASE("connections over max_connections are refused", "[unit][http]") {
  ServerOptions opts;
  opts.max_connections = 1;
  Served s(opts, echo);
  BeastTransport client(s.ioc.get_executor(), s.client());

  tcp::socket holder = run(s.ioc, open_raw(s.server.port()));
  auto refused = run(s.ioc, client.send(get("/"), 5s));
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().reason == ErrorReason::Connect);
  CHECK(s.server.connections_accepted() == 2);

  holder.close();
  run(s.ioc, sleep_for(200ms));  // let the server notice the slot is free
  check_status(run(s.ioc, client.send(get("/"), 5s)), 200);
  s.finish();
}

TEST_CASE("plain HTTP mode, handler exception -> 500 without killing the server",
          "[unit][http]") {
  Served s(ServerOptions{}, [](const HttpRequest& req) {
    if (req.path() == "/boom") throw std::runtime_error("handler bug");
    return echo(req);
  });
  BeastTransport client(s.ioc.get_executor(), s.client());

  auto ok = run(s.ioc, client.send(get("/plain?x=1"), 5s));
  check_status(ok, 200);
  CHECK(ok->body.rfind("hello /plain GET", 0) == 0);
  check_status(run(s.ioc, client.send(get("/boom"), 5s)), 500);
  check_status(run(s.ioc, client.send(get("/after"), 5s)), 200);
  CHECK(s.server.connections_accepted() == 1);
  s.finish();
}

TEST_CASE("server construction errors", "[unit][http]") {
  asio::io_context ioc;
  HttpServer first(ioc.get_executor(), ServerOptions{}, echo);
  ServerOptions same;
  same.port = first.port();
  try {
    HttpServer second(ioc.get_executor(), same, echo);
    FAIL("binding a port in use must throw");
  } catch (const std::system_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("127.0.0.1:" + std::to_string(first.port())));
  }

  ServerOptions bad_addr;
  bad_addr.address = "not-an-address";
  CHECK_THROWS_AS(HttpServer(ioc.get_executor(), bad_addr, echo), std::system_error);

  test::TempDir dir;
  ServerOptions missing_cert;
  missing_cert.tls = TlsFiles{dir.file("nope.pem"), dir.file("nope.key")};
  CHECK_THROWS_AS(HttpServer(ioc.get_executor(), missing_cert, echo), std::runtime_error);

  ClientOptions copts;
  copts.host = "127.0.0.1";
  copts.port = "1";
  copts.ca_file = dir.file("missing-ca.pem");
  CHECK_THROWS_AS(BeastTransport(ioc.get_executor(), copts), std::runtime_error);
}

TEST_CASE("server limits: more header fields than max_header_fields -> 431", "[unit][http]") {
  ServerOptions opts;
  opts.max_header_fields = 20;
  int calls = 0;
  Served s(opts, [&](const HttpRequest& req) {
    ++calls;
    return echo(req);
  });
  BeastTransport client(s.ioc.get_executor(), s.client());

  // Short fields: far below the header byte limit, only the count is over.
  HttpRequest many = get("/h");
  for (int i = 0; i < 30; ++i) many.headers.push_back({"X-F" + std::to_string(i), "1"});
  auto h = run(s.ioc, client.send(many, 5s));
  check_status(h, 431);
  CHECK_THAT(h->body, Catch::Contains("more than 20"));
  CHECK(calls == 0);

  HttpRequest few = get("/h");
  for (int i = 0; i < 10; ++i) few.headers.push_back({"X-F" + std::to_string(i), "1"});
  check_status(run(s.ioc, client.send(few, 5s)), 200);
  CHECK(calls == 1);
  s.finish();
}

namespace {

namespace ssl = boost::asio::ssl;

// A raw TLS handshake with the server: the error it ends with (none = success). `max_tls12`
// caps the client at TLS 1.2; `client_cert` presents that certificate and key.
awaitable<error_code> handshake(std::uint16_t port, std::string ca_file, bool max_tls12,
                                std::optional<GeneratedPki> client_cert) {
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(ca_file);
  ctx.set_verify_mode(ssl::verify_peer);
  if (max_tls12) SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  if (client_cert) {
    ctx.use_certificate_chain_file(client_cert->cert_file);
    ctx.use_private_key_file(client_cert->key_file, ssl::context::pem);
  }
  ssl::stream<tcp::socket> stream(co_await asio::this_coro::executor, ctx);
  co_await stream.next_layer().async_connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), asio::use_awaitable);
  error_code ec;
  co_await stream.async_handshake(ssl::stream_base::client,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return ec;
  // TLS 1.3 reports a refused client certificate after the handshake: read to see it.
  std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  co_await asio::async_write(stream, asio::buffer(request),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return ec;
  std::array<char, 64> buf{};
  co_await stream.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
  co_return ec;
}

}  // namespace

TEST_CASE("TLS server: min_version TLS13 refuses a TLS 1.2 client", "[unit][http]") {
  Served s(echo, [](ServerOptions& o) { o.tls->min_version = TlsVersion::Tls13; });
  const std::string ca = s.pki->files.ca_file;
  CHECK_FALSE(run(s.ioc, handshake(s.server.port(), ca, false, std::nullopt)));
  CHECK(run(s.ioc, handshake(s.server.port(), ca, true, std::nullopt)));
  s.finish();
}

TEST_CASE("TLS server: RequireAndVerifyClientCert refuses a client without a certificate",
          "[unit][http]") {
  Pki pki;
  asio::io_context ioc;
  auto opts = tls_options(pki.files);
  opts.tls->client_auth = ClientAuth::RequireAndVerify;
  opts.tls->client_ca_file = pki.files.ca_file;
  HttpServer server(ioc.get_executor(), opts, echo);
  server.start();
  for (bool tls12 : {false, true}) {
    INFO("TLS 1.2 only: " << tls12);
    CHECK(run(ioc, handshake(server.port(), pki.files.ca_file, tls12, std::nullopt)));
  }
  // Without the requirement the same client gets its answer.
  auto open_opts = tls_options(pki.files);
  HttpServer open(ioc.get_executor(), open_opts, echo);
  open.start();
  CHECK_FALSE(run(ioc, handshake(open.port(), pki.files.ca_file, false, std::nullopt)));
  server.stop();
  finish(ioc, open);
}

TEST_CASE("check_tls_files names the file that does not load", "[unit][http]") {
  Pki pki;
  test::TempDir other;
  auto wrong = generate_test_pki(other.path().string(), "other");
  CHECK_NOTHROW(check_tls_files(TlsFiles{pki.files.cert_file, pki.files.key_file}));
  try {
    check_tls_files(TlsFiles{pki.files.cert_file, wrong.key_file});
    FAIL("a key of another certificate must be refused");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Contains(wrong.key_file));
  }
  TlsFiles with_ca{pki.files.cert_file, pki.files.key_file};
  with_ca.client_auth = ClientAuth::RequireAndVerify;
  with_ca.client_ca_file = other.file("missing-ca.pem");
  CHECK_THROWS_WITH(check_tls_files(with_ca), Catch::Contains("missing-ca.pem"));
}

TEST_CASE("parse_url", "[unit][http]") {
  auto u = parse_url("https://pc.example.com:9440");
  REQUIRE(u.has_value());
  CHECK(u->tls);
  CHECK(u->host == "pc.example.com");
  CHECK(u->port == "9440");
  CHECK(u->base_path.empty());

  u = parse_url("https://pc.example.com");
  REQUIRE(u.has_value());
  CHECK(u->port == "443");

  u = parse_url("http://10.0.0.1/");
  REQUIRE(u.has_value());
  CHECK_FALSE(u->tls);
  CHECK(u->host == "10.0.0.1");
  CHECK(u->port == "80");
  CHECK(u->base_path.empty());

  u = parse_url("https://[fd00::1]:9440/prism/api//");
  REQUIRE(u.has_value());
  CHECK(u->host == "fd00::1");
  CHECK(u->port == "9440");
  CHECK(u->base_path == "/prism/api");

  u = parse_url("HTTPS://[::1]");
  REQUIRE(u.has_value());
  CHECK(u->host == "::1");
  CHECK(u->port == "443");

  for (const char* bad : {"ftp://host", "https://", "pc.example.com:9440", "https://host:abc",
                          "https://host:70000", "https://host:0", "https://host:",
                          "https://user:pw@host", "https://[::1", "https://[::1]x",
                          "https://[not-v6]:1", "https://host/x?y=1", "https://ho st"}) {
    INFO(bad);
    CHECK_FALSE(parse_url(bad).has_value());
  }
}

TEST_CASE("parse_proxy_url takes http://HOST[:PORT] only", "[unit][http][proxy]") {
  auto p = parse_proxy_url("http://proxy.corp:3128");
  REQUIRE(p.has_value());
  CHECK(p->host == "proxy.corp");
  CHECK(p->port == "3128");
  CHECK(parse_proxy_url("http://10.1.1.1")->port == "80");
  for (const char* bad : {"https://proxy:3128", "http://user:pw@proxy:3128", "http://proxy:3128/x",
                          "proxy:3128", "socks5://proxy:1080", ""}) {
    INFO(bad);
    CHECK_FALSE(parse_proxy_url(bad).has_value());
  }
}

TEST_CASE("no_proxy_matches hosts, their subdomains, IP literals and a star", "[unit][http][proxy]") {
  CHECK(no_proxy_matches("*", "pc.example.com"));
  CHECK(no_proxy_matches("example.com", "pc.example.com"));
  CHECK(no_proxy_matches(".example.com", "pc.example.com"));
  CHECK(no_proxy_matches("localhost, Example.COM", "example.com"));
  CHECK(no_proxy_matches("pc.example.com:9440", "PC.example.com"));
  CHECK(no_proxy_matches("10.0.0.1,127.0.0.1", "127.0.0.1"));
  CHECK(no_proxy_matches("[fd00::1]:9440", "fd00::1"));
  CHECK(no_proxy_matches("fd00::1", "fd00::1"));
  CHECK_FALSE(no_proxy_matches("example.com", "notexample.com"));
  CHECK_FALSE(no_proxy_matches("10.0.0.1", "110.0.0.1"));
  CHECK_FALSE(no_proxy_matches("", "pc.example.com"));
  CHECK_FALSE(no_proxy_matches(",,. ,", "pc.example.com"));
  CHECK_FALSE(no_proxy_matches("pc.example.com", "example.com"));
}
