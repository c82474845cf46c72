// ScriptedTransport: a fake HttpTransport for API-logic tests. Each request is answered by a
// handler (method, path, body) -> Result<HttpResponse>; every request is recorded. Header-only
// so support code does not depend on the Beast library.
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "http/transport.hpp"

namespace flowdrift::test {

class ScriptedTransport final : public http::HttpTransport {
 public:
  using Responder = std::function<Result<http::HttpResponse>(const http::HttpRequest&)>;

  explicit ScriptedTransport(Responder responder) : responder_(std::move(responder)) {}

  awaitable<Result<http::HttpResponse>> send(http::HttpRequest request,
                                             std::chrono::milliseconds timeout) override {
    timeouts.push_back(timeout);
    requests.push_back(request);
    co_return responder_(requests.back());
  }

  std::vector<http::HttpRequest> requests;
  std::vector<std::chrono::milliseconds> timeouts;

 private:
  Responder responder_;
};

}  // namespace flowdrift::test
