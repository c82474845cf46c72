// The web config file (exporter-toolkit format): what flowdrift accepts, and every refusal
// with file:line:col. TLS files come from a freshly generated PKI; hashes from libcrypt.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "http/basic_auth.hpp"
#include "http/web_config.hpp"
#include "support/selfsigned.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using namespace flowdrift::http;
using flowdrift::test::GeneratedPki;
using flowdrift::test::generate_test_pki;

namespace {

struct Dir {
  test::TempDir dir;
  GeneratedPki pki = generate_test_pki(dir.path().string(), "web");
  std::string base = dir.path().string();

  // Writes `text` as web.yml in the PKI's directory and loads it.
  WebConfig load(const std::string& text) {
    test::write_file(dir.file("web.yml"), text);
    return load_web_config(dir.file("web.yml"));
  }
  // The problems loading `text` reports (empty if it loads).
  std::vector<std::string> problems(const std::string& text) {
    try {
      load(text);
    } catch (const WebConfigError& e) {
      return e.problems();
    }
    return {};
  }
};

}  // namespace

TEST_CASE("web config: TLS, client certificates, versions, headers and users",
          "[unit][http][webconfig]") {
  Dir d;
  const auto hash = bcrypt_hash("pw", 4);
  auto c = d.load(
      "# relative paths resolve against this file's directory\n"
      "tls_server_config:\n"
      "  cert_file: cert.pem\n"
      "  key_file: " + d.pki.key_file + "\n"
      "  client_auth_type: RequireAndVerifyClientCert\n"
      "  client_ca_file: ca.pem\n"
      "  min_version: TLS13\n"
      "http_server_config:\n"
      "  http2: false\n"
      "  headers:\n"
      "    X-Frame-Options: deny\n"
      "    strict-transport-security: max-age=31536000\n"
      "    X-XSS-Protection: \"\"\n"
      "basic_auth_users:\n"
      "  prometheus: " + hash + "\n"
      "  alice: '$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze'\n");
  REQUIRE(c.tls.has_value());
  CHECK(std::filesystem::equivalent(c.tls->cert_file, d.pki.cert_file));
  CHECK(c.tls->key_file == d.pki.key_file);
  CHECK(std::filesystem::equivalent(c.tls->client_ca_file, d.pki.ca_file));
  CHECK(c.tls->client_auth == ClientAuth::RequireAndVerify);
  CHECK(c.tls->min_version == TlsVersion::Tls13);
  CHECK(c.tls->max_version == TlsVersion::Tls13);
  REQUIRE(c.users.size() == 2);
  CHECK(c.users[0].name == "prometheus");
  CHECK(c.users[0].hash == hash);
  CHECK(c.users[1].name == "alice");
  REQUIRE(c.headers.size() == 2);  // the blank one is unset
  CHECK(c.headers[0].name == "X-Frame-Options");
  CHECK(c.headers[0].value == "deny");
  CHECK(c.headers[1].name == "Strict-Transport-Security");
  CHECK(c.path == d.dir.file("web.yml"));
}

TEST_CASE("web config: an empty file or only users is valid", "[unit][http][webconfig]") {
  Dir d;
  auto empty = d.load("# nothing\n");
  CHECK_FALSE(empty.tls.has_value());
  CHECK(empty.users.empty());
  auto users = d.load("basic_auth_users:\n  u: " + bcrypt_hash("pw", 4) + "\n");
  CHECK_FALSE(users.tls.has_value());
  CHECK(users.users.size() == 1);
}

TEST_CASE("web config: unknown keys and unsupported values are refused with file:line:col",
          "[unit][http][webconfig]") {
  Dir d;
  const std::string f = d.dir.file("web.yml");
  const auto tls = "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n";

  auto p = d.problems(std::string(tls) + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n");
  REQUIRE(p.size() == 1);
  CHECK_THAT(p[0], Catch::StartsWith(f + ":4:18: tls_server_config.cipher_suites: not supported"));

  p = d.problems(std::string(tls) + "  min_versoin: TLS12\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == f + ":4:3: tls_server_config.min_versoin: unknown key");

  p = d.problems(std::string(tls) + "  min_version: TLS11\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0] ==
        f + ":4:16: tls_server_config.min_version: TLS11 is not supported (TLS12 or TLS13)");

  p = d.problems(std::string(tls) + "  client_auth_type: RequireAnyClientCert\n");
  REQUIRE(p.size() == 1);
  CHECK_THAT(p[0], Catch::StartsWith(f + ":4:21: tls_server_config.client_auth_type: "
                                         "RequireAnyClientCert accepts certificates it does not"));

  p = d.problems(std::string(tls) + "  client_auth_type: RequireAndVerifyClientCert\n");
  REQUIRE(p.size() == 1);
  CHECK_THAT(p[0], Catch::Contains("needs client_ca_file"));

  p = d.problems(std::string(tls) + "  client_ca_file: ca.pem\n");
  REQUIRE(p.size() == 1);
  CHECK_THAT(p[0], Catch::Contains(":4:19: tls_server_config.client_ca_file: client_ca_file is "
                                   "set but client_auth_type is NoClientCert"));

  p = d.problems(std::string(tls) + "  cert: |\n    -----BEGIN CERTIFICATE-----\n");
  REQUIRE(p.size() == 1);
  CHECK_THAT(p[0], Catch::Contains("inline PEM is not supported by flowdrift (use cert_file)"));

  p = d.problems("tls_server_config:\n  cert_file: cert.pem\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == f + ":2:3: tls_server_config: key_file is required");

  p = d.problems("tls_server_config:\n  cert_file: missing.pem\n  key_file: key.pem\n");
  REQUIRE(p.size() == 1);
  CHECK_THAT(p[0], Catch::StartsWith(f + ":2:14: tls_server_config.cert_file: cannot read " +
                                     d.dir.file("missing.pem")));

  p = d.problems("http_server_config:\n  http2: true\n");
  REQUIRE(p.size() == 1);
  CHECK_THAT(p[0], Catch::StartsWith(f + ":2:10: http_server_config.http2: flowdrift serves "
                                         "HTTP/1.1 only"));

  p = d.problems("http_server_config:\n  headers:\n    X-Frame-Options: allow\n"
                 "    Server: flowdrift\n");
  REQUIRE(p.size() == 2);
  CHECK_THAT(p[0], Catch::StartsWith(f + ":3:22: http_server_config.headers.X-Frame-Options: "
                                         "value 'allow' not allowed (deny or sameorigin)"));
  CHECK_THAT(p[1], Catch::StartsWith(f + ":4:5: http_server_config.headers.Server: header not "
                                         "allowed"));

  p = d.problems("rate_limit:\n  interval: 1s\n  burst: 20\nbasic_auth: {}\n");
  REQUIRE(p.size() == 2);
  CHECK_THAT(p[0], Catch::StartsWith(f + ":2:3: rate_limit: not supported by flowdrift"));
  CHECK_THAT(p[1], Catch::StartsWith(f + ":4:1: basic_auth: unknown key"));

  p = d.problems("tls_server_config: yes\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == f + ":1:20: tls_server_config: must be a mapping, not a scalar");

  p = d.problems("tls_server_config:\n  cert_file: [a\n");
  REQUIRE(p.size() == 1);
  CHECK_THAT(p[0], Catch::StartsWith(f + ":") && Catch::Contains("YAML syntax error"));
}

TEST_CASE("web config: users need bcrypt hashes and unique names", "[unit][http][webconfig]") {
  Dir d;
  const std::string f = d.dir.file("web.yml");
  const auto good = bcrypt_hash("pw", 4);
  auto p = d.problems("basic_auth_users:\n  alice: hunter2\n  bob: $6$salt$abcdef\n"
                      "  carol: " + good + "\n  carol: " + good + "\n  \"a:b\": " + good + "\n");
  REQUIRE(p.size() == 4);
  CHECK(p[0] == f + ":2:10: basic_auth_users.alice: not a bcrypt hash (expected $2a$, $2b$ or "
                    "$2y$ followed by the cost)");
  CHECK_THAT(p[1], Catch::StartsWith(f + ":3:8: basic_auth_users.bob: not a bcrypt hash"));
  CHECK(p[2] == f + ":5:3: basic_auth_users.carol: repeated key");
  CHECK_THAT(p[3], Catch::StartsWith(f + ":6:3: basic_auth_users.a:b: user names must be"));
}

TEST_CASE("web config: TLS material is loaded as the server loads it", "[unit][http][webconfig]") {
  Dir d;
  test::TempDir other_dir;
  auto other = generate_test_pki(other_dir.path().string(), "other");
  const std::string f = d.dir.file("web.yml");

  // A key that does not belong to the certificate.
  auto p = d.problems("tls_server_config:\n  cert_file: cert.pem\n  key_file: " + other.key_file +
                      "\n");
  REQUIRE(p.size() == 1);
  CHECK_THAT(p[0], Catch::StartsWith(f + ":2:3: tls_server_config: "));
  CHECK_THAT(p[0], Catch::Contains("key") && Catch::Contains(other.key_file));

  // A file that is not PEM at all.
  test::write_file(d.dir.file("junk.pem"), "not a certificate\n");
  p = d.problems("tls_server_config:\n  cert_file: junk.pem\n  key_file: key.pem\n");
  REQUIRE(p.size() == 1);
  CHECK_THAT(p[0], Catch::Contains("cannot load certificate " + d.dir.file("junk.pem")));

  // An unreadable web config file names itself.
  try {
    load_web_config(d.dir.file("absent.yml"));
    FAIL("loading a missing file must throw");
  } catch (const WebConfigError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith(d.dir.file("absent.yml") + ": cannot read"));
  }
}
