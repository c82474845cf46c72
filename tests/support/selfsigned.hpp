// Self-signed test PKI: a CA and a leaf certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1
// and DNS:localhost, as Asio's host_name_verification checks IP hosts against SAN IPs), written
// as PEM files so that clients verify for real. Used by pcsim and by tests; its own target
// (flowdrift_test_tls, libcrypto) so that tests without TLS do not link it.
#pragma once

#include <string>

namespace flowdrift::test {

struct GeneratedPki {
  std::string ca_file;    // <dir>/ca.pem   : the CA certificate clients trust
  std::string cert_file;  // <dir>/cert.pem : leaf certificate signed by the CA
  std::string key_file;   // <dir>/key.pem  : leaf private key (mode 0600)
};

// Generates a fresh CA and leaf (EC P-256, valid from now-1h for 30 days) into `dir`, which
// must exist. Throws std::runtime_error naming the step that failed.
GeneratedPki generate_test_pki(const std::string& dir, const std::string& common_name = "pcsim");

}  // namespace flowdrift::test
