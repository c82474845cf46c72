// ScriptedTransport: a fake HttpTransport for API-logic tests. Each request is answered by a
// handler (method, path, body) -> Result<HttpResponse>; every request is recorded. Header-only
// so support code does not depend on the Beast library.
#pragma once

#include <algorithm>
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
    if (latency > std::chrono::milliseconds::zero()) {
      // A slow server, waited for on a real timer; past the request timeout the send fails
      // the way BeastTransport does (retryable Timeout) without calling the responder.
      asio::steady_timer timer(co_await asio::this_coro::executor);
      timer.expires_after(std::min(latency, timeout));
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (latency > timeout) {
        co_return make_error(ErrorReason::Timeout, "request timed out (scripted latency)", true);
      }
    }
    co_return responder_(requests.back());
  }

  std::vector<http::HttpRequest> requests;
  std::vector<std::chrono::milliseconds> timeouts;
  std::chrono::milliseconds latency{0};  // simulated server latency per request; 0 = none

 private:
  Responder responder_;
};

}  // namespace flowdrift::test
