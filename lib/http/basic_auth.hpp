// BasicAuth: HTTP basic authentication against bcrypt hashes (exporter-toolkit's
// basic_auth_users), for a server whose handlers run on one event-loop thread.
//
// bcrypt is slow on purpose (cost 10 is ~70 ms, cost 12 ~250 ms) and runs on the event loop, so:
//  - a verified (user, password) is cached: a scraper sending the same credentials every 15 s
//    pays once; a refused one is cached too, so repeating a wrong password costs nothing;
//  - cache keys are SHA-256 of user, password and stored hash (never the password itself), and
//    both caches are bounded (oldest entry evicted first);
//  - an unknown user costs one bcrypt like a known one (against another user's hash, result
//    discarded), so timing does not tell which user names exist;
//  - uncached checks share a time budget: once bcrypt has used more than `verify_share` of the
//    wall clock beyond a `verify_burst`, further uncached checks are refused as Throttled without
//    hashing until the budget recovers. A flood of distinct wrong passwords cannot stall the
//    loop, and clients whose credentials are already cached are unaffected.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flowdrift::http {

struct BasicAuthUser {
  std::string name;
  std::string hash;  // bcrypt: $2a$, $2b$ or $2y$, cost 04..31
};

// Whether `hash` is a well-formed bcrypt hash ("$2b$10$" + 53 characters of bcrypt base64);
// the reason when it is not.
std::optional<std::string> bcrypt_hash_problem(std::string_view hash);

// A fresh $2b$ hash of `password` with a random salt (libcrypt). For tests and tooling; throws
// std::runtime_error if libcrypt refuses (e.g. cost out of range).
std::string bcrypt_hash(std::string_view password, int cost);

struct BasicAuthOptions {
  std::size_t max_cached_ok = 64;        // verified credentials kept
  std::size_t max_cached_denied = 1024;  // refused credentials kept
  double verify_share = 0.25;            // long-run share of one thread bcrypt may use
  std::chrono::milliseconds verify_burst{1000};  // bcrypt time allowed above that share
};

class BasicAuth {
 public:
  enum class Outcome {
    Ok,
    Denied,     // missing, malformed, unknown user or wrong password
    Throttled,  // not checked: the bcrypt budget is spent (answer 429, try again later)
  };

  // `users` must be valid (bcrypt_hash_problem() empty, names unique); throws
  // std::invalid_argument otherwise. An empty list means authentication is off.
  explicit BasicAuth(std::vector<BasicAuthUser> users, BasicAuthOptions options = {});
  ~BasicAuth();
  BasicAuth(const BasicAuth&) = delete;
  BasicAuth& operator=(const BasicAuth&) = delete;

  bool enabled() const;
  // `authorization`: the request's Authorization header value, if any.
  Outcome check(std::optional<std::string_view> authorization);
  // The user name of the last check (empty if none could be decoded): for logs, and for the
  // audit trail of a request whose check just returned Ok on the same thread.
  const std::string& last_user() const;

  // bcrypt computations so far (cache misses that were not throttled): lets tests and logs
  // see that a repeated credential is hashed once.
  std::uint64_t hash_computations() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowdrift::http
