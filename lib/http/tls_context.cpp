#include "http/tls_context.hpp"

#include <stdexcept>

#include <openssl/ssl.h>

namespace flowdrift::http {
namespace {

namespace ssl = boost::asio::ssl;

int openssl_version(TlsVersion v) {
  return v == TlsVersion::Tls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

}  // namespace

std::unique_ptr<ssl::context> make_tls_context(const TlsFiles& tls, const std::string& where) {
  const std::string who = where.empty() ? std::string() : where + ": ";
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, openssl_version(tls.min_version)) != 1 ||
      SSL_CTX_set_max_proto_version(native, openssl_version(tls.max_version)) != 1) {
    throw std::runtime_error(who + "cannot set the TLS protocol versions");
  }
  try {
    ctx->use_certificate_chain_file(tls.cert_file);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(who + "cannot load certificate " + tls.cert_file + ": " +
                             e.code().message());
  }
  try {
    ctx->use_private_key_file(tls.key_file, ssl::context::pem);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(who + "cannot load private key " + tls.key_file + ": " +
                             e.code().message());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    throw std::runtime_error(who + "private key " + tls.key_file +
                             " does not match certificate " + tls.cert_file);
  }
  if (tls.client_auth != ClientAuth::None) {
    try {
      ctx->load_verify_file(tls.client_ca_file);
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error(who + "cannot load client CA " + tls.client_ca_file + ": " +
                               e.code().message());
    }
    // The CA names sent in the CertificateRequest, so clients pick the right certificate.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(native, names);
    }
    auto mode = ssl::verify_peer;
    if (tls.client_auth == ClientAuth::RequireAndVerify) mode |= ssl::verify_fail_if_no_peer_cert;
    ctx->set_verify_mode(mode);
  }
  return ctx;
}

void check_tls_files(const TlsFiles& tls) { (void)make_tls_context(tls, ""); }

}  // namespace flowdrift::http
