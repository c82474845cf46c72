#include "app/routes.hpp"

#include <optional>

#include "app/api.hpp"
#include "core/log.hpp"
#include "core/printable.hpp"
#include "metrics/metrics.hpp"

namespace flowdrift::app {
namespace {

std::shared_ptr<spdlog::logger> logger() { return log::get("http"); }

http::ServerReply reply(int status, std::string content_type, std::string body) {
  http::ServerReply r;
  r.response.status = status;
  r.response.headers.push_back({"Content-Type", std::move(content_type)});
  r.response.body = std::move(body);
  return r;
}

http::ServerReply text(int status, std::string body) {
  return reply(status, "text/plain; charset=utf-8", std::move(body));
}

std::string landing_page(const RouteContext& ctx) {
  return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>flowdrift</title></head>\n"
         "<body><h1>flowdrift</h1>\n<p>Nutanix Flow policy drift between primary and DR Prism "
         "Centrals. Version " +
         ctx.version +
         ".</p>\n<ul>\n<li><a href=\"/metrics\">Metrics</a></li>\n"
         "<li><a href=\"/-/healthy\">Health</a></li>\n<li><a href=\"/-/ready\">Readiness</a></li>\n"
         "<li><a href=\"/api/v1/pairs\">Pairs</a>, <a href=\"/api/v1/sites\">sites</a> and "
         "<a href=\"/api/v1/drift\">open drift</a> (JSON)</li>\n"
         "</ul>\n</body></html>\n";
}

// Basic auth before anything else: an unauthenticated client learns nothing, not even which
// paths exist. A bcrypt check that ran (not answered from the cache) is logged, never the
// password.
std::optional<http::ServerReply> refuse_unauthenticated(const http::HttpRequest& request,
                                                        const RouteContext& ctx) {
  if (!ctx.auth || !ctx.auth->enabled()) return std::nullopt;
  const auto before = ctx.auth->hash_computations();
  const auto outcome = ctx.auth->check(request.header("Authorization"));
  if (ctx.auth->hash_computations() != before) {
    log::info(logger(), "http.auth_checked",
              {{"user", ctx.auth->last_user()},
               {"result", outcome == http::BasicAuth::Outcome::Ok ? "ok" : "denied"},
               {"path", std::string(request.path())}});
  }
  if (outcome == http::BasicAuth::Outcome::Ok) return std::nullopt;
  if (outcome == http::BasicAuth::Outcome::Throttled) {
    log::debug(logger(), "http.auth_throttled", {{"user", ctx.auth->last_user()}});
    auto r = text(429, "too many password checks, retry later\n");
    r.response.headers.push_back({"Retry-After", "1"});
    return r;
  }
  auto r = text(401, "Unauthorized\n");
  r.response.headers.push_back({"WWW-Authenticate", "Basic realm=\"flowdrift\""});
  return r;
}

// A browser sends Origin (and Sec-Fetch-Site) with a cross-origin POST, which a page on any
// site can make with a plain form: such a request is refused whatever it carries.
std::optional<std::string> cross_origin(const http::HttpRequest& request) {
  if (auto site = request.header("Sec-Fetch-Site"); site && *site != "same-origin" && *site != "none") {
    return "Sec-Fetch-Site: " + printable(*site, 64);
  }
  const auto origin = request.header("Origin");
  if (!origin) return std::nullopt;
  const auto host = request.header("Host");
  const auto scheme_end = origin->find("://");
  const std::string_view origin_host =
      scheme_end == std::string_view::npos ? *origin : origin->substr(scheme_end + 3);
  if (host && origin_host == *host) return std::nullopt;
  return "Origin: " + printable(*origin, 64);
}

// POST /-/reload: a state change, so never on GET (a crawler or a prefetch must not reload),
// only when the lifecycle API is on, and never from another origin's page.
http::ServerReply reload(const http::HttpRequest& request, const RouteContext& ctx) {
  if (!ctx.reload) {
    return text(403, "reload over HTTP is off: start flowdriftd with --web.enable-lifecycle, or "
                     "send SIGHUP\n");
  }
  if (request.method != "POST" && request.method != "PUT") {
    auto r = text(405, "method not allowed; use POST\n");
    r.response.headers.push_back({"Allow", "POST, PUT"});
    return r;
  }
  if (auto why = cross_origin(request)) {
    return text(403, "cross-origin request refused (" + *why + ")\n");
  }
  const auto result = ctx.reload();
  if (result.status == 429) {
    auto r = text(429, result.message + "\n");
    r.response.headers.push_back({"Retry-After", "1"});
    return r;
  }
  return text(result.status, (result.ok ? "configuration reloaded: "
                                        : "configuration reload rejected, the previous "
                                          "configuration keeps running:\n") +
                                 result.message + "\n");
}

// POST /api/v1/pairs/<pair>/failover|failback: a state change of the DR playbook, so never on
// GET, never without authentication (who flipped is audited) and never from another origin.
std::optional<http::ServerReply> flip(const http::HttpRequest& request, const RouteContext& ctx) {
  constexpr std::string_view prefix = "/api/v1/pairs/";
  const auto path = request.path();
  if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
  const auto rest = path.substr(prefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  const auto action = rest.substr(slash + 1);
  if (action != "failover" && action != "failback") return std::nullopt;
  if (!ctx.flip || !ctx.auth || !ctx.auth->enabled()) {
    return text(403, "failover and failback over HTTP need authentication: set basic_auth_users "
                     "in the web config (--web.config.file), or use flowdriftctl " +
                         std::string(action) + "\n");
  }
  if (request.method != "POST") {
    auto r = text(405, "method not allowed; use POST\n");
    r.response.headers.push_back({"Allow", "POST"});
    return r;
  }
  if (auto why = cross_origin(request)) {
    return text(403, "cross-origin request refused (" + *why + ")\n");
  }
  // Pair names are plain ([A-Za-z0-9_.-]); anything else is simply not a configured pair.
  return ctx.flip(std::string(rest.substr(0, slash)), std::string(action), request.body,
                  ctx.auth->last_user());
}

http::ServerReply dispatch(const http::HttpRequest& request, const RouteContext& ctx) {
  if (auto refused = refuse_unauthenticated(request, ctx)) return std::move(*refused);
  if (auto flipped = flip(request, ctx)) return std::move(*flipped);
  const auto path = request.path();
  const bool api = ctx.api && Api::owns(path);
  if (path == "/-/reload") return reload(request, ctx);
  const bool known =
      api || path == "/" || path == "/metrics" || path == "/-/healthy" || path == "/-/ready";
  if (!known) return text(404, "404 page not found\n");
  // A client's mistake is its answer, not an error in our log (the API answers it in JSON).
  std::string query_error;
  if (!api && !http::parse_query(request.target, query_error)) return text(400, query_error + "\n");
  if (request.method != "GET" && request.method != "HEAD") {
    auto r = text(405, "method not allowed\n");
    r.response.headers.push_back({"Allow", "GET, HEAD"});
    return r;
  }
  http::ServerReply r;
  if (api) {
    r = ctx.api(request);
  } else if (path == "/metrics") {
    r = reply(200, std::string(metrics::Metrics::kContentType), ctx.render_metrics());
  } else if (path == "/-/healthy") {
    r = text(200, "Healthy\n");
  } else if (path == "/-/ready") {
    r = ctx.ready() ? text(200, "Ready\n") : text(503, "Not ready: " + ctx.ready_detail() + "\n");
  } else {
    r = reply(200, "text/html; charset=utf-8", landing_page(ctx));
  }
  if (request.method == "HEAD") r.response.body.clear();
  return r;
}

}  // namespace

http::ServerReply route(const http::HttpRequest& request, const RouteContext& ctx) {
  auto r = dispatch(request, ctx);
  for (const auto& h : ctx.response_headers) r.response.headers.push_back(h);
  return r;
}

}  // namespace flowdrift::app
