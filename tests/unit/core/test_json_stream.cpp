// core/json_stream (issue #19, point 3): a document read in pieces hands out the same element
// texts as json_scan reads whole, at every buffer size and read size; what it does not follow
// stops it; and a differential test over every JSON fixture of tests/ (as elements of a
// generated list) and mutations of it: whenever the stream reaches the end, the document is
// valid JSON exactly when its rest and each element are, and the elements are json_scan's.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_scan.hpp"
#include "core/json_stream.hpp"

using flowdrift::json_scan::JsonDoc;
using flowdrift::json_stream::ArrayMemberStream;
using flowdrift::json_stream::text_source;
using Step = ArrayMemberStream::Step;

namespace {

constexpr const char* kTags = "[unit][core][json_stream]";

struct Read {
  bool ended = false;
  std::vector<std::string> elements;
  std::string rest;
  std::string why;
  std::size_t batches = 0;
};

Read read_all(std::string_view text, std::size_t capacity, std::size_t piece,
              std::string_view member = "entities") {
  ArrayMemberStream stream(text_source(text, piece), member, capacity);
  Read out;
  std::vector<std::string_view> batch;
  std::vector<std::string_view> last;  // the batch before: still in place after one more call
  std::size_t last_from = 0;           // its first element's index in out.elements
  for (;;) {
    const Step step = stream.next(batch);
    for (std::size_t k = 0; k < last.size(); ++k) {
      REQUIRE(last[k] == out.elements[last_from + k]);
    }
    last = batch;
    last_from = out.elements.size();
    if (step == Step::Stopped) {
      out.why = stream.why();
      return out;
    }
    if (step == Step::End) break;
    REQUIRE_FALSE(batch.empty());
    ++out.batches;
    for (auto e : batch) out.elements.emplace_back(e);
  }
  out.ended = true;
  out.rest = stream.rest();
  CHECK(stream.elements() == out.elements.size());
  return out;
}

// The element texts of /member as json_scan reads the whole text, or nothing when it refuses it.
std::optional<std::vector<std::string>> scanned_elements(std::string_view text,
                                                         std::string_view member = "entities") {
  std::string error;
  auto doc = JsonDoc::parse(text, error);
  if (!doc || !doc->root().is_object()) return std::nullopt;
  auto array = doc->root().find(member);
  if (!array || !array->is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (auto e : *array) out.emplace_back(e.text());
  return out;
}

bool parses(std::string_view text) {
  std::string error;
  return JsonDoc::parse(text, error).has_value();
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::filesystem::path> json_fixtures() {
  const auto tests = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(tests)) {
    if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A v3-like list response with `elements` as its entities, metadata first or last.
std::string list_of(const std::vector<std::string>& elements, bool metadata_first) {
  const std::string meta =
      R"("metadata": {"kind": "network_security_rule", "total_matches": )" +
      std::to_string(elements.size()) + "}";
  std::string out = "{\"api_version\": \"3.1\", ";
  if (metadata_first) out += meta + ", ";
  out += "\"entities\": [";
  for (std::size_t i = 0; i < elements.size(); ++i) out += (i ? ",\n  " : "\n  ") + elements[i];
  out += "]";
  if (!metadata_first) out += ",\n" + meta;
  return out + "}\n";
}

// One mutation of `src`: a byte deleted, replaced or inserted (structural bytes mostly), the
// text cut, or a piece repeated.
std::string mutate(const std::string& src, std::mt19937& rng) {
  static constexpr std::string_view kBytes = "{}[]\",:\\ \n0a";
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  std::string out = src;
  const std::size_t at = pick(src.size());
  switch (pick(5)) {
    case 0: out.erase(at, 1); break;
    case 1: out[at] = kBytes[pick(kBytes.size())]; break;
    case 2: out.insert(at, 1, kBytes[pick(kBytes.size())]); break;
    case 3: out.resize(at); break;
    default: out.insert(at, src.substr(pick(src.size()), 1 + pick(40))); break;
  }
  return out;
}

}  // namespace

TEST_CASE("json_stream: the elements at every buffer and read size", kTags) {
  const std::vector<std::string> elements = {
      R"({"a": 1, "s": "x\"}]{[,y", "n": [1, [2, {"b": null}]]})", R"("a string, with ] in it")",
      "-12.5e3", "true", "null", "[]", "{}", R"({"long": ")" + std::string(300, 'q') + R"("})",
      R"({"esc": "\\\\\\"})"};
  for (const bool first : {true, false}) {
    const std::string text = list_of(elements, first);
    const auto whole = scanned_elements(text);
    REQUIRE(whole);
    REQUIRE(*whole == elements);
    // The smallest holds the metadata member, which must fit the buffer whole.
    for (const std::size_t capacity : {80, 81, 128, 333, 4096}) {
      for (const std::size_t piece : {1, 2, 7, 100, 1 << 20}) {
        INFO("metadata first " << first << ", capacity " << capacity << ", piece " << piece);
        const Read r = read_all(text, capacity, piece);
        REQUIRE(r.ended);
        CHECK(r.elements == elements);
        CHECK(parses(r.rest));
        const std::string meta_kind = R"("metadata":{"kind")";
        CHECK(r.rest.find(meta_kind) != std::string::npos);
        CHECK(r.rest.find(R"("entities":[])") != std::string::npos);
      }
    }
  }
}

// The outline reads 64 bytes at a time where a block has no backslash: strings holding brackets,
// escaped quotes and runs of backslashes, at every offset around the first block boundaries.
TEST_CASE("json_stream: strings, escapes and brackets across 64-byte blocks", kTags) {
  const std::vector<std::string> payloads = {R"(]})",     R"({[)",        R"(\")",
                                             R"(\\)",    R"(\\\"]})", R"(\\\\\"],)",
                                             R"(\u005d)", R"(x\\\\)"};
  std::vector<std::string> elements;
  for (std::size_t k = 0; k < 140; ++k) {
    for (const auto& payload : payloads) {
      elements.push_back(R"({"a":")" + std::string(k, 'x') + payload + R"(","b":[1,{"c":"]}["}],)" +
                         R"("d":")" + std::string(140 - k, 'y') + payload + R"("})");
    }
  }
  const std::string text = list_of(elements, true);
  const auto scanned = scanned_elements(text);
  REQUIRE(scanned);
  REQUIRE(*scanned == elements);
  for (const std::size_t piece : {std::size_t{1} << 20, std::size_t{61}}) {
    CAPTURE(piece);
    const Read r = read_all(text, 1 << 12, piece);
    REQUIRE(r.ended);
    CHECK(r.elements == elements);
  }
}

// flowdriftctl canonicalizes one batch while it reads the next (read_all checks every batch
// after the call that follows it), here also across several refills and a growth in one call.
TEST_CASE("json_stream: a batch stays in place while the next one is read", kTags) {
  std::vector<std::string> elements;
  for (int i = 0; i < 60; ++i) {
    elements.push_back(i % 20 == 19 ? R"({"big": ")" + std::string(3000 + 100 * i, 'b') + R"("})"
                                    : R"({"i": )" + std::to_string(i) + "}");
  }
  const std::string text = list_of(elements, true);
  for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{300}, text.size()}) {
    CAPTURE(piece);
    const Read r = read_all(text, 256, piece);
    REQUIRE(r.ended);
    CHECK(r.elements == elements);
    CHECK(r.batches > 3);
  }
}

TEST_CASE("json_stream: batches end where the buffer does and the buffer grows for an element",
          kTags) {
  std::vector<std::string> elements;
  for (int i = 0; i < 200; ++i) elements.push_back(R"({"i": )" + std::to_string(i) + "}");
  elements.push_back(R"({"big": ")" + std::string(10000, 'b') + R"("})");
  const std::string text = list_of(elements, true);
  ArrayMemberStream stream(text_source(text, 1 << 20), "entities", 256);
  std::vector<std::string_view> batch;
  std::size_t batches = 0;
  std::size_t seen = 0;
  Step step;
  while ((step = stream.next(batch)) == Step::Elements) {
    ++batches;
    for (auto e : batch) CHECK(e == elements[seen++]);
  }
  REQUIRE(step == Step::End);
  CHECK(seen == elements.size());
  CHECK(batches > 10);                     // 256 bytes hold about 25 small elements
  CHECK(stream.capacity() >= 10000);       // grown for the big one
  CHECK(stream.capacity() < 4 * 10000);    // by doubling, not more
}

TEST_CASE("json_stream: the empty array and the root's other members", kTags) {
  const Read r = read_all(R"( { "a" : [1, {"x": "]"}] , "entities" : [ ] , "z": "}" } )", 16, 3);
  REQUIRE(r.ended);
  CHECK(r.elements.empty());
  CHECK(r.rest == R"({"a":[1, {"x": "]"}],"entities":[],"z":"}"})");
}

TEST_CASE("json_stream: what it does not follow stops it, saying why", kTags) {
  struct Case {
    std::string text;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"[1, 2]", "the root is not an object"},
      {"", "ends inside"},
      {R"({"data": [1]})", "no member \"entities\""},
      {R"({})", "no member \"entities\""},
      {R"({"entities": [1], "entities": [2]})", "given twice"},
      {R"({"entities": {}})", "is not an array"},
      {R"({"ent\u0069ties": [1]})", "a key with an escape"},
      {R"({"entities": [1] "x": 2})", "expected ',' or '}'"},
      {R"({"entities": [1 2]})", "expected ',' or ']'"},
      {R"({"entities": [1,,2]})", "expected a value"},
      {R"({"entities" [1]})", "expected ':' after a key"},
      {R"({1: [1]})", "expected a key"},
      {R"({"entities": [1]} x)", "text after the root object"},
      {R"({"entities": [{"a": "b)", "ends inside"},
      {R"({"entities": [1]}   )" + std::string(1, '\0'), "text after the root object"},
      {R"({"entities": [)" + std::string(100, '[') + std::string(100, ']') + "]}",
       "nests deeper"},
      {R"({"metadata": ")" + std::string(100, 'm') + R"(", "entities": []})",
       "a member other than \"entities\" fills the buffer"},
  };
  for (const auto& c : cases) {
    INFO(c.text.substr(0, 80));
    const Read r = read_all(c.text, 64, 5);
    CHECK_FALSE(r.ended);
    CHECK_THAT(r.why, Catch::Matchers::Contains(c.why));
    CHECK_THAT(r.why, Catch::Matchers::Contains("(at byte "));
  }
}

TEST_CASE("json_stream: a source that fails stops it", kTags) {
  int calls = 0;
  ArrayMemberStream stream(
      [&calls](char* to, std::size_t n) -> std::ptrdiff_t {
        if (calls++ > 0) return -1;
        const std::string_view head = R"({"entities": [1, 2, )";
        std::copy_n(head.data(), std::min(n, head.size()), to);
        return static_cast<std::ptrdiff_t>(std::min(n, head.size()));
      },
      "entities", 1024);
  std::vector<std::string_view> batch;
  REQUIRE(stream.next(batch) == Step::Elements);
  CHECK(batch.size() == 2);
  CHECK(stream.next(batch) == Step::Stopped);
  CHECK_THAT(stream.why(), Catch::Matchers::Contains("cannot be read"));
}

TEST_CASE("json_stream and json_scan agree on every fixture as a list element and its mutations",
          kTags) {
  std::vector<std::string> fixtures;
  for (const auto& f : json_fixtures()) {
    std::string text = read_file(f);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    if (parses(text) && text.size() < 200000) fixtures.push_back(std::move(text));
  }
  REQUIRE(fixtures.size() >= 30);
  std::mt19937 rng(19);
  std::size_t ended = 0;
  std::size_t ended_invalid = 0;
  std::size_t mutations = 0;
  for (std::size_t i = 0; i < fixtures.size(); ++i) {
    const std::vector<std::string> elements = {fixtures[i], fixtures[(i + 1) % fixtures.size()],
                                               R"({"spec": {"name": "n"}})"};
    const std::string list = list_of(elements, i % 2 == 0);
    const Read clean = read_all(list, 512, 97);
    REQUIRE(clean.ended);  // valid lists of moderate nesting are always read
    REQUIRE(clean.elements == elements);
    for (int m = 0; m < 300; ++m) {
      const std::string text = mutate(list, rng);
      ++mutations;
      const Read r = read_all(text, 512, 1 + m % 61);
      if (!r.ended) continue;
      ++ended;
      const bool pieces_valid =
          parses(r.rest) && std::all_of(r.elements.begin(), r.elements.end(), parses);
      const auto whole = scanned_elements(text);
      INFO("fixture " << i << " mutation " << m);
      REQUIRE(pieces_valid == parses(text));
      if (pieces_valid) {
        REQUIRE(whole);
        REQUIRE(*whole == r.elements);
      } else {
        ++ended_invalid;
      }
    }
  }
  // The mutations reached both outcomes.
  CHECK(ended > mutations / 4);
  CHECK(ended_invalid > 100);
}
