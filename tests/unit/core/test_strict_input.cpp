// Hostile input at the lowest level (issue #14): the two JSON readers refuse what would be
// silently dropped or would throw, and untrusted text is made printable before it is shown.
#include <catch2/catch.hpp>

#include <string>

#include "core/json_scan.hpp"
#include "core/json_strict.hpp"
#include "core/log.hpp"
#include "core/printable.hpp"

using namespace flowdrift;

namespace {

std::string strict_error(const std::string& text, json_strict::Limits limits = {}) {
  std::string error;
  const auto doc = json_strict::parse(text, error, limits);
  return doc ? std::string("accepted") : error;
}

std::string scan_error(const std::string& text) {
  std::string error;
  const auto doc = json_scan::JsonDoc::parse(text, error);
  return doc ? std::string("accepted") : error;
}

}  // namespace

TEST_CASE("json_strict refuses a key given twice, naming its place", "[unit][json]") {
  CHECK(strict_error(R"({"policies":[],"policies":[]})") ==
        "policies: key given twice in one object");
  CHECK(strict_error(R"({"entities":[{"spec":{"name":"a"}},{"spec":{"name":"b","name":"c"}}]})") ==
        "entities[1].spec.name: key given twice in one object");
  CHECK(strict_error(R"({"a":{"x":1},"b":{"x":1}})") == "accepted");  // same key, other objects
}

TEST_CASE("json_strict refuses numbers out of range and never throws", "[unit][json]") {
  CHECK(strict_error(R"({"format":1e999})") == "format: number out of range at line 1, column 16");
  CHECK_THAT(strict_error(R"([-1e400])"), Catch::StartsWith("[0]: number out of range at line 1"));
  CHECK(strict_error(std::string("[") + std::string(400, '9') + "]").find("number out of range") !=
        std::string::npos);
  CHECK(strict_error(R"({"tiny":1e-400})") == "accepted");  // underflows to 0, as nlohmann does
}

TEST_CASE("json_strict bounds depth and string length", "[unit][json]") {
  CHECK(strict_error(std::string(64, '[') + std::string(64, ']')) == "accepted");
  CHECK(strict_error(std::string(65, '[') + std::string(65, ']')).find("nested deeper than 64") !=
        std::string::npos);
  json_strict::Limits small;
  small.max_string = 8;
  CHECK(strict_error(R"({"name":"123456789"})", small) ==
        "name: string of 9 bytes, longer than the limit of 8");
  CHECK(strict_error(R"({"123456789":1})", small) ==
        "123456789: key of 9 bytes, longer than the limit of 8");
}

TEST_CASE("json_strict reports syntax errors with line and column, without raw bytes",
          "[unit][json]") {
  const std::string bad_utf8 = "{\n  \"name\": \"a\xff\"\n}";
  const std::string e = strict_error(bad_utf8);
  CHECK(e.rfind("name: ", 0) == 0);
  CHECK(e.find("UTF-8") != std::string::npos);
  CHECK(e.find("line 2") != std::string::npos);
  CHECK(e.find('\xff') == std::string::npos);
  CHECK(strict_error("[1,2") .find("line 1, column 5") != std::string::npos);
  CHECK(strict_error("") != "accepted");
  CHECK(strict_error(R"({"a":1} x)") != "accepted");
}

TEST_CASE("a NUL byte ends no document early (found by fuzz_v4_page)", "[unit][json]") {
  // nlohmann's lexer reads NUL as the end of input: "2" followed by garbage was accepted.
  const std::string crash("2\0\0\0\xa2\xa2", 6);
  CHECK(strict_error(crash) == "top level: NUL byte at line 1, column 2");
  CHECK(scan_error(crash) != "accepted");
  CHECK(strict_error(std::string("{\"a\":1}\0", 8)) != "accepted");
  CHECK(strict_error(std::string("[\"a\0\"]", 6)) != "accepted");
}

TEST_CASE("json_scan refuses what json_strict refuses", "[unit][json]") {
  CHECK(scan_error(R"({"name":"a","name":"b"})") ==
        "key \"name\" given twice in one object at offset 12");
  CHECK(scan_error(R"({"n\u0061me":"a","name":"b"})").find("given twice") != std::string::npos);
  CHECK(scan_error(R"({"format":1e999})") == "number out of range at offset 15");
  CHECK(scan_error("[\"a\xff\"]") == "invalid UTF-8 in string at offset 3");
  CHECK(scan_error("[\"\xed\xa0\x80\"]") == "invalid UTF-8 in string at offset 2");  // surrogate
  CHECK(scan_error(R"(["\ud800"])").find("lone UTF-16 surrogate") != std::string::npos);
  CHECK(scan_error(R"(["\udc00"])").find("lone UTF-16 surrogate") != std::string::npos);
  CHECK(scan_error(R"(["\ud83d\ude00"])") == "accepted");
  // The same 64 levels as json_strict; a scalar inside the 64th is fine.
  CHECK(scan_error(std::string(64, '[') + "1" + std::string(64, ']')) == "accepted");
  CHECK(scan_error(std::string(65, '[') + std::string(65, ']')).find("nesting too deep") !=
        std::string::npos);
  CHECK(scan_error("[\"" + std::string(64 * 1024 + 1, 'x') + "\"]") ==
        "string longer than the limit at offset 65540");
  // An object of many keys stays linear (hash set past 16 keys) and still finds the repeat.
  std::string many = "{";
  for (int i = 0; i < 20000; ++i) many += "\"k" + std::to_string(i) + "\":0,";
  CHECK(scan_error(many + "\"k0\":1}").find("key \"k0\" given twice") != std::string::npos);
}

TEST_CASE("json_scan decodes escapes itself, surrogate pairs included", "[unit][json]") {
  std::string error;
  const std::string text = R"(["a\"b\\\/\n\u00e9\ud83d\ude00"])";
  const auto doc = json_scan::JsonDoc::parse(text, error);
  REQUIRE(doc);
  CHECK(doc->root().at(0).str() == "a\"b\\/\n\xc3\xa9\xf0\x9f\x98\x80");
}

TEST_CASE("printable escapes controls and invalid UTF-8 and bounds the length", "[unit][log]") {
  CHECK(printable("plain text, ünïcode") == "plain text, ünïcode");
  CHECK(printable("a\nb\rc\td\\") == "a\\nb\\rc\\td\\\\");
  CHECK(printable(std::string("nul\0esc\x1b[31m", 12)) == "nul\\x00esc\\x1b[31m");
  CHECK(printable("\x7f") == "\\x7f");
  CHECK(printable("csi\xc2\x9b") == "csi\\u{9b}");
  CHECK(printable("bad\xff\xfe") == "bad\\xff\\xfe");
  CHECK(printable("\xe2\x82") == "\\xe2\\x82");  // cut sequence
  CHECK(printable(std::string(3000, 'x'), 1024) == std::string(1024, 'x') + "...(+1976 bytes)");
  CHECK(printable("\xc3\xa9\xc3\xa9", 3) == "\xc3\xa9...(+2 bytes)");  // never half a character
  CHECK(is_printable("ok é"));
  CHECK_FALSE(is_printable("no\x1b"));
  CHECK_FALSE(is_printable("no\xff"));
}

TEST_CASE("log values cannot forge lines or carry terminal escapes", "[unit][log]") {
  const std::string hostile = std::string("x\r\n2026-01-01 info app: forged\0\x1b]0;t\x07", 37);
  const std::string line = log::format_event("poll.failed", {{"message", hostile}});
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.find('\r') == std::string::npos);
  CHECK(line.find('\x1b') == std::string::npos);
  CHECK(line.find('\0') == std::string::npos);
  CHECK(line ==
        "event=poll.failed message=\"x\\r\\n2026-01-01 info app: forged\\x00\\x1b]0;t\\x07\"");
  const std::string big = log::format_event("x", {{"name", std::string(10 << 20, 'n')}});
  CHECK(big.size() < 2100);
  CHECK(big.find("(+10483712 bytes)") != std::string::npos);
}
