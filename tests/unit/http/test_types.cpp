#include <catch2/catch.hpp>

#include "http/types.hpp"

using namespace flowdrift::http;

TEST_CASE("base64 round-trips and rejects garbage", "[unit][http]") {
  CHECK(base64_encode("admin:secret") == "YWRtaW46c2VjcmV0");
  CHECK(base64_encode("a") == "YQ==");
  CHECK(base64_encode("ab") == "YWI=");
  CHECK(base64_decode("YWI=").value() == "ab");
  CHECK(base64_decode("YQ==").value() == "a");
  CHECK_FALSE(base64_decode("Y=Q=").has_value());
  CHECK_FALSE(base64_decode("abc").has_value());
  CHECK_FALSE(base64_decode("ab!d").has_value());
}

TEST_CASE("basic auth header parses back", "[unit][http]") {
  auto h = basic_auth_header("admin", "pa:ss");
  auto c = parse_basic_auth(h);
  REQUIRE(c.has_value());
  CHECK(c->user == "admin");
  CHECK(c->password == "pa:ss");
  CHECK_FALSE(parse_basic_auth("Bearer xyz").has_value());
  CHECK_FALSE(parse_basic_auth("Basic bm9jb2xvbg==").has_value());  // "nocolon"
}

TEST_CASE("request path, query and headers", "[unit][http]") {
  HttpRequest r{"GET", "/api/x?$page=2&$limit=50&name=a%20b", {{"Content-Type", "json"}}, ""};
  CHECK(r.path() == "/api/x");
  CHECK(r.query_param("$page").value() == "2");
  CHECK(r.query_param("name").value() == "a b");
  CHECK_FALSE(r.query_param("missing").has_value());
  CHECK(r.header("content-type").value() == "json");
  CHECK_FALSE(r.header("accept").has_value());
}
