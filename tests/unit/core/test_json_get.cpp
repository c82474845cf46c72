// core/json_get: members of outside JSON read without throwing, whatever their type.
#include <catch2/catch.hpp>

#include "core/json_get.hpp"

using nlohmann::json;
using namespace flowdrift;

TEST_CASE("json_get: a string member or the fallback whatever the shape", "[unit][core]") {
  const auto doc = json::parse(R"({"uuid": "u-1", "n": 7, "metadata": {"uuid": "m-1", "v": 3},
                                   "list": ["a"], "nul": null})");
  CHECK(string_or(doc, "uuid") == "u-1");
  CHECK(string_or(doc, "n", "none") == "none");
  CHECK(string_or(doc, "list", "none") == "none");
  CHECK(string_or(doc, "absent") == "");
  CHECK(string_or(json::array({1}), "uuid", "x") == "x");
  CHECK(string_or(json("text"), "uuid", "x") == "x");
  CHECK(string_at_path(doc, {"metadata", "uuid"}) == "m-1");
  CHECK(string_at_path(doc, {"uuid", "deeper"}) == "");
  CHECK(member_at(doc, {"metadata", "v"}) == 3);
  CHECK(member_at(doc, {"nul", "x"}).is_null());
  CHECK(member_at(doc, {"list", "x"}).is_null());
  CHECK(member_object(doc, "metadata").size() == 2);
  CHECK(member_object(doc, "list").empty());
  CHECK(member_object(json(5), "metadata").is_object());
}
