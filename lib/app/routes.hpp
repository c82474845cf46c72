// flowdriftd's HTTP routes as a pure function of the request and the daemon's state: /metrics,
// /-/healthy, /-/ready, POST /-/reload (configuration reload, as Prometheus has it), a landing
// page on /, and the read-only JSON API under /api/v1/ (app/api.hpp). With basic auth configured every path, health and 404s included, answers 401
// until the credentials check out (as exporter-toolkit does). Tested without sockets.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/basic_auth.hpp"
#include "http/server.hpp"
#include "http/types.hpp"

namespace flowdrift::app {

// What a configuration reload did (App::reload): applied, or rejected with the running
// configuration kept. `status` is the HTTP answer: 200 applied, 400 the new file is invalid
// or needs a restart, 503 shutting down, 500 anything else.
struct ReloadResult {
  bool ok = false;
  int status = 500;
  std::string message;  // applied: what changed; rejected: every problem, one per line
};

struct RouteContext {
  std::function<std::string()> render_metrics;
  std::function<bool()> ready;  // config loaded, store open, every site polled once
  std::function<std::string()> ready_detail;  // why not ready (plain text)
  std::string version;
  // Basic auth (web config basic_auth_users); null or without users: every request is allowed.
  std::shared_ptr<http::BasicAuth> auth;
  // Added to every response (web config http_server_config.headers).
  std::vector<http::Header> response_headers;
  // GET/HEAD under /api/ (Api::handle); unset: those paths are 404.
  std::function<http::ServerReply(const http::HttpRequest&)> api;
  // POST/PUT /-/reload (--web.enable-lifecycle); unset: the path answers 403. A 429 result
  // gets a Retry-After.
  std::function<ReloadResult()> reload;
  // POST /api/v1/pairs/<pair>/failover and /failback (docs/failover.md), with the request body
  // and the authenticated user. Set only when basic auth is configured: unset, those paths
  // answer 403.
  std::function<http::ServerReply(const std::string& pair, const std::string& action,
                                  const std::string& body, const std::string& user)>
      flip;
};

http::ServerReply route(const http::HttpRequest& request, const RouteContext& ctx);

}  // namespace flowdrift::app
