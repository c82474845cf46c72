// BasicAuth against real bcrypt (libcrypt) hashes made here with a random salt at the cheapest
// cost: verified once and cached, refusals cached, unknown users hashed too, a bcrypt budget.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "http/basic_auth.hpp"
#include "http/types.hpp"

using namespace flowdrift;
using namespace flowdrift::http;
using Outcome = BasicAuth::Outcome;

namespace {

std::string header(const std::string& user, const std::string& password) {
  return basic_auth_header(user, password);
}

}  // namespace

TEST_CASE("bcrypt_hash makes $2b$ hashes that libcrypt verifies", "[unit][http][auth]") {
  const auto h1 = bcrypt_hash("s3cret", 4);
  const auto h2 = bcrypt_hash("s3cret", 4);
  CHECK(h1.rfind("$2b$04$", 0) == 0);
  CHECK(h1.size() == 60);
  CHECK(h1 != h2);  // random salt
  CHECK_FALSE(bcrypt_hash_problem(h1).has_value());
  CHECK_THROWS_AS(bcrypt_hash("x", 3), std::runtime_error);
}

TEST_CASE("bcrypt_hash_problem accepts $2a$/$2b$/$2y$ and explains the rest",
          "[unit][http][auth]") {
  const std::string body = "LQv3c1yqBWVHxkd0LHAkCOYz6TtxMQJqhN8/LewKyNiGkyKHKZQ5W";  // 53 chars
  REQUIRE(body.size() == 53);
  CHECK_FALSE(bcrypt_hash_problem("$2a$10$" + body).has_value());
  CHECK_FALSE(bcrypt_hash_problem("$2y$12$" + body).has_value());
  CHECK_THAT(*bcrypt_hash_problem("plaintext"), Catch::Contains("not a bcrypt hash"));
  CHECK_THAT(*bcrypt_hash_problem("$6$saltsalt$" + body), Catch::Contains("not a bcrypt hash"));
  CHECK_THAT(*bcrypt_hash_problem("$2x$10$" + body), Catch::Contains("$2x$"));
  CHECK_THAT(*bcrypt_hash_problem("$2b$03$" + body), Catch::Contains("outside 04..31"));
  CHECK_THAT(*bcrypt_hash_problem("$2b$1a$" + body), Catch::Contains("two digits"));
  CHECK_THAT(*bcrypt_hash_problem("$2b$10$" + body + "x"), Catch::Contains("60 characters"));
  CHECK_THAT(*bcrypt_hash_problem("$2b$10$" + body.substr(1) + "!"),
             Catch::Contains("may only use"));
}

TEST_CASE("basic auth verifies once, then answers from the cache", "[unit][http][auth]") {
  BasicAuth auth({{"prometheus", bcrypt_hash("scrape-pw", 4)}, {"ops", bcrypt_hash("ops-pw", 4)}});
  REQUIRE(auth.enabled());

  CHECK(auth.check(header("prometheus", "scrape-pw")) == Outcome::Ok);
  CHECK(auth.hash_computations() == 1);
  for (int i = 0; i < 5; ++i) CHECK(auth.check(header("prometheus", "scrape-pw")) == Outcome::Ok);
  CHECK(auth.hash_computations() == 1);
  CHECK(auth.last_user() == "prometheus");

  // Another user's own password is a separate entry; a user's password does not open another.
  CHECK(auth.check(header("ops", "ops-pw")) == Outcome::Ok);
  CHECK(auth.check(header("ops", "scrape-pw")) == Outcome::Denied);
  CHECK(auth.hash_computations() == 3);
}

TEST_CASE("basic auth refusals: cached, unknown users cost a hash, malformed costs nothing",
          "[unit][http][auth]") {
  BasicAuth auth({{"prometheus", bcrypt_hash("scrape-pw", 4)}});

  CHECK(auth.check(std::nullopt) == Outcome::Denied);
  CHECK(auth.check(std::string_view("Bearer abc")) == Outcome::Denied);
  CHECK(auth.check(std::string_view("Basic !!!notbase64")) == Outcome::Denied);
  CHECK(auth.check(std::string_view("Basic " + base64_encode("no-colon"))) == Outcome::Denied);
  CHECK(auth.check(header("prometheus", std::string("scrape-pw\0x", 11))) == Outcome::Denied);
  CHECK(auth.hash_computations() == 0);

  CHECK(auth.check(header("prometheus", "wrong")) == Outcome::Denied);
  CHECK(auth.hash_computations() == 1);
  CHECK(auth.check(header("prometheus", "wrong")) == Outcome::Denied);  // cached refusal
  CHECK(auth.hash_computations() == 1);

  // An unknown user is hashed like a known one (no timing oracle for names), even with the
  // right password of another user.
  CHECK(auth.check(header("mallory", "scrape-pw")) == Outcome::Denied);
  CHECK(auth.hash_computations() == 2);
  CHECK(auth.check(header("mallory", "scrape-pw")) == Outcome::Denied);
  CHECK(auth.hash_computations() == 2);

  // The right password still works after refusals.
  CHECK(auth.check(header("prometheus", "scrape-pw")) == Outcome::Ok);
}

TEST_CASE("basic auth caches are bounded", "[unit][http][auth]") {
  BasicAuthOptions o;
  o.max_cached_denied = 2;
  BasicAuth auth({{"u", bcrypt_hash("pw", 4)}}, o);
  CHECK(auth.check(header("u", "a")) == Outcome::Denied);
  CHECK(auth.check(header("u", "b")) == Outcome::Denied);
  CHECK(auth.check(header("u", "c")) == Outcome::Denied);  // evicts "a"
  CHECK(auth.hash_computations() == 3);
  CHECK(auth.check(header("u", "c")) == Outcome::Denied);
  CHECK(auth.hash_computations() == 3);
  CHECK(auth.check(header("u", "a")) == Outcome::Denied);
  CHECK(auth.hash_computations() == 4);
}

TEST_CASE("the bcrypt budget throttles new credentials, never cached ones",
          "[unit][http][auth]") {
  BasicAuthOptions o;
  o.verify_share = 0.0;                  // the budget never recovers
  o.verify_burst = std::chrono::milliseconds(0);  // and is spent by the first hash
  BasicAuth auth({{"prometheus", bcrypt_hash("scrape-pw", 4)}}, o);
  CHECK(auth.check(header("prometheus", "scrape-pw")) == Outcome::Ok);
  CHECK(auth.hash_computations() == 1);
  // A flood of new guesses is refused without hashing...
  for (int i = 0; i < 20; ++i) {
    CHECK(auth.check(header("prometheus", "guess" + std::to_string(i))) == Outcome::Throttled);
  }
  CHECK(auth.hash_computations() == 1);
  // ...while the verified scraper goes on.
  CHECK(auth.check(header("prometheus", "scrape-pw")) == Outcome::Ok);
}

TEST_CASE("basic auth without users allows everything, and bad users are refused",
          "[unit][http][auth]") {
  BasicAuth open(std::vector<BasicAuthUser>{});
  CHECK_FALSE(open.enabled());
  CHECK(open.check(std::nullopt) == Outcome::Ok);
  using Users = std::vector<BasicAuthUser>;
  CHECK_THROWS_AS(BasicAuth(Users{{"u", "plain"}}), std::invalid_argument);
  const auto h = bcrypt_hash("pw", 4);
  CHECK_THROWS_AS(BasicAuth(Users{{"a:b", h}}), std::invalid_argument);
  CHECK_THROWS_AS(BasicAuth(Users{{"u", h}, {"u", h}}), std::invalid_argument);
}
