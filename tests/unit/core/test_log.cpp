#include <catch2/catch.hpp>

#include "core/log.hpp"
#include "core/result.hpp"
#include "core/sha256.hpp"

using namespace flowdrift;

TEST_CASE("format_event renders key=value pairs and quotes awkward values", "[unit][log]") {
  CHECK(log::format_event("poll.ok", {{"site", "dr"}, {"policies", 12}}) ==
        "poll.ok site=dr policies=12");
  CHECK(log::format_event("poll.failed", {{"message", "connection refused"}}) ==
        "poll.failed message=\"connection refused\"");
  CHECK(log::format_event("x", {{"v", "a\"b"}}) == "x v=\"a\\\"b\"");
  CHECK(log::format_event("x", {{"v", ""}}) == "x v=\"\"");
}

TEST_CASE("sha256_hex matches known vectors", "[unit][sha256]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("Result carries a value or an error", "[unit][result]") {
  Result<int> ok = 5;
  REQUIRE(ok.has_value());
  CHECK(*ok == 5);
  Result<int> bad = make_error(ErrorReason::Timeout, "slow");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().reason == ErrorReason::Timeout);
  CHECK(to_string(bad.error().reason) == "timeout");
  Result<void> v;
  CHECK(v.has_value());
}
