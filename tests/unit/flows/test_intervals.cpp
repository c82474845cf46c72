#include <catch2/catch.hpp>

#include "flows/flows.hpp"

using namespace flowdrift::flows;

TEST_CASE("interval sets merge overlapping and adjacent intervals", "[unit][flows]") {
  CHECK(normalized({{81, 90}, {80, 80}}) == IntervalSet{{80, 90}});
  CHECK(normalized({{10, 20}, {15, 30}, {40, 50}}) == IntervalSet{{10, 30}, {40, 50}});
  CHECK(normalized({{0xfffffff0u, 0xffffffffu}, {0, 0xffffffefu}}) ==
        IntervalSet{{0, 0xffffffffu}});
  CHECK(normalized({{1, 2}, {4, 5}}) == IntervalSet{{1, 2}, {4, 5}});
}

TEST_CASE("interval set difference, union and intersection", "[unit][flows]") {
  const IntervalSet a{{0, 100}, {200, 300}};
  CHECK(subtract(a, {{50, 60}}) == IntervalSet{{0, 49}, {61, 100}, {200, 300}});
  CHECK(subtract(a, {{90, 210}}) == IntervalSet{{0, 89}, {211, 300}});
  CHECK(subtract(a, {{0, 300}}).empty());
  CHECK(subtract(a, {}) == a);
  CHECK(subtract({{0, 0xffffffffu}}, {{0, 9}}) == IntervalSet{{10, 0xffffffffu}});
  CHECK(subtract({{0, 0xffffffffu}}, {{5, 0xffffffffu}}) == IntervalSet{{0, 4}});
  CHECK(unite(a, {{101, 199}}) == IntervalSet{{0, 300}});
  CHECK(intersect(a, {{50, 250}}) == IntervalSet{{50, 100}, {200, 250}});
  CHECK(contains(a, 200));
  CHECK_FALSE(contains(a, 150));
  CHECK_FALSE(contains({}, 0));
}
