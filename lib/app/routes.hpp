// flowdriftd's HTTP routes as a pure function of the request and the daemon's state: /metrics,
// /-/healthy, /-/ready and a landing page on /. Tested without sockets.
#pragma once

#include <functional>
#include <string>

#include "http/server.hpp"
#include "http/types.hpp"

namespace flowdrift::app {

struct RouteContext {
  std::function<std::string()> render_metrics;
  std::function<bool()> ready;  // config loaded, store open, every site polled once
  std::function<std::string()> ready_detail;  // why not ready (plain text)
  std::string version;
};

http::ServerReply route(const http::HttpRequest& request, const RouteContext& ctx);

}  // namespace flowdrift::app
