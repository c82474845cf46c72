// HttpTransport: the seam between API logic (lib/prism) and the network. Production uses
// BeastTransport (client.hpp); unit tests use a scripted fake (tests/support).
#pragma once

#include <chrono>

#include "core/result.hpp"
#include "http/asio.hpp"
#include "http/types.hpp"

namespace flowdrift::http {

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Sends one request and reads the whole response within `timeout` (connect included).
  // Transport failures (connect, TLS, timeout, response over the size cap, connection closed
  // mid-response) come back as an Error with the matching reason and retryable set where a
  // retry can help; every HTTP status, including 4xx/5xx, is a successful HttpResponse.
  // Must be awaited on the executor the transport was created with; one request at a time.
  virtual awaitable<Result<HttpResponse>> send(HttpRequest request,
                                               std::chrono::milliseconds timeout) = 0;
};

}  // namespace flowdrift::http
