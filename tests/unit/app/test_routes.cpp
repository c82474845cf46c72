#include <catch2/catch.hpp>

#include "app/routes.hpp"

using namespace flowdrift;

namespace {
app::RouteContext ctx(bool ready) {
  app::RouteContext c;
  c.version = "0.1.0";
  c.render_metrics = [] { return std::string("flowdrift_sites 2\n"); };
  c.ready = [ready] { return ready; };
  c.ready_detail = [] { return std::string("waiting for the first poll of dr"); };
  return c;
}
http::HttpRequest get(std::string target, std::string method = "GET") {
  return {std::move(method), std::move(target), {}, ""};
}
}  // namespace

TEST_CASE("metrics, health and readiness routes", "[unit][routes]") {
  auto m = app::route(get("/metrics"), ctx(true));
  CHECK(m.response.status == 200);
  CHECK(m.response.header("Content-Type").value() == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(m.response.body == "flowdrift_sites 2\n");
  CHECK(app::route(get("/-/healthy"), ctx(false)).response.status == 200);
  CHECK(app::route(get("/-/ready"), ctx(true)).response.status == 200);
  auto nr = app::route(get("/-/ready"), ctx(false));
  CHECK(nr.response.status == 503);
  CHECK_THAT(nr.response.body, Catch::Contains("dr"));
  auto landing = app::route(get("/"), ctx(true));
  CHECK(landing.response.status == 200);
  CHECK_THAT(landing.response.body, Catch::Contains("href=\"/metrics\""));
}

TEST_CASE("unknown paths 404 and other methods 405", "[unit][routes]") {
  CHECK(app::route(get("/nope"), ctx(true)).response.status == 404);
  auto post = app::route(get("/metrics", "POST"), ctx(true));
  CHECK(post.response.status == 405);
  CHECK(post.response.header("Allow").value() == "GET, HEAD");
  auto head = app::route(get("/metrics", "HEAD"), ctx(true));
  CHECK(head.response.status == 200);
  CHECK(head.response.body.empty());
}
