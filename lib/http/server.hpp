// HttpServer: one Boost.Beast HTTP/1.1 server on the caller's io_context (plain or TLS),
// dispatching every request to a synchronous handler. Used by flowdriftd (/metrics, health,
// API) and by pcsim. Limits: body size, header size and field count, per-request read time,
// connection cap.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "http/asio.hpp"
#include "http/types.hpp"

namespace flowdrift::http {

// What the server does with a handler's answer. The faults exist for simulators (pcsim):
// flowdriftd never sets them.
struct ServerReply {
  enum class Fault {
    None,
    DropConnection,  // close the socket without answering
    TruncateBody,    // send headers with the full Content-Length, then half the body, close
  };
  HttpResponse response;
  std::chrono::milliseconds delay{0};  // wait this long before answering
  Fault fault = Fault::None;
};

using Handler = std::function<ServerReply(const HttpRequest&)>;

// Which client certificates a TLS server asks for (exporter-toolkit's client_auth_type).
enum class ClientAuth {
  None,              // NoClientCert
  VerifyIfGiven,     // VerifyClientCertIfGiven: a certificate sent must chain to client_ca_file
  RequireAndVerify,  // RequireAndVerifyClientCert: no certificate, no handshake
};

enum class TlsVersion { Tls12, Tls13 };

struct TlsFiles {
  TlsFiles() = default;
  TlsFiles(std::string cert, std::string key)
      : cert_file(std::move(cert)), key_file(std::move(key)) {}

  std::string cert_file;  // PEM leaf certificate (chain allowed)
  std::string key_file;   // PEM private key
  std::string client_ca_file;  // PEM CA bundle for client certificates (ClientAuth != None)
  ClientAuth client_auth = ClientAuth::None;
  TlsVersion min_version = TlsVersion::Tls12;
  TlsVersion max_version = TlsVersion::Tls13;
};

// Builds the TLS context exactly as HttpServer does, then drops it: lets a configuration check
// refuse an unreadable or mismatched certificate, key or CA before anything listens. Throws
// std::runtime_error naming the file and the reason.
void check_tls_files(const TlsFiles& tls);

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = pick a free port; see HttpServer::port()
  std::optional<TlsFiles> tls;
  std::size_t max_body_bytes = 1024u * 1024u;
  std::size_t max_header_bytes = 8u * 1024u;
  std::size_t max_header_fields = 100;  // more fields -> 431 (header bytes alone allow ~2000)
  std::chrono::milliseconds read_timeout{10000};   // whole request, headers and body
  std::chrono::milliseconds idle_timeout{30000};   // keep-alive between requests
  std::size_t max_connections = 128;
};

class HttpServer {
 public:
  // Binds and listens immediately (throws std::system_error on failure, e.g. port in use),
  // so the caller can report readiness only once the port is really bound.
  HttpServer(asio::any_io_executor executor, ServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;  // the bound port
  void start();                // begins accepting (co_spawns the accept loop)
  void stop();                 // closes the acceptor and every open connection
  // Connections accepted since construction, including ones refused over max_connections
  // (lets tests observe keep-alive reuse).
  std::size_t connections_accepted() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace flowdrift::http
