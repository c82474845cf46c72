// core/json_text writes the canonical model's strings and numbers without a DOM; its bytes must
// be nlohmann's dump() bytes, or equal policies would hash differently from one build to the next.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "core/json_text.hpp"

using flowdrift::json_text::append_int;
using flowdrift::json_text::append_string;
using nlohmann::json;
namespace jt = flowdrift::json_text;  // not std::quoted, which ADL finds too

namespace {

// A random valid UTF-8 string, weighted towards the bytes that are escaped.
std::string random_utf8(std::mt19937& rng) {
  static const char32_t kPoints[] = {0x00, 0x01, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x1f, 0x20, 0x22,
                                     0x2f, 0x5c, 0x7f, 0x80, 0xe9, 0x7ff, 0x800, 0x2028, 0xfeff,
                                     0xffff, 0x10000, 0x1f600, 0x10ffff};
  std::string s;
  const int length = static_cast<int>(rng() % 12);
  for (int i = 0; i < length; ++i) {
    char32_t c = rng() % 3 == 0 ? 0x20 + rng() % 0x5f : kPoints[rng() % std::size(kPoints)];
    if (c < 0x80) {
      s += static_cast<char>(c);
    } else if (c < 0x800) {
      s += static_cast<char>(0xc0 | (c >> 6));
      s += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      s += static_cast<char>(0xe0 | (c >> 12));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (c & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (c >> 18));
      s += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return s;
}

}  // namespace

TEST_CASE("json_text writes every ASCII byte as dump() does", "[unit][core]") {
  for (int c = 0; c < 0x80; ++c) {
    const std::string s(1, static_cast<char>(c));
    INFO("byte " << c);
    CHECK(jt::quoted(s) == json(s).dump());
  }
  CHECK(jt::quoted("") == "\"\"");
  CHECK(jt::quoted(std::string("a\0b", 3)) == "\"a\\u0000b\"");
  CHECK(jt::quoted("\x1f\x7f") == "\"\\u001f\x7f\"");  // DEL stays as it is
  CHECK(jt::quoted("tab\there \"q\" back\\slash") == R"("tab\there \"q\" back\\slash")");
}

TEST_CASE("json_text writes random UTF-8 strings as dump() does", "[unit][core]") {
  std::mt19937 rng(20261207);
  for (int i = 0; i < 20000; ++i) {
    const std::string s = random_utf8(rng);
    INFO(json(s).dump());
    REQUIRE(jt::quoted(s) == json(s).dump());
  }
}

TEST_CASE("json_text appends to what is there", "[unit][core]") {
  std::string out = "[";
  append_string(out, "x\ny");
  out += ',';
  append_int(out, -42);
  CHECK(out == R"(["x\ny",-42)");
}

TEST_CASE("json_text writes integers as dump() does", "[unit][core]") {
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{65535},
                         std::numeric_limits<std::int64_t>::min(),
                         std::numeric_limits<std::int64_t>::max()}) {
    std::string out;
    append_int(out, v);
    CHECK(out == json(v).dump());
  }
}
