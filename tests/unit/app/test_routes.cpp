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

namespace {
http::HttpRequest with_auth(std::string target, const std::string& user, const std::string& pw) {
  auto r = get(std::move(target));
  r.headers.push_back({"Authorization", http::basic_auth_header(user, pw)});
  return r;
}
}  // namespace

TEST_CASE("with basic auth every path answers 401 and nothing else until credentials check out",
          "[unit][routes]") {
  auto c = ctx(true);
  c.auth = std::make_shared<http::BasicAuth>(
      std::vector<http::BasicAuthUser>{{"prometheus", http::bcrypt_hash("scrape-pw", 4)}});
  bool api_called = false;
  c.api = [&](const http::HttpRequest&) {
    api_called = true;
    return http::ServerReply{};
  };
  for (const char* path : {"/metrics", "/-/healthy", "/-/ready", "/", "/api/v1/pairs", "/nope"}) {
    INFO(path);
    for (const auto& req : {get(path), with_auth(path, "prometheus", "wrong"),
                            with_auth(path, "nobody", "scrape-pw"), get(path, "POST")}) {
      auto r = app::route(req, c);
      CHECK(r.response.status == 401);
      CHECK(r.response.header("WWW-Authenticate").value_or("") == "Basic realm=\"flowdrift\"");
      CHECK(r.response.body == "Unauthorized\n");
    }
  }
  CHECK_FALSE(api_called);

  auto m = app::route(with_auth("/metrics", "prometheus", "scrape-pw"), c);
  CHECK(m.response.status == 200);
  CHECK(m.response.body == "flowdrift_sites 2\n");
  CHECK(app::route(with_auth("/nope", "prometheus", "scrape-pw"), c).response.status == 404);
  CHECK(app::route(with_auth("/api/v1/pairs", "prometheus", "scrape-pw"), c).response.status ==
        200);
  CHECK(api_called);
  // The scraper's repeated credentials were hashed once; each distinct wrong pair once.
  CHECK(c.auth->hash_computations() == 3);
}

TEST_CASE("a spent bcrypt budget answers 429 with Retry-After", "[unit][routes]") {
  auto c = ctx(true);
  http::BasicAuthOptions o;
  o.verify_share = 0;
  o.verify_burst = std::chrono::milliseconds(0);
  c.auth = std::make_shared<http::BasicAuth>(
      std::vector<http::BasicAuthUser>{{"prometheus", http::bcrypt_hash("scrape-pw", 4)}}, o);
  CHECK(app::route(with_auth("/metrics", "prometheus", "guess-1"), c).response.status == 401);
  auto t = app::route(with_auth("/metrics", "prometheus", "guess-2"), c);
  CHECK(t.response.status == 429);
  CHECK(t.response.header("Retry-After").value_or("") == "1");
  CHECK(t.response.body.find("flowdrift_sites") == std::string::npos);
}

TEST_CASE("web config headers are added to every response, and /api/ goes to the API",
          "[unit][routes]") {
  auto c = ctx(true);
  c.response_headers = {{"X-Frame-Options", "deny"}};
  std::string seen;
  c.api = [&](const http::HttpRequest& r) {
    seen = r.target;
    http::ServerReply reply;
    reply.response.headers.push_back({"Content-Type", "application/json"});
    reply.response.body = "{}";
    return reply;
  };
  CHECK(app::route(get("/metrics"), c).response.header("X-Frame-Options").value_or("") == "deny");
  CHECK(app::route(get("/nope"), c).response.header("X-Frame-Options").value_or("") == "deny");
  auto a = app::route(get("/api/v1/drift?pair=prod"), c);
  CHECK(seen == "/api/v1/drift?pair=prod");
  CHECK(a.response.header("X-Frame-Options").value_or("") == "deny");
  auto post = app::route(get("/api/v1/pairs", "POST"), c);
  CHECK(post.response.status == 405);
  CHECK(seen == "/api/v1/drift?pair=prod");  // a POST never reaches it
  // Without an API, /api/ is an unknown path.
  CHECK(app::route(get("/api/v1/pairs"), ctx(true)).response.status == 404);
}

TEST_CASE("POST /-/reload answers with the reload's outcome, other methods 405", "[unit][routes][reload]") {
  auto c = ctx(true);
  int calls = 0;
  app::ReloadResult next{true, 200, "sites changed: dr (interval)"};
  c.reload = [&] {
    ++calls;
    return next;
  };
  auto ok = app::route(get("/-/reload", "POST"), c);
  CHECK(ok.response.status == 200);
  CHECK(ok.response.body == "configuration reloaded: sites changed: dr (interval)\n");
  CHECK(calls == 1);

  next = {false, 400, "flowdrift.yaml:7:13: sites[0].jitter: must be a number"};
  auto bad = app::route(get("/-/reload", "PUT"), c);
  CHECK(bad.response.status == 400);
  CHECK_THAT(bad.response.body, Catch::Contains("previous configuration keeps running"));
  CHECK_THAT(bad.response.body, Catch::Contains("flowdrift.yaml:7:13"));
  CHECK(calls == 2);

  // A GET (a crawler, a prefetch) never reloads.
  for (const char* method : {"GET", "HEAD", "DELETE"}) {
    auto r = app::route(get("/-/reload", method), c);
    CHECK(r.response.status == 405);
    CHECK(r.response.header("Allow").value() == "POST, PUT");
  }
  CHECK(calls == 2);
  // Without a reload handler (no --web.enable-lifecycle) it is refused, saying how to enable it.
  auto off = app::route(get("/-/reload", "POST"), ctx(true));
  CHECK(off.response.status == 403);
  CHECK_THAT(off.response.body, Catch::Contains("--web.enable-lifecycle"));
}

TEST_CASE("POST /-/reload from another origin's page is refused, and a 429 says when to retry",
          "[unit][routes][reload][hostile]") {
  auto c = ctx(true);
  int calls = 0;
  app::ReloadResult next{true, 200, "no changes"};
  c.reload = [&] {
    ++calls;
    return next;
  };
  auto from = [](std::vector<http::Header> headers) {
    auto r = get("/-/reload", "POST");
    r.headers = std::move(headers);
    return r;
  };
  // A cross-origin form post (text/plain, no preflight) from a page the operator visits.
  auto cross = app::route(from({{"Host", "127.0.0.1:9464"}, {"Origin", "http://evil.example"},
                                {"Content-Type", "text/plain"}}),
                          c);
  CHECK(cross.response.status == 403);
  CHECK_THAT(cross.response.body, Catch::Contains("cross-origin"));
  CHECK(app::route(from({{"Host", "127.0.0.1:9464"}, {"Sec-Fetch-Site", "cross-site"}}), c)
            .response.status == 403);
  CHECK(calls == 0);
  // curl (no Origin) and a same-origin page go through.
  CHECK(app::route(from({{"Host", "127.0.0.1:9464"}}), c).response.status == 200);
  CHECK(app::route(from({{"Host", "127.0.0.1:9464"}, {"Origin", "http://127.0.0.1:9464"},
                         {"Sec-Fetch-Site", "same-origin"}}),
                   c)
            .response.status == 200);
  CHECK(calls == 2);
  next = {false, 429, "reloads over HTTP are limited to one a second"};
  auto limited = app::route(from({}), c);
  CHECK(limited.response.status == 429);
  CHECK(limited.response.header("Retry-After").value_or("") == "1");
}

TEST_CASE("a target that is not clean text is a 400, never a 500", "[unit][routes][hostile]") {
  auto bad = app::route(get("/metrics?x=%ff"), ctx(true));
  CHECK(bad.response.status == 400);
  CHECK_THAT(bad.response.body, Catch::Contains("not valid UTF-8"));
  CHECK(app::route(get("/metrics?x=1&x=2"), ctx(true)).response.status == 400);
  CHECK(app::route(get("/metrics?x=1"), ctx(true)).response.status == 200);
}

TEST_CASE("failover and failback over HTTP: refused without authentication, POST only, same "
          "origin only",
          "[unit][routes]") {
  auto c = ctx(true);
  int flips = 0;
  c.flip = [&](const std::string& pair, const std::string& action, const std::string& body,
               const std::string&) {
    ++flips;
    http::ServerReply r;
    r.response.status = 200;
    r.response.body = pair + " " + action + " " + body;
    return r;
  };
  auto post = get("/api/v1/pairs/prod/failover", "POST");
  // No basic auth configured: the handler is never reached.
  auto refused = app::route(post, c);
  CHECK(refused.response.status == 403);
  CHECK_THAT(refused.response.body, Catch::Contains("need authentication"));
  CHECK(flips == 0);
  // Other paths under the pair are not flips.
  CHECK(app::route(get("/api/v1/pairs/prod/other", "POST"), c).response.status != 200);
  CHECK(flips == 0);
}
