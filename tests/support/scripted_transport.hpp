// ScriptedTransport: a fake HttpTransport for API-logic tests. Each request is answered by a
// handler (method, path, body) -> Result<HttpResponse>, or -> ScriptedReply when the answer
// comes with a server-side delay; every request is recorded. Header-only so support code does
// not depend on the Beast library.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

#include "http/transport.hpp"

namespace flowdrift::test {

// One scripted answer: what the client receives, and how long the server takes to send it
// (past the request timeout the client gives up with a retryable Timeout instead).
struct ScriptedReply {
  Result<http::HttpResponse> result;
  std::chrono::milliseconds delay{0};
};

class ScriptedTransport final : public http::HttpTransport {
 public:
  using Responder = std::function<Result<http::HttpResponse>(const http::HttpRequest&)>;
  using DelayedResponder = std::function<ScriptedReply(const http::HttpRequest&)>;

  explicit ScriptedTransport(Responder responder)
      : responder_([responder = std::move(responder)](const http::HttpRequest& r) {
          return ScriptedReply{responder(r), std::chrono::milliseconds::zero()};
        }) {}
  // Answers whose delay the transport waits for (a server that is slow on some requests).
  // (No lambda converts to both std::function types: their results do not convert.)
  explicit ScriptedTransport(DelayedResponder responder) : responder_(std::move(responder)) {}

  awaitable<Result<http::HttpResponse>> send(http::HttpRequest request,
                                             std::chrono::milliseconds timeout) override {
    timeouts.push_back(timeout);
    requests.push_back(request);
    if (latency > std::chrono::milliseconds::zero()) {
      // A slow server, waited for on a real timer; past the request timeout the send fails
      // the way BeastTransport does (retryable Timeout) without calling the responder.
      if (!co_await wait(latency, timeout)) {
        co_return make_error(ErrorReason::Timeout, "request timed out (scripted latency)", true);
      }
    }
    ScriptedReply reply = responder_(requests.back());
    if (reply.delay > std::chrono::milliseconds::zero()) {
      // The server has handled the request but answers late: the client stops waiting at its
      // timeout, less what the fixed latency already took.
      const auto left = timeout - std::min(latency, timeout);
      if (!co_await wait(reply.delay, left)) {
        co_return make_error(ErrorReason::Timeout, "request timed out (scripted delay)", true);
      }
    }
    co_return std::move(reply.result);
  }

  std::vector<http::HttpRequest> requests;
  std::vector<std::chrono::milliseconds> timeouts;
  std::chrono::milliseconds latency{0};  // simulated server latency per request; 0 = none

 private:
  // Waits min(delay, timeout) on a real timer; false when the delay is past the timeout.
  static awaitable<bool> wait(std::chrono::milliseconds delay, std::chrono::milliseconds timeout) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::min(delay, timeout));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return delay <= timeout;
  }

  DelayedResponder responder_;
};

}  // namespace flowdrift::test
