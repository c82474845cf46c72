#include "app/routes.hpp"

#include "metrics/metrics.hpp"

namespace flowdrift::app {
namespace {

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
         "</ul>\n</body></html>\n";
}

}  // namespace

http::ServerReply route(const http::HttpRequest& request, const RouteContext& ctx) {
  const auto path = request.path();
  const bool known = path == "/" || path == "/metrics" || path == "/-/healthy" || path == "/-/ready";
  if (!known) return text(404, "404 page not found\n");
  if (request.method != "GET" && request.method != "HEAD") {
    auto r = text(405, "method not allowed\n");
    r.response.headers.push_back({"Allow", "GET, HEAD"});
    return r;
  }
  http::ServerReply r;
  if (path == "/metrics") {
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

}  // namespace flowdrift::app
