#include <catch2/catch.hpp>

#include "core/time_format.hpp"

using namespace flowdrift;

TEST_CASE("format_time writes unix ms as UTC with whole seconds", "[unit][time]") {
  CHECK(format_time(1795600800000LL) == "2026-11-25T10:00:00Z");
  CHECK(format_time(1795600800999LL) == "2026-11-25T10:00:00Z");  // cut, not rounded
  CHECK(format_time(0) == "1970-01-01T00:00:00Z");
}
