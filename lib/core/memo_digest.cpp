#include "core/memo_digest.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

#include "core/sha256.hpp"

namespace flowdrift {
namespace {

using Key = std::array<unsigned char, 32>;

const Key& process_key() {
  static const Key key = [] {
    Key k{};
    if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1) {
      throw std::runtime_error("memo digest: RAND_bytes failed to draw a key");
    }
    return k;
  }();
  return key;
}

EVP_MAC* poly1305_mac() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "POLY1305", nullptr);
  if (mac == nullptr) throw std::runtime_error("memo digest: OpenSSL has no POLY1305 MAC");
  return mac;
}

struct CtxFree {
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};

// One context a thread, set to the key afresh for each tag (Poly1305 takes no second message
// under one initialisation).
EVP_MAC_CTX* thread_context() {
  thread_local std::unique_ptr<EVP_MAC_CTX, CtxFree> ctx;
  if (!ctx) {
    ctx.reset(EVP_MAC_CTX_new(poly1305_mac()));
    if (!ctx) throw std::runtime_error("memo digest: EVP_MAC_CTX_new failed");
  }
  return ctx.get();
}

}  // namespace

namespace detail {

MemoKey poly1305(const Key& key, std::string_view bytes) {
  EVP_MAC_CTX* ctx = thread_context();
  MemoKey out{};
  std::size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  if (EVP_MAC_init(ctx, key.data(), key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx, data, bytes.size()) != 1 ||
      EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1 || len != out.size()) {
    throw std::runtime_error("memo digest: Poly1305 failed");
  }
  return out;
}

}  // namespace detail

MemoKey memo_key(std::string_view bytes) { return detail::poly1305(process_key(), bytes); }

std::string memo_digest(std::string_view bytes) {
  const MemoKey k = memo_key(bytes);
  return to_hex(k.data(), k.size());
}

}  // namespace flowdrift
