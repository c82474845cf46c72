// The request target of a client's HTTP request (path and query), as flowdriftd's routes read
// it: strict query parsing, and the path the router matches. Any input ends in a map or an
// error; an accepted name or value is always clean text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/printable.hpp"
#include "http/types.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  flowdrift::http::HttpRequest request;
  request.method = "GET";
  request.target.assign(reinterpret_cast<const char*>(data), size);
  (void)request.path();
  (void)request.query_param("pair");
  std::string error;
  const auto query = flowdrift::http::parse_query(request.target, error);
  if (!query) {
    if (error.empty() || !flowdrift::is_printable(error)) __builtin_trap();
    return 0;
  }
  for (const auto& [name, value] : *query) {
    if (!flowdrift::is_printable(name) || !flowdrift::is_printable(value)) __builtin_trap();
  }
  return 0;
}
