#include "core/json_scan.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <forward_list>
#include <memory>
#include <unordered_set>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/printable.hpp"

namespace flowdrift::json_scan {
namespace {

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// The four hex digits of a \u escape at s[at], if they are there.
std::optional<std::uint32_t> hex4(std::string_view s, std::size_t at) {
  if (at + 4 > s.size()) return std::nullopt;
  std::uint32_t v = 0;
  auto [next, ec] = std::from_chars(s.data() + at, s.data() + at + 4, v, 16);
  if (ec != std::errc{} || next != s.data() + at + 4) return std::nullopt;
  return v;
}

// The value of a string's text between its quotes, which the parser has already checked (every
// escape valid, surrogates paired), so nothing here can fail.
std::string decode_string(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      out += raw[i];
      continue;
    }
    const char e = raw[++i];
    switch (e) {
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        std::uint32_t cp = *hex4(raw, i + 1);
        i += 4;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (*hex4(raw, i + 3) - 0xdc00);
          i += 6;
        }
        append_utf8(out, cp);
        break;
      }
      default: out += e;  // " \ /
    }
  }
  return out;
}

}  // namespace

class JsonParser {
 public:
  JsonParser(std::string_view text, std::vector<JsonDoc::Node>& nodes, std::size_t shallow_depth)
      : t_(text), nodes_(nodes), shallow_depth_(shallow_depth) {}

  bool run(std::string& error) {
    // A leading UTF-8 byte order mark is ignored, as RFC 8259 allows and json_strict does.
    if (t_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    skip_ws();
    if (!value(0)) {
      error = reason_ + " at offset " + std::to_string(pos_);
      return false;
    }
    skip_ws();
    if (pos_ != t_.size()) {
      error = "trailing characters at offset " + std::to_string(pos_);
      return false;
    }
    return true;
  }

 private:

  bool fail(const char* why) {
    reason_ = why;
    return false;
  }
  void skip_ws() {
    while (pos_ < t_.size() &&
           (t_[pos_] == ' ' || t_[pos_] == '\n' || t_[pos_] == '\r' || t_[pos_] == '\t'))
      ++pos_;
  }
  std::uint32_t add(JsonRef::Type type) {
    JsonDoc::Node n;
    n.type = type;
    n.begin = static_cast<std::uint32_t>(pos_);
    nodes_.push_back(n);
    return static_cast<std::uint32_t>(nodes_.size() - 1);
  }
  bool literal(std::string_view word, JsonRef::Type type) {
    if (t_.substr(pos_, word.size()) != word) return fail("invalid literal");
    const auto i = add(type);
    pos_ += word.size();
    nodes_[i].end = static_cast<std::uint32_t>(pos_);
    return true;
  }
  // The limit is on the string's decoded bytes, as json_strict's is.
  bool string() {
    const auto i = add(JsonRef::Type::String);
    ++pos_;  // opening quote
    std::size_t decoded = 0;
    while (true) {
      const std::size_t plain = plain_run(pos_);  // the common case
      decoded += plain - pos_;
      pos_ = plain;
      if (pos_ >= t_.size()) return fail("unterminated string");
      const char c = t_[pos_];
      if (c == '"') break;
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20) return fail("control character in string");
      if (u >= 0x80) {
        const std::size_t seq = utf8_sequence_length(t_, pos_);
        if (seq == 0) return fail("invalid UTF-8 in string");
        pos_ += seq;
        decoded += seq;
        continue;
      }
      std::size_t bytes = 1;
      if (c == '\\') {
        nodes_[i].escaped = true;
        if (!escape(&bytes)) return false;
      }
      decoded += bytes;
      ++pos_;
    }
    ++pos_;  // closing quote
    nodes_[i].end = static_cast<std::uint32_t>(pos_);
    if (decoded > kMaxString) return fail("string longer than the limit");
    return true;
  }
  // The end of the run of printable ASCII from `at` other than '"' and '\\': sixteen bytes a
  // step where SSE2 is there (every x86-64), then a byte at a time.
  std::size_t plain_run(std::size_t at) const {
    const auto* p = reinterpret_cast<const unsigned char*>(t_.data());
    const std::size_t n = t_.size();
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (at + 16 <= n) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at));
      // Signed, so one comparison takes both the control bytes and those of 0x80 and above.
      __m128i stop = _mm_cmplt_epi8(v, space);
      stop = _mm_or_si128(stop, _mm_cmpeq_epi8(v, quote));
      stop = _mm_or_si128(stop, _mm_cmpeq_epi8(v, backslash));
      const auto mask = static_cast<unsigned>(_mm_movemask_epi8(stop));
      if (mask != 0) return at + static_cast<std::size_t>(__builtin_ctz(mask));
      at += 16;
    }
#endif
    while (at < n && p[at] >= 0x20 && p[at] < 0x80 && p[at] != '"' && p[at] != '\\') ++at;
    return at;
  }
  // At a backslash: checks the escape, leaves pos_ on its last character and sets `*bytes` to
  // what it decodes to in UTF-8.
  bool escape(std::size_t* bytes) {
    if (++pos_ >= t_.size()) return fail("unterminated string");
    const char e = t_[pos_];
    if (e != 'u') {
      if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
        return fail("invalid escape");
      }
      return true;
    }
    const auto unit = hex4(t_, pos_ + 1);
    if (!unit) return fail("invalid \\u escape");
    pos_ += 4;
    if (*unit >= 0xdc00 && *unit <= 0xdfff) return fail("lone UTF-16 surrogate in \\u escape");
    *bytes = *unit < 0x80 ? 1 : *unit < 0x800 ? 2 : 3;
    if (*unit < 0xd800 || *unit > 0xdbff) return true;
    *bytes = 4;  // a surrogate pair: one code point above U+FFFF
    // A high surrogate must be followed by an escaped low one.
    const auto low = pos_ + 2 < t_.size() && t_[pos_ + 1] == '\\' && t_[pos_ + 2] == 'u'
                         ? hex4(t_, pos_ + 3)
                         : std::nullopt;
    if (!low || *low < 0xdc00 || *low > 0xdfff) return fail("lone UTF-16 surrogate in \\u escape");
    pos_ += 6;
    return true;
  }

  bool number() {
    const auto i = add(JsonRef::Type::Number);
    const std::size_t start = pos_;
    if (t_[pos_] == '-') ++pos_;
    auto digits = [&] {
      const std::size_t d = pos_;
      while (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9') ++pos_;
      return pos_ > d;
    };
    if (pos_ < t_.size() && t_[pos_] == '0') {
      ++pos_;
    } else if (!digits()) {
      return fail("invalid number");
    }
    if (pos_ < t_.size() && t_[pos_] == '.') {
      ++pos_;
      if (!digits()) return fail("invalid number");
    }
    if (pos_ < t_.size() && (t_[pos_] == 'e' || t_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < t_.size() && (t_[pos_] == '+' || t_[pos_] == '-')) ++pos_;
      if (!digits()) return fail("invalid number");
    }
    if (pos_ == start) return fail("invalid number");
    nodes_[i].end = static_cast<std::uint32_t>(pos_);
    if (!finite(t_.substr(start, pos_ - start))) return fail("number out of range");
    return true;
  }
  // Whether a number's value fits a double (as nlohmann requires: `1e999` is refused).
  static bool finite(std::string_view number) {
    if (number.size() < 16 && number.find_first_of("eE") == std::string_view::npos) return true;
    const std::string copy(number);
    return std::isfinite(std::strtod(copy.c_str(), nullptr));
  }
  // Parses one value; the caller links it to its siblings.
  bool value(std::size_t depth) {
    if (pos_ >= t_.size()) return fail("unexpected end");
    switch (t_[pos_]) {
      case '{': return container(depth, true);
      case '[': return container(depth, false);
      case '"': return string();
      case 't': return literal("true", JsonRef::Type::Bool);
      case 'f': return literal("false", JsonRef::Type::Bool);
      case 'n': return literal("null", JsonRef::Type::Null);
      default:
        if (t_[pos_] == '-' || (t_[pos_] >= '0' && t_[pos_] <= '9')) return number();
        return fail("unexpected character");
    }
  }
  // `depth`: the containers around this one; as json_strict, at most kMaxDepth levels in all.
  bool container(std::size_t depth, bool object) {
    if (depth >= kMaxDepth) return fail("nesting too deep");
    const auto i = add(object ? JsonRef::Type::Object : JsonRef::Type::Array);
    const char close = object ? '}' : ']';
    ++pos_;
    skip_ws();
    std::uint32_t prev = 0;
    auto link = [&](std::uint32_t child) {
      if (prev == 0) {
        nodes_[i].first = child;
      } else {
        nodes_[prev].next = child;
      }
      prev = child;
    };
    if (pos_ < t_.size() && t_[pos_] == close) {
      ++pos_;
      nodes_[i].end = static_cast<std::uint32_t>(pos_);
      return true;
    }
    KeyFrame keys{keys_.size(), nullptr};
    while (true) {
      skip_ws();
      if (object) {
        if (pos_ >= t_.size() || t_[pos_] != '"') return fail("expected object key");
        const auto key = static_cast<std::uint32_t>(nodes_.size());
        const std::size_t key_at = pos_;
        if (!string()) return false;
        const auto& k = nodes_[key];
        const std::string_view raw = t_.substr(k.begin + 1, k.end - k.begin - 2);
        if (!insert_key(keys, raw, k.escaped)) {
          pos_ = key_at;
          reason_ = "key \"" + printable(raw, 64) + "\" given twice in one object";
          return false;
        }
        link(key);
        skip_ws();
        if (pos_ >= t_.size() || t_[pos_] != ':') return fail("expected ':'");
        ++pos_;
        skip_ws();
      }
      const auto child = static_cast<std::uint32_t>(nodes_.size());
      if (!value(depth + 1)) return false;
      link(child);
      ++nodes_[i].count;
      skip_ws();
      if (pos_ < t_.size() && t_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < t_.size() && t_[pos_] == close) {
        ++pos_;
        nodes_[i].end = static_cast<std::uint32_t>(pos_);
        if (depth >= shallow_depth_) forget_children(i);
        keys_.resize(keys.first);
        return true;
      }
      return fail(object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }

  // A container checked whole whose members or elements are not kept (JsonRef::shallow()).
  void forget_children(std::uint32_t i) {
    nodes_.resize(i + 1);
    nodes_[i].first = 0;
    nodes_[i].count = 0;
    nodes_[i].shallow = true;
  }

  // The keys of the objects being read, innermost last: an object's keys are the end of
  // `keys_` from its frame's `first`, so that an object costs no allocation of its own (a 53 MB
  // list has 1.8 million of them). Linear over an object's first kLinearKeys keys; past that
  // a hash set of its own, so a hostile object of 100,000 keys costs O(n), not O(n^2). Views
  // into the text, or into `decoded_` for the rare escaped key.
  struct KeyFrame {
    std::size_t first;
    std::unique_ptr<std::unordered_set<std::string_view>> large;
  };
  bool insert_key(KeyFrame& frame, std::string_view raw, bool escaped) {
    if (escaped) raw = decoded_.emplace_front(decode_string(raw));
    if (frame.large) return frame.large->insert(raw).second;
    const auto from = keys_.begin() + static_cast<std::ptrdiff_t>(frame.first);
    if (std::find(from, keys_.end(), raw) != keys_.end()) return false;
    keys_.push_back(raw);
    if (keys_.size() - frame.first > kLinearKeys) {
      frame.large = std::make_unique<std::unordered_set<std::string_view>>(
          keys_.begin() + static_cast<std::ptrdiff_t>(frame.first), keys_.end());
    }
    return true;
  }
  static constexpr std::size_t kLinearKeys = 16;

  std::string_view t_;
  std::vector<JsonDoc::Node>& nodes_;
  std::size_t shallow_depth_;
  std::size_t pos_ = 0;
  std::string reason_;
  std::vector<std::string_view> keys_;
  std::forward_list<std::string> decoded_;  // stable, and nothing allocated until used
};

std::optional<JsonDoc> JsonDoc::parse(std::string_view text, std::string& error,
                                      std::size_t shallow_depth) {
  if (text.size() >= 0xffffffffu) {
    error = "document too large";
    return std::nullopt;
  }
  JsonDoc doc;
  doc.text_ = text;
  if (shallow_depth >= kMaxDepth) doc.nodes_.reserve(text.size() / 8 + 4);
  JsonParser p(text, doc.nodes_, shallow_depth);
  if (!p.run(error)) return std::nullopt;
  return doc;
}

JsonRef::Type JsonRef::type() const { return doc_->nodes_[index_].type; }

bool JsonRef::is_true() const { return type() == Type::Bool && text() == "true"; }
bool JsonRef::shallow() const { return doc_->nodes_[index_].shallow; }

std::optional<std::uint64_t> JsonRef::uint64() const {
  if (type() != Type::Number) return std::nullopt;
  const std::string_view t = text();
  std::uint64_t v = 0;
  auto [next, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc{} || next != t.data() + t.size()) return std::nullopt;
  return v;
}

std::optional<std::uint32_t> JsonRef::uint_at_most(std::uint32_t max) const {
  const auto v = uint64();
  if (!v || *v > max) return std::nullopt;
  return static_cast<std::uint32_t>(*v);
}

std::string_view JsonRef::text() const {
  const auto& n = doc_->nodes_[index_];
  return doc_->text_.substr(n.begin, n.end - n.begin);
}

std::string JsonRef::str() const {
  const auto& n = doc_->nodes_[index_];
  const std::string_view raw = doc_->text_.substr(n.begin + 1, n.end - n.begin - 2);
  if (!n.escaped) return std::string(raw);
  return decode_string(raw);  // rare: category values with quotes or non-ASCII escapes
}

bool JsonRef::str_equals(std::string_view s) const {
  if (type() != Type::String) return false;
  const auto& n = doc_->nodes_[index_];
  if (n.escaped) return str() == s;
  return doc_->text_.substr(n.begin + 1, n.end - n.begin - 2) == s;
}

const char* JsonRef::type_name() const {
  switch (type()) {
    case Type::Null: return "null";
    case Type::Bool: return "boolean";
    case Type::Number: return "number";
    case Type::String: return "string";
    case Type::Array: return "array";
    case Type::Object: return "object";
  }
  return "value";
}

std::size_t JsonRef::size() const {
  const auto t = type();
  return t == Type::Array || t == Type::Object ? doc_->nodes_[index_].count : 0;
}

JsonRef JsonRef::at(std::size_t i) const {
  std::uint32_t c = doc_->nodes_[index_].first;
  for (; i > 0; --i) c = doc_->nodes_[c].next;
  return JsonRef(doc_, c);
}

std::vector<JsonRef> JsonRef::elements() const {
  std::vector<JsonRef> out;
  if (type() != Type::Array) return out;
  const auto& n = doc_->nodes_[index_];
  out.reserve(n.count);
  std::uint32_t c = n.first;
  for (std::uint32_t m = 0; m < n.count; ++m, c = doc_->nodes_[c].next) out.emplace_back(doc_, c);
  return out;
}

std::vector<std::pair<JsonRef, JsonRef>> JsonRef::members() const {
  std::vector<std::pair<JsonRef, JsonRef>> out;
  if (type() != Type::Object) return out;
  const auto& n = doc_->nodes_[index_];
  out.reserve(n.count);
  std::uint32_t k = n.first;
  for (std::uint32_t m = 0; m < n.count; ++m) {
    const std::uint32_t v = doc_->nodes_[k].next;
    out.emplace_back(JsonRef(doc_, k), JsonRef(doc_, v));
    k = doc_->nodes_[v].next;
  }
  return out;
}

std::optional<JsonRef> JsonRef::find(std::string_view key) const {
  if (type() != Type::Object) return std::nullopt;
  const auto& n = doc_->nodes_[index_];
  std::uint32_t k = n.first;
  for (std::uint32_t m = 0; m < n.count; ++m) {
    const std::uint32_t v = doc_->nodes_[k].next;
    if (JsonRef(doc_, k).str_equals(key)) return JsonRef(doc_, v);
    k = doc_->nodes_[v].next;
  }
  return std::nullopt;
}

JsonRef::Iterator& JsonRef::Iterator::operator++() {
  node_ = doc_->nodes_[node_].next;
  --left_;
  return *this;
}

JsonRef::Iterator JsonRef::begin() const {
  if (type() != Type::Array) return end();
  const auto& n = doc_->nodes_[index_];
  return Iterator(doc_, n.first, n.count);
}

}  // namespace flowdrift::json_scan
