#include "http/basic_auth.hpp"

#include <crypt.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <deque>
#include <set>
#include <stdexcept>
#include <unordered_set>

#include "core/sha256.hpp"
#include "http/types.hpp"

namespace flowdrift::http {
namespace {

constexpr std::size_t kBcryptLength = 60;  // "$2b$10$" + 22 salt + 31 hash characters

bool is_bcrypt64(char c) {
  return c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9');
}

// Insertion-ordered set of cache keys with a size bound: the oldest key goes first.
class BoundedSet {
 public:
  explicit BoundedSet(std::size_t cap) : cap_(cap) {}
  bool contains(const std::string& key) const { return keys_.count(key) != 0; }
  void insert(const std::string& key) {
    if (cap_ == 0 || !keys_.insert(key).second) return;
    order_.push_back(key);
    while (order_.size() > cap_) {
      keys_.erase(order_.front());
      order_.pop_front();
    }
  }

 private:
  std::size_t cap_;
  std::unordered_set<std::string> keys_;
  std::deque<std::string> order_;
};

// Equal in time independent of where the strings first differ.
bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::optional<std::string> bcrypt_hash_problem(std::string_view hash) {
  if (hash.size() < 7 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') {
    return std::string("not a bcrypt hash (expected $2a$, $2b$ or $2y$ followed by the cost)");
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') {
    return "unsupported bcrypt variant $2" + std::string(1, hash[2]) + "$ (use $2a$, $2b$ or $2y$)";
  }
  if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9') {
    return std::string("bcrypt cost must be two digits");
  }
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return "bcrypt cost " + std::to_string(cost) + " is outside 04..31";
  if (hash.size() != kBcryptLength) {
    return "a bcrypt hash has " + std::to_string(kBcryptLength) + " characters, this one " +
           std::to_string(hash.size());
  }
  if (!std::all_of(hash.begin() + 7, hash.end(), is_bcrypt64)) {
    return std::string("bcrypt salt and hash may only use . / A-Z a-z 0-9");
  }
  return std::nullopt;
}

std::string bcrypt_hash(std::string_view password, int cost) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, salt, sizeof salt) ==
      nullptr) {
    throw std::runtime_error("bcrypt: cannot make a salt with cost " + std::to_string(cost));
  }
  auto data = std::make_unique<crypt_data>();
  const std::string phrase(password);
  const char* out = crypt_rn(phrase.c_str(), salt, data.get(), sizeof(crypt_data));
  if (out == nullptr) throw std::runtime_error("bcrypt: libcrypt refused to hash");
  return out;
}

struct BasicAuth::Impl {
  Impl(std::vector<BasicAuthUser> u, BasicAuthOptions o)
      : users(std::move(u)),
        options(o),
        ok(o.max_cached_ok),
        denied(o.max_cached_denied),
        last_refill(std::chrono::steady_clock::now()) {}

  std::vector<BasicAuthUser> users;
  BasicAuthOptions options;
  BoundedSet ok;
  BoundedSet denied;
  std::unique_ptr<crypt_data> scratch = std::make_unique<crypt_data>();  // ~32 KiB, reused
  std::uint64_t computations = 0;
  double spent_ms = 0;  // bcrypt time not yet paid back by the budget
  std::chrono::steady_clock::time_point last_refill;
  std::string last_user;

  // Pays the budget back for the time since the last call; true if a bcrypt may run now.
  bool budget_allows() {
    const auto now = std::chrono::steady_clock::now();
    const double elapsed_ms = std::chrono::duration<double, std::milli>(now - last_refill).count();
    last_refill = now;
    spent_ms = std::max(0.0, spent_ms - elapsed_ms * options.verify_share);
    return spent_ms <= static_cast<double>(options.verify_burst.count());
  }

  bool verify(const std::string& password, const std::string& hash) {
    const auto start = std::chrono::steady_clock::now();
    ++computations;
    const char* out = crypt_rn(password.c_str(), hash.c_str(), scratch.get(), sizeof(crypt_data));
    spent_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
    return out != nullptr && same_secret(out, hash);
  }
};

BasicAuth::BasicAuth(std::vector<BasicAuthUser> users, BasicAuthOptions options) {
  std::set<std::string> names;
  for (const auto& u : users) {
    if (auto why = bcrypt_hash_problem(u.hash)) {
      throw std::invalid_argument("basic auth user " + u.name + ": " + *why);
    }
    if (u.name.empty() || u.name.find(':') != std::string::npos || !names.insert(u.name).second) {
      throw std::invalid_argument("basic auth user name '" + u.name +
                                  "' is empty, contains ':' or is repeated");
    }
  }
  impl_ = std::make_unique<Impl>(std::move(users), options);
}

BasicAuth::~BasicAuth() = default;

bool BasicAuth::enabled() const { return !impl_->users.empty(); }

const std::string& BasicAuth::last_user() const { return impl_->last_user; }

std::uint64_t BasicAuth::hash_computations() const { return impl_->computations; }

BasicAuth::Outcome BasicAuth::check(std::optional<std::string_view> authorization) {
  auto& im = *impl_;
  im.last_user.clear();
  if (im.users.empty()) return Outcome::Ok;
  if (!authorization) return Outcome::Denied;
  auto creds = parse_basic_auth(*authorization);
  if (!creds) return Outcome::Denied;
  im.last_user = creds->user;
  // crypt() reads a C string: a password with a NUL in it would be checked cut short.
  if (creds->password.find('\0') != std::string::npos) return Outcome::Denied;

  // Every user is compared, so the time taken does not depend on which one matched.
  const BasicAuthUser* user = nullptr;
  for (const auto& u : im.users) {
    if (same_secret(u.name, creds->user)) user = &u;
  }
  // An unknown user is checked against a real hash of the same kind, result discarded.
  const std::string& hash = user != nullptr ? user->hash : im.users.front().hash;
  std::string key = creds->user;
  key += '\0';
  key += creds->password;
  key += '\0';
  key += hash;
  key = sha256_hex(key);
  if (im.ok.contains(key)) return user != nullptr ? Outcome::Ok : Outcome::Denied;
  if (im.denied.contains(key)) return Outcome::Denied;
  if (!im.budget_allows()) return Outcome::Throttled;
  const bool match = im.verify(creds->password, hash) && user != nullptr;
  if (match) {
    im.ok.insert(key);
  } else {
    im.denied.insert(key);
  }
  return match ? Outcome::Ok : Outcome::Denied;
}

}  // namespace flowdrift::http
