// core/percent: one URL path segment, as the v3 category lists and the plan's category writes
// put a key or value into a path.
#include <catch2/catch.hpp>

#include "core/percent.hpp"

using flowdrift::percent_encode_segment;

TEST_CASE("path segments are percent-encoded", "[unit][core][encode]") {
  CHECK(percent_encode_segment("AppType") == "AppType");
  CHECK(percent_encode_segment("App Tier") == "App%20Tier");
  CHECK(percent_encode_segment("a/b?c#d%e") == "a%2Fb%3Fc%23d%25e");
  CHECK(percent_encode_segment("x-y.z_~") == "x-y.z_~");
  CHECK(percent_encode_segment("\xC3\xA9") == "%C3%A9");
  CHECK(percent_encode_segment("") == "");
}
