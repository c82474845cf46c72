// core/json_scan (issue #19): the flat strict reader's API on its own, and a differential test
// against json_strict (nlohmann-based, the reference): every JSON fixture under tests/ and
// deterministic mutations of each must be accepted or refused by both, and read as equal values.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_scan.hpp"
#include "core/json_strict.hpp"
#include "core/printable.hpp"

using flowdrift::printable;
using flowdrift::json_scan::JsonDoc;
using flowdrift::json_scan::JsonRef;
using flowdrift::json_scan::kMaxDepth;
using flowdrift::json_scan::kMaxString;
using Type = flowdrift::json_scan::JsonRef::Type;

namespace {

constexpr const char* kTags = "[unit][core][json_scan]";

// "accepted", or json_scan's error.
std::string scan_error(std::string_view text) {
  std::string error;
  const auto doc = JsonDoc::parse(text, error);
  return doc ? std::string("accepted") : error;
}

std::vector<std::string_view> texts(const std::vector<JsonRef>& refs) {
  std::vector<std::string_view> out;
  for (const auto& r : refs) out.push_back(r.text());
  return out;
}

// "" when the json_scan value `s` and the nlohmann value `j` are the same JSON value, else where
// and how they differ. Numbers are compared as doubles (the scan's text through strtod).
std::string differ(JsonRef s, const nlohmann::json& j, const std::string& path = "$") {
  const auto mismatch = [&](const std::string& what) { return path + ": " + what; };
  switch (s.type()) {
    case Type::Null:
      return j.is_null() ? "" : mismatch("null vs " + std::string(j.type_name()));
    case Type::Bool:
      if (!j.is_boolean()) return mismatch("boolean vs " + std::string(j.type_name()));
      return s.is_true() == j.get<bool>() ? "" : mismatch("boolean value");
    case Type::Number: {
      if (!j.is_number()) return mismatch("number vs " + std::string(j.type_name()));
      const std::string t(s.text());
      const double v = std::strtod(t.c_str(), nullptr);
      return v == j.get<double>() ? "" : mismatch("number " + t + " vs " + j.dump());
    }
    case Type::String:
      if (!j.is_string()) return mismatch("string vs " + std::string(j.type_name()));
      return s.str() == j.get_ref<const std::string&>()
                 ? ""
                 : mismatch("string " + printable(s.str(), 80) + " vs " +
                            printable(j.get_ref<const std::string&>(), 80));
    case Type::Array: {
      if (!j.is_array()) return mismatch("array vs " + std::string(j.type_name()));
      const auto elements = s.elements();
      if (elements.size() != j.size() || s.size() != j.size()) {
        return mismatch("array of " + std::to_string(s.size()) + " vs " +
                        std::to_string(j.size()));
      }
      for (std::size_t i = 0; i < elements.size(); ++i) {
        auto d = differ(elements[i], j[i], path + "[" + std::to_string(i) + "]");
        if (!d.empty()) return d;
      }
      return "";
    }
    case Type::Object: {
      if (!j.is_object()) return mismatch("object vs " + std::string(j.type_name()));
      const auto members = s.members();
      std::set<std::string> keys;
      for (const auto& [k, v] : members) {
        const std::string key = k.str();
        keys.insert(key);
        const auto it = j.find(key);
        if (it == j.end()) return mismatch("key " + printable(key, 80) + " only in json_scan");
        auto d = differ(v, *it, path + "." + printable(key, 80));
        if (!d.empty()) return d;
      }
      if (keys.size() != members.size() || members.size() != s.size() ||
          keys.size() != j.size()) {
        return mismatch("object of " + std::to_string(members.size()) + " members (" +
                        std::to_string(keys.size()) + " keys) vs " + std::to_string(j.size()));
      }
      return "";
    }
  }
  return mismatch("unknown type");
}

// Both readers on one text: "" when they agree (on refusal, or on an equal value), else how not.
std::string disagreement(std::string_view text, bool* accepted = nullptr) {
  std::string scan_err;
  std::string strict_err;
  const auto scan = JsonDoc::parse(text, scan_err);
  const auto strict = flowdrift::json_strict::parse(text, strict_err);
  if (accepted != nullptr) *accepted = scan.has_value();
  if (scan.has_value() != strict.has_value()) {
    return scan ? "json_scan accepts, json_strict refuses: " + strict_err
                : "json_strict accepts, json_scan refuses: " + scan_err;
  }
  if (!scan) return "";
  return differ(scan->root(), *strict);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::filesystem::path tests_dir() {
#ifdef FLOWDRIFT_SOURCE_DIR
  return std::filesystem::path(FLOWDRIFT_SOURCE_DIR) / "tests";
#else
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
#endif
}

// Every .json file under tests/, in a fixed order.
std::vector<std::filesystem::path> json_fixtures() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(tests_dir())) {
    if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Mutation {
  std::string text;
  std::string what;  // for the report
  std::size_t at;
};

// One deterministic mutation of `src` (not empty).
Mutation mutate(const std::string& src, std::mt19937& rng) {
  static constexpr std::string_view kStructural = "{}[]\",:\\";
  static constexpr std::string_view kReplace = "0123456789-+.eEtfnu\\\"/ \t";
  static const std::vector<std::string> kSnippets = {
      "\\u00e9", "\\ud83d\\ude00", "\\ud800", "\\udc00", "\\u00", "\\uD83D", "\\/", "1e999",
      "-0", "1e-400", "\xc3\xa9", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\x80", "\\u0000",
      "true", "null", "\"\":0,", "[", "{\"a\":"};
  const auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  Mutation m{src, "", pick(src.size())};
  std::string& t = m.text;
  const std::size_t p = m.at;
  switch (pick(9)) {
    case 0:
      t.erase(p, 1);
      m.what = "delete byte";
      break;
    case 1:
      t.insert(p, 1, t[p]);
      m.what = "duplicate byte";
      break;
    case 2:
      t[p] = static_cast<char>(static_cast<unsigned char>(t[p]) ^ (1u << pick(8)));
      m.what = "flip a bit of byte";
      break;
    case 3:
      t.insert(p, 1, kStructural[pick(kStructural.size())]);
      m.what = "insert structural character";
      break;
    case 4:
      t.insert(p, 1, static_cast<char>(0x80 + pick(0x80)));
      m.what = "insert high byte";
      break;
    case 5:
      t.resize(p);
      m.what = "truncate";
      break;
    case 6:
      t[p] = kReplace[pick(kReplace.size())];
      m.what = "replace byte";
      break;
    case 7: {  // copy a span elsewhere: repeated keys, extra nesting
      const std::size_t from = pick(src.size());
      const std::size_t len = std::min<std::size_t>(1 + pick(32), src.size() - from);
      t.insert(p, src.substr(from, len));
      m.what = "copy " + std::to_string(len) + " bytes from " + std::to_string(from) + " to";
      break;
    }
    default:
      t.insert(p, kSnippets[pick(kSnippets.size())]);
      m.what = "insert snippet";
      break;
  }
  m.what += " at " + std::to_string(p);
  return m;
}

struct Tally {
  std::size_t documents = 0;
  std::size_t mutations = 0;
  std::size_t accepted = 0;  // mutations both readers accepted
  std::size_t refused = 0;   // mutations both refused
  std::vector<std::string> disagreements;
};

// Mutations of `src` (at most `count`), checked against both readers.
void run_mutations(const std::string& name, const std::string& src, std::size_t count,
                   std::mt19937& rng, Tally& tally) {
  if (src.empty()) return;
  for (std::size_t i = 0; i < count; ++i) {
    const Mutation m = mutate(src, rng);
    bool accepted = false;
    const std::string d = disagreement(m.text, &accepted);
    ++tally.mutations;
    if (!d.empty()) {
      const std::size_t from = m.at < 40 ? 0 : m.at - 40;
      tally.disagreements.push_back(name + ": " + m.what + ": " + d + " near: " +
                                    printable(std::string_view(m.text).substr(from, 80), 200));
    } else if (accepted) {
      ++tally.accepted;
    } else {
      ++tally.refused;
    }
  }
}

std::string first_of(const std::vector<std::string>& v, std::size_t n = 5) {
  std::string out;
  for (std::size_t i = 0; i < v.size() && i < n; ++i) out += v[i] + "\n";
  return out;
}

}  // namespace

// --- The API ------------------------------------------------------------------------------

TEST_CASE("json_scan reads every type and gives each value's exact source text", kTags) {
  const std::string text =
      " {\"n\" : null,\"t\":true ,\"f\":false,\"i\":-12,\"d\":1.5E+3,\"z\":0,"
      "\"s\":\"x\\ty\",\"e\":\"\",\"a\":[ 1 , \"two\" ],\"o\":{ \"k\" : [] }}\n";
  std::string error;
  const auto doc = JsonDoc::parse(text, error);
  REQUIRE(doc);
  CHECK(error.empty());
  const JsonRef root = doc->root();
  CHECK(root.type() == Type::Object);
  CHECK(root.is_object());
  CHECK_FALSE(root.is_array());
  CHECK(std::string(root.type_name()) == "object");
  // The root's span leaves out the whitespace around it.
  CHECK(root.text() == std::string_view(text).substr(1, text.size() - 2));
  CHECK(root.size() == 10);

  struct Want {
    const char* key;
    Type type;
    const char* type_name;
    std::string_view text;
  };
  const Want wants[] = {
      {"n", Type::Null, "null", "null"},
      {"t", Type::Bool, "boolean", "true"},
      {"f", Type::Bool, "boolean", "false"},
      {"i", Type::Number, "number", "-12"},
      {"d", Type::Number, "number", "1.5E+3"},
      {"z", Type::Number, "number", "0"},
      {"s", Type::String, "string", "\"x\\ty\""},
      {"e", Type::String, "string", "\"\""},
      {"a", Type::Array, "array", "[ 1 , \"two\" ]"},
      {"o", Type::Object, "object", "{ \"k\" : [] }"},
  };
  for (const auto& w : wants) {
    INFO("key " << w.key);
    const auto v = root.find(w.key);
    REQUIRE(v);
    CHECK(v->type() == w.type);
    CHECK(std::string(v->type_name()) == w.type_name);
    CHECK(v->text() == w.text);
    CHECK(v->is_string() == (w.type == Type::String));
    CHECK(v->is_bool() == (w.type == Type::Bool));
    CHECK(v->is_array() == (w.type == Type::Array));
    CHECK(v->is_object() == (w.type == Type::Object));
  }
  CHECK(root.find("t")->is_true());
  CHECK_FALSE(root.find("f")->is_true());
  CHECK_FALSE(root.find("n")->is_true());
  CHECK_FALSE(root.find("s")->is_true());
  CHECK(root.find("s")->str() == "x\ty");
  CHECK(root.find("e")->str().empty());
  // Scalars have no size, no elements, no members.
  CHECK(root.find("i")->size() == 0);
  CHECK(root.find("s")->size() == 0);
  CHECK(root.find("i")->elements().empty());
  CHECK(root.find("s")->members().empty());

  // A scalar document is a document too.
  for (const std::string_view scalar : {"null", "true", "false", "0", "-0.5e-3", "\"a\""}) {
    std::string err;
    const auto d = JsonDoc::parse(scalar, err);
    REQUIRE(d);
    CHECK(d->root().text() == scalar);
  }
}

TEST_CASE("json_scan nests arrays and objects", kTags) {
  const std::string text = R"([[],[[1]],{"a":{"b":[{"c":[true,null]}]}},[{},[]]])";
  std::string error;
  const auto doc = JsonDoc::parse(text, error);
  REQUIRE(doc);
  const JsonRef root = doc->root();
  REQUIRE(root.size() == 4);
  CHECK(root[0].is_array());
  CHECK(root[0].empty());
  CHECK(root[1].text() == "[[1]]");
  CHECK(root[1][0][0].text() == "1");
  const auto c = root[2].find("a")->find("b")->at(0).find("c");
  REQUIRE(c);
  CHECK(c->text() == "[true,null]");
  CHECK(c->size() == 2);
  CHECK(c->at(0).is_true());
  CHECK(c->at(1).type() == Type::Null);
  CHECK(root[3].text() == "[{},[]]");
  CHECK(root[3][0].is_object());
  CHECK(root[3][0].empty());
  CHECK(root[3][1].is_array());
  CHECK(root[3][1].empty());
  // Siblings follow a nested value, not its children.
  CHECK(texts(root.elements()) ==
        std::vector<std::string_view>{"[]", "[[1]]", R"({"a":{"b":[{"c":[true,null]}]}})",
                                      "[{},[]]"});
}

TEST_CASE("json_scan str unescapes every escape and surrogate pairs to UTF-8", kTags) {
  struct Case {
    std::string json;
    std::string value;
  };
  const Case cases[] = {
      {R"("plain")", "plain"},
      {R"("\"")", "\""},
      {R"("\\")", "\\"},
      {R"("\/")", "/"},
      {R"("\b\f\n\r\t")", "\b\f\n\r\t"},
      {R"("a\nb")", "a\nb"},
      {R"("\u0041")", "A"},
      {R"("\u0000")", std::string(1, '\0')},
      {R"("\u007f")", "\x7f"},
      {R"("\u0080")", "\xc2\x80"},
      {R"("\u00e9\u00E9")", "\xc3\xa9\xc3\xa9"},
      {R"("\u07ff")", "\xdf\xbf"},
      {R"("\u0800")", "\xe0\xa0\x80"},
      {R"("\u20ac")", "\xe2\x82\xac"},
      {R"("\uffff")", "\xef\xbf\xbf"},
      {R"("\ud800\udc00")", "\xf0\x90\x80\x80"},
      {R"("\ud83d\ude00")", "\xf0\x9f\x98\x80"},
      {R"("\uDBFF\uDFFF")", "\xf4\x8f\xbf\xbf"},
      {R"("x\ud83d\ude00y\u00e9z")", "x\xf0\x9f\x98\x80y\xc3\xa9z"},
      {"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
  };
  for (const auto& c : cases) {
    INFO(c.json);
    std::string error;
    const auto doc = JsonDoc::parse(c.json, error);
    REQUIRE(doc);
    CHECK(doc->root().str() == c.value);
    CHECK(doc->root().text() == c.json);  // the source, escapes and all
    CHECK(doc->root().str_equals(c.value));
    // nlohmann reads the same string.
    CHECK(nlohmann::json::parse(c.json).get<std::string>() == c.value);
  }
}

TEST_CASE("json_scan str_equals compares the unescaped string value", kTags) {
  std::string error;
  const std::string text = R"(["name","n\u0061me","a\"b","",5,null,"5",true])";
  const auto doc = JsonDoc::parse(text, error);
  REQUIRE(doc);
  const JsonRef r = doc->root();
  CHECK(r[0].str_equals("name"));
  CHECK_FALSE(r[0].str_equals("nam"));
  CHECK_FALSE(r[0].str_equals("names"));
  CHECK_FALSE(r[0].str_equals("\"name\""));
  CHECK(r[1].str_equals("name"));
  CHECK_FALSE(r[1].str_equals("n\\u0061me"));
  CHECK(r[2].str_equals("a\"b"));
  CHECK_FALSE(r[2].str_equals("a\\\"b"));
  CHECK(r[3].str_equals(""));
  CHECK_FALSE(r[3].str_equals("x"));
  // Only strings equal a string: not the number 5, not null, not true.
  CHECK_FALSE(r[4].str_equals("5"));
  CHECK(r[6].str_equals("5"));
  CHECK_FALSE(r[5].str_equals("null"));
  CHECK_FALSE(r[7].str_equals("true"));
  CHECK_FALSE(r.str_equals(text));
}

TEST_CASE("json_scan find looks up an object's own members by unescaped key", kTags) {
  std::string error;
  const std::string text =
      R"({"spec":{"name":"inner"},"n\u0061me":"outer","":0,"a\"b":1,"list":["spec"]})";
  const auto doc = JsonDoc::parse(text, error);
  REQUIRE(doc);
  const JsonRef root = doc->root();
  const auto name = root.find("name");
  REQUIRE(name);
  CHECK(name->str() == "outer");  // its own member, not the nested spec.name
  REQUIRE(root.find("spec"));
  CHECK(root.find("spec")->find("name")->str() == "inner");
  REQUIRE(root.find(""));
  CHECK(root.find("")->text() == "0");
  REQUIRE(root.find("a\"b"));
  CHECK(root.find("a\"b")->text() == "1");
  CHECK_FALSE(root.find("missing"));
  CHECK_FALSE(root.find("nam"));
  CHECK_FALSE(root.find("n\\u0061me"));  // keys are matched unescaped
  // Not an object: nothing to find, even a string equal to the key.
  CHECK_FALSE(root.find("list")->find("spec"));
  CHECK_FALSE(root.find("name")->find("outer"));
}

TEST_CASE("json_scan arrays give size and at and elements and range-for in order", kTags) {
  std::string error;
  const std::string text = R"([10, "b" ,[3],{"d":4},null])";
  const auto doc = JsonDoc::parse(text, error);
  REQUIRE(doc);
  const JsonRef a = doc->root();
  REQUIRE(a.size() == 5);
  CHECK_FALSE(a.empty());
  const std::vector<std::string_view> want{"10", "\"b\"", "[3]", "{\"d\":4}", "null"};
  std::vector<std::string_view> by_at;
  std::vector<std::string_view> by_index;
  for (std::size_t i = 0; i < a.size(); ++i) {
    by_at.push_back(a.at(i).text());
    by_index.push_back(a[i].text());
  }
  std::vector<std::string_view> by_range;
  for (const JsonRef e : a) by_range.push_back(e.text());
  CHECK(by_at == want);
  CHECK(by_index == want);
  CHECK(by_range == want);
  CHECK(texts(a.elements()) == want);

  // Empty arrays and non-arrays: nothing to iterate.
  const std::string other = R"([[],{"k":1},"s",7])";
  const auto doc2 = JsonDoc::parse(other, error);
  REQUIRE(doc2);
  for (std::size_t i = 0; i < doc2->root().size(); ++i) {
    const JsonRef v = doc2->root()[i];
    INFO(v.text());
    std::size_t n = 0;
    for (const JsonRef e : v) {
      (void)e;
      ++n;
    }
    CHECK(n == 0);
    CHECK(v.elements().empty());
  }
  CHECK(doc2->root()[0].empty());
  CHECK(doc2->root()[1].size() == 1);  // an object's size is its member count
}

TEST_CASE("json_scan members are given in source order", kTags) {
  std::string error;
  const std::string text = R"({"zeta":1,"alpha":[2],"mid":{"x":3},"\u00e9":"4"})";
  const auto doc = JsonDoc::parse(text, error);
  REQUIRE(doc);
  const auto members = doc->root().members();
  REQUIRE(members.size() == 4);
  CHECK(doc->root().size() == 4);
  std::vector<std::string> keys;
  std::vector<std::string_view> key_texts;
  std::vector<std::string_view> values;
  for (const auto& [k, v] : members) {
    CHECK(k.is_string());
    keys.push_back(k.str());
    key_texts.push_back(k.text());
    values.push_back(v.text());
  }
  CHECK(keys == std::vector<std::string>{"zeta", "alpha", "mid", "\xc3\xa9"});
  CHECK(key_texts ==
        std::vector<std::string_view>{"\"zeta\"", "\"alpha\"", "\"mid\"", "\"\\u00e9\""});
  CHECK(values == std::vector<std::string_view>{"1", "[2]", "{\"x\":3}", "\"4\""});
  // members() of anything else is empty; an empty object has none.
  const std::string other = R"([{},[1,2],"s"])";
  const auto doc2 = JsonDoc::parse(other, error);
  REQUIRE(doc2);
  CHECK(doc2->root().members().empty());
  for (const JsonRef v : doc2->root()) CHECK(v.members().empty());
}

TEST_CASE("json_scan uint_at_most takes only integers from 0 to max", kTags) {
  std::string error;
  const std::string text =
      R"([0,7,8,-1,-0,1.0,1e2,4294967295,4294967296,99999999999999999999,"5",null,true,007])";
  // (007 is not JSON: the array is parsed without it below.)
  const std::string valid = text.substr(0, text.rfind(",007")) + "]";
  const auto doc = JsonDoc::parse(valid, error);
  REQUIRE(doc);
  const JsonRef a = doc->root();
  REQUIRE(a.size() == 13);
  CHECK(a[0].uint_at_most(0) == std::optional<std::uint32_t>(0));
  CHECK(a[0].uint_at_most(7) == std::optional<std::uint32_t>(0));
  CHECK(a[1].uint_at_most(7) == std::optional<std::uint32_t>(7));  // max itself
  CHECK(a[1].uint_at_most(6) == std::nullopt);
  CHECK(a[2].uint_at_most(7) == std::nullopt);                     // max + 1
  CHECK(a[2].uint_at_most(8) == std::optional<std::uint32_t>(8));
  CHECK(a[3].uint_at_most(100) == std::nullopt);  // negative
  CHECK(a[4].uint_at_most(100) == std::nullopt);  // -0 is written with a sign
  CHECK(a[5].uint_at_most(100) == std::nullopt);  // 1.0: not written as an integer
  CHECK(a[6].uint_at_most(1000) == std::nullopt);  // 1e2 neither
  const auto u32max = std::numeric_limits<std::uint32_t>::max();
  CHECK(a[7].uint_at_most(u32max) == std::optional<std::uint32_t>(u32max));
  CHECK(a[7].uint_at_most(u32max - 1) == std::nullopt);
  CHECK(a[8].uint_at_most(u32max) == std::nullopt);  // 2^32: not 0 after a cast
  CHECK(a[9].uint_at_most(u32max) == std::nullopt);  // beyond 64 bits
  CHECK(a[10].uint_at_most(100) == std::nullopt);    // the string "5"
  CHECK(a[11].uint_at_most(100) == std::nullopt);
  CHECK(a[12].uint_at_most(100) == std::nullopt);
  CHECK(scan_error(text) == "expected ',' or ']' at offset 79");
}

TEST_CASE("json_scan uint64 takes every integer from 0 to 2^64 - 1 and nothing else", kTags) {
  std::string error;
  const auto doc = JsonDoc::parse(
      R"([0,18446744073709551615,18446744073709551616,-1,-0,1.0,1e2,"5",null])", error);
  REQUIRE(doc);
  const JsonRef a = doc->root();
  REQUIRE(a.size() == 9);
  CHECK(a[0].uint64() == std::optional<std::uint64_t>(0));
  CHECK(a[1].uint64() == std::optional<std::uint64_t>(std::numeric_limits<std::uint64_t>::max()));
  for (std::size_t i = 2; i < a.size(); ++i) {
    INFO(a[i].text());
    CHECK(a[i].uint64() == std::nullopt);  // 2^64, signed, not integers, not numbers
  }
}

TEST_CASE("json_scan accepts whitespace only where JSON allows it", kTags) {
  CHECK(scan_error(" 1") == "accepted");
  CHECK(scan_error("1 ") == "accepted");
  CHECK(scan_error("\t\r\n 1 \n\r\t") == "accepted");
  CHECK(scan_error(" [ 1 , { \"a\" : 2 } ] ") == "accepted");
  CHECK(scan_error("\n{\n\"a\"\n:\n[\n]\n}\n") == "accepted");
  // Not JSON whitespace: form feed, vertical tab, NUL, no-break space.
  CHECK(scan_error("\f1") == "unexpected character at offset 0");
  CHECK(scan_error("\v1") == "unexpected character at offset 0");
  CHECK(scan_error("1\f") == "trailing characters at offset 1");
  CHECK(scan_error(std::string("1\0", 2)) == "trailing characters at offset 1");
  CHECK(scan_error("1\xc2\xa0") == "trailing characters at offset 1");
  CHECK(scan_error("[1,\f2]") == "unexpected character at offset 3");
  CHECK(scan_error("\xc2\xa0[]") == "unexpected character at offset 0");
  // Nothing at all, or only whitespace.
  CHECK(scan_error("") == "unexpected end at offset 0");
  CHECK(scan_error("   ") == "unexpected end at offset 3");
  CHECK(scan_error("\n") == "unexpected end at offset 1");
  // Inside a string whitespace is content, and raw control characters are refused.
  CHECK(scan_error("\" a \"") == "accepted");
  CHECK(scan_error("\"a\nb\"") == "control character in string at offset 2");
  CHECK(scan_error("\"a\tb\"") == "control character in string at offset 2");
}

TEST_CASE("json_scan errors name the reason and the offset", kTags) {
  struct Case {
    std::string json;
    std::string error;
  };
  const Case cases[] = {
      // Trailing garbage after a complete value.
      {"1 2", "trailing characters at offset 2"},
      {"{} x", "trailing characters at offset 3"},
      {"[]]", "trailing characters at offset 2"},
      {"01", "trailing characters at offset 1"},
      {"nullx", "trailing characters at offset 4"},
      // A key given twice in one object, escaped or not: the offset is the repeat's.
      {R"({"a":1,"a":2})", "key \"a\" given twice in one object at offset 7"},
      // (An escaped repeat is named as written, its backslash shown doubled.)
      {R"({"a":1,"b":{"a":2},"\u0061":3})",
       "key \"\\\\u0061\" given twice in one object at offset 19"},
      // Numbers outside double's range.
      {"[1e999]", "number out of range at offset 6"},
      {"-1e400", "number out of range at offset 6"},
      {std::string(400, '9'), "number out of range at offset 400"},
      // Invalid UTF-8: a stray byte, an overlong form, an encoded surrogate, past U+10FFFF, cut.
      {"\"\xff\"", "invalid UTF-8 in string at offset 1"},
      {"\"ab\xc0\x80\"", "invalid UTF-8 in string at offset 3"},
      {"\"\xed\xa0\x80\"", "invalid UTF-8 in string at offset 1"},
      {"\"\xf4\x90\x80\x80\"", "invalid UTF-8 in string at offset 1"},
      {"\"\xe2\x82\"", "invalid UTF-8 in string at offset 1"},
      {"[\"\xc3\xa9\", \"\x80\"]", "invalid UTF-8 in string at offset 8"},
      // Lone surrogate escapes.
      {R"("\ud800")", "lone UTF-16 surrogate in \\u escape at offset 6"},
      {R"("\udc00")", "lone UTF-16 surrogate in \\u escape at offset 6"},
      {R"("\ud800\u0041")", "lone UTF-16 surrogate in \\u escape at offset 6"},
      {R"("\ud800\ud800")", "lone UTF-16 surrogate in \\u escape at offset 6"},
      {R"("\ud800x")", "lone UTF-16 surrogate in \\u escape at offset 6"},
      {R"("\udc00\ud800")", "lone UTF-16 surrogate in \\u escape at offset 6"},
      // Other string errors.
      {R"("\x")", "invalid escape at offset 2"},
      {R"("\u12")", "invalid \\u escape at offset 2"},
      {R"("\u12g4")", "invalid \\u escape at offset 2"},
      {"\"abc", "unterminated string at offset 4"},
      {"\"abc\\", "unterminated string at offset 5"},
      // Literals and numbers.
      {"tru", "invalid literal at offset 0"},
      {"[nul]", "invalid literal at offset 1"},
      {"True", "unexpected character at offset 0"},
      {"-", "invalid number at offset 1"},
      {"1.", "invalid number at offset 2"},
      {"1.e3", "invalid number at offset 2"},
      {"1e", "invalid number at offset 2"},
      {"1e+", "invalid number at offset 3"},
      {"-a", "invalid number at offset 1"},
      {"+1", "unexpected character at offset 0"},
      {".5", "unexpected character at offset 0"},
      // Structure.
      {"[1,]", "unexpected character at offset 3"},
      {"[1 2]", "expected ',' or ']' at offset 3"},
      {"[1", "expected ',' or ']' at offset 2"},
      {"{\"a\":1,}", "expected object key at offset 7"},
      {"{1:2}", "expected object key at offset 1"},
      {"{\"a\" 1}", "expected ':' at offset 5"},
      {"{\"a\":1 \"b\":2}", "expected ',' or '}' at offset 7"},
      {"{\"a\":", "unexpected end at offset 5"},
      {"[", "unexpected end at offset 1"},
      {"]", "unexpected character at offset 0"},
  };
  for (const auto& c : cases) {
    INFO(printable(c.json, 100));
    CHECK(scan_error(c.json) == c.error);
    // The reference refuses every one of them too.
    std::string strict_err;
    CHECK_FALSE(flowdrift::json_strict::parse(c.json, strict_err).has_value());
  }
}

TEST_CASE("json_scan bounds strings at kMaxString and nesting at kMaxDepth", kTags) {
  CHECK(kMaxString == 64 * 1024);
  CHECK(kMaxDepth == 64);
  const std::string at_limit(kMaxString, 'x');
  CHECK(scan_error("\"" + at_limit + "\"") == "accepted");
  CHECK(scan_error("\"" + at_limit + "x\"") == "string longer than the limit at offset 65539");
  // Keys too.
  CHECK(scan_error("{\"" + at_limit + "\":1}") == "accepted");
  CHECK(scan_error("{\"" + at_limit + "x\":1}") ==
        "string longer than the limit at offset 65540");
  // Exactly kMaxDepth nested containers, arrays and objects mixed, and one more.
  std::string open;
  std::string close;
  for (std::size_t i = 0; i < kMaxDepth; ++i) {
    open += i % 2 == 0 ? "[" : "{\"k\":";
    close.insert(0, i % 2 == 0 ? "]" : "}");
  }
  CHECK(scan_error(open + "1" + close) == "accepted");
  CHECK(scan_error(open + "[]" + close) ==
        "nesting too deep at offset " + std::to_string(open.size()));
  CHECK(scan_error(std::string(kMaxDepth, '[') + std::string(kMaxDepth, ']')) == "accepted");
  CHECK(scan_error(std::string(kMaxDepth + 1, '[') + std::string(kMaxDepth + 1, ']')) ==
        "nesting too deep at offset 64");
  // Depth is nesting, not count: many containers side by side are fine.
  std::string wide = "[";
  for (int i = 0; i < 1000; ++i) wide += std::string(i ? "," : "") + "[[{}]]";
  CHECK(scan_error(wide + "]") == "accepted");
}

// --- Differential: json_scan against json_strict (nlohmann) --------------------------------

TEST_CASE("the differential comparison finds each kind of difference", kTags) {
  // The comparator must not pass everything: each changed value is found.
  const std::string text =
      R"({"n":null,"b":true,"i":1,"d":0.5,"s":"\u00e9","a":[1,[2]],"o":{"k":"v"}})";
  std::string error;
  const auto doc = JsonDoc::parse(text, error);
  REQUIRE(doc);
  const auto same = nlohmann::json::parse(text);
  CHECK(differ(doc->root(), same).empty());
  const char* changes[] = {
      R"({"n":0,"b":true,"i":1,"d":0.5,"s":"é","a":[1,[2]],"o":{"k":"v"}})",
      R"({"n":null,"b":false,"i":1,"d":0.5,"s":"é","a":[1,[2]],"o":{"k":"v"}})",
      R"({"n":null,"b":true,"i":2,"d":0.5,"s":"é","a":[1,[2]],"o":{"k":"v"}})",
      R"({"n":null,"b":true,"i":1,"d":0.25,"s":"é","a":[1,[2]],"o":{"k":"v"}})",
      R"({"n":null,"b":true,"i":1,"d":0.5,"s":"e","a":[1,[2]],"o":{"k":"v"}})",
      R"({"n":null,"b":true,"i":1,"d":0.5,"s":"é","a":[1,[3]],"o":{"k":"v"}})",
      R"({"n":null,"b":true,"i":1,"d":0.5,"s":"é","a":[1,[2],3],"o":{"k":"v"}})",
      R"({"n":null,"b":true,"i":1,"d":0.5,"s":"é","a":[1,[2]],"o":{"K":"v"}})",
      R"({"n":null,"b":true,"i":1,"d":0.5,"s":"é","a":[1,[2]],"o":{"k":"v","l":1}})",
      R"({"n":null,"b":true,"i":"1","d":0.5,"s":"é","a":[1,[2]],"o":{"k":"v"}})",
      R"({"n":null,"b":true,"i":1,"d":0.5,"s":"é","a":{"0":1},"o":{"k":"v"}})",
  };
  for (const char* c : changes) {
    INFO(c);
    CHECK_FALSE(differ(doc->root(), nlohmann::json::parse(c)).empty());
  }
  // And so does the acceptance check.
  CHECK(disagreement(R"({"a":1})").empty());
  CHECK(disagreement(R"({"a":1,"a":1})").empty());  // both refuse
}

TEST_CASE("json_scan and json_strict agree on every JSON fixture and its mutations", kTags) {
  constexpr std::size_t kMaxFileBytes = 256 * 1024;
  constexpr std::size_t kMutationsPerFile = 200;
  const auto files = json_fixtures();
  INFO("fixtures under " << tests_dir().string());
  REQUIRE(files.size() >= 40);  // tests/fixtures, tests/fuzz/corpus, tests/unit/fixtures

  std::mt19937 rng(19);  // issue #19
  Tally tally;
  std::size_t accepted_fixtures = 0;
  std::size_t skipped = 0;
  for (const auto& f : files) {
    const std::string text = read_file(f);
    if (text.size() > kMaxFileBytes) {
      ++skipped;
      continue;
    }
    const std::string name = std::filesystem::relative(f, tests_dir()).string();
    bool accepted = false;
    const std::string d = disagreement(text, &accepted);
    ++tally.documents;
    if (!d.empty()) tally.disagreements.push_back(name + ": " + d);
    if (accepted) ++accepted_fixtures;
    run_mutations(name, text, kMutationsPerFile, rng, tally);
  }
  INFO("first disagreements:\n" << first_of(tally.disagreements));
  CHECK(tally.disagreements.empty());
  // The run covered what it says: every fixture, most of them valid JSON, and mutations both
  // readers accepted as well as refused.
  CHECK(skipped == 0);
  CHECK(tally.documents == files.size());
  CHECK(accepted_fixtures >= 30);
  CHECK(tally.mutations == tally.documents * kMutationsPerFile);
  CHECK(tally.accepted >= 1000);
  CHECK(tally.refused >= 1000);
}

TEST_CASE("json_scan and json_strict agree on mutations of edge-case documents", kTags) {
  // Small documents that put the mutations where the readers are most likely to differ:
  // escapes, surrogates, non-ASCII, numbers at double's edges, repeated keys past the
  // 16 keys json_scan compares linearly, deep nesting.
  std::string many_keys = "{";
  for (int i = 0; i < 20; ++i) {
    many_keys += std::string(i ? "," : "") + "\"k" + std::to_string(i % 10) +
                 (i < 10 ? "" : "\\u0041") + "\":" + std::to_string(i);
  }
  many_keys += ",\"k1A\":0}";  // "k1\u0041" above is "k1A": a repeat
  const std::vector<std::string> seeds = {
      R"({"a":"\u00e9\ud83d\ude00\n\"\\\/\b\f\r\t","b":"caf\u00e9","c":["\uDBFF\uDFFF"]})",
      "{\"\xc3\xa9\":\"\xe2\x82\xac\",\"\xf0\x9f\x98\x80\":[\"\xf4\x8f\xbf\xbf\",\"\xef\xbf\xbf\"]}",
      R"([0,-0,1.5,-1.5e-10,1E308,1.7976931348623157e308,4.9e-324,1e-400,18446744073709551615,)"
      R"(18446744073709551616,-9223372036854775808,-9223372036854775809,123456789012345678])",
      R"({"a":{"a":{"a":[{"a":1,"b":2},{"b":1,"a":2}]}},"b":[true,false,null]})",
      many_keys,
      std::string(60, '[') + "[1,{\"x\":[2]}]" + std::string(60, ']'),
      R"("just a string")",
      "  \t\n{ \"s p a c e\" : [ 1 , 2 ] }\r\n",
  };
  std::mt19937 rng(1919);
  Tally tally;
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    INFO("seed " << i << ": " << printable(seeds[i], 200));
    bool accepted = false;
    CHECK(disagreement(seeds[i], &accepted).empty());
    CHECK(accepted == (i != 4));  // the many-keys seed repeats a key on purpose
    run_mutations("seed " + std::to_string(i), seeds[i], 1000, rng, tally);
  }
  INFO("first disagreements:\n" << first_of(tally.disagreements));
  CHECK(tally.disagreements.empty());
  CHECK(tally.mutations == seeds.size() * 1000);
  CHECK(tally.accepted >= 500);
  CHECK(tally.refused >= 500);
}

// --- Disagreements found by the differential test (the library is left as it is) -----------

TEST_CASE("json_scan ignores a leading UTF-8 BOM as json_strict does", kTags) {
  // nlohmann skips a byte order mark at the start of its input (its lexer's skip_bom), so
  // json_strict reads this as {}; RFC 8259 lets a parser ignore one, and the two readers
  // decide alike. Only at the start: anywhere else it is an unexpected character.
  const std::string text = "\xef\xbb\xbf{}";
  std::string error;
  const auto doc = JsonDoc::parse(text, error);
  REQUIRE(doc);
  CHECK(doc->root().is_object());
  CHECK(doc->root().text() == "{}");
  CHECK(disagreement(text).empty());
  CHECK(scan_error("{}\xef\xbb\xbf") == "trailing characters at offset 2");
  CHECK(scan_error(" \xef\xbb\xbf{}") == "unexpected character at offset 1");
  CHECK(disagreement(" \xef\xbb\xbf{}").empty());
}

TEST_CASE("json_scan bounds a string's decoded length as json_strict does", kTags) {
  // Limits::max_string is "bytes of one string or key, decoded": a string of kMaxString - 1
  // bytes and one \n escape is kMaxString bytes decoded (accepted), kMaxString + 1 raw.
  const std::string text = "\"" + std::string(kMaxString - 1, 'x') + "\\n\"";
  std::string error;
  CHECK(JsonDoc::parse(text, error));
  CHECK(disagreement(text).empty());
  const std::string key = "{" + text + ":1}";
  CHECK(JsonDoc::parse(key, error));
  CHECK(disagreement(key).empty());
  // One decoded byte more is refused by both: an escape that decodes to three bytes.
  const std::string over = "\"" + std::string(kMaxString - 2, 'x') + "\\u20ac\"";
  CHECK_FALSE(JsonDoc::parse(over, error));
  CHECK_THAT(error, Catch::StartsWith("string longer than the limit"));
  CHECK(disagreement(over).empty());
  // A surrogate pair decodes to four bytes.
  const std::string pair = "\"" + std::string(kMaxString - 4, 'x') + "\\ud83d\\ude00\"";
  CHECK(JsonDoc::parse(pair, error));
  CHECK(disagreement(pair).empty());
}

TEST_CASE("json_scan read shallow checks everything and keeps containers below the depth whole",
          kTags) {
  const std::string text =
      R"({"metadata": {"total": 2, "deep": {"x": [1]}}, "entities": [{"a": {"b": [1, 2]}}, [3, {"c": 4}], "s"]})";
  std::string error;
  const auto doc = JsonDoc::parse(text, error, 2);
  REQUIRE(doc);
  const auto root = doc->root();
  CHECK_FALSE(root.shallow());
  const auto meta = *root.find("metadata");
  CHECK_FALSE(meta.shallow());
  CHECK(meta.find("total")->text() == "2");
  const auto deep = *meta.find("deep");
  CHECK(deep.shallow());
  CHECK(deep.is_object());
  CHECK(deep.size() == 0);
  CHECK_FALSE(deep.find("x"));
  CHECK(deep.text() == R"({"x": [1]})");
  const auto items = root.find("entities")->elements();
  REQUIRE(items.size() == 3);  // their siblings are linked past the forgotten children
  CHECK(items[0].shallow());
  CHECK(items[0].text() == R"({"a": {"b": [1, 2]}})");
  CHECK(items[1].is_array());
  CHECK(items[1].shallow());
  CHECK(items[1].text() == R"([3, {"c": 4}])");
  CHECK(items[2].str() == "s");
  // Scanning a shallow item's text gives what the full scan holds.
  const auto whole = JsonDoc::parse(items[0].text(), error);
  REQUIRE(whole);
  CHECK(whole->root().find("a")->find("b")->size() == 2);
}

TEST_CASE("json_scan read shallow accepts and refuses exactly what the full scan does", kTags) {
  std::mt19937 rng(2026);
  std::size_t refused = 0;
  for (const auto& f : json_fixtures()) {
    const std::string original = read_file(f);
    for (int m = 0; m < 20; ++m) {
      std::string text = original;
      if (m > 0 && !text.empty()) text[rng() % text.size()] = "{}[],:\"\\ 0a"[rng() % 11];
      std::string full_error;
      const bool full = JsonDoc::parse(text, full_error).has_value();
      for (std::size_t depth : {0, 1, 2, 3}) {
        std::string error;
        const auto shallow = JsonDoc::parse(text, error, depth);
        INFO(f.string() << " mutation " << m << " depth " << depth);
        CHECK(shallow.has_value() == full);
        CHECK(error == full_error);
        if (shallow) CHECK(shallow->root().text().size() <= text.size());
      }
      refused += full ? 0 : 1;
    }
  }
  CHECK(refused >= 100);  // the mutations reached the refusals too
}

// The plain part of a string is read sixteen bytes a step: a byte that ends it must be found at
// every position of a step, and in the bytes after the last whole step.
TEST_CASE("json_scan finds every byte that ends a plain run at any position in a string", kTags) {
  struct Stop {
    std::string bytes;
    std::string value;  // decoded, when accepted
    std::string error;  // "" when accepted
  };
  const Stop stops[] = {
      {"\\n", "\n", ""},
      {"\\\"", "\"", ""},
      {"\xc3\xa9", "\xc3\xa9", ""},  // é
      {"\x7f", "\x7f", ""},          // DEL is plain
      {"\x1f", "", "control character in string"},
      {"\t", "", "control character in string"},
      {"\xff", "", "invalid UTF-8 in string"},
  };
  for (const auto& stop : stops) {
    for (std::size_t before = 0; before <= 40; ++before) {
      for (const std::size_t after : {0, 1, 15, 16, 17}) {
        const std::string body = std::string(before, 'a') + stop.bytes + std::string(after, 'b');
        const std::string text = "\"" + body + "\"";
        INFO(printable(text, 120));
        std::string error;
        const auto doc = JsonDoc::parse(text, error);
        if (stop.error.empty()) {
          REQUIRE(doc);
          CHECK(doc->root().str() == std::string(before, 'a') + stop.value + std::string(after, 'b'));
          CHECK(doc->root().text() == text);
        } else {
          CHECK_FALSE(doc);
          CHECK(error == stop.error + " at offset " + std::to_string(1 + before));
        }
        CHECK(disagreement(text).empty());
      }
    }
  }
  // A plain run that reaches the end of the text, with no closing quote.
  for (std::size_t n = 0; n <= 40; ++n) {
    CHECK(scan_error("\"" + std::string(n, 'x')) == "unterminated string at offset " +
                                                       std::to_string(1 + n));
  }
}
