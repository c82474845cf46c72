#include "support/selfsigned.hpp"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace flowdrift::test {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct ExtFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, ExtFree>;

// Every failure names its step and carries OpenSSL's error queue, which is otherwise lost.
[[noreturn]] void fail(const std::string& step) {
  std::string detail;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!detail.empty()) detail += "; ";
    detail += buf;
  }
  throw std::runtime_error("generate_test_pki: " + step + (detail.empty() ? "" : ": " + detail));
}

PkeyPtr make_key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) fail("generating EC P-256 key");
  return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext) fail(std::string("building extension ") + OBJ_nid2sn(nid) + "=" + value);
  if (X509_add_ext(cert, ext.get(), -1) != 1) fail(std::string("adding extension ") + value);
}

void set_name(X509_NAME* name, const std::string& cn) {
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("flowdrift test"), -1, -1,
                                 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1) {
    fail("setting name " + cn);
  }
}

// A certificate skeleton: v3, random serial (so two generated PKIs never collide), valid from
// an hour ago (tolerates small clock skew) for 30 days.
X509Ptr new_cert(EVP_PKEY* subject_key, const std::string& cn) {
  X509Ptr cert(X509_new());
  if (!cert) fail("allocating certificate");
  if (X509_set_version(cert.get(), 2) != 1) fail("setting version");
  BIGNUM* bn = BN_new();
  if (bn == nullptr || BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) == nullptr) {
    BN_free(bn);
    fail("setting serial number");
  }
  BN_free(bn);
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600) == nullptr) {
    fail("setting validity");
  }
  if (X509_set_pubkey(cert.get(), subject_key) != 1) fail("setting public key");
  set_name(X509_get_subject_name(cert.get()), cn);
  return cert;
}

std::string to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail("encoding certificate as PEM");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string key_to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("encoding private key as PEM");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

// Written with open(2) so the key file is created with `mode` from the start (no window in
// which a private key is world-readable) and re-chmodded if it already existed.
void write_file(const std::string& path, const std::string& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    throw std::runtime_error("generate_test_pki: cannot create " + path + ": " +
                             std::strerror(errno));
  }
  bool ok = ::fchmod(fd, mode) == 0;
  std::size_t off = 0;
  while (ok && off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    off += static_cast<std::size_t>(n);
  }
  int saved = errno;
  ::close(fd);
  if (!ok) {
    throw std::runtime_error("generate_test_pki: cannot write " + path + ": " +
                             std::strerror(saved));
  }
}

}  // namespace

GeneratedPki generate_test_pki(const std::string& dir, const std::string& common_name) {
  if (!std::filesystem::is_directory(dir)) {
    throw std::runtime_error("generate_test_pki: directory does not exist: " + dir);
  }
  ERR_clear_error();

  // CA: self-signed, may only sign certificates.
  PkeyPtr ca_key = make_key();
  X509Ptr ca = new_cert(ca_key.get(), common_name + " test CA");
  if (X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get())) != 1) {
    fail("setting CA issuer");
  }
  add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(ca.get(), ca_key.get(), EVP_sha256()) == 0) fail("signing CA certificate");

  // Leaf: the server certificate. IP:127.0.0.1 is required because Asio's
  // host_name_verification checks IP literals against SAN IP entries only.
  PkeyPtr leaf_key = make_key();
  X509Ptr leaf = new_cert(leaf_key.get(), common_name);
  if (X509_set_issuer_name(leaf.get(), X509_get_subject_name(ca.get())) != 1) {
    fail("setting leaf issuer");
  }
  add_ext(leaf.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(leaf.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
  add_ext(leaf.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  add_ext(leaf.get(), ca.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  add_ext(leaf.get(), ca.get(), NID_subject_key_identifier, "hash");
  add_ext(leaf.get(), ca.get(), NID_authority_key_identifier, "keyid");
  if (X509_sign(leaf.get(), ca_key.get(), EVP_sha256()) == 0) fail("signing leaf certificate");

  std::filesystem::path base(dir);
  GeneratedPki pki{(base / "ca.pem").string(), (base / "cert.pem").string(),
                   (base / "key.pem").string()};
  write_file(pki.ca_file, to_pem(ca.get()), 0644);
  write_file(pki.cert_file, to_pem(leaf.get()), 0644);
  write_file(pki.key_file, key_to_pem(leaf_key.get()), 0600);
  return pki;
}

}  // namespace flowdrift::test
